"""check-pushed-tags on git's pre-push lines: the issue's names and lsst_distrib's real tags."""

from __future__ import annotations

import io

import pytest

from dmrelease.hooks.check_pushed_tags import main

SHA, OLD, ZERO = "1" * 40, "2" * 40, "0" * 40


def line(tag: str, local_sha: str = SHA, remote_sha: str = ZERO) -> str:
    return f"refs/tags/{tag} {local_sha} refs/tags/{tag} {remote_sha}\n"


@pytest.fixture
def push(call, monkeypatch: pytest.MonkeyPatch):
    """Run the hook with ``text`` on stdin, as git gives it to a pre-push hook."""
    for name in ("DM_RELEASE_PUSHED_REFS", "PRE_COMMIT_REMOTE_BRANCH", "PRE_COMMIT_LOCAL_BRANCH"):
        monkeypatch.delenv(name, raising=False)

    def run(text: str, *args: str) -> tuple[int, list[str]]:
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        return call(main)(["origin", "git@github.com:lsst/afw.git", *args])

    return run


@pytest.mark.parametrize(
    ("tag", "rule"),
    [
        ("16.01.0", "name-zero-padding"),
        ("v29.0.0", "name-v-prefix"),
        ("w.2025.4", "name-week"),
        ("016.0.0", "name-zero-padding"),
        ("v29.0.0.rc0", "name-rc"),
        ("v29.0.0-rc1", "name-rc"),
        ("16.0", "name-legacy"),
        ("d.2025.06.11", "tag-kind"),
        ("b8466", "tag-kind"),
        ("release-29", "name-syntax"),
    ],
)
def test_a_non_canonical_tag_is_refused(push, tag: str, rule: str) -> None:
    code, lines = push(line(tag))
    assert code == 1
    assert lines[0].startswith(f"<pre-push>:1: {rule}: tag {tag!r}: ")
    assert f"git tag -d {tag}" in lines[0]


@pytest.mark.parametrize("tag", ["29.0.0", "v29.0.0.rc1", "w.2025.04", "w.2022.53", "0.1.0"])
def test_a_canonical_tag_passes_silently(push, tag: str) -> None:
    assert push(line(tag)) == (0, [])


def test_an_external_repo_may_push_v_finals(push) -> None:
    assert push(line("v29.0.0"), "--external") == (0, [])
    assert push(line("v29.0.00"), "--external")[0] == 1


def test_allow_exempts_names(push) -> None:
    assert push(line("b8466"), "--allow", r"b\d+") == (0, [])


def test_a_bad_allow_regex_is_a_usage_error(push) -> None:
    with pytest.raises(SystemExit) as exit_:
        push(line("b8466"), "--allow", "(")
    assert exit_.value.code == 2


def test_each_bad_tag_of_a_push_is_reported_at_its_line(push) -> None:
    text = (
        f"refs/heads/main {SHA} refs/heads/main {OLD}\n"
        + line("w.2025.4")
        + line("29.0.0")
        + line("16.01.0")
    )
    code, lines = push(text)
    assert code == 1
    assert [entry.split(": ")[0:2] for entry in lines] == [
        ["<pre-push>:2", "name-week"],
        ["<pre-push>:4", "name-zero-padding"],
    ]


def test_deleting_a_bad_tag_is_allowed(push) -> None:
    assert push(line("16.01.0", local_sha=ZERO, remote_sha=OLD)) == (0, [])


def test_a_tag_pushed_under_another_remote_name_is_checked_by_that_name(push) -> None:
    text = f"refs/tags/16.01.0 {SHA} refs/tags/16.1.0 {ZERO}\n"
    assert push(text) == (0, [])


def test_the_guard_passes_refs_in_the_environment(push, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DM_RELEASE_PUSHED_REFS", line("w.2025.4"))
    code, lines = push("")
    assert code == 1
    assert lines[0].startswith("<pre-push>:1: name-week: ")


def test_pre_commit_reports_one_pushed_ref_in_the_environment(
    push, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/tags/v29.0.0")
    assert push("")[0] == 1
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/v29.0.0")
    assert push("") == (0, [])
