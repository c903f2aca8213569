"""Unpacking a tarball that is not trusted, the same on every Python dm-release runs on.

tarfile's ``data`` filter (``extractall(filter="data")``, ``tarfile.data_filter``,
``tarfile.FilterError``) exists only from Python 3.11.4; Debian 12's python3 is 3.11.2, which
``requires-python`` admits. So the filter's rules are spelled here (:func:`data_rules`, with
its messages word for word) and the members are written by :func:`extract`, not by tarfile's
``extract``, whose link and ownership handling differs between 3.11.2 and later versions:

- a leading ``/`` is stripped; a member whose path, resolved against what is already on disk
  (links unpacked before it included), leaves the destination is refused;
- devices, FIFOs and other special files are refused;
- a link to an absolute path, or whose target (resolved likewise) leaves the destination, is
  refused; a hard link must name a file unpacked before it (tarfile would fall back to a copy
  of the archive's member with its unfiltered mode);
- modes lose the setuid/setgid/sticky bits and group/other write; a file not executable by
  its owner is executable by nobody; its owner may always read and write it; directories
  get the umask's mode; ownership is never taken from the archive.

:func:`extract` judges each member with a ``check``: :func:`data_rules`, or a function that
applies them and refuses more (the binary server's ``<p>/<v>/`` prefix and size cap,
adapters/binaries.py). Unlike tarfile, it never sets the time of a symbolic link's target.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 16


class Refused(tarfile.TarError):
    """A member the rules refuse; the message names it (tarfile's wording where it has one)."""


@dataclass(frozen=True)
class Entry:
    """A member as it will be written: ``name`` without a leading ``/``, ``mode`` the
    permission bits to set (None: leave what the system gives, for directories and links)."""

    member: tarfile.TarInfo
    name: str
    mode: int | None


def _outside(path: str, destination: str) -> bool:
    return os.path.commonpath([path, destination]) != destination


def data_rules(member: tarfile.TarInfo, destination: str) -> Entry:
    """tarfile's ``data`` filter (Python 3.11.4+) for ``member`` unpacked into
    ``destination``: the same refusals with the same messages, the same name and mode."""
    destination = os.path.realpath(destination)
    name = member.name.lstrip("/")  # after it, no POSIX path is absolute
    target = os.path.realpath(os.path.join(destination, name))
    if _outside(target, destination):
        raise Refused(
            f"{member.name!r} would be extracted to {target!r}, which is outside the destination"
        )
    mode: int | None
    if member.isreg() or member.islnk():
        mode = member.mode & (0o755 if member.mode & 0o100 else 0o644) | 0o600
    elif member.isdir() or member.issym():
        mode = None
    else:
        raise Refused(f"{member.name!r} is a special file")
    if member.issym() or member.islnk():
        if os.path.isabs(member.linkname):
            raise Refused(f"{member.name!r} is a link to an absolute path")
        base = os.path.dirname(name) if member.issym() else ""
        linked = os.path.realpath(os.path.join(destination, base, member.linkname))
        if _outside(linked, destination):
            raise Refused(
                f"{member.name!r} would link to {linked!r}, which is outside the destination"
            )
    return Entry(member, name, mode)


def extract(
    tar: tarfile.TarFile, into: Path, check: Callable[[tarfile.TarInfo, str], Entry] = data_rules
) -> None:
    """Unpack every member of ``tar`` into ``into`` in the archive's order, each as
    ``check`` returns it (it raises to refuse one): a member is judged against what the
    members before it left on disk, as tarfile's filters are. A refusal stops the unpacking
    where it is; the caller removes what was written."""
    into.mkdir(parents=True, exist_ok=True)
    destination = os.path.realpath(into)
    directories: list[tuple[str, float]] = []
    for member in tar:
        entry = check(member, destination)
        target = os.path.join(destination, entry.name)
        if member.isdir():
            os.makedirs(target, exist_ok=True)
            directories.append((target, member.mtime))
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if member.issym():
            _replace(target)
            os.symlink(member.linkname, target)
            continue
        if member.islnk():
            source = os.path.join(destination, member.linkname)
            if not os.path.isfile(source):
                raise Refused(f"{member.name!r} is a hard link to no file unpacked before it")
            _replace(target)
            os.link(source, target)
        else:
            data = tar.extractfile(member)
            assert data is not None  # a regular file (data_rules let no other kind through)
            with data, open(target, "wb") as out:
                shutil.copyfileobj(data, out, CHUNK)
        assert entry.mode is not None
        os.chmod(target, entry.mode)
        os.utime(target, (member.mtime, member.mtime))
    for path, mtime in sorted(directories, reverse=True):  # the deepest first
        os.utime(path, (mtime, mtime))


def _replace(target: str) -> None:
    """A link takes the place of what a member before it left there (a directory stays and
    the link fails: an OSError, as with tarfile)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
