"""Packing one installed package for the binary (tarball) server (DESIGN.md §6).

EUPS's tarball distrib (``eups distrib create``) writes ``<p>-<v>@<flavor>.tar.gz`` as
``cd <stack>/<flavor> && tar -cf - <p>/<v> | gzip``, after putting a ``.pwd`` file in the
install directory that holds the directory it was installed in; ``eups distrib install``
unpacks it with ``tar -zxmf`` into ``$EUPS_PATH/<flavor>/`` and compares ``.pwd`` with
where it landed (a warning when the product was built elsewhere). :func:`pack` writes that
layout: the members ``<p>/<v>``, ``<p>/<v>/.pwd`` and the tree below, so that the real
EUPS client and dm-release's own binary fetch (adapters/binaries.py) install it alike.

The bytes depend on the tree only (issue 12: a rerun after a kill finds the same file on
the server and skips it): members in one order (each directory's names sorted, the
directory before its content), owner and group 0 with empty names, one fixed mtime
(:data:`MTIME`), modes reduced to 0755/0644 (directories and executables, other files),
hard links stored as files, the gzip header with mtime 0 and no file name. The tarball is
streamed to a staging file (never whole in memory) and its SHA-256 computed as it is
written; the server keeps it beside the tarball as ``<tarball>.sha256`` (sha256sum's
format: ``<hex>  <name>``).

A tree holding what the binary fetch refuses on install is refused here, before a byte is
written: a symbolic link to an absolute path or leading outside ``<p>/<v>/`` (by its text or
through other links), a device, FIFO or socket.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dmrelease.adapters.safe_tar import resolve
from dmrelease.adapters.stack import Stack
from dmrelease.core.distrib import tarball_name
from dmrelease.core.errors import DmReleaseError, UsageError

__all__ = [
    "MTIME",
    "Member",
    "PackFailed",
    "PackRefused",
    "PackedTarball",
    "checksum_name",
    "checksum_problem",
    "checksum_text",
    "members_of",
    "pack",
    "tarball_name",
    "tarball_problem",
]

#: the mtime of every member: 1980-01-01 00:00:00 UTC, the oldest date zip and most tools
#: take for a real one (0 reads as "unset" to some)
MTIME = 315532800
#: gzip's level: its default for the command-line tool, the speed of a 300-package pack
COMPRESSLEVEL = 6
CHUNK = 1 << 20
PWD = ".pwd"


class PackRefused(DmReleaseError):
    """A package's tree holds what a binary tarball may not (exit 1): nothing was written."""


class PackFailed(UsageError):
    """A file of the tree could not be read, or the staging file written (exit 2)."""


def checksum_name(tarball: str) -> str:
    """Where a tarball's SHA-256 is kept on the server: beside it, ``.sha256`` added."""
    return f"{tarball}.sha256"


def checksum_text(digest: str, tarball: str) -> str:
    """The checksum file's text as ``sha256sum`` writes it (``sha256sum -c`` reads it)."""
    return f"{digest}  {tarball}\n"


def checksum_problem(recorded: bytes | None, digest: str | None, tarball: str) -> str | None:
    """Why the tarball ``tarball`` on a server, of SHA-256 ``digest``, is not the one its
    checksum file (``recorded``: its bytes) was written for; None when it is."""
    if digest is None:
        return "gone from the server"
    if recorded == checksum_text(digest, tarball).encode():
        return None
    text = (recorded or b"").decode("utf-8", "replace").split()
    said = text[0] if text else "nothing"
    return (
        f"its SHA-256 is {digest}, its {checksum_name(tarball)} records {said}: "
        "not the tarball packed for this version"
    )


def tarball_problem(data: bytes | None, product: str, version: str) -> str | None:
    """Why ``data`` is not a binary tarball of ``<product>/<version>/`` (every member in
    that tree, as :func:`pack` writes it); None when it is."""
    top = f"{product}/{version}"
    if data is None:
        return "gone from the server"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as archive:
            names = [info.name for info in archive]
    except (tarfile.TarError, OSError, EOFError):
        return f"not a tar.gz of {top}/"
    outside = [
        n for n in names
        if (n != top and not n.startswith(f"{top}/")) or ".." in n.split("/")
    ]  # fmt: skip
    if not names or outside:
        return f"not a tarball of {top}/ (it holds {(outside or ['nothing'])[0]})"
    return None


@dataclass(frozen=True)
class Member:
    """One member as it is packed: ``name`` in the tarball; ``source`` the file read
    (None: a directory, a link, or ``data``); ``link`` a symbolic link's target."""

    name: str
    kind: bytes  # tarfile.DIRTYPE, REGTYPE or SYMTYPE
    mode: int
    source: str | None = None
    link: str = ""
    data: bytes | None = None


@dataclass(frozen=True)
class PackedTarball:
    """A tarball packed into the staging directory: ``path``, its ``sha256`` (hex) and
    ``size`` in bytes, ``members`` how many it holds."""

    product: str
    version: str
    name: str
    path: Path
    sha256: str
    size: int
    members: int


