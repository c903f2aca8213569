"""The nine hooks through real pre-commit: real repos, real commits, real pushes (issue 3).

A package or metapackage repository in ``tmp_path`` names this repository in its
``.pre-commit-config.yaml`` (``repo:``/``rev:``, see precommit_harness), installs the git
hooks with ``pre-commit install`` and commits and pushes to a bare remote.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from precommit_harness import DATA, ROOT, Workspace, git_environment, run, snapshot_hook_repo

HOOK_IDS = [hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())]
HOOK_TYPES = ("pre-commit", "pre-merge-commit", "pre-push")
PACKAGE_HOOKS: list[dict[str, Any]] = [
    {"id": "check-branch-name"},
    {"id": "check-pushed-tags"},
    {"id": "check-table-file"},
    {"id": "check-repos-yaml"},
    {"id": "check-requirements"},
    {"id": "check-conda-env"},
    {"id": "check-version-strings"},
]
BLEED = "etc/conda3_bleed-linux-64.yml"
CONTENTS = "ups/lsst_distrib.contents.yaml"
DISTRIBUTION: dict[str, Any] = {
    "id": "check-distribution-contents",
    "args": ["--repos", "etc/repos.yaml", "--conda", BLEED],
}
METAPACKAGE_HOOKS: list[dict[str, Any]] = [
    *PACKAGE_HOOKS[:2],
    {"id": "check-table-file", "args": ["--known-packages", "etc/repos.yaml"]},
    *PACKAGE_HOOKS[3:5],
    # the release environment is pinned; the bleed environment (what is asked for) is not
    {"id": "check-conda-env", "args": ["--pinned"], "files": r"^etc/conda3_packages-.*\.yml$"},
    PACKAGE_HOOKS[6],
    {"id": "check-product-membership", "args": ["--products", "products.yaml"]},
    DISTRIBUTION,
]
PRODUCTS = "products:\n  lsst_distrib: ups/lsst_distrib.table\nrepos: etc/repos.yaml\n"
PYPROJECT = '[project]\nname = "lsst-distrib"\nversion = "29.1.0"\ndependencies = ["numpy>=1.24"]\n'


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return git_environment(home, tmp_path_factory.mktemp("pre-commit-home"))


@pytest.fixture(scope="session")
def hook_repo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dm-release-hooks")


@pytest.fixture(scope="session")
def hook_repo(hook_repo_dir: Path, env: dict[str, str]) -> tuple[str, str]:
    """(repo URL, rev) of this repository's work tree, as a user's config names them."""
    return hook_repo_dir.as_uri(), snapshot_hook_repo(ROOT, hook_repo_dir, env)


@pytest.fixture
def workspace(
    tmp_path: Path, env: dict[str, str], hook_repo: tuple[str, str]
) -> Callable[..., Workspace]:
    """A repository named ``name`` with the hooks installed, its first commit on main."""

    def make(name: str = "afw", hooks: list[dict[str, Any]] = PACKAGE_HOOKS) -> Workspace:
        ws = Workspace(tmp_path / name, env, hook_repo)
        ws.add_remote(tmp_path / f"{name}.git")
        ws.configure(hooks, HOOK_TYPES)
        ws.write("README.md", f"# {name}\n")
        committed = ws.commit("Initial commit")
        assert committed.returncode == 0, committed.stdout
        return ws

    return make


@pytest.fixture(scope="module")
def metapackage(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str], hook_repo: tuple[str, str]
) -> Workspace:
    """lsst_distrib's real files on a ticket branch: every hook has work to do."""
    ws = Workspace(tmp_path_factory.mktemp("meta") / "lsst_distrib", env, hook_repo)
    ws.configure(METAPACKAGE_HOOKS)
    ws.git("checkout", "-qb", "tickets/DM-12345")
    ws.write("ups/lsst_distrib.table", (DATA / "tables" / "lsst_distrib.table").read_text())
    ws.write("etc/repos.yaml", (DATA / "repos.yaml").read_text())
    conda = (DATA / "conda" / "conda3_packages-linux-64.yml").read_text()
    ws.write("etc/conda3_packages-linux-64.yml", conda)
    ws.write(BLEED, (DATA / "conda" / "conda3_bleed-linux-64.yml").read_text())
    ws.write(CONTENTS, (DATA / "contents" / "lsst_distrib.contents.yaml").read_text())
    ws.write("products.yaml", PRODUCTS)
    ws.write("pyproject.toml", PYPROJECT)
    ws.write("requirements.txt", "numpy >=1.24\nastropy==6.0.0  # pinned\n")
    ws.git("add", "-A")
    return ws


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_every_hook_runs_through_pre_commit_and_passes_real_files(
    metapackage: Workspace, hook_id: str
) -> None:
    stage = "pre-push" if hook_id == "check-pushed-tags" else "pre-commit"
    result = metapackage.pre_commit("run", hook_id, "--all-files", "--hook-stage", stage)
    assert result.returncode == 0, result.stdout
    assert re.search(r"\.+Passed$", result.stdout, re.MULTILINE), result.stdout


