"""What every DM name shares (DESIGN.md §3): its kind, the error that refuses it, and the
git → EUPS tag rule. The base of :mod:`dmrelease.core.tags` and
:mod:`dmrelease.core.tag_history`; import from :mod:`dmrelease.core.names`.
"""

from __future__ import annotations

import enum

from dmrelease.core.errors import Diagnostic, ParseError

__all__ = [
    "FLOATING_TAGS",
    "RC_FROM_ONE",
    "YEAR_DIGITS",
    "InvalidName",
    "Kind",
    "eups_rule",
]

RC_FROM_ONE = "release candidates count from rc1"
YEAR_DIGITS = "the year must have four digits, 1000..9999"


class Kind(enum.StrEnum):
    """What a tag name is (DESIGN.md §3)."""

    FINAL = "final"
    RC = "rc"
    WEEKLY = "weekly"
    DAILY = "daily"
    BUILD = "build"
    LEGACY = "legacy"


#: the floating tag each kind of release moves (finals only: never a candidate's), on the
#: EUPS servers and as docker tags; the one map of them
FLOATING_TAGS: dict[Kind, str] = {
    Kind.WEEKLY: "w_latest",
    Kind.DAILY: "d_latest",
    Kind.FINAL: "o_latest",
}


class InvalidName(ParseError):
    """A name that is not a valid (canonical) DM name; ``reason`` says how to fix it."""

    def __init__(self, text: str, reason: str, rule: str = "name-syntax") -> None:
        self.text = text
        self.reason = reason
        self.rule = rule
        super().__init__(Diagnostic("<name>", 1, rule, f"{text!r}: {reason}"))


def eups_rule(git_name: str) -> str:
    """git → EUPS tag: ``v`` before a leading digit, ``.`` and ``-`` → ``_`` (DESIGN.md §3)."""
    prefix = "v" if git_name[:1].isdigit() else ""
    return prefix + git_name.replace(".", "_").replace("-", "_")
