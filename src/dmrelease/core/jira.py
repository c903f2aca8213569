"""Jira issues as dm-release reads them: the release issue, its blockers, their Fix Versions.

The shape is Jira's REST v2 issue (Jira Data Center): ``{"key", "fields": {"summary",
"status": {"name", "statusCategory": {"key"}}, "issuetype": {"name"}, "fixVersions",
"issuelinks", "resolution"}}``. An issue is done when its status is in the category
``done`` (DMTN-106 §4.4: every issue blocking the release issue is done before rc1); it
is blocked by the issues its links of type ``Blocks`` name as ``inwardIssue`` (the link
reads "KEY is blocked by OTHER" from KEY's side).
Pure: the adapter hands in the decoded JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from dmrelease.core.errors import Diagnostic, ParseError

__all__ = [
    "FIELDS",
    "ISSUE_KEY",
    "JiraIssue",
    "is_issue_key",
    "issue_sort_key",
    "parse_issue",
]

#: a Jira issue key: the project key (a capital letter, then capitals and digits), a dash
#: and the issue's number (no leading zero)
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9]+-[1-9][0-9]*")

#: the fields dm-release asks Jira for (``?fields=`` of an issue, ``fields`` of a search)
FIELDS = ("summary", "status", "issuetype", "fixVersions", "issuelinks", "resolution")

#: the link type whose inward side is "is blocked by"
BLOCKS = "Blocks"


def is_issue_key(text: str) -> bool:
    """Whether ``text`` is a whole issue key (``DM-123``; not ``dm-123``, ``DM-0123``)."""
    return ISSUE_KEY.fullmatch(text) is not None


def issue_sort_key(key: str) -> tuple[str, int]:
    """Issues in key order: by project, then by number (``DM-9`` before ``DM-10``)."""
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, 0)


@dataclass(frozen=True)
class JiraIssue:
    """One issue: ``done`` when its status category is ``done``; ``blocked_by``: the keys
    of the issues blocking it, in key order."""

    key: str
    summary: str
    issue_type: str
    status: str
    done: bool
    fix_versions: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    resolution: str | None = None

    @property
    def epic(self) -> bool:
        return self.issue_type == "Epic"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "summary": self.summary,
            "type": self.issue_type,
            "status": self.status,
            "done": self.done,
            "epic": self.epic,
            "fix_versions": list(self.fix_versions),
            "blocked_by": list(self.blocked_by),
            "resolution": self.resolution,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JiraIssue:
        """The inverse of :meth:`to_dict` (the adapter's cache)."""
        return cls(
            str(data["key"]), str(data["summary"]), str(data["type"]), str(data["status"]),
            bool(data["done"]), tuple(data["fix_versions"]), tuple(data["blocked_by"]),
            data["resolution"],
        )  # fmt: skip


def parse_issue(data: Mapping[str, Any], where: str) -> JiraIssue:
    """The issue of a REST v2 issue object; ParseError at ``where`` naming the key and the
    field of a bad shape."""
    key = data.get("key") if isinstance(data, Mapping) else None
    if not isinstance(key, str) or not is_issue_key(key):
        _bad(where, "an issue without a key" if key is None else f"bad issue key {key!r}")
    fields = data.get("fields")
    if not isinstance(fields, Mapping):
        _bad(where, f"{key}: no fields")
    summary = _text(fields, "summary", key, where)
    status = _mapping(fields, "status", key, where)
    category = _mapping(status, "statusCategory", key, where, "status.statusCategory")
    issue_type = _mapping(fields, "issuetype", key, where)
    resolution = fields.get("resolution")
    if resolution is not None and not isinstance(resolution, Mapping):
        _bad(where, f"{key}: field resolution is not an object or null")
    return JiraIssue(
        key=key,
        summary=summary,
        issue_type=_text(issue_type, "name", key, where, "issuetype.name"),
        status=_text(status, "name", key, where, "status.name"),
        done=_text(category, "key", key, where, "status.statusCategory.key") == "done",
        fix_versions=_fix_versions(fields, key, where),
        blocked_by=_blocked_by(fields, key, where),
        resolution=None if resolution is None else _text(resolution, "name", key, where),
    )


def _fix_versions(fields: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    versions = fields.get("fixVersions") or []
    if not isinstance(versions, list):
        _bad(where, f"{key}: field fixVersions is not a list")
    names = [_text(v, "name", key, where, "fixVersions[].name") for v in versions]
    return tuple(dict.fromkeys(names))


def _blocked_by(fields: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    links = fields.get("issuelinks") or []
    if not isinstance(links, list):
        _bad(where, f"{key}: field issuelinks is not a list")
    blockers = set()
    for link in links:
        if not isinstance(link, Mapping):
            _bad(where, f"{key}: an issue link is not an object")
        kind = _mapping(link, "type", key, where, "issuelinks[].type")
        if kind.get("name") != BLOCKS or "inwardIssue" not in link:
            continue
        other = _mapping(link, "inwardIssue", key, where, "issuelinks[].inwardIssue")
        blockers.add(_text(other, "key", key, where, "issuelinks[].inwardIssue.key"))
    return tuple(sorted(blockers, key=issue_sort_key))


def _mapping(
    data: Mapping[str, Any], name: str, key: str, where: str, label: str | None = None
) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, Mapping):
        _bad(where, f"{key}: field {label or name} is not an object")
    return value


def _text(data: Any, name: str, key: str, where: str, label: str | None = None) -> str:
    value = data.get(name) if isinstance(data, Mapping) else None
    if not isinstance(value, str):
        _bad(where, f"{key}: field {label or name} is not a string")
    return value


def _bad(where: str, message: str) -> NoReturn:
    raise ParseError(Diagnostic(where, 1, "jira-response", message))