# (file, text, hook arguments needed, expected FILE:LINE: rule)
SEEDED = {
    "table unbalanced parenthesis": (
        "ups/afw.table",
        "setupRequired(daf_base)\nsetupRequired(utils\n",
        "ups/afw.table:2:",
    ),
    "table unknown directive": (
        "ups/afw.table",
        "setupRequired(daf_base)\nsetupRequird(utils)\n",
        "ups/afw.table:2:1: table-unknown-directive",
    ),
    "table duplicate dependency": (
        "ups/afw.table",
        "setupRequired(utils)\nsetupOptional(pyfits)\nsetupRequired(utils >= 4.5)\n",
        "ups/afw.table:3:15: table-duplicate-dependency",
    ),
    "table wrong file name": (
        "ups/pipe_tasks.table",
        (DATA / "tables" / "lsst" / "pipe_tasks.table").read_text(),
        "ups/pipe_tasks.table:1: table-file-name",
    ),
    "repos.yaml duplicate key": (
        "repos.yaml",
        "afw: https://github.com/lsst/afw.git\nafw: https://github.com/lsst/afw2.git\n",
        "repos.yaml:2:1: repos-duplicate",
    ),
    "requirement syntax": (
        "requirements.txt",
        "numpy >=1.24\nscipy >>= 1.0\n",
        "requirements.txt:2:7: requirements-syntax",
    ),
    "conda spec": (
        "environment.yml",
        "name: dev\nchannels: [conda-forge]\ndependencies:\n  - numpy >>1\n",
        "environment.yml:4:5: conda-env-spec",
    ),
    "zero-padded version": (
        "pyproject.toml",
        '[project]\nname = "afw"\nversion = "29.01.0"\n',
        "pyproject.toml:3:12: version-normalized",
    ),
}


@pytest.mark.parametrize("case", SEEDED)
def test_a_seeded_mistake_stops_the_commit_with_file_line_and_rule(
    workspace: Callable[..., Workspace], case: str
) -> None:
    ws = workspace()
    ws.git("checkout", "-qb", "tickets/DM-1")
    before = ws.head()
    name, text, expected = SEEDED[case]
    ws.write(name, text)
    result = ws.commit(f"Add {name}")
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout
    assert ws.head() == before


def test_the_contents_file_stops_an_unapproved_package_until_it_is_approved(
    workspace: Callable[..., Workspace],
) -> None:
    ws = workspace("lsst_distrib", hooks=[DISTRIBUTION])
    ws.git("checkout", "-qb", "tickets/DM-3")
    ws.write("ups/lsst_distrib.table", (DATA / "tables" / "lsst_distrib.table").read_text())
    ws.write("etc/repos.yaml", (DATA / "repos.yaml").read_text())
    bleed = (DATA / "conda" / "conda3_bleed-linux-64.yml").read_text()
    ws.write(BLEED, bleed)
    contents = (DATA / "contents" / "lsst_distrib.contents.yaml").read_text()
    ws.write(CONTENTS, contents)
    assert ws.commit("Add lsst_distrib's contents").returncode == 0
    before = ws.head()
    ws.write(BLEED, bleed + "  - dask\n")
    refused = ws.commit("Add dask")
    assert refused.returncode != 0
    assert (
        f"{BLEED}:85:5: third-party-unapproved: conda package 'dask' is not approved in "
        f"{CONTENTS} (add it under third_party"
    ) in refused.stdout, refused.stdout
    assert refused.stdout.count("third-party-unapproved") == 1
    assert ws.head() == before
    dask = (
        "  - {name: dask, type: 1, delivery: conda, license: BSD-3-Clause, support: full, "
        "rfc: RFC-999}\n"
    )
    ws.write(CONTENTS, contents.replace("packages:\n", dask + "packages:\n"))
    assert ws.commit("Add dask, approved by RFC-999").returncode == 0
    ws.write(CONTENTS, contents)  # the approval withdrawn: the environment fails again
    withdrawn = ws.commit("Withdraw dask")
    assert withdrawn.returncode != 0
    assert f"{BLEED}:85:5: third-party-unapproved: conda package 'dask'" in withdrawn.stdout


