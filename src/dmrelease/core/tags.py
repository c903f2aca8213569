"""The tag values of DESIGN.md §3: finals, candidates, weeklies, dailies, build ids, history.

Frozen dataclasses whose ``str()`` is the canonical git form and ``eups_tag`` the EUPS tag.
Parsing text into them is :mod:`dmrelease.core.names`, which re-exports everything here;
import from there.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from functools import total_ordering
from typing import ClassVar, Literal, TypeVar

import semver

from dmrelease.core.errors import Diagnostic, ParseError

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


class InvalidName(ParseError):
    """A name that is not a valid (canonical) DM name; ``reason`` says how to fix it."""

    def __init__(self, text: str, reason: str, rule: str = "name-syntax") -> None:
        self.text = text
        self.reason = reason
        self.rule = rule
        super().__init__(Diagnostic("<name>", 1, rule, f"{text!r}: {reason}"))


_T = TypeVar("_T")


def _parse_as(cls: type[_T], text: str, what: str, *, external: bool = False) -> _T:
    """``Cls.parse(text)``: :func:`~dmrelease.core.names.parse_tag`, then check the kind."""
    from dmrelease.core.names import parse_tag  # names imports this module: import late

    value = parse_tag(text, external=external)
    if not isinstance(value, cls):
        raise InvalidName(text, f"this is a {value.kind} name, not {what}", "name-kind")
    return value


def eups_rule(git_name: str) -> str:
    """git → EUPS tag: ``v`` before a leading digit, ``.`` and ``-`` → ``_`` (DESIGN.md §3)."""
    prefix = "v" if git_name[:1].isdigit() else ""
    return prefix + git_name.replace(".", "_").replace("-", "_")


@total_ordering
@dataclass(frozen=True)
class Release:
    """A final release ``M.n.p`` (DESIGN.md §3); ordered after all its candidates.

    ``str()`` is ``29.1.0`` even when read from an external repo's ``v29.1.0``;
    :meth:`git_tags` gives the names a final gets.
    """

    major: int
    minor: int
    patch: int
    kind: ClassVar[Kind] = Kind.FINAL

    def __post_init__(self) -> None:
        if min(self.major, self.minor, self.patch) < 0:
            raise InvalidName(f"{self.major}.{self.minor}.{self.patch}", "negative number")

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Release | Candidate):
            return NotImplemented
        return release_key(self) < release_key(other)

    @classmethod
    def parse(cls, text: str, *, external: bool = False) -> Release:
        return _parse_as(cls, text, "a final release M.n.p", external=external)

    @property
    def semver(self) -> semver.Version:
        return semver.Version(self.major, self.minor, self.patch)

    @property
    def eups_tag(self) -> str:
        return eups_rule(str(self))

    @property
    def pep440(self) -> str:
        """The PEP 440 spelling for Python packages: ``29.1.0``."""
        return str(self)

    def git_tags(self, *, external: bool = False) -> tuple[str, ...]:
        """The git tags of a final: ``M.n.p``, plus ``vM.n.p`` on external repos (§1)."""
        return (str(self), f"v{self}") if external else (str(self),)

    def next_patch(self) -> Release:
        bumped = self.semver.bump_patch()
        return Release(bumped.major, bumped.minor, bumped.patch)

    def candidate(self, rc: int = 1) -> Candidate:
        return Candidate(self, rc)


@total_ordering
@dataclass(frozen=True)
class Candidate:
    """A release candidate ``vM.n.p.rcN``, N ≥ 1 (DESIGN.md §3); rc1 < rc2 < … < final."""

    release: Release
    rc: int
    kind: ClassVar[Kind] = Kind.RC

    def __post_init__(self) -> None:
        if self.rc < 1:
            raise InvalidName(f"v{self.release}.rc{self.rc}", RC_FROM_ONE, "name-rc")

    def __str__(self) -> str:
        return f"v{self.release}.rc{self.rc}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Release | Candidate):
            return NotImplemented
        return release_key(self) < release_key(other)

    @classmethod
    def parse(cls, text: str) -> Candidate:
        return _parse_as(cls, text, "a release candidate vM.n.p.rcN")

    @property
    def major(self) -> int:
        return self.release.major

    @property
    def minor(self) -> int:
        return self.release.minor

    @property
    def patch(self) -> int:
        return self.release.patch

    @property
    def semver(self) -> semver.Version:
        """``M.n.p-rc.N``: semver orders ``rc.2 < rc.10 < M.n.p``; EUPS puts rc after final."""
        return self.release.semver.replace(prerelease=f"rc.{self.rc}")

    @property
    def eups_tag(self) -> str:
        return eups_rule(str(self))

    @property
    def pep440(self) -> str:
        """The PEP 440 spelling for Python packages: ``29.1.0rc1``."""
        return f"{self.release}rc{self.rc}"

    def next_rc(self) -> Candidate:
        return Candidate(self.release, self.rc + 1)


def release_key(version: Release | Candidate) -> semver.Version:
    """Sort key: rc1 < rc2 < … < final < next patch (DESIGN.md §3; not EUPS's order)."""
    return version.semver


def _sunday_on_or_before_jan1(year: int) -> int:
    """Proleptic ordinal of the Sunday on or before 1 January of ``year`` (1..10000)."""
    jan1 = dt.date(year - 1, 12, 31).toordinal() + 1 if year > 1 else 1
    return jan1 - jan1 % 7  # ordinal 7 (0001-01-07) is a Sunday


def weeks_in_year(year: int) -> int:
    """52 or 53: the weeks of ``year`` in the DM weekly calendar (DESIGN.md §3)."""
    return (_sunday_on_or_before_jan1(year + 1) - _sunday_on_or_before_jan1(year)) // 7


@dataclass(frozen=True, order=True)
class Weekly:
    """A weekly ``w.YYYY.WW`` in the DM calendar, **not** ISO 8601 (DESIGN.md §3).

    Weeks start on Sunday; week 1 holds 1 January; from the Sunday on or before 1 January
    of the next year, a date belongs to week 1 of that year. Week 53 exists (``w.2022.53``).
    """

    year: int
    week: int
    kind: ClassVar[Kind] = Kind.WEEKLY

    def __post_init__(self) -> None:
        if not 1000 <= self.year <= 9999:
            raise InvalidName(f"w.{self.year}.{self.week:02d}", YEAR_DIGITS, "name-week")
        last = weeks_in_year(self.year)
        if not 1 <= self.week <= last:
            reason = f"the week must be 01..{last} in {self.year}"
            raise InvalidName(f"w.{self.year}.{self.week:02d}", reason, "name-week")

    def __str__(self) -> str:
        return f"w.{self.year}.{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> Weekly:
        return _parse_as(cls, text, "a weekly w.YYYY.WW")

    @classmethod
    def for_date(cls, day: dt.date) -> Weekly:
        """The weekly named for ``day``, a calendar date on the weekly build's clock (Pacific)."""
        ordinal = day.toordinal()
        if ordinal >= _sunday_on_or_before_jan1(day.year + 1):
            return cls(day.year + 1, 1)
        return cls(day.year, (ordinal - _sunday_on_or_before_jan1(day.year)) // 7 + 1)

    @property
    def first_day(self) -> dt.date:
        """The Sunday the week starts on."""
        return dt.date.fromordinal(_sunday_on_or_before_jan1(self.year) + 7 * (self.week - 1))

    @property
    def eups_tag(self) -> str:
        return eups_rule(str(self))


@dataclass(frozen=True, order=True)
class Daily:
    """A daily ``d.YYYY.MM.DD``: an EUPS tag only, no git tag (DESIGN.md §1, §3)."""

    date: dt.date
    kind: ClassVar[Kind] = Kind.DAILY

    def __post_init__(self) -> None:
        if self.date.year < 1000:
            raise InvalidName(self.date.isoformat(), YEAR_DIGITS, "name-date")

    def __str__(self) -> str:
        return f"{self.date:d.%Y.%m.%d}"

    @classmethod
    def parse(cls, text: str) -> Daily:
        return _parse_as(cls, text, "a daily d.YYYY.MM.DD")

    @property
    def eups_tag(self) -> str:
        return eups_rule(str(self))


@dataclass(frozen=True, order=True)
class BuildId:
    """A versiondb build id ``bN``, N ≥ 1 (DESIGN.md §3, §5)."""

    number: int
    kind: ClassVar[Kind] = Kind.BUILD

    def __post_init__(self) -> None:
        if self.number < 1:
            raise InvalidName(f"b{self.number}", "build ids count from b1", "name-build")

    def __str__(self) -> str:
        return f"b{self.number}"

    @classmethod
    def parse(cls, text: str) -> BuildId:
        return _parse_as(cls, text, "a build id bN")

    @property
    def eups_tag(self) -> str:
        return str(self)

    def next(self) -> BuildId:
        """Build ids: highest existing ``bN`` + 1 (DESIGN.md §5)."""
        return BuildId(self.number + 1)


#: the historical families of tag names, see ``names.LEGACY_FORMS``
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


#: a canonical tag value, as :func:`dmrelease.core.names.parse_tag` returns it
Tag = Release | Candidate | Weekly | Daily | BuildId