def _mode(st_mode: int) -> int:
    return 0o755 if stat.S_ISDIR(st_mode) or st_mode & stat.S_IXUSR else 0o644


def members_of(stack: Stack, product: str, version: str) -> list[Member]:
    """The members of ``<p>/<v>``'s tarball in their order, the ``.pwd`` in its place;
    PackRefused names every member that may not be packed."""
    prefix = f"{product}/{version}"
    tree = os.path.abspath(stack.install_dir(product, version))
    if not os.path.isdir(tree) or os.path.islink(tree):
        raise PackRefused(f"{product} {version}: {tree} is not an installed directory")
    try:
        real = resolve(tree)  # links resolve alike: lstat at each step, as the fetch does
    except OSError as exc:
        raise PackRefused(f"{product} {version}: {tree}: {exc.strerror}") from None
    pwd = Member(f"{prefix}/{PWD}", tarfile.REGTYPE, 0o644, data=f"{tree}\n".encode())
    found = [Member(prefix, tarfile.DIRTYPE, 0o755)]
    refused: list[str] = []

    def walk(folder: str, name: str) -> None:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            member = f"{name}/{entry.name}"
            if member == pwd.name:
                continue  # ours replaces it, as EUPS's does
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                link = os.readlink(entry.path)
                problem = _link_problem(member, link, entry.path, prefix, real)
                if problem:
                    refused.append(problem)
                found.append(Member(member, tarfile.SYMTYPE, 0o777, link=link))
            elif stat.S_ISDIR(info.st_mode):
                found.append(Member(member, tarfile.DIRTYPE, 0o755))
                walk(entry.path, member)
            elif stat.S_ISREG(info.st_mode):
                found.append(Member(member, tarfile.REGTYPE, _mode(info.st_mode), entry.path))
            else:
                refused.append(f"{member!r} is a special file (a device, FIFO or socket)")

    walk(tree, prefix)
    if refused:
        raise PackRefused(
            f"{product} {version}: {tree} cannot be packed:\n  " + "\n  ".join(refused)
        )
    found.append(pwd)
    found.sort(key=lambda member: member.name.split("/"))  # each directory's names sorted
    return found


def _link_problem(name: str, link: str, path: str, prefix: str, real: str) -> str | None:
    """Why the link ``name`` (at ``path``) may not be packed, or None: its target must be
    relative and stay inside ``<p>/<v>/`` by its text and once resolved on disk (a chain
    of links may lead out where each one's text stays in)."""
    if os.path.isabs(link):
        return f"{name!r} is a link to an absolute path ({link})"
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), link))
    if target != prefix and not target.startswith(f"{prefix}/"):
        return f"{name!r} is a link to {target!r}, outside {prefix}/"
    try:
        resolved = resolve(path)
    except OSError as exc:
        return f"{name!r} is a link that does not resolve: {exc.strerror}"
    if os.path.commonpath([resolved, real]) != real:
        return f"{name!r} is a link leading outside {prefix}/ (to {resolved})"
    return None


class _Hashing:
    """The staging file as gzip writes it: every byte counted and hashed on the way."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def pack(stack: Stack, product: str, version: str, staging: Path) -> PackedTarball:
    """Pack ``<p>/<v>`` of ``stack`` into ``staging/<p>-<v>@<flavor>.tar.gz`` (written as
    a ``.part`` file, renamed when whole). PackRefused before anything is written when the
    tree holds a member the binary fetch would refuse."""
    try:
        members = members_of(stack, product, version)
    except OSError as exc:  # a directory that cannot be listed, a link that cannot be read
        raise PackFailed(
            f"{product} {version}: cannot read {exc.filename}: {exc.strerror}"
        ) from None
    name = tarball_name(product, version, stack.flavor)
    target = staging / name
    part = staging / f".{name}.part"
    try:
        staging.mkdir(parents=True, exist_ok=True)
        with part.open("wb") as raw:
            hashing = _Hashing(raw)
            _write(members, hashing)
        os.replace(part, target)
    except OSError as exc:  # a file that cannot be read, a full disk
        _remove(part)
        raise PackFailed(
            f"{product} {version}: cannot pack {name}: {exc.filename or part}: {exc.strerror}"
        ) from None
    except BaseException:
        _remove(part)
        raise
    digest = hashing.digest.hexdigest()
    return PackedTarball(product, version, name, target, digest, hashing.size, len(members))


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _write(members: list[Member], out: _Hashing) -> None:
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=out, compresslevel=COMPRESSLEVEL, mtime=0
    ) as zipped, tarfile.open(
        fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8"
    ) as tar:  # fmt: skip
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type, info.mode, info.mtime = member.kind, member.mode, MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if member.kind == tarfile.SYMTYPE:
                info.linkname = member.link
                tar.addfile(info)
            elif member.data is not None:
                info.size = len(member.data)
                tar.addfile(info, io.BytesIO(member.data))
            elif member.source is not None:
                with open(member.source, "rb") as data:
                    info.size = os.fstat(data.fileno()).st_size
                    tar.addfile(info, data)
            else:
                tar.addfile(info)