def test_real_package_files_commit_cleanly(workspace: Callable[..., Workspace]) -> None:
    ws = workspace()
    ws.git("checkout", "-qb", "tickets/DM-2")
    ws.write("ups/afw.table", (DATA / "tables" / "lsst" / "afw.table").read_text())
    ws.write("environment.yml", (DATA / "conda" / "conda3_bleed-linux-64.yml").read_text())
    result = ws.commit("Add table and environment")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("branch", "allowed"),
    [
        ("tickets/DM-12345", True),
        ("u/jdoe/try-this", True),
        ("master", True),
        ("feature-x", False),
        ("tickets/DM-012", False),
        ("v29.1.x", False),  # a release branch: no direct commits
    ],
)
def test_commits_only_on_allowed_branches(
    workspace: Callable[..., Workspace], branch: str, allowed: bool
) -> None:
    ws = workspace()
    ws.git("checkout", "-qb", branch)
    ws.write("doc.txt", "text\n")
    result = ws.commit("Change")
    assert (result.returncode == 0) is allowed, result.stdout
    if not allowed:
        assert "<branch>:1: branch-" in result.stdout


@pytest.mark.parametrize(
    ("ticket", "allowed"), [("tickets/DM-7-v29", True), ("tickets/DM-7", False)]
)
def test_a_release_branch_takes_merges_of_backport_branches_only(
    workspace: Callable[..., Workspace], ticket: str, allowed: bool
) -> None:
    ws = workspace()
    ws.git("branch", "v29.1.x")
    ws.git("checkout", "-qb", ticket)
    ws.write("fix.txt", "fix\n")
    assert ws.commit("Fix").returncode == 0
    ws.git("checkout", "-q", "v29.1.x")
    result = ws.git("merge", "--no-ff", "--no-edit", ticket)  # runs pre-merge-commit
    assert (result.returncode == 0) is allowed, result.stdout


def test_a_dmtn106_release_branch_pattern_can_be_configured(
    workspace: Callable[..., Workspace],
) -> None:
    pattern = {
        "id": "check-branch-name",
        "args": ["--release-branch-pattern", "b.{major}.{minor}.x"],
    }
    ws = workspace(hooks=[pattern, *PACKAGE_HOOKS[1:]])
    ws.git("checkout", "-qb", "b.29.1.x")
    ws.write("doc.txt", "text\n")
    result = ws.commit("Change")
    assert "branch-release-commit" in result.stdout, result.stdout


def test_try_repo_runs_a_hook_from_this_repository(
    workspace: Callable[..., Workspace], hook_repo_dir: Path
) -> None:
    ws = workspace()
    ws.write("ups/afw.table", "setupRequired(utils\n")
    ws.git("add", "ups/afw.table")
    result = ws.pre_commit("try-repo", str(hook_repo_dir), "check-table-file")
    assert result.returncode == 1
    assert "ups/afw.table:1:" in result.stdout, result.stdout


# ---- pre-push: tags ---------------------------------------------------------------------

REFUSED = ["16.01.0", "v29.0.0", "w.2025.4"]
ACCEPTED = ["29.0.0", "v29.0.0.rc1", "w.2025.04"]


def push_tag(ws: Workspace, tag: str) -> tuple[int, str]:
    ws.git("tag", tag)
    result = ws.git("push", "origin", f"refs/tags/{tag}")
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def guarded(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str], hook_repo: tuple[str, str]
) -> Workspace:
    """main already pushed; pre-commit's pre-push hook, then the guard, installed."""
    root = tmp_path_factory.mktemp("guarded")
    ws = Workspace(root / "afw", env, hook_repo)
    ws.add_remote(root / "afw.git")
    ws.configure(PACKAGE_HOOKS, HOOK_TYPES)
    ws.write("README.md", "# afw\n")
    assert ws.commit("Initial commit").returncode == 0
    assert ws.git("push", "-q", "origin", "main").returncode == 0
    guard = install_guard(ws)
    assert "pre-push.legacy" in guard.stdout, guard.stdout
    return ws


def install_guard(ws: Workspace) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "dmrelease.hooks.pre_push_guard", "install"], ws.path, ws.env)


