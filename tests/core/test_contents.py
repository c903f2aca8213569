"""core/contents: the distribution contents file (DMTN-106 §6) — its format, every field's
diagnostic, the approvals it gives, and where a metapackage repository uses third-party
names (core/contents_uses), on the real sample of tests/data/contents."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.core.contents import (
    CONTENTS_PATH,
    Contents,
    ThirdParty,
    Use,
    approval_of,
    check_contents,
    check_third_party,
    parse_contents,
)
from dmrelease.core.contents_uses import conda_uses, table_uses
from dmrelease.core.errors import CheckFailed
from dmrelease.core.repos import parse_repos
from dmrelease.core.spdx import license_problem
from dmrelease.core.tables import parse_table

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "contents" / "lsst_distrib.contents.yaml"
PATH = "ups/lsst_distrib.contents.yaml"
HINT = (
    " (add it under third_party with its type, delivery, license, support and the rfc that "
    "approved it)"
)

GOOD = """\
# what lsst_distrib distributes besides its own git packages, and who approved it
third_party:
  - name: eigen
    type: 1
    delivery: eups
    license: MPL-2.0
    support: full
    rfc: RFC-123
  - name: galsim
    type: 3
    delivery: conda
    license: BSD-3-Clause
    support: none
    rfc: DM-12345
packages:
  - name: meas_extensions_foo
    rfc: RFC-456
