"""The historical tag spellings readers must tolerate (DESIGN.md §3: ``16.0``, ``6.1.0.0``,
``10.1.rc3``, ``v16.0.rc1``, ``t.2016.34``, ``release/v9_1_1``), never written anew.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from dmrelease.core.tag_kinds import Kind, eups_rule

__all__ = [
    "LEGACY_FORMS",
    "Family",
    "Legacy",
    "legacy_form",
]

#: the historical families of tag names, see :data:`LEGACY_FORMS`
Family = Literal["final", "rc", "weekly", "t", "monthly", "milestone", "release"]


@dataclass(frozen=True)
class Legacy:
    """A historical tag spelling (``16.0``, ``v16.0.rc1``, …), for readers only (DESIGN.md §3)."""

    text: str
    family: Family
    kind: ClassVar[Kind] = Kind.LEGACY

    def __str__(self) -> str:
        return self.text

    @property
    def eups_tag(self) -> str:
        """The §3 rule; ``release/vX_Y_Z`` already carries its EUPS spelling after the ``/``."""
        if self.family == "release":
            return self.text.removeprefix("release/")
        return eups_rule(self.text)


#: historical spellings found in lsst_distrib's tags (tests/data/tags), by family
LEGACY_FORMS: tuple[tuple[Family, re.Pattern[str]], ...] = (
    ("final", re.compile(r"[0-9]+\.[0-9]+(?:\.[0-9]+\.[0-9]+)?")),  # 16.0, 6.1.0.0
    ("rc", re.compile(r"v?[0-9]+\.[0-9]+[.-]rc[0-9]+")),  # 10.1.rc3, v16.0.rc1, v13.0-rc1
    ("weekly", re.compile(r"w\.201[5-7]\.[1-9]")),  # w.2017.1 (zero-padded from 2018 on)
    ("t", re.compile(r"t\.[0-9]{4}\.[0-9]{2}(?:\.[0-9]+)?")),  # t.2016.34, t.2016.44.2
    ("monthly", re.compile(r"[0-9]{4}_[0-9]{2}\.[0-9]+")),  # 2015_10.0
    # dax-F16-2016-11.pre1
    ("milestone", re.compile(r"[a-z]+-[A-Z][0-9]{2}-[0-9]{4}-[0-9]{2}\.pre[0-9]+")),
    ("release", re.compile(r"release/v[0-9]+(?:_[0-9]+)+")),  # release/v9_1_1
)


def legacy_form(text: str) -> Legacy | None:
    """The historical form ``text`` is in (DESIGN.md §3: readers tolerate history), if any."""
    for family, pattern in LEGACY_FORMS:
        if pattern.fullmatch(text):
            return Legacy(text, family)
    return None