def test_pre_commit_alone_lets_a_bad_tag_on_a_pushed_commit_through(
    workspace: Callable[..., Workspace],
) -> None:
    """The gap (pre_commit/commands/hook_impl.py ``_pre_push_ns``) the guard exists for."""
    ws = workspace()
    assert ws.git("push", "-q", "origin", "main").returncode == 0
    code, output = push_tag(ws, "v29.0.0")
    assert code == 0, output
    assert "v29.0.0" in ws.remote_tags()


def test_pre_commit_alone_checks_a_tag_that_brings_new_commits(
    workspace: Callable[..., Workspace],
) -> None:
    ws = workspace()
    code, output = push_tag(ws, "16.01.0")  # the remote has nothing yet
    assert code != 0
    assert "name-zero-padding" in output
    assert ws.remote_tags() == set()


@pytest.mark.parametrize("tag", REFUSED)
def test_the_guard_refuses_a_bad_tag_on_an_already_pushed_commit(
    guarded: Workspace, tag: str
) -> None:
    code, output = push_tag(guarded, tag)
    assert code != 0
    assert re.search(r"<pre-push>:1: name-[a-z-]+: tag " + re.escape(repr(tag)), output)
    assert tag not in guarded.remote_tags()


@pytest.mark.parametrize("tag", ACCEPTED)
def test_the_guard_lets_a_canonical_tag_through(guarded: Workspace, tag: str) -> None:
    code, output = push_tag(guarded, tag)
    assert code == 0, output
    assert tag in guarded.remote_tags()
    assert "DM_RELEASE" not in output  # a pass prints nothing


def test_the_guard_leaves_unstaged_work_alone(workspace: Callable[..., Workspace]) -> None:
    """A push while .pre-commit-config.yaml and a file have unstaged edits: the guard
    neither refuses the push for the config nor stashes and restores the files."""
    ws = workspace()
    assert ws.git("push", "-q", "origin", "main").returncode == 0
    install_guard(ws)
    config = ws.path / ".pre-commit-config.yaml"
    config.write_text(config.read_text() + "# a local edit, not staged\n")
    readme = ws.write("README.md", "# afw, being edited\n")
    stamp = readme.stat().st_mtime_ns
    code, output = push_tag(ws, "29.0.0")
    assert code == 0, output
    assert "29.0.0" in ws.remote_tags()
    assert push_tag(ws, "16.01.0")[0] != 0
    assert readme.stat().st_mtime_ns == stamp
    assert readme.read_text() == "# afw, being edited\n"


def test_the_guard_installed_before_pre_commit_still_runs_first(
    tmp_path: Path, env: dict[str, str], hook_repo: tuple[str, str]
) -> None:
    ws = Workspace(tmp_path / "afw", env, hook_repo)
    ws.add_remote(tmp_path / "afw.git")
    ws.configure(PACKAGE_HOOKS)
    assert "hooks/pre-push" in install_guard(ws).stdout
    ws.configure(PACKAGE_HOOKS, HOOK_TYPES)  # pre-commit moves it to pre-push.legacy
    assert (ws.path / ".git" / "hooks" / "pre-push.legacy").exists()
    assert ws.commit("Initial commit").returncode == 0
    assert ws.git("push", "-q", "origin", "main").returncode == 0
    code, output = push_tag(ws, "w.2025.4")
    assert code != 0
    assert "name-week" in output


def test_an_external_repo_may_push_v_finals(
    workspace: Callable[..., Workspace],
) -> None:
    external = {"id": "check-pushed-tags", "args": ["--external"]}
    ws = workspace(hooks=[PACKAGE_HOOKS[0], external])
    assert ws.git("push", "-q", "origin", "main").returncode == 0
    install_guard(ws)
    assert push_tag(ws, "v29.0.0")[0] == 0
    assert push_tag(ws, "v29.0.00")[0] != 0


def test_a_branch_with_a_bad_name_is_not_pushed(workspace: Callable[..., Workspace]) -> None:
    ws = workspace()
    ws.git("push", "-q", "origin", "main")
    ws.git("checkout", "-qb", "tickets/DM-3")
    ws.write("doc.txt", "text\n")
    assert ws.commit("Change").returncode == 0
    result = ws.git("push", "origin", "tickets/DM-3:refs/heads/my-feature")
    assert result.returncode != 0
    assert "'my-feature': not a DM branch name" in result.stdout
