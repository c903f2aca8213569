"""The one way dm-release writes a file: whole or not at all, and on disk when it returns.

:func:`write_atomically` writes a temporary file in the target's directory, flushes and
fsyncs it, renames it over the target and fsyncs the directory, so that a reader, a killed
process or a power cut finds the old file or the new one, never a mix (issue 8).
:func:`create_exclusively` does the same with a hard link instead of the rename, which fails
when the target exists: a lock file appears with its content or not at all. Any OSError
(a full disk, a read-only file system, a permission, a name too long) becomes
:class:`WriteFailed`, an environment error naming the file and the reason, and the temporary
file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from pathlib import Path

from dmrelease.core.errors import UsageError

#: the part of the target's name a temporary file keeps, so that its name stays short enough
_PREFIX = 64

_HINTS = {
    errno.ENOSPC: "free some space and rerun",
    errno.EDQUOT: "free some space and rerun",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "check the permissions of the directory",
    errno.EPERM: "check the permissions of the directory",
    errno.ENAMETOOLONG: "the file name is too long for the file system",
}


class WriteFailed(UsageError):
    """A file could not be written; the old content, if any, is unchanged (exit 2)."""

    def __init__(self, path: Path, error: OSError, what: str = "") -> None:
        self.path = path
        self.errno = error.errno
        code = errno.errorcode.get(error.errno or 0)
        reason = error.strerror or str(error)
        hint = _HINTS.get(error.errno or 0, "fix it and rerun")
        super().__init__(
            f"{path}: cannot write{' ' + what if what else ''}: {reason}"
            + (f" [{code}]" if code else "") + f"; nothing was half-written: {hint}"
        )  # fmt: skip


def write_atomically(
    path: Path,
    data: str | bytes,
    *,
    mode: int | None = None,
    durable: bool = True,
    parents: bool = True,
    what: str = "",
) -> None:
    """Replace ``path`` by ``data`` (text is UTF-8). ``mode``: permission bits to set
    (default: those of a new file under the umask); ``durable=False`` skips the two fsyncs
    (whole or absent after a crash of the process, not after a power cut); ``parents``:
    create missing directories; ``what`` names the file in the error."""
    _place(path, data, mode, exclusive=False, durable=durable, parents=parents, what=what)


def create_exclusively(path: Path, data: str | bytes, *, what: str = "") -> bool:
    """Create ``path`` holding ``data``; False (and nothing changed) when it exists."""
    try:
        _place(path, data, None, exclusive=True, durable=True, parents=True, what=what)
    except FileExistsError:
        return False
    return True


#: what link() answers on a file system without hard links (vfat, some FUSE and network
#: file systems); EXDEV from some of the latter
NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV)
#: what renameat2 / renamex_np answer when the system or file system lacks the flag
_NO_FLAG = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP)
#: why a directory with neither is refused as a server tree (``{}``: the directory)
NO_SAFE_CREATE = (
    "{}: this file system has neither hard links nor a rename that never replaces, so a "
    "file cannot be created there without the risk of a half-written one under its name; "
    "give a server directory on another file system"
)
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCL = 4  # macOS sys/stdio.h


def rename_no_replace(source: str | Path, target: str | Path) -> bool:
    """Rename ``source`` to ``target`` atomically unless ``target`` exists
    (FileExistsError, nothing changed): Linux ``renameat2(RENAME_NOREPLACE)``, macOS
    ``renamex_np(RENAME_EXCL)``. False, nothing changed, where the system or the file
    system has no such rename (another system, a C library without the call, a file
    system refusing the flag); other failures are OSError."""
    import ctypes  # only where a file system lacks hard links

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    old, new = os.fsencode(source), os.fsencode(target)
    if hasattr(libc, "renameat2"):
        call = libc.renameat2
        text, number = ctypes.c_char_p, ctypes.c_int
        call.argtypes = [number, text, number, text, ctypes.c_uint]
        result = call(_AT_FDCWD, old, _AT_FDCWD, new, _RENAME_NOREPLACE)
    elif hasattr(libc, "renamex_np"):
        call = libc.renamex_np
        call.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        result = call(old, new, _RENAME_EXCL)
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_FLAG:
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def _link(temporary: str, path: Path) -> None:
    """``link(temporary, path)``; where the file system has no hard links, a rename that
    never replaces (:func:`rename_no_replace`), else an exclusive create and copy (which a
    crash can leave short: readers of locks must allow for it)."""
    try:
        os.link(temporary, path)
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise
        if rename_no_replace(temporary, path):
            return
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            _write_all(descriptor, Path(temporary).read_bytes())
        finally:
            os.close(descriptor)


def _place(
    path: Path,
    data: str | bytes,
    mode: int | None,
    *,
    exclusive: bool,
    durable: bool,
    parents: bool,
    what: str,
) -> None:
    content = data.encode("utf-8") if isinstance(data, str) else data
    temporary: str | None = None
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _write_temporary(path, content, mode, durable=durable)
        if exclusive:
            _link(temporary, path)
        else:
            os.replace(temporary, path)
            temporary = None  # it is the target now
        if durable:
            fsync_directory(path.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise WriteFailed(path, exc, what) from None
    finally:
        if temporary is not None:
            _remove(temporary)


def _write_temporary(path: Path, content: bytes, mode: int | None, *, durable: bool) -> str:
    """A new file next to ``path`` holding ``content``, flushed to disk; its name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        name = str(path.parent / f".{path.name[:_PREFIX]}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(name, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        if mode is not None:
            os.fchmod(descriptor, mode)
        _write_all(descriptor, content, durable=durable)
    except BaseException:
        os.close(descriptor)
        _remove(name)
        raise
    os.close(descriptor)
    return name


def _write_all(descriptor: int, content: bytes, *, durable: bool = True) -> None:
    rest = memoryview(content)
    while rest:
        rest = rest[os.write(descriptor, rest) :]
    if durable:
        os.fsync(descriptor)


def fsync_directory(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable (where the file system allows it)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(descriptor)


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):  # gone already, or the directory went read-only
        os.unlink(name)


def bounded_name(name: str, limit: int = 160) -> str:
    """``name`` as one file name: kept as it is when short and plain; otherwise its plain
    characters, cut to ``limit`` bytes, plus a digest of the whole, so that two names never
    share a file and no name is too long for a file system (255 bytes) with the suffixes
    dm-release adds."""
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._+-") else "_" for c in name)
    if name and plain == name and len(name) <= limit and not name.startswith("."):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{plain[: limit - 17].lstrip('.')}-{digest}"
