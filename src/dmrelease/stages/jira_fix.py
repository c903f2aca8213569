"""After a final: its Fix Version on every Jira issue of the release (DMTN-106 §4.4).

The issues of a final ``M.n.p`` are those of its release notes against the previous final
(:func:`dmrelease.stages.notes.release_notes`: every ticket its commits carry, and the
release issue's blockers). The version ``M.n.p`` of the project (``jira.project``) is made
when Jira lacks it, then added to the Fix Versions of each of those issues of the project
that lacks it; an issue that has it is not written, so a second run writes nothing. Keys
Jira does not know, and issues of other projects (whose versions are not the project's),
are listed, not written.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from dmrelease.core.config import Config
from dmrelease.core.errors import UsageError
from dmrelease.core.requests import FixVersionRequest

__all__ = ["FixVersions", "fix_versions", "release_version"]


@dataclass(frozen=True)
class FixVersions:
    """What the Fix Version run did (or, ``dry_run``, would do): ``written`` the issues it
    added the version to, ``present`` those that had it, ``unknown`` the keys Jira does not
    know, ``elsewhere`` issues of other projects, ``unfinished`` blockers of the release
    issue that are not done and that no commit of the release carries (not in it: waived,
    or moved to a later release); ``created``: the project's version was made."""

    version: str
    project: str
    created: bool
    written: tuple[str, ...]
    present: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    elsewhere: tuple[str, ...] = ()
    dry_run: bool = False
    unfinished: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.created or bool(self.written)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "project": self.project,
            "dry_run": self.dry_run,
            "created": self.created,
            "written": list(self.written),
            "present": list(self.present),
            "unknown": list(self.unknown),
            "elsewhere": list(self.elsewhere),
            "unfinished": list(self.unfinished),
            "changed": self.changed,
        }

    def lines(self) -> list[str]:
        """What the run says, one line each."""
        would = "would " if self.dry_run else ""
        at = f"{self.project} {self.version}"
        lines = [f"jira: {would}create the version {at}" if self.created
                 else f"jira: the version {at} exists"]  # fmt: skip
        if self.written:
            verb = "would add" if self.dry_run else "added"
            lines.append(f"jira: {verb} the Fix Version {self.version} to {len(self.written)} "
                         f"issue{'s' if len(self.written) != 1 else ''}: "
                         f"{', '.join(self.written)}")  # fmt: skip
        if self.present:
            lines.append(f"jira: {len(self.present)} already had it: {', '.join(self.present)}")
        if self.unknown:
            lines.append(f"jira: not in Jira, skipped: {', '.join(self.unknown)}")
        if self.elsewhere:
            lines.append(f"jira: not of project {self.project}, skipped: "
                         f"{', '.join(self.elsewhere)}")  # fmt: skip
        if self.unfinished:
            lines.append("jira: blockers not done that no commit carries, skipped: "
                         f"{', '.join(self.unfinished)}")  # fmt: skip
        if not self.changed:
            lines.append(f"jira: nothing to change: every issue of {self.version} has it")
        return lines


#: a Jira project key: the part of an issue key before its number (core/jira's ISSUE_KEY)
_PROJECT = re.compile(r"[A-Z][A-Z0-9]+")


def release_version(release: str) -> str:
    """The Fix Version of a final release: its name ``M.n.p``; UsageError for anything
    that is not a final release."""
    from dmrelease.core.names import InvalidName, Release, parse_tag

    try:
        tag = parse_tag(release, external=True)
    except InvalidName:
        tag = None
    if not isinstance(tag, Release):
        raise UsageError(f"{release!r} is not a final release (M.n.p, as 29.1.0): a Fix "
                         "Version is set after a final")  # fmt: skip
    return str(tag)


def fix_versions(
    config: Config, request: FixVersionRequest, log: TextIO | None = None
) -> FixVersions:
    """Set the Fix Version of ``request.release`` on the issues of its release notes;
    JiraNotConfigured (exit 2) without jira.url, JiraError (exit 2) when Jira fails."""
    from dmrelease.adapters.jira import JiraClient
    from dmrelease.core.requests import NotesRequest
    from dmrelease.stages.notes import release_notes

    log = sys.stderr if log is None else log
    version = release_version(request.release)
    project = config.jira_project
    if not _PROJECT.fullmatch(project):  # it goes into a URL path and a cache file's name
        raise UsageError(f"jira.project {project!r} is not a Jira project key (as DM)")
    client = JiraClient.of(config, log=log)
    asked = NotesRequest(request.product, None, version, release_issue=request.release_issue)
    notes = release_notes(config, asked, log)
    keys = notes.ticket_keys()
    issues = client.issues(keys)
    carried = {ticket.key for ticket in notes.tickets}
    # a blocker that is not done and that no commit carries is not in the release (waived
    # at rc1, moved to a later one): it does not get this release's Fix Version
    unfinished = tuple(k for k in keys if k in issues and k not in carried and not issues[k].done)
    mine = [k for k in issues if k.rpartition("-")[0] == project and k not in unfinished]
    created = client.ensure_version(project, version, dry_run=request.dry_run)
    written = client.add_fix_version(mine, version, dry_run=request.dry_run)
    return FixVersions(
        version, project, created, tuple(written),
        present=tuple(k for k in mine if k not in written),
        unknown=tuple(k for k in keys if k not in issues),
        elsewhere=tuple(k for k in issues if k not in mine and k not in unfinished),
        dry_run=request.dry_run, unfinished=unfinished,
    )  # fmt: skip
