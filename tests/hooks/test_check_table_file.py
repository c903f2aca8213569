"""check-table-file on the real tables of tests/data and on seeded mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.hooks.check_table_file import main, repository_name

DATA = Path(__file__).resolve().parents[1] / "data"
TABLES = sorted((DATA / "tables").rglob("*.table"))
AFW = (DATA / "tables" / "lsst" / "afw.table").read_text()


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.name)
def test_every_real_table_passes(call, table: Path) -> None:
    assert call(main)(["--package", table.stem, str(table)]) == (0, [])


def seeded(tmp_path: Path, old: str, new: str, name: str = "afw") -> Path:
    assert old in AFW
    path = tmp_path / "ups" / f"{name}.table"
    path.parent.mkdir()
    path.write_text(AFW.replace(old, new, 1))
    return path


# mistake -> (replace this, with this, expected "LINE[:COL]: rule")
MISTAKES = {
    "unbalanced parenthesis": (
        "setupRequired(ndarray >= 4.6.0.0)",
        "setupRequired(ndarray >= 4.6.0.0",
        "3:14: table-unbalanced-paren",
    ),
    "unknown directive": (
        "envPrepend(PYTHONPATH",
        "envPrepnd(PYTHONPATH",
        "22:1: table-unknown-directive",
    ),
    "duplicate dependency": (
        "setupOptional(afwdata)",
        "setupOptional(afwdata)\nsetupRequired(eigen)",
        "16:15: table-duplicate-dependency",
    ),
    "dependency on itself": (
        "setupOptional(afwdata)",
        "setupOptional(afw)",
        "15:15: table-self-dependency",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_seeded_mistake_is_reported_with_its_line(call, tmp_path: Path, mistake: str) -> None:
    old, new, expected = MISTAKES[mistake]
    path = seeded(tmp_path, old, new)
    code, lines = call(main)(["--package", "afw", str(path)])
    assert code == 1
    assert lines[0].startswith(f"{path}:{expected}: "), lines


def test_a_table_not_named_after_its_package_is_reported(call, tmp_path: Path) -> None:
    path = seeded(tmp_path, "", "", name="afw_table")
    code, lines = call(main)(["--package", "afw", str(path)])
    assert code == 1
    assert lines == [
        f"{path}:1: table-file-name: the table of package 'afw' must be ups/afw.table "
        f"(git mv {path} ups/afw.table)"
    ]


def test_known_packages_flags_a_dependency_missing_from_repos_yaml(call) -> None:
    table = DATA / "tables" / "lsst" / "afw.table"
    argv = ["--package", "afw", "--known-packages", str(DATA / "repos.yaml"), str(table)]
    code, lines = call(main)(argv)
    assert code == 1
    assert lines == [
        f"{table}:17:15: table-unknown-package: `cuda_toolkit` is not a package of repos.yaml "
        "(fix the name, add the package to repos.yaml or mark it --external)"
    ]


def test_problems_of_the_known_packages_file_are_reported(call, tmp_path: Path) -> None:
    repos = tmp_path / "repos.yaml"
    repos.write_text("afw: https://github.com/lsst/afw.git\nafw: https://example.org/afw.git\n")
    table = DATA / "tables" / "lsst_build.table"
    code, lines = call(main)(
        ["--package", "lsst_build", "--known-packages", str(repos), str(table)]
    )
    assert code == 1
    assert lines[0].startswith(f"{repos}:2:1: repos-duplicate: ")


def test_every_file_is_checked_and_every_problem_reported(call, tmp_path: Path) -> None:
    bad = seeded(tmp_path, "setupOptional(afwdata)", "setupOptional(afw)\nfoo(x)")
    good = DATA / "tables" / "lsst" / "afw.table"
    code, lines = call(main)(["--package", "afw", str(good), str(bad)])
    assert code == 1
    assert [line.split(": ")[1] for line in lines] == [
        "table-self-dependency",
        "table-unknown-directive",
    ]


def test_a_file_that_is_not_utf8_does_not_hide_the_other_files(call, tmp_path: Path) -> None:
    latin1 = tmp_path / "ups" / "afw.table"
    latin1.parent.mkdir()
    latin1.write_bytes(b"# caf\xe9\nsetupRequired(base)\n")
    (tmp_path / "other").mkdir()
    bad = seeded(tmp_path / "other", "setupOptional(afwdata)", "foo(x)")
    code, lines = call(main)(["--package", "afw", str(latin1), str(bad)])
    assert code == 1
    assert [line.split(": ")[1] for line in lines] == ["file-encoding", "table-unknown-directive"]


def test_a_missing_file_is_a_usage_error(call, tmp_path: Path) -> None:
    code, lines = call(main)(["--package", "afw", str(tmp_path / "ups" / "afw.table")])
    assert code == 2
    assert "No such file" in lines[0]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/lsst/afw.git", "afw"),
        ("git@github.com:lsst/daf_butler.git", "daf_butler"),
        ("/srv/git/pipe_tasks/", "pipe_tasks"),
    ],
)
def test_the_package_is_named_after_the_origin_remote(
    traced_git, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, name: str
) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "clone")], check=True)
    subprocess.run(["git", "remote", "add", "origin", url], cwd=tmp_path / "clone", check=True)
    monkeypatch.chdir(tmp_path / "clone")
    done = len(traced_git())
    assert repository_name() == name
    assert traced_git()[done:] == []  # read from .git/config: no git process


def test_a_config_only_git_reads_fully_is_asked_of_git(
    traced_git, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An include (here the one that names origin) is read by git itself, so the name is
    git's answer, as it was before the config was read in-process."""
    import subprocess

    clone = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    (tmp_path / "remote.config").write_text('[remote "origin"]\n\turl = git@host:lsst/obs_base\n')
    with (clone / ".git" / "config").open("a") as config:
        config.write(f"[include]\n\tpath = {tmp_path / 'remote.config'}\n")
    monkeypatch.chdir(clone)
    done = len(traced_git())
    assert repository_name() == "obs_base"
    assert traced_git()[done:] == ["config --get remote.origin.url"]
    monkeypatch.chdir(clone / ".git")  # not the top of a work tree: git finds the repository
    assert repository_name() == "obs_base"


def test_without_a_remote_the_package_is_named_after_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "meas_base").mkdir()
    monkeypatch.chdir(tmp_path / "meas_base")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert repository_name() == "meas_base"
