"""``dm-release notes`` joined with Jira: the local Jira server (demo/jira_server) speaking
REST v2, the notes' tickets read through the Jira adapter, the release issue's blockers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from notes_helpers import notes, releases_fixture
from release_helpers import Setup

from dmrelease.demo.jira_server import LocalJira, serve_jira

TOKEN = "pat-notes-0123456789"


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    yield from releases_fixture(tmp_path_factory)


@pytest.fixture
def jira(releases: Setup, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalJira]:
    """The tickets of 29.1 in Jira, but DM-99; DM-1 the release issue, blocked by DM-102
    (in the commits) and DM-150 (not); a fresh cache for each test."""
    with serve_jira(token=TOKEN) as server:
        server.add_issue("DM-1", "Release 29.1", "Story", "In Progress")
        server.add_issue("DM-101", "The warper", "Epic", "Done")
        server.add_issue("DM-102", "Faster parsing", "Story", "Done", blocks=["DM-1"])
        server.add_issue("DM-103", "Replace oldpkg", "Story", "In Progress")
        server.add_issue("DM-104", "FITS v4", "Epic", "In Progress")  # an open epic: an issue
        server.add_issue("DM-150", "Document 29.1", "Story", "To Do", blocks=["DM-1"])
        monkeypatch.setenv("DM_RELEASE_JIRA_URL", server.url)
        monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", TOKEN)
        monkeypatch.setenv("DM_RELEASE_STATE_DIR", str(releases.root / f"state-{id(server)}"))
        yield server


SECTIONS = (
    "## Completed epics\n\n"
    "- **DM-101**: The warper (afw)\n\n"
    "## Other issues\n\n"
    "- **DM-99**: DM-102 and DM-99: the warper too (afw)\n"
    "- **DM-102**: Faster parsing (afw, utils)\n"
    "- **DM-103**: Replace oldpkg (meta)\n"
    "- **DM-104**: FITS v4 (utils)\n\n"
    "## Package changes\n"
)
PROBLEMS = [
    "<notes>:1: ticket-unknown: DM-99 (in afw) is not known to Jira (fix the commit's ticket "
    "or hide it with an override)",
    "<notes>:1: blocker-not-in-commits: DM-150 blocks DM-1 but no commit of the release "
    "carries it (merge its work, or unlink it from the release issue)",
]


def test_tickets_joined_with_jira_epics_first_and_the_problems(
    releases: Setup, jira: LocalJira
) -> None:
    code, out, err = notes(releases, "v29.1.0.rc1", "--release-issue", "DM-1")
    assert (code, err.splitlines()) == (0, PROBLEMS)
    assert SECTIONS in out
    assert out.endswith(
        "## Problems\n\n"
        "- ticket-unknown: DM-99 (in afw) is not known to Jira\n"
        "- blocker-not-in-commits: DM-150 blocks DM-1 but no commit of the release carries it\n"
    )
    assert TOKEN not in out + err
    issue_gets = sorted(p for m, p in jira.requests if m == "GET" and "/issue/" in p)
    assert issue_gets == [f"/rest/api/2/issue/DM-{n}" for n in (101, 102, 103, 104, 99)]
    assert jira.writes() == []  # the notes only read
    jira.set_status("DM-104", "Done")  # the epic is done now: a rerun reads Jira afresh
    code, out, _err = notes(releases, "v29.1.0.rc1", "--release-issue", "DM-1")
    assert (
        "## Completed epics\n\n- **DM-101**: The warper (afw)\n- **DM-104**: FITS v4 (utils)\n"
        in out
    )


def test_the_json_lists_the_release_issues_for_the_fix_version(
    releases: Setup, jira: LocalJira
) -> None:
    code, out, _err = notes(releases, "v29.1.0.rc1", "--release-issue", "DM-1", "--json")
    data = json.loads(out)
    assert (code, data["ok"], data["jira"], data["blockers"]) == (
        0,
        True,
        True,
        ["DM-102", "DM-150"],
    )
    assert data["ticket_keys"] == ["DM-99", "DM-101", "DM-102", "DM-103", "DM-104", "DM-150"]
    assert [(t["key"], t["section"], t["issue_type"], t["status"], t["known"])
            for t in data["tickets"]] == [
        ("DM-101", "epics", "Epic", "Done", True),
        ("DM-99", "issues", None, None, False),
        ("DM-102", "issues", "Story", "Done", True),
        ("DM-103", "issues", "Story", "In Progress", True),
        ("DM-104", "issues", "Epic", "In Progress", True),
    ]  # fmt: skip
    assert [d["rule"] for d in data["diagnostics"]] == ["ticket-unknown", "blocker-not-in-commits"]


def test_strict_fails_on_the_problems_and_an_override_hides_the_unknown_ticket(
    releases: Setup, jira: LocalJira
) -> None:
    assert notes(releases, "v29.1.0.rc1", "--strict")[0] == 1  # DM-99 unknown
    overrides = releases.root / "hide-99.yaml"
    overrides.write_text("DM-99:\n  hide: true\n")
    code, out, err = notes(releases, "v29.1.0.rc1", "--strict", "--overrides", str(overrides))
    assert (code, err) == (0, "")
    assert "DM-99" not in out


def test_no_jira_asks_nothing_and_a_bad_token_is_exit_2_without_it(
    releases: Setup, jira: LocalJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert notes(releases, "v29.1.0.rc1", "--no-jira")[0] == 0
    assert jira.requests == []
    monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", "wrong-token-value")
    code, out, err = notes(releases, "v29.1.0.rc1")
    assert (code, out) == (2, "")
    assert err.startswith("dm-release: error: ") and "401" in err
    assert "wrong-token-value" not in err
