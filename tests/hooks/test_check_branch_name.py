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


def _commit_env() -> dict[str, str]:
    identity = {"NAME": "tester", "EMAIL": "tester@example.org"}
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHEAD_")},
        **{f"GIT_{who}_{k}": v for who in ("AUTHOR", "COMMITTER") for k, v in identity.items()},
    }


@pytest.mark.parametrize(
    ("merged", "code"), [("tickets/DM-7-v29", 0), ("tickets/DM-7", 1)], ids=["backport", "ticket"]
)
def test_a_conflicted_merge_into_a_release_branch_is_judged_by_its_merge_msg(
    call, traced_git, repo: Path, monkeypatch: pytest.MonkeyPatch, merged: str, code: int
) -> None:
    env = _commit_env()
    for name in [k for k in os.environ if k.startswith("GITHEAD_")]:
        monkeypatch.delenv(name)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], check=False, env=env, capture_output=True)

    (repo / "fix.txt").write_text("base\n")
    git("add", "fix.txt")
    git("commit", "-q", "-m", "base")
    git("branch", "v29.1.x")
    git("checkout", "-qb", merged)
    (repo / "fix.txt").write_text("fix\n")
    git("commit", "-q", "-am", "Fix")
    git("checkout", "-q", "v29.1.x")
    (repo / "fix.txt").write_text("other\n")
    git("commit", "-q", "-am", "Other")
    git("merge", "--no-edit", merged)  # a conflict: MERGE_HEAD and MERGE_MSG are left
    assert (repo / ".git" / "MERGE_HEAD").is_file()
    done = len(traced_git())

    found, lines = call(main)([])
    assert found == code
    if code:
        assert len(lines) == 1
        assert lines[0].startswith(
            f"<branch>:1: branch-release-commit: 'v29.1.x' is a release branch: no direct "
            f"commits (merging '{merged}', not a backport branch tickets/DM-<n>-v29)"
        )
    # the branch from .git/HEAD, then both merge files in one call
    assert traced_git()[done:] == ["rev-parse --git-path MERGE_HEAD --git-path MERGE_MSG"]


def test_a_commit_on_a_ticket_branch_starts_no_git_process(call, traced_git, repo: Path) -> None:
    subprocess.run(["git", "checkout", "-qb", "tickets/DM-1"], check=True)
    done = len(traced_git())
    assert call(main)([]) == (0, [])
    assert traced_git()[done:] == []  # the branch is read from .git/HEAD


@pytest.mark.parametrize("other", ["refs/tags/v29.1.x", "refs/remotes/v29.1.x"])
def test_a_branch_name_another_ref_also_has_is_named_as_git_names_it(
    call, traced_git, repo: Path, other: str
) -> None:
    """git shortens refs/heads/v29.1.x to heads/v29.1.x when a tag has the name too (a
    remote of the name too, in some git versions): then git is asked, and the hook judges
    what it answers, as before."""
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=_commit_env()
    )
    subprocess.run(["git", "checkout", "-qb", "v29.1.x"], check=True)
    assert call(main)([])[0] == 1  # a release branch: no direct commits
    subprocess.run(["git", "update-ref", other, "HEAD"], check=True)
    subprocess.run(["git", "pack-refs", "--all"], check=True)  # in packed-refs, not loose
    answer = subprocess.run(
        ["git", "symbolic-ref", "--quiet", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    done = len(traced_git())
    code, lines = call(main)([])
    assert traced_git()[done:][0] == "symbolic-ref --quiet --short HEAD"
    assert code == 1
    assert lines[0].startswith(f"<branch>:1: branch-{'' if '/' in answer else 'release-'}")
    assert f"'{answer}'" in lines[0]
    if other.startswith("refs/tags/"):
        assert answer == "heads/v29.1.x"
