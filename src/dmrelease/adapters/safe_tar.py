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
adapters/binaries.py). Those rules resolve paths with ``os.path.realpath``, which takes a
name too long for lstat for a directory (CVE-2025-4517: links expanding past PATH_MAX lead
it inside while the kernel follows them out; tarfile's own filter has the bug up to 3.11.12),
so :func:`extract` does not rely on them alone and, whatever the ``check``:

- never writes through a symbolic link: a member below a link unpacked before it (a tree's
  tarball never has one), a directory member where a link is, a hard link reached through a
  link or naming one, are refused; a file replaces what is in its place (unlinked, never
  followed) and is created with ``O_EXCL | O_NOFOLLOW``;
- judges a path and a link's target by their text as well: both stay inside;
- once every member is on disk, resolves every link strictly (:func:`resolve`: lstat at each
  step, any error but a missing component refuses) and refuses one leading outside (a link
  re-pointed by a later member);
- never sets the time or mode of a symbolic link's target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 16
OUTSIDE = "which is outside the destination"


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
) -> list[tuple[str, str]]:
    """Unpack every member of ``tar`` into ``into`` in the archive's order, each as
    ``check`` returns it (it raises to refuse one): a member is judged against what the
    members before it left on disk, as tarfile's filters are. Then, whatever ``check`` says,
    nothing is written through a symbolic link, a link's target stays inside by its text,
    and once every member is on disk every link resolves inside (:func:`links`). A refusal
    stops the unpacking where it is; the caller removes what was written. Returns every
    link it left, as :func:`links` gives them (for a caller with rules of its own on where
    they may lead, without walking the tree again)."""
    into.mkdir(parents=True, exist_ok=True)
    destination = os.path.realpath(into)
    directories: list[tuple[str, float]] = []
    for member in tar:
        entry = check(member, destination)
        target = os.path.normpath(os.path.join(destination, entry.name))
        if _outside(target, destination):  # check's realpath is fooled by a long name
            raise Refused(f"{member.name!r} would be extracted to {target!r}, {OUTSIDE}")
        through = _link_on_the_way(destination, entry.name, last=member.isdir())
        if through is not None:
            raise Refused(
                f"{member.name!r} would be extracted through the symbolic link {through!r}"
            )
        if member.isdir():
            os.makedirs(target, exist_ok=True)
            directories.append((target, member.mtime))
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if member.issym():
            _linked_inside(member, os.path.dirname(target), destination)
            _replace(target)
            os.symlink(member.linkname, target)
            continue
        assert entry.mode is not None  # a file or a hard link: data_rules lets no other through
        if member.islnk():
            _hard_link(member, target, destination)
        else:
            data = tar.extractfile(member)
            assert data is not None  # a regular file
            _replace(target)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with data, open(os.open(target, flags, 0o600), "wb") as out:
                shutil.copyfileobj(data, out, CHUNK)
                out.flush()
        os.chmod(target, entry.mode)  # a file this call made: no link
        os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)
    found = list(links(destination))
    for name, resolved in found:
        if _outside(resolved, destination):
            raise Refused(f"{name!r} would link to {resolved!r}, {OUTSIDE}")
    for path, mtime in sorted(directories, reverse=True):  # the deepest first
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return found


def _link_on_the_way(destination: str, name: str, last: bool) -> str | None:
    """The first symbolic link (its path from ``destination``) on the way to ``name``, each
    component looked at with lstat, never followed; the last one too when ``last``. With
    none, ``name``'s text is where it is: a ``..`` leaves a real directory."""
    here = destination
    parts = [part for part in name.split("/") if part not in ("", ".")]
    for index, part in enumerate(parts):
        here = os.path.dirname(here) if part == ".." else os.path.join(here, part)
        if part == ".." or (index == len(parts) - 1 and not last):
            continue
        with contextlib.suppress(FileNotFoundError):  # missing: made as a directory
            if stat.S_ISLNK(os.lstat(here).st_mode):
                return os.path.relpath(here, destination)
    return None


def _linked_inside(member: tarfile.TarInfo, folder: str, destination: str) -> str:
    """Where a link's target is by its text, from ``folder``: inside the destination or
    refused (the target resolved on disk is ``check``'s, and :func:`links`' at the end)."""
    if os.path.isabs(member.linkname):
        raise Refused(f"{member.name!r} is a link to an absolute path")
    linked = os.path.normpath(os.path.join(folder, member.linkname))
    if _outside(linked, destination):
        raise Refused(f"{member.name!r} would link to {linked!r}, {OUTSIDE}")
    return linked


def _hard_link(member: tarfile.TarInfo, target: str, destination: str) -> None:
    """``target`` made a hard link to the file unpacked before it as ``member.linkname``,
    reached without a symbolic link, itself none."""
    source = _linked_inside(member, destination, destination)
    through = _link_on_the_way(destination, member.linkname, last=False)
    if through is not None:
        raise Refused(f"{member.name!r} is a hard link through the symbolic link {through!r}")
    try:
        is_file = stat.S_ISREG(os.lstat(source).st_mode)
    except FileNotFoundError:
        is_file = False
    if not is_file:
        raise Refused(f"{member.name!r} is a hard link to no file unpacked before it")
    _replace(target)
    os.link(source, target, follow_symlinks=False)


def _replace(target: str) -> None:
    """A member takes the place of what a member before it left there, never writing through
    it (a directory stays and the member fails: an OSError, as with tarfile)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)


#: the symbolic links one path may go through, as Linux (MAXSYMLINKS)
MAX_LINKS = 40


def resolve(path: str) -> str:
    """Where the absolute ``path`` leads, each component looked at with lstat and each
    symbolic link followed by its text (at most :data:`MAX_LINKS`). A missing component ends
    it: the rest is taken by its text (nothing there is a link). Any other error raises
    OSError: unlike ``os.path.realpath`` (CVE-2025-4517), a name too long for lstat is not
    taken for a directory."""
    here, parts, followed = "/", path.split("/"), 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            here = os.path.dirname(here)  # here is a real directory: .. is its parent
            continue
        step = os.path.join(here, part)
        try:
            is_link = stat.S_ISLNK(os.lstat(step).st_mode)
        except FileNotFoundError:
            return os.path.normpath(os.path.join(step, *parts))
        if not is_link:
            here = step
            continue
        followed += 1
        if followed > MAX_LINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        linked = os.readlink(step)
        here = "/" if linked.startswith("/") else here
        parts[:0] = linked.split("/")
    return here


def links(tree: str) -> Iterator[tuple[str, str]]:
    """Every symbolic link under the directory ``tree`` (no link itself): its path from
    ``tree`` and where it resolves (:func:`resolve`). A link that does not resolve (a loop,
    a name too long, a component not a directory) is refused."""

    def fail(error: OSError) -> None:
        raise error

    for folder, dirs, files in os.walk(tree, onerror=fail):
        for entry in sorted((*dirs, *files)):  # in the same order everywhere
            path = os.path.join(folder, entry)
            if not os.path.islink(path):
                continue
            name = os.path.relpath(path, tree)
            try:
                resolved = resolve(path)
            except OSError as exc:
                raise Refused(f"{name!r} is a link that does not resolve: {exc.strerror}") from None
            yield name, resolved
