"""check-branch-name: the rule as a pure function, and main on a real repository."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from dmrelease.core.names import ReleaseBranchPattern
from dmrelease.hooks.check_branch_name import branch_diagnostics, main, merged_branch

DEFAULT = ReleaseBranchPattern()
DMTN106 = ReleaseBranchPattern("b.{major}.{minor}.x")


@pytest.mark.parametrize(
    ("branch", "pattern", "rule"),
    [
        ("main", DEFAULT, None),
        ("master", DEFAULT, None),
        ("tickets/DM-12345", DEFAULT, None),
        ("tickets/DM-12345-v29", DEFAULT, None),
        ("u/jdoe/try-this", DEFAULT, None),
        ("v29.1.x", DEFAULT, None),
        ("b.29.1.x", DMTN106, None),
        ("b.29.1.x", DEFAULT, "branch-name"),
        ("v29.1.x", DMTN106, "branch-name"),
        ("feature-x", DEFAULT, "branch-name"),
        ("tickets/DM-012", DEFAULT, "branch-name"),
        ("tickets/dm-12", DEFAULT, "branch-name"),
        ("u/jdoe", DEFAULT, "branch-name"),
        ("v29.01.x", DEFAULT, "branch-name"),
        ("bad..name", DEFAULT, "branch-ref-format"),
    ],
)
def test_branch_names(branch: str, pattern: ReleaseBranchPattern, rule: str | None) -> None:
    found = branch_diagnostics(branch, pattern, committing=False)
    assert [d.rule for d in found] == ([rule] if rule else [])
    assert all(d.hint and "git branch -m" in d.hint for d in found), "say how to fix it"


def test_allow_adds_names() -> None:
    allow = [re.compile(r"dependabot/.+")]
    assert branch_diagnostics("dependabot/pip/x", DEFAULT, allow=allow) == []
    assert branch_diagnostics("renovate/x", DEFAULT, allow=allow) != []


@pytest.mark.parametrize(
    ("merging", "allowed"),
    [
        (None, False),
        ("tickets/DM-7-v29", True),
        ("origin/tickets/DM-7-v29", True),
        ("tickets/DM-7-v28", False),  # a backport to another major
        ("tickets/DM-7", False),
        ("main", False),
    ],
)
def test_commits_on_a_release_branch(merging: str | None, allowed: bool) -> None:
    found = branch_diagnostics("v29.1.x", DEFAULT, committing=True, merging=merging)
    assert (found == []) is allowed
    assert all(d.rule == "branch-release-commit" for d in found)


def test_allow_release_commits_relaxes_the_rule() -> None:
    assert branch_diagnostics("v29.1.x", DEFAULT, allow_release_commits=True) == []


@pytest.mark.parametrize(
    ("message", "branch"),
    [
        ("Merge branch 'tickets/DM-7-v29' into v29.1.x\n", "tickets/DM-7-v29"),
        ("Merge remote-tracking branch 'origin/tickets/DM-7-v29'\n", "origin/tickets/DM-7-v29"),
        ("Revert something\n", None),
    ],
)
def test_merge_messages(message: str, branch: str | None) -> None:
    assert merged_branch(message) == branch


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    for name in ("PRE_COMMIT_REMOTE_BRANCH", "PRE_COMMIT_LOCAL_BRANCH"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_main_checks_the_current_branch(call, repo: Path) -> None:
    assert call(main)([]) == (0, [])
    subprocess.run(["git", "checkout", "-qb", "v29.1.x"], check=True)
    code, lines = call(main)([])
    assert code == 1
    assert lines[0].startswith("<branch>:1: branch-release-commit: 'v29.1.x' is a release branch")


def test_at_pre_push_main_checks_the_pushed_branch(
    call, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/v29.1.x")
    assert call(main)([]) == (0, [])  # pushing a release branch is fine
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/wip")
    assert call(main)([])[0] == 1
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/tags/not-a-branch")
    assert call(main)([]) == (0, [])


def test_a_detached_head_has_nothing_to_check(call, repo: Path) -> None:
    identity = {"NAME": "tester", "EMAIL": "tester@example.org"}
    env = {
        **os.environ,
        **{f"GIT_{who}_{k}": v for who in ("AUTHOR", "COMMITTER") for k, v in identity.items()},
    }
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env)
    subprocess.run(["git", "checkout", "-q", "--detach"], check=True)
    assert call(main)([]) == (0, [])


def test_a_bad_pattern_is_a_usage_error(call) -> None:
    with pytest.raises(SystemExit) as exit_:
        call(main)(["--release-branch-pattern", "release-{major}", "--branch", "main"])
    assert exit_.value.code == 2


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--release-branch-pattern", "b.{major}.x"], "--release-branch-pattern 'b.{major}.x': "),
        (["--allow", "dependabot/(.+"], "--allow 'dependabot/(.+': not a regular expression"),
    ],
)
def test_a_bad_option_value_names_the_option(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--branch", "main"])
    assert exit_.value.code == 2
    assert f"check-branch-name: error: {named}" in capsys.readouterr().err
