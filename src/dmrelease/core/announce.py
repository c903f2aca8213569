"""The announcement of a release, posted to the community forum a few days before the
release starts (DMTN-106 §4.3): the planned version, the weekly it is made from, its dates,
the issues that block the release issue and their state, and how to give feedback.

Pure: the dates are passed in (the command reads the clock), the blocking issues too (the
command asks Jira, when one is configured). :func:`render_markdown` is deterministic: the
same announcement gives the same bytes, the blockers in key order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DEFAULT_FEEDBACK",
    "Announcement",
    "Blocker",
    "IssueLike",
    "announcement_problems",
    "blockers_of",
    "render_markdown",
    "title_of",
]

#: how to give feedback when announce.feedback is not set
DEFAULT_FEEDBACK = (
    "Reply to this topic: tell us which fixes or features you need in this release, and "
    "which issues you would like to see block it."
)

_FINAL = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_WEEKLY = re.compile(r"w\.[0-9]{4}\.[0-9]{2}")


class IssueLike(Protocol):
    """What the announcement reads of a Jira issue (core/jira's JiraIssue has it)."""

    @property
    def key(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def done(self) -> bool: ...


@dataclass(frozen=True)
class Blocker:
    """An issue that blocks the release issue, as the post shows it."""

    key: str
    summary: str
    status: str
    done: bool

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "summary": self.summary, "status": self.status,
                "done": self.done}  # fmt: skip


@dataclass(frozen=True)
class Announcement:
    """One planned release. ``blockers`` is None when no Jira was asked (the post then says
    the list is not included); ``end`` None when the expected end is not fixed yet."""

    version: str
    weekly: str
    start: dt.date
    end: dt.date | None = None
    release_issue: str | None = None
    blockers: tuple[Blocker, ...] | None = None
    feedback: str = DEFAULT_FEEDBACK
    product: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "weekly": self.weekly,
            "product": self.product,
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "release_issue": self.release_issue,
            "blockers": None if self.blockers is None else [b.to_dict() for b in self.blockers],
            "feedback": self.feedback,
            "title": title_of(self),
        }


def blockers_of(issues: Iterable[IssueLike]) -> tuple[Blocker, ...]:
    """The blockers of ``issues`` (Jira's answer), each once, in key order (DM-9 before
    DM-10)."""
    found = {i.key: Blocker(i.key, i.summary, i.status, bool(i.done)) for i in issues}
    return tuple(found[k] for k in sorted(found, key=_key_order))


def _key_order(key: str) -> tuple[str, int, str]:
    project, _, number = key.rpartition("-")
    return (project, int(number), key) if number.isdigit() else (key, 0, key)


def _is_weekly(text: str) -> bool:
    """Whether ``text`` is a weekly of the DM calendar: its shape, and a week its year has
    (w.2025.99 is not one)."""
    from dmrelease.core.tag_kinds import InvalidName
    from dmrelease.core.tags import Weekly, parse_tag

    if not _WEEKLY.fullmatch(text):
        return False
    try:
        return isinstance(parse_tag(text), Weekly)
    except InvalidName:
        return False


def announcement_problems(announcement: Announcement) -> list[str]:
    """What is wrong with the request, each said on its own (empty: it can be rendered)."""
    problems = []
    if not _FINAL.fullmatch(announcement.version):
        problems.append(f"version {announcement.version!r}: expected a final release M.n.p "
                        "(such as 29.1.0)")  # fmt: skip
    if not _is_weekly(announcement.weekly):
        problems.append(f"--weekly {announcement.weekly!r}: expected w.YYYY.WW (such as "
                        "w.2025.10)")  # fmt: skip
    if announcement.end is not None and announcement.end < announcement.start:
        problems.append(f"--end {announcement.end.isoformat()} is before --start "
                        f"{announcement.start.isoformat()}")  # fmt: skip
    if not announcement.feedback.strip():
        problems.append("announce.feedback is empty: say how to give feedback, or unset it")
    return problems


def title_of(announcement: Announcement) -> str:
    """The topic's title: one per planned version and weekly, so that a rerun finds the
    topic it posted (the dates and the blockers may change, the title does not)."""
    what = (
        f"{announcement.product} {announcement.version}"
        if announcement.product
        else (announcement.version)
    )
    return f"Upcoming release {what}, from {announcement.weekly}"


def _day(date: dt.date) -> str:
    return f"{date:%A} {date.isoformat()}"


def _cell(text: str) -> str:
    """``text`` in one cell of a Markdown table: on one line, its ``|`` escaped."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def render_markdown(announcement: Announcement) -> str:
    """The post's text (Discourse's ``raw``): Markdown, ending with one newline."""
    a = announcement
    name = f"{a.product} {a.version}" if a.product else a.version
    lines = [
        f"# {title_of(a)}",
        "",
        f"We plan to make the release {name} from the weekly {a.weekly}.",
        "",
        f"- Planned version: {a.version}",
        f"- Base weekly: {a.weekly}",
        f"- Start: {_day(a.start)}",
        f"- Expected end: {_day(a.end) if a.end else 'not fixed yet'}",
        f"- Release issue: {a.release_issue or 'none given'}",
        "",
        "## Blocking issues",
        "",
    ]
    lines += _blocker_lines(a)
    lines += ["", "## Feedback", "", a.feedback.strip()]
    return "\n".join(lines) + "\n"


def _blocker_lines(a: Announcement) -> list[str]:
    if a.blockers is None:
        why = "no Jira is configured (jira.url)" if a.release_issue else "no release issue given"
        return [f"The list of blocking issues is not included: {why}."]
    if not a.blockers:
        return [f"No issue blocks {a.release_issue}."]
    done = sum(b.done for b in a.blockers)
    count = len(a.blockers)
    issues = "issue blocks" if count == 1 else "issues block"
    lines = [
        f"{count} {issues} {a.release_issue}; {done} of them done.",
        "",
        "| Issue | Summary | Status |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {b.key} | {_cell(b.summary)} | {_cell(b.status)} |" for b in a.blockers]
    still = [b.key for b in a.blockers if not b.done]
    if still:
        lines += ["", f"Still open: {', '.join(still)}."]
    return lines
