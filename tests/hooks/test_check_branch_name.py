"""check-branch-name: main on a real repository (the rule itself: tests/core/test_branch_rules)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dmrelease.hooks.check_branch_name import main


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
