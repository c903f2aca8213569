"""Source packages ``<p>-<v>.eupspkg``: what EUPS's eupspkg distrib creates and installs.

``eupspkg create`` (EUPS 2.2.15 lib/eupspkg.sh ``default_create``) makes a directory
``<p>-<v>/`` holding ``ups/pkginfo`` (PRODUCT, VERSION, FLAVOR, SOURCE, SHA1, REPOSITORY,
REPOVERSION) and, with ``SOURCE=git``, the repository's ``ups/eupspkg`` (the install then
clones REPOSITORY and checks out REPOVERSION, refusing another SHA1: ``default_fetch``);
with ``SOURCE=package`` the whole source at the commit (``git archive``), so that an
install needs no git access. ``eups distrib create`` tars and gzips that directory.

:func:`make_package` makes the same tree from a clone at a commit, without a checkout,
with deterministic bytes: members sorted by name, every directory listed, uid/gid 0, no
user or group names, the commit's time as every member's mtime, modes 0644/0755, a gzip
header with mtime 0 and no file name. Made again from the same commit it has the same
bytes, so a publish rerun after a kill finds the packages it wrote already there. It also
returns the package's table file at that commit (``ups/<p>.table``, None when it has none:
such a package cannot be installed by EUPS, whose eupspkg build runs ``setup -r .`` in it).
"""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.config import child_environment
from dmrelease.core.distrib import render_pkginfo
from dmrelease.core.errors import DmReleaseError

__all__ = [
    "SOURCES",
    "PackageFailed",
    "SourcePackage",
    "make_package",
    "pkginfo_in",
    "table_at",
]

#: how a package gets its source: cloned at install, or embedded in the package
SOURCES = ("git", "package")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_PAGER": "cat"}
_COMPRESS_LEVEL = 6
#: what eupspkg's create keeps of a repository's ups/ with SOURCE=git (the install's
#: fetch brings the rest): its eupspkg script and the files configuring it
_UPS_KEPT = "ups/eupspkg"


class PackageFailed(DmReleaseError):
    """A source package could not be made from its clone (exit 1: the named commit is not
    there, or git failed)."""


@dataclass(frozen=True)
class SourcePackage:
    """One package: its name, version, commit, bytes (None: not made, the server has it)
    and table file text (None: it has none)."""

    name: str
    version: str
    sha: str
    data: bytes | None
    table: bytes | None


def _git(clone: Path, *args: str, timeout: float) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=clone, env=child_environment(_GIT_ENV), capture_output=True,
            timeout=timeout, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PackageFailed(f"{clone}: git {args[0]} timed out after {timeout:.0f}s") from None
    except FileNotFoundError:
        raise PackageFailed(f"{clone}: cannot run git (not found, or no such clone)") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise PackageFailed(f"{clone}: git {' '.join(args[:2])}: {message}")
    return done.stdout


def _ups_files(clone: Path, sha: str, timeout: float) -> dict[str, str]:
    """``ups/`` files of the commit: path -> mode (``100644``, ``100755``, ``120000``)."""
    listing = _git(clone, "ls-tree", "-r", "-z", "--full-tree", sha, "--", "ups", timeout=timeout)
    found = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        head, _, path = record.partition(b"\t")
        mode, kind, _ = head.decode().split(" ")
        if kind == "blob":
            found[path.decode("utf-8", "surrogateescape")] = mode
    return found


def _archive(clone: Path, sha: str, paths: list[str], timeout: float) -> list[_Member]:
    """The members of ``git archive`` of ``sha`` (those ``paths``, or all when empty)."""
    data = _git(clone, "archive", "--format=tar", sha, "--", *paths, timeout=timeout)
    members = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for info in archive:
            if info.isdir():
                continue
            if info.issym():
                members.append(_Member(info.name, b"", 0o777, int(info.mtime), info.linkname))
            elif info.isfile():
                handle = archive.extractfile(info)
                content = handle.read() if handle else b""
                mode = 0o755 if info.mode & 0o100 else 0o644
                members.append(_Member(info.name, content, mode, int(info.mtime)))
    return members


