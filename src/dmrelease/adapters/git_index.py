"""Whether a clone is clean, read from its index without starting git (issue 10).

``git status --porcelain --untracked-files=no`` lists tracked files changed in the work tree
and changes staged against HEAD. Both can be proved absent from the index: every entry's
stat data (times, inode, owner, size, mode) is what ``lstat`` gives now and none is racily
clean (changed in the second the index was written), so git would find no file changed;
and the index's cache tree is valid for all of it and is HEAD's tree, so nothing is staged.
A racily clean entry (the files of a fresh checkout are) is compared by content as git
compares it, the blob's id of the file's bytes, when no attributes could make git convert
them (``racy_by_content``: the caller knows of none outside the clone; none in it) and
there is little to read. :func:`is_clean` answers True only then; on anything else (a
change, an entry in conflict, skip-worktree or intent-to-add, a submodule, a split or
sparse index, an index format or an extension it does not know, a HEAD commit it cannot
read) it answers None and the caller runs ``git status``, which also names the changed
files. An index of many entries is left to git as well, which stats them faster.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from pathlib import Path

from dmrelease.adapters.git_refs import commit_tree

__all__ = ["MAX_ENTRIES", "MAX_RACY_BYTES", "is_clean"]

#: above this many entries git's own status is the cheaper check
MAX_ENTRIES = 1000
#: the most content of racily clean files compared here (git status compares more, faster,
#: and rewrites the index so that they are racy no more)
MAX_RACY_BYTES = 1 << 20
_HEADER = 12
_ENTRY = 62  # the fixed part of an entry, up to and with its flags
_MASK = 0xFFFFFFFF
_OPTIONAL_EXTENSIONS = (b"TREE", b"REUC", b"UNTR", b"FSMN", b"EOIE", b"IEOT")


class _Doubt(Exception):
    pass


def is_clean(work_tree: Path, *, racy_by_content: bool = False) -> bool | None:
    """True when git would list no changed tracked file and no staged change in the clone
    ``work_tree``; None when that is not certain from its files (ask git)."""
    git_dir = work_tree / ".git"
    try:
        index = git_dir / "index"
        stamp = os.stat(index).st_mtime_ns // 1_000_000_000
        data = index.read_bytes()
        racy: list[tuple[bytes, int, int, bytes]] = []
        tree, names = _read_index(data, work_tree, stamp, racy if racy_by_content else None)
        head = commit_tree(git_dir)
        if head is None or tree != head:
            return None
        if racy:
            _same_content(work_tree, names, racy)
    except (_Doubt, OSError, ValueError, IndexError, zlib.error):
        return None
    return True


def _same_content(
    work_tree: Path, names: list[bytes], racy: list[tuple[bytes, int, int, bytes]]
) -> None:
    """Each racily clean file's bytes are its entry's blob, and no attributes file in the
    clone could make git read them otherwise."""
    if (work_tree / ".git" / "info" / "attributes").exists():
        raise _Doubt("attributes in the clone")
    dirs = set()  # every directory git reads a .gitattributes of: each entry's and above
    for name in names:
        directory = os.path.dirname(name)
        while directory not in dirs:
            dirs.add(directory)
            directory = os.path.dirname(directory) if directory else directory
    for name in names:
        if os.path.basename(name) == b".gitattributes":
            raise _Doubt("attributes in the clone")
    for directory in dirs:
        if os.path.lexists(work_tree / os.fsdecode(directory) / ".gitattributes"):
            raise _Doubt("attributes in the clone")
    for name, mode, _, oid in racy:
        path = work_tree / os.fsdecode(name)
        content = os.fsencode(os.readlink(path)) if mode == 0o120000 else path.read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(content), usedforsecurity=False)
        blob.update(content)
        if blob.digest() != oid:
            raise _Doubt(f"{name!r} changed")


def _read_index(
    data: bytes, work_tree: Path, stamp: int, racy: list[tuple[bytes, int, int, bytes]] | None
) -> tuple[str, list[bytes]]:
    """The root tree of the index's cache tree and the entries' names, each entry checked
    against ``lstat`` of its file; a racily clean one goes to ``racy`` (a doubt without)."""
    if data[:4] != b"DIRC":
        raise _Doubt("not an index")
    version = int.from_bytes(data[4:8], "big")
    count = int.from_bytes(data[8:12], "big")
    if version not in (2, 3) or count > MAX_ENTRIES:
        raise _Doubt(f"index version {version} with {count} entries")
    at = _HEADER
    names = []
    for _ in range(count):
        at, name = _check_entry(data, at, work_tree, stamp, racy)
        names.append(name)
    if racy is not None and sum(size for _, _, size, _ in racy) > MAX_RACY_BYTES:
        raise _Doubt("too much racily clean content")
    tree = None
    end = len(data) - 20  # the checksum
    while at < end:
        signature, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "big")
        body = data[at + 8 : at + 8 + size]
        if signature == b"TREE":
            tree = _root_tree(body, count)
        elif signature not in _OPTIONAL_EXTENSIONS:
            raise _Doubt(f"index extension {signature!r}")
        at += 8 + size
    if at != end or tree is None:
        raise _Doubt("no valid cache tree")
    return tree, names


def _check_entry(
    data: bytes,
    at: int,
    work_tree: Path,
    stamp: int,
    racy: list[tuple[bytes, int, int, bytes]] | None,
) -> tuple[int, bytes]:
    """Check the entry at ``at`` against its file; the offset of the next entry, the name."""
    fields = [int.from_bytes(data[at + 4 * i : at + 4 * i + 4], "big") for i in range(10)]
    ctime_s, ctime_ns, mtime_s, mtime_ns, _dev, ino, mode, uid, gid, size = fields
    flags = int.from_bytes(data[at + 60 : at + 62], "big")
    if flags & 0xF000:  # assume-valid, extended (skip-worktree, intent-to-add), a stage
        raise _Doubt("an entry with flags")
    length = flags & 0xFFF
    if length == 0xFFF:
        raise _Doubt("a long path")
    name = data[at + _ENTRY : at + _ENTRY + length]
    if data[at + _ENTRY + length] != 0 or b"\0" in name:
        raise _Doubt("a malformed entry")
    if mode not in (0o100644, 0o100755, 0o120000):
        raise _Doubt(f"an entry of mode {mode:o}")  # a submodule
    st = os.lstat(work_tree / os.fsdecode(name))
    kind_ok = stat.S_ISLNK(st.st_mode) if mode == 0o120000 else stat.S_ISREG(st.st_mode)
    now = (
        int(st.st_ctime) & _MASK, st.st_ctime_ns % 1_000_000_000,
        int(st.st_mtime) & _MASK, st.st_mtime_ns % 1_000_000_000,
        st.st_ino & _MASK, st.st_uid & _MASK, st.st_gid & _MASK, st.st_size & _MASK,
    )  # fmt: skip
    if not kind_ok or now != (ctime_s, ctime_ns, mtime_s, mtime_ns, ino, uid, gid, size):
        raise _Doubt(f"{name!r} changed")
    if mode != 0o120000 and bool(st.st_mode & 0o100) != (mode == 0o100755):
        raise _Doubt(f"{name!r} changed mode")
    if mtime_s >= stamp:  # racily clean: git compares its content
        if racy is None:
            raise _Doubt("racily clean")
        racy.append((name, mode, size, data[at + 40 : at + 60]))
    return at + ((_ENTRY + length + 8) & ~7), name


def _root_tree(body: bytes, count: int) -> str:
    """The root of the cache tree when it is valid for all ``count`` entries."""
    path, nul, rest = body.partition(b"\0")
    counts, newline, rest = rest.partition(b"\n")
    if path or not nul or not newline:
        raise _Doubt("a cache tree without its root first")
    entries = int(counts.split(b" ")[0])
    if entries != count or len(rest) < 20:
        raise _Doubt("the cache tree is not valid")
    return rest[:20].hex()
