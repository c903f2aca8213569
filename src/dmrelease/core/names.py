"""Parse, classify and render the names of DESIGN.md §3: the one name parser of dm-release.

Writers use :func:`parse_tag`, which accepts only canonical names and says why a name is
not; readers of history use :func:`read_tag`, which also tolerates the historical forms as
:class:`Legacy`. The values are the frozen dataclasses of :mod:`dmrelease.core.tags`; branch
names are :mod:`dmrelease.core.branches`. Both are re-exported here, so
``from dmrelease.core.names import ...`` reaches the whole API.

A DM final has no ``v`` (``29.1.0``); external repos also carry ``v29.1.0``. With
``external=True`` :func:`parse_tag` accepts that spelling and returns the same
``Release(29, 1, 0)``, whose ``str()`` stays ``29.1.0``; ``Release.git_tags(external=True)``
gives both names.
"""

from __future__ import annotations

import datetime as dt
import re

from packaging.version import InvalidVersion
from packaging.version import Version as Pep440Version

from dmrelease.core.branches import (
    Branch,
    BranchKind,
    InvalidBranch,
    ReleaseBranchPattern,
    branch_problem,
    classify_branch,
    parse_branch,
    ticket_of,
)
from dmrelease.core.tags import (
    RC_FROM_ONE,
    YEAR_DIGITS,
    BuildId,
    Candidate,
    Daily,
    Family,
    InvalidName,
    Kind,
    Legacy,
    Release,
    Tag,
    Weekly,
    release_key,
    weeks_in_year,
)

__all__ = [
    "Branch",
    "BranchKind",
    "BuildId",
    "Candidate",
    "Daily",
    "Family",
    "InvalidBranch",
    "InvalidName",
    "Kind",
    "Legacy",
    "Release",
    "ReleaseBranchPattern",
    "Tag",
    "Weekly",
    "branch_problem",
    "classify",
    "classify_branch",
    "docker_tags",
    "eups_tag",
    "from_pep440",
    "parse_branch",
    "parse_eups_tag",
    "parse_tag",
    "read_tag",
    "release_key",
    "ticket_of",
    "weeks_in_year",
]

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


def _legacy(text: str) -> Legacy | None:
    for family, pattern in LEGACY_FORMS:
        if pattern.fullmatch(text):
            return Legacy(text, family)
    return None


def _not_a_tag(text: str) -> InvalidName:
    """The most helpful reason for a text that fits no canonical pattern."""
    legacy = _legacy(text)
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


def read_tag(text: str) -> Tag | Legacy:
    """Read a tag from history: canonical names (``v`` finals allowed) or :class:`Legacy`."""
    try:
        return parse_tag(text, external=True)
    except InvalidName:
        legacy = _legacy(text)
        if legacy is None:
            raise
        return legacy


def classify(text: str, *, external: bool = False) -> Kind:
    """The kind of a canonical name, or ``LEGACY`` for a historical one; else InvalidName."""
    try:
        return parse_tag(text, external=external).kind
    except InvalidName:
        if _legacy(text) is None:
            raise
        return Kind.LEGACY


def eups_tag(text: str) -> str:
    """git name → EUPS tag (DESIGN.md §3): ``29.0.0`` and ``v29.0.0`` both → ``v29_0_0``."""
    return read_tag(text).eups_tag


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


def from_pep440(text: str, *, strict: bool = True) -> Release | Candidate:
    """A Python package version ``29.1.0`` / ``29.1.0rc1`` (PEP 440) as a release.

    ``strict`` also demands PEP 440's normalized spelling (``29.1.0.rc1`` is refused).
    """
    try:
        version = Pep440Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a number past int()'s digit limit
        raise InvalidName(text, "not a PEP 440 version", "name-pep440") from None
    plain = version.epoch == 0 and version.post is None and version.dev is None
    if (
        not plain
        or version.local
        or len(version.release) != 3
        or (version.pre is not None and version.pre[0] != "rc")
    ):
        raise InvalidName(text, "a DM release is M.n.p or M.n.prcN in PEP 440", "name-pep440")
    if strict and str(version) != text:
        raise InvalidName(text, f"not normalized PEP 440 (write {version})", "name-pep440")
    release = Release(*version.release)
    if version.pre is None:
        return release
    if version.pre[1] < 1:
        raise InvalidName(text, RC_FROM_ONE, "name-rc")
    return Candidate(release, version.pre[1])


_DOCKER_PREFIX = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_FLOATING: dict[type, str] = {Weekly: "w_latest", Daily: "d_latest", Release: "o_latest"}


def docker_tags(prefix: str, tag: str | Tag, timestamp: dt.datetime) -> list[str]:
    """Docker tags for an image of ``tag`` (DESIGN.md §3).

    ``<prefix>-<eups tag>``, ``<prefix>-<eups tag>-<UTC yyyymmddTHHMMSSZ>``, then the
    floating ``<prefix>-w_latest`` / ``d_latest`` / ``o_latest`` (finals only) for weeklies,
    dailies and finals. The floating tag keeps the prefix so platforms do not overwrite
    each other. ``timestamp`` must be timezone-aware.
    """
    if not _DOCKER_PREFIX.fullmatch(prefix):
        reason = (
            "a docker prefix is letters, digits, '_', '.', '-', starting with a letter or digit"
        )
        raise InvalidName(prefix, reason + " and not ending in '.' or '-'", "docker-prefix")
    if timestamp.utcoffset() is None:
        raise ValueError("docker_tags: timestamp must be timezone-aware")
    value = parse_tag(tag) if isinstance(tag, str) else tag
    base = f"{prefix}-{value.eups_tag}"
    tags = [base, f"{base}-{timestamp.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"]
    if type(value) in _FLOATING:
        tags.append(f"{prefix}-{_FLOATING[type(value)]}")
    if max(len(name) for name in tags) > 128:
        raise InvalidName(prefix, "docker tags are at most 128 characters", "docker-prefix")
    return tags
