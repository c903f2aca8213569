"""A clone's refs, HEAD and origin URL read from its ``.git`` without starting git (issue 10).

What ``git for-each-ref``, ``git rev-parse HEAD`` and ``git remote get-url`` would print is
in plain files: loose refs (``refs/…``) over ``packed-refs``, ``HEAD``, ``config``; an
annotated tag is peeled by the ``^`` line of ``packed-refs`` or by reading the tag object
(a loose object, or an undeltified entry of a pack). Each reader answers only what it can
read plainly and returns None on any doubt (a ref name git would refuse, a symbolic ref to
nothing, an object it cannot find or a deltified tag, a config with includes or quoting, a
repository extension): the caller then asks git, so an answer read here is the one git
gives. Names are bytes decoded as :class:`~dmrelease.adapters.git.Git` decodes git's output
(UTF-8, invalid bytes replaced), in git's order (by bytes), so a ref name of odd bytes reads
the same either way. Tags are peeled to the object that is not a tag, as ``refname^{}``.
"""

from __future__ import annotations

import mmap
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["commit_tree", "is_commit", "read_head", "read_origin_url", "read_refs", "read_tag"]

_SHA = re.compile(rb"[0-9a-f]{40}")
#: what a ref name must not hold (git check-ref-format), checked conservatively
_BAD_NAME = re.compile(rb"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock/|\.lock$|\.$|/$")
_TYPES = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_OFS_DELTA, _REF_DELTA = 6, 7
_MAX_CHAIN = 10_000  # a delta chain or a tag chain longer than this is a doubt
#: sections that change what the config says or how the repository reads (checked loosely)
_UNREAD_SECTIONS = (b"[extensions", b"[include")


def _unread_config(data: bytes) -> bool:
    lowered = data.lower()
    return any(section in lowered for section in _UNREAD_SECTIONS)


class _Doubt(Exception):
    """Something git would read that this module does not: the caller asks git."""


def read_refs(git_dir: Path, prefixes: Sequence[str]) -> dict[str, str] | None:
    """Full ref names under the directory ``prefixes`` (each ending in ``/``) to the object
    each peels to, as ``Git.refs`` reads them from ``git for-each-ref``; None on any doubt."""
    try:
        return _Repo(git_dir).refs(prefixes)
    except (_Doubt, OSError, ValueError, IndexError, zlib.error):
        return None


def read_head(git_dir: Path) -> str | None:
    """The commit HEAD is at (detached, or the tip of the branch it is on); None on doubt
    (no commit yet, a symbolic ref to nothing, anything unusual)."""
    try:
        return _Repo(git_dir).head()
    except (_Doubt, OSError, ValueError, IndexError, zlib.error):
        return None


def is_commit(git_dir: Path, sha: str) -> bool | None:
    """True when the full ``sha`` is a commit of the clone, False when it is another kind
    of object; None when it is not found here or cannot be read (ask git)."""
    try:
        return _Repo(git_dir).object_type(sha.encode()) == "commit"
    except (_Doubt, OSError, ValueError, IndexError, zlib.error):
        return None


def read_tag(git_dir: Path, name: str) -> tuple[str, str, bytes] | None:
    """The tag ``refs/tags/<name>`` of the clone as (type of the object it points at, that
    object, its content when it is an annotated tag, else b""); None when there is no such
    tag or on any doubt (ask git)."""
    ref = b"refs/tags/" + name.encode()
    try:
        if _BAD_NAME.search(ref):
            raise _Doubt(f"a ref name git would not read: {ref!r}")
        repo = _Repo(git_dir)
        sha = repo._resolve(ref)
        kind, body = repo._object(sha.encode(), want_body=True)
    except (_Doubt, OSError, ValueError, IndexError, zlib.error):
        return None
    return kind, sha, body


def commit_tree(git_dir: Path) -> str | None:
    """The tree of HEAD's commit; None on any doubt."""
    try:
        repo = _Repo(git_dir)
        kind, body = repo._object(repo.head().encode(), want_body=True, kinds=("commit",))
        if kind != "commit" or not body.startswith(b"tree "):
            return None
        return _sha_of(body[5:].split(b"\n", 1)[0])
    except (_Doubt, OSError, ValueError, IndexError, zlib.error):
        return None


