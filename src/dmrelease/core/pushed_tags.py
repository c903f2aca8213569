"""The rule of check-pushed-tags (DESIGN.md §3): every pushed tag is a canonical DM release
name. Allowed git tags: finals ``29.1.0``, candidates ``v29.1.0.rc1`` and weeklies
``w.2025.24``, with no zero padding; ``v29.1.0`` only on external repos. Dailies are EUPS
tags only and build ids versiondb tags. Pure: the hook reads git's pre-push lines and calls
:func:`pushed_tag_diagnostics`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dmrelease.core.errors import Diagnostic

# the tag half of the name API (core.names re-exports it): no branch names, no PEP 440
from dmrelease.core.tag_kinds import InvalidName, Kind
from dmrelease.core.tags import parse_tag

__all__ = [
    "SOURCE",
    "TAG_PREFIX",
    "ZERO_SHA",
    "PushedRef",
    "parse_pushed_refs",
    "pushed_tag_diagnostics",
    "tag_problem",
]

ZERO_SHA = "0" * 40
TAG_PREFIX = "refs/tags/"
#: the FILE of diagnostics: git's pre-push ref list, LINE its line
SOURCE = "<pre-push>"
_GIT_TAG_KINDS = frozenset({Kind.FINAL, Kind.RC, Kind.WEEKLY})
_NOT_GIT_TAGS = {
    Kind.DAILY: "a daily is an EUPS tag only, never a git tag",
    Kind.BUILD: "a build id tags versiondb only (there, use --allow '^b[0-9]+$')",
}


@dataclass(frozen=True)
class PushedRef:
    """One line of git's pre-push input; ``line`` is its 1-based position."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str
    line: int

    @property
    def deleted(self) -> bool:
        return self.local_sha == ZERO_SHA


def parse_pushed_refs(text: str) -> list[PushedRef]:
    """git's pre-push lines (githooks(5)), split from the right: ref names may hold spaces."""
    refs = []
    for number, line in enumerate(text.split("\n"), start=1):  # git ends lines with LF
        parts = line.rsplit(maxsplit=3)
        if len(parts) == 4:
            local_ref, local_sha, remote_ref, remote_sha = parts
            refs.append(PushedRef(local_ref, local_sha, remote_ref, remote_sha, number))
    return refs


def tag_problem(name: str, *, external: bool = False) -> tuple[str, str] | None:
    """(rule, message) when ``name`` may not be a git tag, else None."""
    try:
        kind = parse_tag(name, external=external).kind  # a legacy spelling is refused here
    except InvalidName as exc:
        return exc.diagnostic.rule, f"tag {name!r}: {exc.reason}"
    if kind in _GIT_TAG_KINDS:
        return None
    return "tag-kind", f"tag {name!r}: {_NOT_GIT_TAGS.get(kind, 'not a release tag')}"


def pushed_tag_diagnostics(
    refs: Sequence[PushedRef],
    *,
    external: bool = False,
    allow: Sequence[re.Pattern[str]] = (),
    source: str = SOURCE,
) -> list[Diagnostic]:
    """A diagnostic for each pushed tag that is not a canonical name."""
    found = []
    for ref in refs:
        name = ref.remote_ref.removeprefix(TAG_PREFIX)
        if ref.deleted or name == ref.remote_ref or any(r.fullmatch(name) for r in allow):
            continue
        problem = tag_problem(name, external=external)
        if problem is not None:
            hint = f"delete it with `git tag -d {name}`, tag the canonical name and push that"
            found.append(Diagnostic(source, ref.line, problem[0], problem[1], hint=hint))
    return found
