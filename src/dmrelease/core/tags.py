"""The tag values of DESIGN.md §3 and their one parser: finals, candidates, weeklies,
dailies, build ids.

Frozen dataclasses whose ``str()`` is the canonical git form and ``eups_tag`` the EUPS tag;
:func:`parse_tag` reads canonical names into them (``Release.parse`` and the like check the
kind too), :func:`parse_eups_tag` EUPS tags. :mod:`dmrelease.core.names` re-exports
everything here, with :mod:`dmrelease.core.tag_kinds` (kinds, the error, the EUPS rule)
and :mod:`dmrelease.core.tag_history` (the historical forms); import from there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering
from typing import TYPE_CHECKING, ClassVar, TypeVar

from dmrelease.core.tag_history import legacy_form
from dmrelease.core.tag_kinds import RC_FROM_ONE, YEAR_DIGITS, InvalidName, Kind, eups_rule

if TYPE_CHECKING:  # semver loads with the first ordering or bump: parsing and checking a
    import semver  # name needs none (check-pushed-tags' start-up, issue 10)

__all__ = [
    "BuildId",
    "Candidate",
    "Daily",
    "Release",
    "Tag",
    "Weekly",
    "parse_eups_tag",
    "parse_tag",
    "release_key",
    "weeks_in_year",
]

_T = TypeVar("_T")


def _parse_as(cls: type[_T], text: str, what: str, *, external: bool = False) -> _T:
    """``Cls.parse(text)``: :func:`parse_tag`, then check the kind."""
    value = parse_tag(text, external=external)
    if not isinstance(value, cls):
        raise InvalidName(text, f"this is a {value.kind} name, not {what}", "name-kind")
    return value


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
        import semver

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


#: a canonical tag value, as :func:`parse_tag` returns it
Tag = Release | Candidate | Weekly | Daily | BuildId


_MAX_LENGTH = 100
_EXPECTED = "expected M.n.p, vM.n.p.rcN, w.YYYY.WW, d.YYYY.MM.DD or bN"
_FINAL = re.compile(r"(v?)([0-9]+)\.([0-9]+)\.([0-9]+)")
_RC = re.compile(r"(v?)([0-9]+)\.([0-9]+)\.([0-9]+)([.-]?)rc([0-9]+)")
_WEEKLY = re.compile(r"w\.([0-9]+)\.([0-9]+)")
_DAILY = re.compile(r"d\.([0-9]+)\.([0-9]+)\.([0-9]+)")
_BUILD = re.compile(r"b([0-9]+)")
_EUPS = re.compile(r"v([0-9]+)_([0-9]+)_([0-9]+)(?:_rc([0-9]+))?|[wd](?:_[0-9]+){2,3}|b[0-9]+")


def _numbers(groups: tuple[str, ...], problems: list[str]) -> list[int]:
    """Integers of version components, noting zero padding (``16.1.0 ≠ 16.10.0``)."""
    for group in groups:
        if len(group) > 1 and group.startswith("0"):
            problems.append(f"zero padding in {group!r} (write {int(group)})")
    return [int(group) for group in groups]


def _fail(text: str, problems: list[str], rule: str) -> InvalidName:
    if any(problem.startswith("zero padding") for problem in problems):
        rule = "name-zero-padding"
    return InvalidName(text, "; ".join(problems), rule)


def _parse_final(text: str, external: bool) -> Release | None:
    match = _FINAL.fullmatch(text)
    if match is None:
        return None
    problems: list[str] = []
    major, minor, patch = _numbers(match.groups()[1:], problems)
    if match[1] and not external:
        problems.append(
            f"a DM final has no 'v' (write {major}.{minor}.{patch}); "
            f"'v{major}.{minor}.{patch}' is only for external repos"
        )
    if problems:
        raise _fail(text, problems, "name-v-prefix")
    return Release(major, minor, patch)


def _parse_rc(text: str) -> Candidate | None:
    match = _RC.fullmatch(text)
    if match is None:
        return None
    problems: list[str] = []
    major, minor, patch, rc = _numbers((*match.groups()[1:4], match[6]), problems)
    if rc == 0:
        problems.append(RC_FROM_ONE)
    elif not match[1] or match[5] != ".":
        problems.append(f"a release candidate is spelled v{major}.{minor}.{patch}.rc{rc}")
    if problems:
        raise _fail(text, problems, "name-rc")
    return Candidate(Release(major, minor, patch), rc)


def _parse_weekly(text: str) -> Weekly | None:
    match = _WEEKLY.fullmatch(text)
    if match is None:
        return None
    problems: list[str] = []
    year, week = int(match[1]), int(match[2])
    if len(match[1]) != 4:
        problems.append(YEAR_DIGITS)
    if len(match[2]) != 2:
        problems.append(f"the week must have two digits (write w.{year}.{week:02d})")
    if problems:
        raise InvalidName(text, "; ".join(problems), "name-week")
    return Weekly(year, week)


def _parse_daily(text: str) -> Daily | None:
    match = _DAILY.fullmatch(text)
    if match is None:
        return None
    if [len(group) for group in match.groups()] != [4, 2, 2]:
        raise InvalidName(text, "a daily is spelled d.YYYY.MM.DD", "name-date")
    try:
        day = dt.date(*(int(group) for group in match.groups()))
    except ValueError as exc:
        raise InvalidName(text, f"not a calendar date ({exc})", "name-date") from None
    return Daily(day)


def _parse_build(text: str) -> BuildId | None:
    match = _BUILD.fullmatch(text)
    if match is None:
        return None
    problems: list[str] = []
    (number,) = _numbers(match.groups(), problems)
    if problems:  # one number: at most one problem, zero padding
        raise InvalidName(text, problems[0], "name-zero-padding")
    return BuildId(number)


def _not_a_tag(text: str) -> InvalidName:
    """The most helpful reason for a text that fits no canonical pattern."""
    legacy = legacy_form(text)
    if legacy is not None:
        reason = f"historical {legacy.family} form, tolerated in old history only; {_EXPECTED}"
        return InvalidName(text, reason, "name-legacy")
    if _EUPS.fullmatch(text):
        try:
            value = parse_eups_tag(text)
        except InvalidName:
            pass
        else:
            return InvalidName(text, f"EUPS spelling; the git name is {value}", "name-eups-form")
    return InvalidName(text, f"not a DM tag name: {_EXPECTED}")


def parse_tag(text: str, *, external: bool = False) -> Tag:
    """Parse a canonical tag name (DESIGN.md §3); raise :class:`InvalidName` saying why not.

    Zero padding is refused (``016.0.0``, ``w.2025.4``), so do ``rc0``, weeks past the
    year's last (``w.2025.54``) and ``v29.0.0`` unless ``external`` (then ``Release(29,0,0)``).
    """
    if len(text) > _MAX_LENGTH:  # also keeps int() below its digit limit
        raise InvalidName(text[:_MAX_LENGTH] + "…", f"longer than {_MAX_LENGTH} characters")
    try:
        value = (
            _parse_final(text, external)
            or _parse_rc(text)
            or _parse_weekly(text)
            or _parse_daily(text)
            or _parse_build(text)
        )
    except InvalidName as exc:  # a constructor's message names the value, not the text
        if exc.text == text:
            raise
        raise InvalidName(text, exc.reason, exc.rule) from None
    if value is None:
        raise _not_a_tag(text)
    return value


def parse_eups_tag(text: str) -> Tag:
    """EUPS tag → the name it was made from (``v29_1_0_rc1`` → ``v29.1.0.rc1``)."""
    match = _EUPS.fullmatch(text)
    if match is None:
        reason = "not the EUPS tag of a DM name (v29_1_0, v29_1_0_rc1, w_2025_24, d_2025_06_11, b1)"
        raise InvalidName(text, reason, "name-eups")
    if match[1] is None:
        git_name = text.replace("_", ".")
    else:
        git_name = f"{match[1]}.{match[2]}.{match[3]}"
        git_name = f"v{git_name}.rc{match[4]}" if match[4] else git_name
    return parse_tag(git_name)