def read_origin_url(git_dir: Path) -> str | None:
    """``remote.origin.url`` of the clone's own config when it has plainly one such value
    and nothing that could change it (an include, quoting, an escape); None otherwise."""
    try:
        data = (git_dir / "config").read_bytes()
    except OSError:
        return None
    if _unread_config(data):
        return None
    section = None
    urls = []
    for raw in data.split(b"\n"):
        line = raw.strip()
        if not line or line[:1] in (b"#", b";"):
            continue
        if line.startswith(b"["):
            section = line
            if b"origin" in line.lower() and line != b'[remote "origin"]':
                return None  # an unusual spelling of the section: git knows best
            continue
        if section != b'[remote "origin"]':
            continue
        key, eq, value = line.partition(b"=")
        if key.strip().lower() != b"url":
            continue
        value = value.strip()
        if not eq or not value or re.search(rb'["\\;#]', value):
            return None
        urls.append(value)
    if len(urls) != 1:
        return None
    try:
        return urls[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Repo:
    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.objects = git_dir / "objects"
        self._packs: list[_Pack] | None = None
        self._packed_refs: dict[bytes, tuple[str, str]] | None = None
        if not (git_dir / "HEAD").is_file():
            raise _Doubt(f"{git_dir} is not a git directory")
        config = git_dir / "config"
        if config.is_file() and _unread_config(config.read_bytes()):
            raise _Doubt("config with extensions or includes")
        unusual = (
            git_dir / "reftable",
            git_dir / "commondir",
            self.objects / "info" / "alternates",
        )
        if any(path.exists() for path in unusual):
            raise _Doubt("reftable, a linked worktree or alternates")

    # refs

    def refs(self, prefixes: Sequence[str]) -> dict[str, str]:
        packed = self._packed()
        found: dict[bytes, tuple[str, str]] = {}
        for prefix in prefixes:
            if not prefix.startswith("refs/") or not prefix.endswith("/"):
                raise _Doubt(f"not a directory prefix: {prefix}")
            raw = prefix.encode()
            for name, (sha, peeled) in packed.items():
                if name.startswith(raw):
                    found[name] = (sha, peeled)
            for name, sha, peeled in self._loose(raw):  # a loose ref hides the packed one
                found[name] = (sha, self.peel(sha) if peeled is None else peeled)
        return {
            name.decode("utf-8", "replace"): peeled for name, (_, peeled) in sorted(found.items())
        }

    def head(self) -> str:
        return self._resolve(b"HEAD")

    def _resolve(self, name: bytes) -> str:
        """The object a ref (loose, else packed) points at, following symbolic refs."""
        return self._resolve_peeled(name)[0]

    def _resolve_peeled(self, name: bytes) -> tuple[str, str | None]:
        """The object a ref points at, and what it peels to when packed-refs says."""
        for _ in range(5):
            path = self.git_dir / os.fsdecode(name)
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                entry = self._packed().get(name) if name.startswith(b"refs/") else None
                if entry is None:
                    raise _Doubt(f"no ref {name!r}") from None
                return entry
            except IsADirectoryError:
                raise _Doubt(f"{name!r} is a directory") from None
            if content.startswith(b"ref: "):
                name = content[5:].rstrip(b"\n")
                if not name.startswith(b"refs/") or _BAD_NAME.search(name):
                    raise _Doubt(f"symbolic ref to {name!r}")
                continue
            return _sha_of(content), None
        raise _Doubt("symbolic refs nested too deep")

    def _loose(self, prefix: bytes) -> Iterator[tuple[bytes, str, str | None]]:
        top = self.git_dir / os.fsdecode(prefix)
        if not top.is_dir():
            if top.exists():
                raise _Doubt(f"{top} is not a directory")
            return
        stack = [(top, prefix)]
        while stack:
            where, name = stack.pop()
            with os.scandir(where) as entries:
                for entry in entries:
                    part = os.fsencode(entry.name)
                    if part.startswith(b".") or _BAD_NAME.search(name + part):
                        raise _Doubt(f"a ref name git would not read: {part!r}")
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((Path(entry.path), name + part + b"/"))
                    elif entry.is_file(follow_symlinks=False):
                        yield name + part, *self._resolve_peeled(name + part)
                    else:
                        raise _Doubt(f"not a file: {entry.path}")

    def _packed(self) -> dict[bytes, tuple[str, str]]:
        """``packed-refs``: name to (object, what it peels to); a ref whose peeling the file
        does not record (no ``fully-peeled`` trait) is peeled by reading its object."""
        if self._packed_refs is not None:
            return self._packed_refs
        refs: dict[bytes, tuple[str, str]] = {}
        unknown: set[bytes] = set()
        try:
            data = (self.git_dir / "packed-refs").read_bytes()
        except FileNotFoundError:
            data = b""
        traits: set[bytes] = set()
        last: bytes | None = None
        for line in data.split(b"\n"):
            if not line:
                continue
            if line.startswith(b"# pack-refs with:"):
                traits = set(line[len(b"# pack-refs with:") :].split())
                continue
            if line.startswith(b"^"):
                if last is None:
                    raise _Doubt("a peeled line with no ref")
                refs[last] = (refs[last][0], _sha_of(line[1:]))
                unknown.discard(last)
                last = None
                continue
            object_name, space, name = line.partition(b" ")
            if not space or not name.startswith(b"refs/") or _BAD_NAME.search(name):
                raise _Doubt(f"packed-refs line {line!r}")
            refs[name] = (_sha_of(object_name), _sha_of(object_name))
            known = b"fully-peeled" in traits or (
                b"peeled" in traits and name.startswith(b"refs/tags/")
            )
            if not known:
                unknown.add(name)
            last = name
        packed = {n: v for n, v in refs.items() if n not in unknown}
        for name in unknown:  # not known to be peeled or not a tag: look at the object
            target = refs[name][0]
            packed[name] = (target, self.peel(target))
        self._packed_refs = packed
        return packed

    # objects

    def peel(self, sha: str) -> str:
        """The first object of the tag chain from ``sha`` that is not a tag."""
        for _ in range(_MAX_CHAIN):
            kind, body = self._object(sha.encode(), want_body=True)
            if kind != "tag":
                return sha
            head = body.split(b"\n", 1)[0]
            if not head.startswith(b"object "):
                raise _Doubt(f"tag {sha} does not start with its object")
            sha = _sha_of(head[7:])
        raise _Doubt("tag chain too long")

    def object_type(self, sha: bytes) -> str:
        return self._object(sha, want_body=False)[0]

    def _object(
        self, sha: bytes, *, want_body: bool, kinds: tuple[str, ...] = ("tag",)
    ) -> tuple[str, bytes]:
        """An object's type, and its content when it is one of ``kinds`` and ``want_body``."""
        if not _SHA.fullmatch(sha):
            raise _Doubt(f"not a full sha: {sha!r}")
        text = sha.decode()
        loose = self.objects / text[:2] / text[2:]
        try:
            data = loose.read_bytes()
        except FileNotFoundError:
            pass
        else:
            header, nul, _ = zlib.decompressobj().decompress(data, 64).partition(b"\0")
            kind = header.split(b" ")[0].decode("ascii")
            if not nul or kind not in _TYPES.values():
                raise _Doubt(f"loose object {text}")
            if not want_body or kind not in kinds:
                return kind, b""
            return kind, zlib.decompress(data).partition(b"\0")[2]
        for pack in self.packs():
            offset = pack.find(bytes.fromhex(text))
            if offset is not None:
                return pack.entry(offset, want_body=want_body, kinds=kinds)
        raise _Doubt(f"object {text} not found")

    def packs(self) -> list[_Pack]:
        if self._packs is None:
            where = self.objects / "pack"
            names = sorted(where.glob("pack-*.idx")) if where.is_dir() else []
            self._packs = [_Pack(idx) for idx in names]
        return self._packs


class _Pack:
    """A pack and its version-2 index, read through mmap."""

    def __init__(self, idx: Path) -> None:
        self.idx = _mapped(idx)
        self.pack_path = idx.with_suffix(".pack")
        self._pack: mmap.mmap | None = None
        if self.idx[:8] != b"\xfftOc\x00\x00\x00\x02":
            raise _Doubt(f"{idx}: not a version 2 index")
        self.count = int.from_bytes(self.idx[8 + 255 * 4 : 8 + 256 * 4], "big")

    def find(self, sha: bytes) -> int | None:
        """The offset of ``sha`` in the pack, None when the pack does not hold it."""
        first = sha[0]
        lo = int.from_bytes(self.idx[8 + (first - 1) * 4 : 8 + first * 4], "big") if first else 0
        hi = int.from_bytes(self.idx[8 + first * 4 : 8 + (first + 1) * 4], "big")
        names = 8 + 256 * 4
        while lo < hi:
            mid = (lo + hi) // 2
            here = self.idx[names + mid * 20 : names + mid * 20 + 20]
            if here == sha:
                return self._offset(mid)
            if here < sha:
                lo = mid + 1
            else:
                hi = mid
        return None

    def _offset(self, index: int) -> int:
        small = 8 + 256 * 4 + self.count * 24
        value = int.from_bytes(self.idx[small + index * 4 : small + index * 4 + 4], "big")
        if value & 0x80000000:
            large = small + self.count * 4 + (value & 0x7FFFFFFF) * 8
            return int.from_bytes(self.idx[large : large + 8], "big")
        return value

    def entry(
        self, offset: int, *, want_body: bool, kinds: tuple[str, ...] = ("tag",)
    ) -> tuple[str, bytes]:
        """The type of the object at ``offset`` (through its delta bases), and its content
        when it is of ``kinds`` and ``want_body`` (its deltas applied)."""
        if self._pack is None:
            self._pack = _mapped(self.pack_path)
        pack = self._pack
        deltas: list[tuple[int, int]] = []  # (data offset, size), the target's first
        for _ in range(_MAX_CHAIN):
            at = offset
            byte = pack[at]
            kind, size, shift = (byte >> 4) & 7, byte & 15, 4
            while byte & 0x80:
                at += 1
                byte = pack[at]
                size |= (byte & 0x7F) << shift
                shift += 7
            at += 1
            if kind == _OFS_DELTA:
                byte = pack[at]
                back = byte & 0x7F
                while byte & 0x80:
                    at += 1
                    byte = pack[at]
                    back = ((back + 1) << 7) | (byte & 0x7F)
                deltas.append((at + 1, size))
                offset -= back
                continue
            if kind == _REF_DELTA:
                base = self.find(bytes(pack[at : at + 20]))
                if base is None:
                    raise _Doubt("a delta whose base is in another pack")
                deltas.append((at + 20, size))
                offset = base
                continue
            if kind not in _TYPES:
                raise _Doubt(f"pack entry of type {kind}")
            name = _TYPES[kind]
            if name not in kinds or not want_body:
                return name, b""
            body = _inflate(pack, at, size)
            for delta_at, delta_size in reversed(deltas):
                body = _apply_delta(body, _inflate(pack, delta_at, delta_size))
            return name, body
        raise _Doubt("delta chain too long")


#: the most of a tag or commit (or one of its deltas) read here: more is git's business
_MAX_BODY = 1 << 20


def _inflate(pack: mmap.mmap, at: int, size: int) -> bytes:
    """The ``size`` bytes of the zlib stream at ``at``."""
    if size > _MAX_BODY:
        raise _Doubt("an object too large to read here")
    body = zlib.decompressobj().decompress(pack[at : at + size + 1024], size)
    if len(body) != size:
        raise _Doubt("an entry that does not inflate to its size")
    return body


def _apply_delta(base: bytes, delta: bytes) -> bytes:
    """``base`` with git's delta (copy and insert instructions) applied."""
    at = 0

    def size() -> int:
        nonlocal at
        value = shift = 0
        while True:
            byte = delta[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    if size() != len(base):
        raise _Doubt("a delta for another base")
    length = size()
    out = bytearray()
    while at < len(delta):
        op = delta[at]
        at += 1
        if op & 0x80:  # copy from the base
            start = count = 0
            for bit in range(7):
                if op & (1 << bit):
                    value = delta[at] << (8 * (bit if bit < 4 else bit - 4))
                    start, count = (start | value, count) if bit < 4 else (start, count | value)
                    at += 1
            count = count or 0x10000
            if start + count > len(base):
                raise _Doubt("a delta copying past its base")
            out += base[start : start + count]
        elif op:  # insert the next op bytes
            if at + op > len(delta):
                raise _Doubt("a delta inserting past its end")
            out += delta[at : at + op]
            at += op
        else:
            raise _Doubt("a delta instruction 0")
    if len(out) != length:
        raise _Doubt("a delta giving another size")
    return bytes(out)


def _mapped(path: Path) -> mmap.mmap:
    with path.open("rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _sha_of(text: bytes) -> str:
    sha = text.rstrip(b"\n")
    if not _SHA.fullmatch(sha):
        raise _Doubt(f"not an object name: {text!r}")
    return sha.decode("ascii")
