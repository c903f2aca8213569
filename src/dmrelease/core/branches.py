"""Branch names: main, release, ticket, backport and user branches (DESIGN.md §3, DMTN-106).

Re-exported by :mod:`dmrelease.core.names`. The release branch pattern is configured per
product: ``v{major}.{minor}.x`` is the practice, DMTN-106 suggests ``b.{major}.{minor}.x``.
"""

from __future__ import annotations

import enum
import re
import string
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.refnames import ref_name_problem

__all__ = [
    "DEFAULT_PATTERN",
    "MAIN_BRANCH",
    "MAIN_BRANCHES",
    "Branch",
    "BranchKind",
    "HasMajorMinor",
    "InvalidBranch",
    "ReleaseBranchPattern",
    "backport_branch",
    "branch_problem",
    "classify_branch",
    "parse_branch",
    "ref_problem",
    "ticket_of",
]

MAIN_BRANCH = "main"
#: the default branch; ``master`` is its historical name, still the default in older repos
MAIN_BRANCHES = frozenset({MAIN_BRANCH, "master"})

_TICKET = re.compile(r"tickets/(DM-[1-9][0-9]*)(?:-v(0|[1-9][0-9]*))?")
_TICKET_LOOSE = re.compile(r"tickets/DM-([0-9]+)(?:-v([0-9]+))?")
_USER = re.compile(r"u/([A-Za-z0-9][A-Za-z0-9._-]*)/(.+)")
_NUMBER = {"strict": r"(0|[1-9][0-9]*)", "loose": r"([0-9]+)"}


class InvalidBranch(ParseError):
    """A branch name or release branch pattern that cannot be used; ``reason`` says why."""

    def __init__(self, text: str, reason: str, rule: str = "branch-name") -> None:
        self.text = text
        self.reason = reason
        self.rule = rule
        super().__init__(Diagnostic("<branch>", 1, rule, f"{text!r}: {reason}"))


class BranchKind(enum.StrEnum):
    MAIN = "main"
    RELEASE = "release"
    TICKET = "ticket"
    BACKPORT = "backport"
    USER = "user"
    OTHER = "other"


class HasMajorMinor(Protocol):
    """A release or candidate: what a release branch is named after."""

    @property
    def major(self) -> int: ...

    @property
    def minor(self) -> int: ...


#: why a name is not a valid git branch name, or None: git's one ref-name rule
#: (:func:`dmrelease.core.refnames.ref_name_problem`), under the name branches know it by
ref_problem = ref_name_problem