"""


def sample() -> Contents:
    return parse_contents(SAMPLE.read_text(), PATH)


def test_the_contract_example_parses_to_its_values() -> None:
    contents = parse_contents(GOOD, PATH)
    assert contents.third_party == (
        ThirdParty("eigen", 1, "eups", "MPL-2.0", "full", "RFC-123", 3),
        ThirdParty("galsim", 3, "conda", "BSD-3-Clause", "none", "DM-12345", 9),
    )
    assert dict(contents.packages) == {"meas_extensions_foo": "RFC-456"}
    assert contents.path == PATH
    assert contents.third_party[1].type_text == "collaborator code"
    assert contents.to_dict() == {
        "third_party": [
            {"name": "eigen", "type": 1, "delivery": "eups", "license": "MPL-2.0",
             "support": "full", "rfc": "RFC-123"},
            {"name": "galsim", "type": 3, "delivery": "conda", "license": "BSD-3-Clause",
             "support": "none", "rfc": "DM-12345"},
        ],
        "packages": {"meas_extensions_foo": "RFC-456"},
    }  # fmt: skip
    assert CONTENTS_PATH.format(product="lsst_distrib") == PATH


def test_the_real_sample_parses_whole() -> None:
    contents = sample()
    assert len(contents.third_party) == 77
    assert [e.delivery for e in contents.third_party].count("conda") == 74
    assert [e.name for e in contents.third_party if e.delivery == "eups"] == [
        "fftw", "pyfits", "cuda_toolkit"]  # fmt: skip
    assert {e.type for e in contents.third_party} == {1, 2, 3}
    assert sorted(contents.packages) == [
        "afwdata", "analysis_ap", "dax_images_cutout", "meas_extensions_gaap",
        "rucio_register"]  # fmt: skip


BAD_FIELDS = """\
third_party:
  - name: Numpy
    type: "1"
    delivery: pip
    license: BSD and MIT
    support: some
    rfc: rfc-1
    extra: 1
  - name: eigen
    type: 4
    delivery: eups
    license: MPL-2.0
    support: full
    rfc: RFC-0
  - name: bad-name
    type: 1
    delivery: eups
    license: (MIT
    support: full
    rfc: [RFC-1]
  - name: eigen
packages:
  - name: eigen
    rfc: RFC-3
  - name: meas_extensions_foo
  - just a name
"""


def test_every_field_is_checked_with_its_line_and_column() -> None:
    problems = [str(d) for d in check_contents(BAD_FIELDS, PATH)]
    meanings = "1 (build/run dependency), 2 (convenience for users) or 3 (collaborator code)"
    assert problems == [
        f"{PATH}:3:11: contents-type: type must be {meanings}, not '1'",
        f"{PATH}:4:15: contents-delivery: delivery 'pip' is not one of eups, conda",
        f"{PATH}:5:14: contents-license: 'BSD and MIT' is not an SPDX licence expression: "
        "'and' where AND, OR or WITH was expected (operators are upper case) (e.g. MIT, "
        "BSD-3-Clause, GPL-2.0-or-later, MIT OR Apache-2.0, LicenseRef-<name>)",
        f"{PATH}:6:14: contents-support: support 'some' is not one of full, best-effort, none",
        f"{PATH}:7:10: contents-rfc: rfc 'rfc-1' is not an issue key (the Jira issue of the "
        "CCB approval: RFC-N or DM-N)",
        f"{PATH}:8:5: contents-key: unknown key `extra` in a `third_party` entry (allowed: "
        "name, type, delivery, license, support, rfc)",
        f"{PATH}:10:11: contents-type: type must be {meanings}, not '4'",
        f"{PATH}:14:10: contents-rfc: rfc 'RFC-0' is not an issue key (the Jira issue of the "
        "CCB approval: RFC-N or DM-N)",
        f"{PATH}:15:11: contents-name: name 'bad-name' is not [A-Za-z0-9_]+ (an EUPS product)",
        f"{PATH}:18:14: contents-license: '(MIT' is not an SPDX licence expression: a '(' is "
        "not closed (e.g. MIT, BSD-3-Clause, GPL-2.0-or-later, MIT OR Apache-2.0, "
        "LicenseRef-<name>)",
        f"{PATH}:20:10: contents-rfc: rfc must be a non-empty string, not a list",
        f"{PATH}:21:5: contents-structure: the `third_party` entry has no `type`, "
        "`delivery`, `license`, `support`, `rfc`",
        f"{PATH}:21:11: contents-duplicate: 'eigen' is already listed under third_party on "
        "line 9 (a name appears once in the file)",
        f"{PATH}:23:11: contents-duplicate: 'eigen' is already listed under third_party on "
        "line 9 (a name appears once in the file)",
        f"{PATH}:25:5: contents-structure: the `packages` entry has no `rfc`",
        f"{PATH}:26:5: contents-structure: a `packages` entry must be a mapping of name, rfc",
    ]
    with pytest.raises(CheckFailed) as failed:
        parse_contents(BAD_FIELDS, PATH)
    assert [str(d) for d in failed.value.diagnostics] == problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1: contents-structure: the contents file is one mapping with `third_party` and "
         "`packages` lists"),
        ("- eigen\n", "1:1: contents-structure: the contents file is one mapping with "
         "`third_party` and `packages` lists"),
        ("third_party:\n", "1:13: contents-structure: `third_party` must be a list of "
         "mappings (write `third_party: []` for none)"),
        ("third_party: []\nthird_party: []\n", "2:1: contents-duplicate: `third_party` is "
         "given twice in the contents file (first on line 1); keep one"),
        ("packages: []\nthird-party: []\n", "2:1: contents-key: unknown key `third-party` in "
         "the contents file (allowed: third_party, packages)"),
        ("third_party: [\n", "2:1: contents-syntax: not valid YAML: did not find expected "
         "node content"),
        ("packages:\n  - {name: afw, rfc: RFC-1, rfc: RFC-2}\n", "2:29: contents-duplicate: "
         "`rfc` is given twice in a `packages` entry (first on line 2); keep one"),
    ],
)  # fmt: skip
def test_structure_problems(text: str, expected: str) -> None:
    assert [str(d) for d in check_contents(text, PATH)] == [f"{PATH}:{expected}"]


def test_empty_lists_are_a_valid_file() -> None:
    assert parse_contents("third_party: []\npackages: []\n", PATH) == Contents(path=PATH)
    assert parse_contents("packages: []\n", PATH) == Contents(path=PATH)


def test_names_are_unique_across_lists_and_conda_names_without_case() -> None:
    text = (
        "third_party:\n"
        "  - {name: PyYAML, type: 1, delivery: conda, license: MIT, support: full, rfc: RFC-1}\n"
        "  - {name: pyyaml, type: 1, delivery: conda, license: MIT, support: full, rfc: RFC-2}\n"
        "packages:\n"
        "  - {name: sconsUtils, rfc: RFC-3}\n"
        "  - {name: sconsUtils, rfc: RFC-4}\n"
    )
    assert [str(d) for d in check_contents(text, PATH)] == [
        f"{PATH}:3:12: contents-duplicate: 'pyyaml' is already listed under third_party on "
        "line 2 (a name appears once in the file)",
        f"{PATH}:6:12: contents-duplicate: 'sconsUtils' is already listed under packages on "
        "line 5 (a name appears once in the file)",
    ]


@pytest.mark.parametrize(
    "text",
    ["MIT", "BSD-3-Clause", "GPL-2.0-or-later", "GPL-2.0+", "MIT OR Apache-2.0",
     "LGPL-2.1-only AND (MIT OR BSD-2-Clause)", "GPL-2.0-or-later WITH Classpath-exception-2.0",
     "LicenseRef-MPICH", "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "NOASSERTION",
     "((MIT))"],
)  # fmt: skip
def test_spdx_expressions_that_are_valid(text: str) -> None:
    assert license_problem(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty: write an SPDX licence id such as MIT or BSD-3-Clause"),
        ("MIT OR", "ends where a licence id was expected"),
        ("MIT or BSD-3-Clause",
         "'or' where AND, OR or WITH was expected (operators are upper case)"),
        ("MIT BSD-3-Clause", "'BSD-3-Clause' where AND, OR or WITH was expected"),
        ("AND MIT", "'AND' where a licence id was expected"),
        ("GPL-2.0 WITH", "ends where an exception id was expected after WITH"),
        ("(MIT", "a '(' is not closed"),
        ("(MIT OR Apache-2.0 BSD)", "'BSD' where ')' was expected"),
        ("MIT)", "')' where AND, OR or WITH was expected"),
        ("BSD/MIT", "'BSD/MIT' where a licence id was expected"),
        ("(" * 40 + "MIT" + ")" * 40, "parentheses nested deeper than 32"),
    ],
)  # fmt: skip
def test_spdx_expressions_that_are_not(text: str, problem: str) -> None:
    assert license_problem(text) == problem


def test_approval_of_a_package_then_a_third_party_name() -> None:
    contents = parse_contents(GOOD, PATH)
    assert approval_of(contents, "meas_extensions_foo") == "RFC-456"
    assert approval_of(contents, "eigen") == "RFC-123"
    assert approval_of(contents, "meas_extensions_bar") is None
    assert approval_of(Contents(), "afw") is None


def test_check_third_party_names_each_unapproved_name_once_where_it_is_used() -> None:
    contents = parse_contents(GOOD, PATH)
    eups: list[str | Use] = [
        Use("eigen", "ups/afw.table", 9, 15),
        Use("boost", "ups/afw.table", 10, 15),
        Use("boost", "ups/utils.table", 2, 15),
        "boost",
        "Eigen",  # EUPS names keep their case
    ]
    conda: list[str | Use] = [
        Use("GalSim", "etc/env.yml", 7, 5),
        "numpy",
        "numpy",
        Use("NumPy", "etc/env.yml", 9, 5),
    ]
    assert [str(d) for d in check_third_party(contents, eups, conda, "lsst_distrib")] == [
        f"ups/afw.table:10:15: third-party-unapproved: EUPS product 'boost' is not approved in "
        f"{PATH}; also used at ups/utils.table:2, lsst_distrib:1{HINT}",
        "lsst_distrib:1: third-party-unapproved: EUPS product 'Eigen' is not approved in "
        f"{PATH}{HINT}",
        f"lsst_distrib:1: third-party-unapproved: conda package 'numpy' is not approved in "
        f"{PATH}; also used at etc/env.yml:9{HINT}",
    ]
    assert check_third_party(contents, ["eigen", "galsim"], ["eigen", "GALSIM"], "x") == []


def test_a_file_without_a_path_is_named_by_its_pattern() -> None:
    (problem,) = check_third_party(Contents(), ["boost"], [], "b1234")
    assert str(problem) == (
        "b1234:1: third-party-unapproved: EUPS product 'boost' is not approved in "
        f"ups/<product>.contents.yaml{HINT}"
    )


def test_table_uses_with_repos_yaml_leave_only_what_it_does_not_know() -> None:
    table = parse_table((DATA / "tables/lsst/afw.table").read_text(), "ups/afw.table")
    repos = frozenset(parse_repos((DATA / "repos.yaml").read_text(), "repos.yaml"))
    uses = table_uses(table, Contents(), repos)
    assert uses == [Use("cuda_toolkit", "ups/afw.table", 17, 15)]
    assert check_third_party(sample(), uses, [], PATH) == []


def test_table_uses_without_repos_yaml_are_all_but_the_approved_packages() -> None:
    table = parse_table((DATA / "tables/lsst/afw.table").read_text(), "ups/afw.table")
    names = [use.name for use in table_uses(table, sample())]
    assert names == ["daf_base", "daf_persistence", "ndarray", "cfitsio", "wcslib", "xpa",
                     "numpy", "minuit2", "eigen", "gsl", "fftw", "utils", "pyfits",
                     "cuda_toolkit"]  # fmt: skip
    problems = check_third_party(sample(), table_uses(table, sample()), [], PATH)
    assert [str(d).split(": ", 2)[:2] for d in problems] == [
        ["ups/afw.table:1:15", "third-party-unapproved"],
        ["ups/afw.table:2:15", "third-party-unapproved"],
        ["ups/afw.table:12:15", "third-party-unapproved"],
    ]
    assert [str(d).split("'")[1] for d in problems] == ["daf_base", "daf_persistence", "utils"]


def test_table_uses_skip_eups_itself_and_the_product_and_keep_externals() -> None:
    text = (
        "setupRequired(eups >= 2.0)\n"
        "setupRequired(lsst_distrib)\n"
        "setupRequired(afw)\n"
        "setupRequired(eigen)\n"
        "setupOptional(sconsUtils --external)\n"
        "setupRequired(meas_extensions_foo)\n"
    )
    table = parse_table(text, "ups/lsst_distrib.table")
    contents = parse_contents(GOOD, PATH)
    known = {"afw", "eigen", "sconsUtils"}
    assert table_uses(table, contents, known) == [
        Use("eigen", "ups/lsst_distrib.table", 4, 15),  # listed as third-party: checked
        Use("sconsUtils", "ups/lsst_distrib.table", 5, 15),  # --external: third-party
    ]
    assert [u.name for u in table_uses(table, contents)] == ["afw", "eigen", "sconsUtils"]


def test_conda_uses_of_the_real_environment_are_approved_by_the_sample() -> None:
    path = "etc/conda3_bleed-linux-64.yml"
    uses, problems = conda_uses((DATA / "conda/conda3_bleed-linux-64.yml").read_text(), path)
    assert problems == []
    assert len(uses) == 74
    assert uses[:2] == [Use("compilers", path, 9, 5), Use("cmake", path, 10, 5)]
    assert uses[-1] == Use("xpa", path, 83, 5)
    assert check_third_party(sample(), [], uses, PATH) == []


def test_conda_uses_of_the_pinned_lock_are_mostly_unapproved() -> None:
    path = "etc/conda3_packages-linux-64.yml"
    uses, _ = conda_uses((DATA / "conda/conda3_packages-linux-64.yml").read_text(), path)
    problems = check_third_party(sample(), [], uses, PATH)
    assert (len(uses), len(problems)) == (284, 209)
    assert str(problems[0]).startswith(
        f"{path}:6:5: third-party-unapproved: conda package '_libgcc_mutex' is not approved"
    )


def test_conda_uses_skip_pip_and_bad_specs_and_report_bad_yaml() -> None:
    text = (
        "name: x\ndependencies:\n  - conda-forge::numpy >=1\n  - 'numpy >>1'\n"
        "  - pip:\n    - requests\n"
    )
    assert conda_uses(text, "env.yml") == ([Use("numpy", "env.yml", 3, 5)], [])
    uses, problems = conda_uses("dependencies: [\n", "env.yml")
    assert uses == []
    assert [d.rule for d in problems] == ["conda-env-syntax"]
    assert conda_uses("- a\n", "env.yml") == ([], [])