@dataclass(frozen=True)
class _Member:
    path: str  # relative to the package directory
    data: bytes
    mode: int
    mtime: int
    link: str | None = None


def _pack(top: str, members: list[_Member], mtime: int) -> bytes:
    """The tar.gz of ``top/`` holding ``members``: every directory listed, sorted."""
    directories = {top}
    for member in members:
        parts = member.path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directories.add(f"{top}/{'/'.join(parts[:depth])}")
    entries: list[tuple[str, _Member | None]] = [(d, None) for d in directories]
    entries += [(f"{top}/{m.path}", m) for m in members]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as archive:
        for name, entry in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry is None:
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
                archive.addfile(info)
            elif entry.link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, entry.link
                info.mode, info.mtime = 0o777, entry.mtime
                archive.addfile(info)
            else:
                info.size, info.mode, info.mtime = len(entry.data), entry.mode, entry.mtime
                archive.addfile(info, io.BytesIO(entry.data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0,
                       compresslevel=_COMPRESS_LEVEL) as gz:  # fmt: skip
        gz.write(raw.getvalue())
    return packed.getvalue()


#: the most of a pkginfo read from a package on the server (it is a few hundred bytes)
_PKGINFO_LIMIT = 1 << 16


def pkginfo_in(data: bytes, name: str, version: str) -> str | None:
    """The text of ``<name>-<version>/ups/pkginfo`` in the source package ``data`` (a
    tar.gz), None when it is not such a package or has no such file."""
    wanted = f"{name}-{version}/ups/pkginfo"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as archive:
            for info in archive:
                if info.name == wanted and info.isfile() and info.size <= _PKGINFO_LIMIT:
                    handle = archive.extractfile(info)
                    return None if handle is None else handle.read().decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return None
    return None


def table_at(clone: Path, name: str, sha: str, *, timeout: float = 600.0) -> bytes | None:
    """``ups/<name>.table`` at commit ``sha`` of ``clone`` (None when it has none)."""
    try:
        return _git(clone, "cat-file", "blob", f"{sha}:ups/{name}.table", timeout=timeout)
    except PackageFailed:  # no such file, or no such commit: which one
        listing = _git(clone, "ls-tree", "-z", "--full-tree", sha, "--", "ups", timeout=timeout)
        if listing and f"\tups/{name}.table\0".encode() in listing:
            raise
        return None


def make_package(
    clone: Path,
    name: str,
    version: str,
    sha: str,
    *,
    source: str,
    repository: str,
    timeout: float = 600.0,
) -> SourcePackage:
    """The ``<name>-<version>.eupspkg`` of ``name`` at commit ``sha`` of ``clone``, its
    source by ``source`` (``git``: REPOSITORY cloned at install; ``package``: embedded)."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    if not (clone / ".git").exists() and not (clone / "HEAD").exists():
        raise PackageFailed(f"{name}: no clone at {clone}")
    try:
        ups = _ups_files(clone, sha, timeout)
    except PackageFailed:
        raise PackageFailed(
            f"{name}: commit {sha} is not in its clone {clone} (fetched from {repository})"
        ) from None
    table_path = f"ups/{name}.table"
    if source == "package":
        members = _archive(clone, sha, [], timeout)
    else:
        wanted = sorted(p for p in ups if p.startswith(_UPS_KEPT) or p == table_path)
        members = _archive(clone, sha, wanted, timeout) if wanted else []
    table = next((m.data for m in members if m.path == table_path and m.link is None), None)
    if source == "git":
        members = [m for m in members if m.path.startswith(_UPS_KEPT)]
    members = [m for m in members if m.path != "ups/pkginfo"]
    mtime = max((m.mtime for m in members), default=0)
    if mtime == 0:  # no file taken from git: the commit's time all the same
        mtime = int(_git(clone, "show", "-s", "--format=%ct", sha, timeout=timeout).strip())
    pkginfo = render_pkginfo(
        name, version, source=source, sha1=sha, repository=repository, repoversion=sha
    ).encode()
    members.append(_Member("ups/pkginfo", pkginfo, 0o644, mtime))
    data = _pack(f"{name}-{version}", members, mtime)
    return SourcePackage(name, version, sha, data, table)
