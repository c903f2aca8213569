"""check-distribution-contents in a metapackage repository built from real files: lsst_distrib's
table, scipipe_conda_env's environment, repos.yaml and the sample contents file (DMTN-106 §6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dmrelease.hooks.check_distribution_contents import main

DATA = Path(__file__).resolve().parents[1] / "data"
CONTENTS = "ups/lsst_distrib.contents.yaml"
ENV = "etc/conda3_bleed-linux-64.yml"
HINT = (
    " (add it under third_party with its type, delivery, license, support and the rfc that "
    "approved it)"
)


@pytest.fixture
def metapackage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """lsst_distrib's real table, its contents file, a conda environment and repos.yaml."""
    (tmp_path / "ups").mkdir()
    (tmp_path / "etc").mkdir()
    shutil.copy(DATA / "tables" / "lsst_distrib.table", tmp_path / "ups")
    shutil.copy(DATA / "contents" / "lsst_distrib.contents.yaml", tmp_path / "ups")
    shutil.copy(DATA / "conda" / "conda3_bleed-linux-64.yml", tmp_path / "etc")
    shutil.copy(DATA / "repos.yaml", tmp_path / "etc")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_the_real_metapackage_passes(call, metapackage: Path) -> None:
    assert call(main)(["--repos", "etc/repos.yaml"]) == (0, [])
    afw = str(DATA / "tables" / "lsst" / "afw.table")
    args = ["--repos", "etc/repos.yaml", "--table", afw, "--conda", ENV, "ignored.yaml"]
    assert call(main)(args) == (0, [])


def test_a_conda_package_the_file_does_not_approve_is_named_where_it_is_used(
    call, metapackage: Path
) -> None:
    edit(metapackage / ENV, "  - xpa\n", "  - xpa\n  - dask >=2.0\n  - conda-forge::Bokeh\n")
    code, lines = call(main)(["--repos", "etc/repos.yaml"])
    assert (code, lines) == (1, [
        f"{ENV}:84:5: third-party-unapproved: conda package 'dask' is not approved in "
        f"{CONTENTS}{HINT}",
        f"{ENV}:85:5: third-party-unapproved: conda package 'Bokeh' is not approved in "
        f"{CONTENTS}{HINT}",
    ])  # fmt: skip


def test_withdrawing_an_approval_fails_the_environment_that_uses_it(
    call, metapackage: Path
) -> None:
    contents = metapackage / CONTENTS
    text = contents.read_text()
    start = text.index("  - name: galsim\n")
    end = text.index("  - name: gsl\n")
    contents.write_text(text[:start] + text[end:])
    code, lines = call(main)(["--repos", "etc/repos.yaml"])
    assert (code, lines) == (1, [
        f"{ENV}:46:5: third-party-unapproved: conda package 'galsim' is not approved in "
        f"{CONTENTS}{HINT}",
    ])  # fmt: skip


def test_an_external_product_of_the_table_must_be_approved(call, metapackage: Path) -> None:
    table = metapackage / "ups" / "lsst_distrib.table"
    added = "setupOptional(sconsUtils --external)\nsetupRequired(fftw)\n"
    table.write_text(table.read_text() + added)
    code, lines = call(main)(["--repos", "etc/repos.yaml"])
    # fftw is in repos.yaml and approved as third-party: it passes
    assert (code, lines) == (1, [
        "ups/lsst_distrib.table:33:15: third-party-unapproved: EUPS product 'sconsUtils' is "
        f"not approved in {CONTENTS}{HINT}",
    ])  # fmt: skip


def test_without_repos_yaml_only_the_approved_packages_are_git_packages(
    call, metapackage: Path
) -> None:
    code, lines = call(main)([])
    assert code == 1
    assert len(lines) == 28  # 32 products set up, 4 of them approved under packages
    assert lines[0] == (
        "ups/lsst_distrib.table:1:15: third-party-unapproved: EUPS product 'lsst_apps' is not "
        f"approved in {CONTENTS}{HINT}"
    )
    named = {line.split("'")[1] for line in lines}
    assert named.isdisjoint({"afwdata", "meas_extensions_gaap", "analysis_ap",
                             "dax_images_cutout", "rucio_register"})  # fmt: skip


def test_a_bad_contents_file_reports_its_problems_only(call, metapackage: Path) -> None:
    edit(metapackage / CONTENTS, "    license: MPL-2.0\n", "    license: MPL 2.0\n")
    edit(metapackage / CONTENTS, "    rfc: RFC-900\n", "    rfc: CCB-900\n")
    code, lines = call(main)(["--repos", "etc/repos.yaml"])
    assert (code, lines) == (1, [
        f"{CONTENTS}:201:14: contents-license: 'MPL 2.0' is not an SPDX licence expression: "
        "'2.0' where AND, OR or WITH was expected (e.g. MIT, BSD-3-Clause, GPL-2.0-or-later, "
        "MIT OR Apache-2.0, LicenseRef-<name>)",
        f"{CONTENTS}:470:10: contents-rfc: rfc 'CCB-900' is not an issue key (the Jira issue "
        "of the CCB approval: RFC-N or DM-N)",
    ])  # fmt: skip


def test_a_table_or_environment_that_does_not_parse_is_reported_with_the_rest(
    call, metapackage: Path
) -> None:
    (metapackage / "ups" / "extra.table").write_text("setupRequired(afw\n")
    (metapackage / "environment.yml").write_text("dependencies: [\n")
    code, lines = call(main)(["--repos", "etc/repos.yaml"])
    assert code == 1
    assert [line.split(": ")[:2] for line in lines] == [
        ["ups/extra.table:1:14", "table-unbalanced-paren"],
        ["environment.yml:2:1", "conda-env-syntax"],
    ]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", [], "no ups/*.contents.yaml here: give the product's file with --contents FILE"),
        ("two", [], "2 contents files: give the product's file with --contents FILE"),
        ("", ["--conda", "etc/missing.yml"], "etc/missing.yml: No such file or directory"),
        ("", ["--contents", "ups/lsst_sitcom.contents.yaml"],
         "ups/lsst_sitcom.contents.yaml: No such file or directory"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(
    call, metapackage: Path, setup: str, args: list[str], message: str
) -> None:
    if setup == "none":
        (metapackage / CONTENTS).unlink()
    elif setup == "two":
        shutil.copy(metapackage / CONTENTS, metapackage / "ups" / "lsst_sitcom.contents.yaml")
    assert call(main)(args) == (2, [f"check-distribution-contents: error: {message}"])


def test_a_bad_repos_yaml_is_reported(call, metapackage: Path) -> None:
    repos = "afw: https://github.com/lsst/afw.git\nafw: x\n"
    (metapackage / "etc" / "repos.yaml").write_text(repos)
    code, lines = call(main)(["--repos", "etc/repos.yaml"])
    assert code == 1
    assert [line.split(": ")[1] for line in lines] == ["repos-duplicate"]


def test_the_product_named_by_its_contents_file_is_not_third_party(call, metapackage: Path) -> None:
    (metapackage / "ups" / "lsst_sitcom.table").write_text("setupRequired(lsst_distrib)\n")
    args = ["--table", "ups/lsst_sitcom.table", "--conda", ENV]
    assert call(main)(args) == (0, [])  # lsst_distrib's own contents file: it is the product
