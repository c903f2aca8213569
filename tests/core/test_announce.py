"""The announcement of a planned release (core/announce): its exact text, its title, the
blockers in key order, and what the request may not be."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dmrelease.core.announce import (
    DEFAULT_FEEDBACK,
    Announcement,
    Blocker,
    announcement_problems,
    blockers_of,
    render_markdown,
    title_of,
)

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 21)


@dataclass(frozen=True)
class Issue:  # what Jira's client gives: key, summary, status, done (and more)
    key: str
    summary: str
    status: str
    done: bool
    issue_type: str = "Story"


def test_the_post_lists_the_blockers_in_key_order_with_their_state() -> None:
    blockers = blockers_of([
        Issue("DM-10", "Fix | the pipe", "In Progress", False),
        Issue("DM-9", "Port  to\nnumpy 2", "Done", True),
        Issue("DM-100", "Release notes", "To Do", False),
        Issue("DM-9", "Port  to\nnumpy 2", "Done", True),  # Jira may list one twice
    ])  # fmt: skip
    assert [b.key for b in blockers] == ["DM-9", "DM-10", "DM-100"]
    announcement = Announcement("29.1.0", "w.2025.10", START, END, "DM-48000", blockers,
                                "Write to #dm-release on Slack.", "lsst_distrib")  # fmt: skip
    assert render_markdown(announcement) == (
        "# Upcoming release lsst_distrib 29.1.0, from w.2025.10\n"
        "\n"
        "We plan to make the release lsst_distrib 29.1.0 from the weekly w.2025.10.\n"
        "\n"
        "- Planned version: 29.1.0\n"
        "- Base weekly: w.2025.10\n"
        "- Start: Monday 2025-03-10\n"
        "- Expected end: Friday 2025-03-21\n"
        "- Release issue: DM-48000\n"
        "\n"
        "## Blocking issues\n"
        "\n"
        "3 issues block DM-48000; 1 of them done.\n"
        "\n"
        "| Issue | Summary | Status |\n"
        "| --- | --- | --- |\n"
        "| DM-9 | Port to numpy 2 | Done |\n"
        "| DM-10 | Fix \\| the pipe | In Progress |\n"
        "| DM-100 | Release notes | To Do |\n"
        "\n"
        "Still open: DM-10, DM-100.\n"
        "\n"
        "## Feedback\n"
        "\n"
        "Write to #dm-release on Slack.\n"
    )
    assert render_markdown(announcement) == render_markdown(announcement)  # deterministic
    assert announcement.to_dict()["blockers"][0] == {
        "key": "DM-9", "summary": "Port  to\nnumpy 2", "status": "Done", "done": True,
    }  # fmt: skip


def test_without_jira_or_release_issue_the_list_is_said_not_included() -> None:
    no_jira = Announcement("29.1.0", "w.2025.10", START, None, "DM-48000")
    text = render_markdown(no_jira)
    assert text.splitlines()[7:13] == [
        "- Expected end: not fixed yet",
        "- Release issue: DM-48000",
        "",
        "## Blocking issues",
        "",
        "The list of blocking issues is not included: no Jira is configured (jira.url).",
    ]
    assert text.endswith(f"## Feedback\n\n{DEFAULT_FEEDBACK}\n")
    no_issue = render_markdown(Announcement("29.1.0", "w.2025.10", START))
    assert no_issue.splitlines()[8] == "- Release issue: none given"
    assert no_issue.splitlines()[12] == (
        "The list of blocking issues is not included: no release issue given."
    )
    none_open = Announcement("29.1.0", "w.2025.10", START, None, "DM-48000", ())
    assert render_markdown(none_open).splitlines()[12] == "No issue blocks DM-48000."
    one = blockers_of([Issue("DM-7", "Only one", "Closed", True)])
    lines = render_markdown(Announcement("29.1.0", "w.2025.10", START, None, "DM-1", one))
    assert lines.splitlines()[12:17] == [
        "1 issue blocks DM-1; 1 of them done.",
        "",
        "| Issue | Summary | Status |",
        "| --- | --- | --- |",
        "| DM-7 | Only one | Closed |",
    ]
    assert lines.splitlines()[17:] == ["", "## Feedback", "", DEFAULT_FEEDBACK]  # none open


def test_the_title_names_the_version_and_weekly_not_the_dates() -> None:
    first = Announcement("29.1.0", "w.2025.10", START, END, "DM-1", ())
    moved = Announcement("29.1.0", "w.2025.10", START + dt.timedelta(7), None, "DM-1",
                         (Blocker("DM-2", "New", "To Do", False),))  # fmt: skip
    assert title_of(first) == title_of(moved) == "Upcoming release 29.1.0, from w.2025.10"
    assert title_of(Announcement("29.1.0", "w.2025.11", START)) != title_of(first)


def test_what_the_request_may_not_be() -> None:
    assert announcement_problems(Announcement("29.1.0", "w.2025.10", START, END)) == []
    assert announcement_problems(
        Announcement("v29.1.0.rc1", "2025.10", START, START - dt.timedelta(1), feedback=" ")
    ) == [
        "version 'v29.1.0.rc1': expected a final release M.n.p (such as 29.1.0)",
        "--weekly '2025.10': expected w.YYYY.WW (such as w.2025.10)",
        "--end 2025-03-09 is before --start 2025-03-10",
        "announce.feedback is empty: say how to give feedback, or unset it",
    ]
    assert announcement_problems(Announcement("29.01.0", "w.2025.1", START)) == [
        "version '29.01.0': expected a final release M.n.p (such as 29.1.0)",
        "--weekly 'w.2025.1': expected w.YYYY.WW (such as w.2025.10)",
    ]


def test_a_weekly_the_calendar_does_not_have_is_refused() -> None:
    """w.2025.99 and w.2025.00 have the shape of a weekly, but no year has those weeks:
    refused like any other malformed weekly."""
    import dataclasses

    from dmrelease.core.announce import announcement_problems

    good = Announcement("29.1.0", "w.2025.10", START)
    assert announcement_problems(good) == []
    for weekly in ("w.2025.99", "w.2025.00"):
        bad = dataclasses.replace(good, weekly=weekly)
        assert announcement_problems(bad) == [
            f"--weekly {weekly!r}: expected w.YYYY.WW (such as w.2025.10)"
        ]