@cache
def _pattern_regex(pattern: str, numbers: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _spec, _conversion in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(_NUMBER[numbers])
    return re.compile("".join(parts))


@dataclass(frozen=True)
class ReleaseBranchPattern:
    """How a product names its release branches: ``{major}`` and ``{minor}`` once each."""

    pattern: str = "v{major}.{minor}.x"

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            raise InvalidBranch(self.pattern, problem, "branch-pattern")

    def _problem(self) -> str | None:
        try:
            pieces = list(string.Formatter().parse(self.pattern))
        except ValueError as exc:
            return f"not a format string ({exc})"
        fields = [(field, spec, conv) for _lit, field, spec, conv in pieces if field is not None]
        if sorted(field for field, _spec, _conv in fields) != ["major", "minor"]:
            return "name {major} and {minor} once each, and no other field"
        if any(spec or conv for _field, spec, conv in fields):
            return "no format spec or conversion in {major} / {minor}"
        following = [literal for literal, _f, _s, _c in pieces[1:]] + [""]
        if any(not text or text[:1].isdigit() for text in following[: len(fields) - 1]):
            return "separate {major} and {minor} by something that is not a digit"
        if following[len(fields) - 1][:1].isdigit():
            return "a field must not be followed by a digit"
        return ref_problem(self.pattern.format(major=29, minor=1))

    def render(self, release: HasMajorMinor) -> str:
        """The release branch of ``release``: ``v29.1.x`` for 29.1.0 and its candidates."""
        return self.pattern.format(major=release.major, minor=release.minor)

    def match(self, branch: str) -> tuple[int, int] | None:
        """``(major, minor)`` when ``branch`` is a release branch of this pattern, else None."""
        return self._match(branch, "strict")

    def _match(self, branch: str, numbers: str) -> tuple[int, int] | None:
        match = _pattern_regex(self.pattern, numbers).fullmatch(branch)
        if match is None:
            return None
        order = [field for _l, field, _s, _c in string.Formatter().parse(self.pattern) if field]
        values = dict(zip(order, (int(group) for group in match.groups()), strict=True))
        return values["major"], values["minor"]


DEFAULT_PATTERN = ReleaseBranchPattern()


@dataclass(frozen=True)
class Branch:
    """A classified branch name; ``str()`` is the name."""

    name: str
    kind: BranchKind
    ticket: str | None = None
    major: int | None = None
    minor: int | None = None
    user: str | None = None
    topic: str | None = None

    def __str__(self) -> str:
        return self.name


def parse_branch(name: str, pattern: ReleaseBranchPattern = DEFAULT_PATTERN) -> Branch:
    """Classify ``name`` (DESIGN.md §3); raise :class:`InvalidBranch` if git refuses it."""
    problem = ref_problem(name)
    if problem is not None:
        raise InvalidBranch(name, problem, "branch-ref-format")
    if name in MAIN_BRANCHES:
        return Branch(name, BranchKind.MAIN)
    release = pattern.match(name)
    if release is not None:
        return Branch(name, BranchKind.RELEASE, major=release[0], minor=release[1])
    ticket = _TICKET.fullmatch(name)
    if ticket is not None and ticket[2] is None:
        return Branch(name, BranchKind.TICKET, ticket=ticket[1])
    if ticket is not None:
        return Branch(name, BranchKind.BACKPORT, ticket=ticket[1], major=int(ticket[2]))
    user = _USER.fullmatch(name)
    if user is not None:
        return Branch(name, BranchKind.USER, user=user[1], topic=user[2])
    return Branch(name, BranchKind.OTHER)


def classify_branch(name: str, pattern: ReleaseBranchPattern = DEFAULT_PATTERN) -> BranchKind:
    return parse_branch(name, pattern).kind


def ticket_of(branch: str) -> str | None:
    """``DM-12345`` for ``tickets/DM-12345`` and its backports ``tickets/DM-12345-v29``."""
    match = _TICKET.fullmatch(branch)
    return match[1] if match else None


def backport_branch(ticket: str, major: int) -> str:
    """The backport branch of ``ticket`` (``DM-12345``) to release ``major`` (DESIGN.md §1)."""
    name = f"tickets/{ticket}-v{major}"
    if not _TICKET.fullmatch(name):
        raise InvalidBranch(name, "expected a ticket DM-<number> and a major >= 0")
    return name


def branch_problem(name: str, pattern: ReleaseBranchPattern = DEFAULT_PATTERN) -> str | None:
    """Why ``name`` misuses a DM branch namespace (for hooks), or None if it is fine.

    ``tickets/…`` must be ``tickets/DM-<n>[-v<major>]``, ``u/…`` must be ``u/<user>/<topic>``,
    and no number is zero-padded; other names (``main``, ``feature-x``) are not judged here.
    """
    problem = ref_problem(name)
    if problem is not None:
        return problem
    kind = parse_branch(name, pattern).kind
    if kind is not BranchKind.OTHER:
        return None
    fixed = _unpadded(name, pattern)
    if fixed is not None:
        return f"no zero padding in branch numbers (write {fixed})"
    if name.lower().startswith("tickets/"):
        return "ticket branches are tickets/DM-<number>, backports tickets/DM-<number>-v<major>"
    if name.startswith("u/"):
        return "user branches are u/<user>/<topic>"
    return None


def _unpadded(name: str, pattern: ReleaseBranchPattern) -> str | None:
    """``name`` with its numbers unpadded, when that makes it a DM branch name."""
    ticket, release = _TICKET_LOOSE.fullmatch(name), pattern._match(name, "loose")
    if ticket is not None:
        fixed = f"tickets/DM-{int(ticket[1])}" + (f"-v{int(ticket[2])}" if ticket[2] else "")
    elif release is not None:
        fixed = pattern.pattern.format(major=release[0], minor=release[1])
    else:
        return None
    return fixed if parse_branch(fixed, pattern).kind is not BranchKind.OTHER else None
