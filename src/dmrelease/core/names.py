"""Parse, classify and render the names of DESIGN.md §3: the one name API of dm-release.

Writers use :func:`parse_tag`, which accepts only canonical names and says why a name is
not; readers of history use :func:`read_tag`, which also tolerates the historical forms as
:class:`Legacy`. The values and their parser are :mod:`dmrelease.core.tags` (history in
:mod:`dmrelease.core.tag_history`); branch names are :mod:`dmrelease.core.branches`. All are
re-exported here, so
``from dmrelease.core.names import ...`` reaches the whole API.

A DM final has no ``v`` (``29.1.0``); external repos also carry ``v29.1.0``. With
``external=True`` :func:`parse_tag` accepts that spelling and returns the same
``Release(29, 1, 0)``, whose ``str()`` stays ``29.1.0``; ``Release.git_tags(external=True)``
gives both names.
"""

from __future__ import annotations

import datetime as dt
import re

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
from dmrelease.core.tag_history import Family, Legacy, legacy_form
from dmrelease.core.tag_kinds import FLOATING_TAGS, RC_FROM_ONE, InvalidName, Kind
from dmrelease.core.tags import (
    BuildId,
    Candidate,
    Daily,
    Release,
    Tag,
    Weekly,
    parse_eups_tag,
    parse_tag,
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


def read_tag(text: str) -> Tag | Legacy:
    """Read a tag from history: canonical names (``v`` finals allowed) or :class:`Legacy`."""
    try:
        return parse_tag(text, external=True)
    except InvalidName:
        legacy = legacy_form(text)
        if legacy is None:
            raise
        return legacy


def classify(text: str, *, external: bool = False) -> Kind:
    """The kind of a canonical name, or ``LEGACY`` for a historical one; else InvalidName."""
    try:
        return parse_tag(text, external=external).kind
    except InvalidName:
        if legacy_form(text) is None:
            raise
        return Kind.LEGACY


def eups_tag(text: str) -> str:
    """git name → EUPS tag (DESIGN.md §3): ``29.0.0`` and ``v29.0.0`` both → ``v29_0_0``."""
    return read_tag(text).eups_tag


def from_pep440(text: str, *, strict: bool = True) -> Release | Candidate:
    """A Python package version ``29.1.0`` / ``29.1.0rc1`` (PEP 440) as a release.

    ``strict`` also demands PEP 440's normalized spelling (``29.1.0.rc1`` is refused).
    """
    from packaging.version import InvalidVersion  # PEP 440 only here: a tag check loads none
    from packaging.version import Version as Pep440Version

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
    if value.kind in FLOATING_TAGS:
        tags.append(f"{prefix}-{FLOATING_TAGS[value.kind]}")
    if max(len(name) for name in tags) > 128:
        raise InvalidName(prefix, "docker tags are at most 128 characters", "docker-prefix")
    return tags
