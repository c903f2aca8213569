"""Writing a distribution server tree without ever changing a published file (DESIGN.md §6).

:func:`publish_tree` plans first: it lists each directory the wanted files go to once,
digests the files of the same name that are there, and compares (core/distrib.py
:func:`~dmrelease.core.distrib.plan_files`). A file there with other bytes that may not be
replaced stops everything before the first write (:class:`ServerConflict`, exit 1, naming
every such file). Then it writes in :func:`~dmrelease.core.distrib.write_order`: packages,
manifests and tables, the ``index.json`` of every directory it touched (merged with the
names already there), tag lists last, so that a client never reads a tag naming files that
are not there yet. A rerun after a kill skips what was written and writes the rest.
Two publishes at once never overwrite each other's files; the last to replace an
``index.json`` may leave out a name the other added, which the next publish to that
directory restores (an index is the names there, merged).

A :class:`Destination` is where the tree goes. :class:`LocalDestination` (a directory)
creates each file as a temporary file in the same directory, made durable, then hard-linked
to its name, which fails when the name exists: a concurrent writer's file is never
overwritten, and a reader sees a whole file or none. Replacements (tag lists, indexes) are
an atomic rename. A killed writer may leave a hidden ``.<name>.<hex>.tmp``: hidden names are
neither listed nor indexed, and the next write to that directory removes those older than
ten minutes (a younger one may be a concurrent writer's, still being written). Object
storage (``s3://``, ``gs://``) is adapters/object_store.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import IO, Protocol, TextIO

from dmrelease.adapters.files import (
    NO_HARD_LINKS,
    NO_SAFE_CREATE,
    WriteFailed,
    fsync_directory,
    rename_no_replace,
)
from dmrelease.core.distrib import (
    DIRECTORY,
    INDEX_NAME,
    FileAction,
    FilePlan,
    PlannedFile,
    ServerConflict,
    check_server_path,
    index_json,
    is_tag_list,
    needs_texts,
    plan_files,
    write_order,
    write_phase,
)
from dmrelease.core.errors import UsageError

__all__ = [
    "STALE_AGE",
    "TEMPORARY_RE",
    "Destination",
    "DestinationError",
    "LocalDestination",
    "ServerConflict",
    "Source",
    "TreeOutcome",
    "digest_source",
    "open_destination",
    "publish_tree",
]

#: what a file is made from: its bytes, or a file staged on disk (a large tarball)
Source = bytes | Path
CHUNK = 1 << 20
#: the temporaries a :class:`LocalDestination` writes (``.<name, 64 at most>.<8 hex>.tmp``)
#: and its write probes: a killed writer's are swept once older than :data:`STALE_AGE`
TEMPORARY_RE = re.compile(r"^\.(?:dm-release-probe|.{1,64})\.[0-9a-f]{8}\.tmp$")
#: seconds after which a temporary is a killed writer's: no file takes that long to write
STALE_AGE = 600.0


class DestinationError(UsageError):
    """A destination that cannot be read or written (exit 2)."""


class Destination(Protocol):
    """Where a server tree goes; paths are relative, ``/``-joined, ``""`` is the root."""

    @property
    def where(self) -> str:
        """The destination for messages (credentials redacted)."""
        ...

    def digest(self, path: str) -> str | None:
        """SHA-256 (hex) of the file at ``path``, None when absent."""
        ...

    def names(self, directory: str) -> list[str]:
        """The names in ``directory`` (files and subdirectories), [] when absent."""
        ...

    def read(self, path: str) -> bytes | None:
        """The bytes of the file at ``path``, None when absent (small files: a tag list,
        a package whose identity is checked)."""
        ...

    def create(self, path: str, source: Source, digest: str | None = None) -> None:
        """Create ``path`` atomically; FileExistsError (nothing changed) when it exists.
        ``digest``: the SHA-256 of ``source`` when the caller has it (not hashed again)."""
        ...

    def replace(self, path: str, source: Source, digest: str | None = None) -> None:
        """Replace (or create) ``path`` atomically (``digest`` as for :meth:`create`)."""
        ...

    def check_writable(self) -> None:
        """DestinationError (exit 2) when nothing can be written there."""
        ...


def digest_source(source: Source) -> str:
    """SHA-256 of bytes, or of a file read in chunks (a tarball is never read whole)."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    with source.open("rb") as handle:
        return _digest_stream(handle)


def _digest_stream(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class LocalDestination:
    """A server tree in a local directory; ``writers`` files are written at once (each
    waits for its flush to disk: overlapping them halves a first publish on ext4)."""

    writers = 8

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalDestination({str(self.root)!r})"

    @property
    def where(self) -> str:
        return str(self.root)

    def _full(self, path: str) -> Path:
        check_server_path(path)
        return self.root / path

    def digest(self, path: str) -> str | None:
        try:
            with self._full(path).open("rb") as handle:
                return _digest_stream(handle)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            return DIRECTORY
        except OSError as exc:
            raise DestinationError(f"{self.root / path}: cannot read: {exc.strerror}") from None

    def read(self, path: str) -> bytes | None:
        try:
            return self._full(path).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DestinationError(f"{self.root / path}: cannot read: {exc.strerror}") from None

    def names(self, directory: str) -> list[str]:
        folder = self._full(directory) if directory else self.root
        try:
            with os.scandir(folder) as entries:
                return sorted(e.name for e in entries if not e.name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise DestinationError(f"{folder}: cannot list: {exc.strerror}") from None

    def create(self, path: str, source: Source, digest: str | None = None) -> None:
        target = self._full(path)
        temporary = self._temporary(target, source)
        try:
            _link(temporary, target)
            fsync_directory(target.parent)
        except FileExistsError:
            raise
        except OSError as exc:
            raise WriteFailed(target, exc) from None
        finally:
            _remove(temporary)

    def replace(self, path: str, source: Source, digest: str | None = None) -> None:
        target = self._full(path)
        temporary: Path | None = self._temporary(target, source)
        try:
            os.replace(temporary, target)  # type: ignore[arg-type]
            temporary = None
            fsync_directory(target.parent)
        except OSError as exc:
            raise WriteFailed(target, exc) from None
        finally:
            if temporary is not None:
                _remove(temporary)

    def check_writable(self) -> None:
        folder = self.root
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            what = "not a directory" if folder == self.root else f"{folder} is not a directory"
            raise DestinationError(f"{self.root}: {what}; give a server directory")
        probe = folder / f".dm-release-probe.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            made = "" if folder == self.root else f"cannot create it in {folder}: "
            raise DestinationError(  # the path asked first: /proc/x, not /proc's error alone
                f"{self.root}: cannot write there ({made}{exc.strerror}); "
                "check the permissions or give another server directory"
            ) from None
        _remove(probe)

    def sweep(self, directories: Iterable[str], now: float, max_age: float = STALE_AGE) -> int:
        """Remove this tool's temporaries (:data:`TEMPORARY_RE`: ``.<name>.<8 hex>.tmp``
        and its write probes) older than ``max_age`` seconds at ``now`` from
        ``directories``, as a writer killed mid-file leaves them: a younger one may be a
        concurrent writer's, being written. Returns how many were removed."""
        removed = 0
        for directory in directories:
            folder = self._full(directory) if directory else self.root
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not TEMPORARY_RE.match(entry.name):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and (
                        now - entry.stat(follow_symlinks=False).st_mtime > max_age
                    ):
                        os.unlink(entry.path)
                        removed += 1
                except OSError:  # gone meanwhile, or not ours to remove: left as it is
                    continue
        return removed

    def _temporary(self, target: Path, source: Source) -> Path:
        """A hidden file next to ``target`` holding ``source``, flushed to disk."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            name = target.parent / f".{target.name[:64]}.{secrets.token_hex(4)}.tmp"
            with open(name, "xb") as out:
                try:
                    if isinstance(source, bytes):
                        out.write(source)
                    else:
                        with source.open("rb") as handle:
                            shutil.copyfileobj(handle, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                except BaseException:
                    _remove(name)
                    raise
        except OSError as exc:
            raise WriteFailed(target, exc) from None
        return name


def _link(temporary: Path, target: Path) -> None:
    """Hard-link ``temporary`` as ``target`` (fails when it exists); where the file system
    has no hard links, a rename that never replaces (adapters/files.py); without either, the
    destination is refused: a copy under the real name, cut short by a kill, would be
    refused by every rerun."""
    try:
        os.link(temporary, target)
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise
        if not rename_no_replace(temporary, target):
            raise DestinationError(NO_SAFE_CREATE.format(target.parent)) from None


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def open_destination(where: str, environ: Mapping[str, str]) -> Destination:
    """The destination named by ``where``: a directory (or ``file://`` URL), or object
    storage (``s3://``, ``gs://``, credentials from ``environ``)."""
    if where.startswith(("s3://", "gs://")):
        from dmrelease.adapters import object_store  # loads its storage library: only here

        return object_store.open_destination(where, environ)
    if where.startswith("file://"):
        where = where[len("file://") :]
    if "://" in where:
        scheme = where.split("://", 1)[0]
        raise DestinationError(
            f"{scheme}:// destinations cannot be written: give a directory, s3:// or gs://"
        )
    if not where:
        raise DestinationError("no server destination given")
    return LocalDestination(Path(where))


@dataclass(frozen=True)
class TreeOutcome:
    """What :func:`publish_tree` planned and wrote (``written`` in write order)."""

    where: str
    plan: FilePlan
    written: tuple[str, ...]
    dry_run: bool

    def count(self, action: FileAction) -> int:
        return self.plan.counts[action]


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _directories(paths: Iterable[str]) -> set[str]:
    """Every directory holding one of ``paths``, and their parents, the root ``""`` too."""
    found = {""}
    for path in paths:
        folder = _parent(path)
        while folder not in found:
            found.add(folder)
            folder = _parent(folder)
    return found


def _indexes(
    listings: Mapping[str, list[str]], wanted: Iterable[str], directories: Iterable[str]
) -> dict[str, bytes]:
    """``index.json`` of each directory: the names there merged with those being added."""
    names = {folder: set(listing) for folder, listing in listings.items()}
    for path in [*wanted, *(d for d in directories if d)]:
        folder, _, name = path.rpartition("/")
        names[folder].add(name)
    return {_join(folder, INDEX_NAME): index_json(found) for folder, found in names.items()}


def _existing(
    dest: Destination, paths: Iterable[str], listings: Mapping[str, list[str]]
) -> dict[str, str | None]:
    """Digest of each path that its directory's listing names (the others are absent)."""
    present = {folder: set(listing) for folder, listing in listings.items()}
    found: dict[str, str | None] = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        found[path] = dest.digest(path) if name in present[folder] else None
    return found


def publish_tree(
    dest: Destination,
    wanted: Mapping[str, Source],
    *,
    replaceable: Callable[[str], bool] = is_tag_list,
    dry_run: bool = False,
    log: TextIO = sys.stderr,
    indexed: Iterable[str] = (),
    digests: Mapping[str, str] | None = None,
) -> TreeOutcome:
    """Write ``wanted`` (server path → bytes or staged file) to ``dest``: plan, refuse any
    conflict before writing (:class:`ServerConflict`), then write in write order with the
    ``index.json`` of every directory involved, tag lists last. ``replaceable(path)``: may
    a file with other bytes be replaced (by default the tag lists, :func:`is_tag_list`);
    ``index.json`` always may.
    ``indexed``: directories whose index.json is made even when no wanted file is in
    them (their files were all there: a rerun after a kill that wrote them).
    ``digests``: the SHA-256 of wanted files the caller already has (a tarball hashed as it
    was packed), not hashed again; the others are."""
    for path in wanted:
        check_server_path(path)
        if path.rpartition("/")[2] == INDEX_NAME:
            raise ValueError(f"{path}: index.json files are made by publish_tree")
    directories = _directories([*wanted, *(_join(d, INDEX_NAME) for d in indexed)])
    listings = {folder: dest.names(folder) for folder in sorted(directories)}
    sources: dict[str, Source] = dict(wanted)
    sources.update(_indexes(listings, wanted, directories))
    known = digests or {}
    digests = {path: known.get(path) or digest_source(s) for path, s in sources.items()}
    existing = _existing(dest, sorted(sources), listings)

    def may_replace(path: str) -> bool:
        return path.rpartition("/")[2] == INDEX_NAME or replaceable(path)

    texts = {  # a dated tag list there with other bytes: judged by its rows
        path: (_text(dest.read(path)), _text(source))
        for path, source in sources.items()
        if needs_texts(path) and existing[path] not in (None, digests[path])
        and isinstance(source, bytes)
    }  # fmt: skip
    plan = plan_files(digests, existing, may_replace, texts=texts)
    _print_plan(dest.where, plan, dry_run, log)
    if plan.conflicts:
        raise ServerConflict(
            dest.where, [f.path for f in plan.conflicts],
            reasons={f.path: f.reason for f in plan.conflicts if f.reason != "other bytes"},
        )  # fmt: skip
    if dry_run:
        return TreeOutcome(dest.where, plan, (), dry_run=True)
    order = write_order(plan)
    if order:
        dest.check_writable()
    sweep = getattr(dest, "sweep", None)  # a local directory: a killed writer's temporaries
    if sweep is not None:
        swept = sweep(sorted(directories), time.time())
        if swept:
            print(
                f"{dest.where}: removed {swept} temporary file{'s' if swept != 1 else ''} "
                f"older than {int(STALE_AGE // 60)} minutes (left by a writer stopped midway)",
                file=log,
            )
    written = _write(dest, order, sources)
    print(f"{dest.where}: wrote {len(written)} file{'s' if len(written) != 1 else ''}", file=log)
    return TreeOutcome(dest.where, plan, tuple(written), dry_run=False)


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "replace")


#: what became of one planned file: written, found written meanwhile with the same bytes
#: (by another writer), or with other bytes
WROTE, SAME, RACED = "wrote", "same", "raced"


def _write_one(dest: Destination, planned: PlannedFile, source: Source) -> str:
    if planned.action is FileAction.REPLACE:
        dest.replace(planned.path, source, planned.digest)
        return WROTE
    try:
        dest.create(planned.path, source, planned.digest)
    except FileExistsError:
        return SAME if dest.digest(planned.path) == planned.digest else RACED
    return WROTE


def _write(dest: Destination, order: list[PlannedFile], sources: Mapping[str, Source]) -> list[str]:
    """Write ``order`` phase by phase (core/distrib.py write_phase): a phase starts once
    the one before it is all written, so tag lists never precede what they name. Packages
    and the files beside them go through ``dest.writers`` threads when the destination
    has that attribute (the writes and flushes to disk then overlap); indexes and tag lists
    one by one. A file another writer made meanwhile with other bytes stops the write
    after its phase (ServerConflict)."""
    workers = max(1, int(getattr(dest, "writers", 1)))
    written: list[str] = []
    for phase, group in groupby(order, key=lambda f: write_phase(f.path)):
        files = list(group)
        if workers > 1 and phase < 2 and len(files) > 1:
            results = _in_parallel(dest, files, sources, workers)
        else:
            results = [_write_one(dest, planned, sources[planned.path]) for planned in files]
        written += [f.path for f, result in zip(files, results, strict=True) if result == WROTE]
        raced = [f.path for f, result in zip(files, results, strict=True) if result == RACED]
        if raced:
            raise ServerConflict(dest.where, raced, written=len(written))
    return written


def _in_parallel(
    dest: Destination, files: list[PlannedFile], sources: Mapping[str, Source], workers: int
) -> list[str]:
    """:func:`_write_one` of each file, ``workers`` at a time, results in ``files`` order.
    The first error stops the files not yet started and is raised once the running ones
    have ended (each is whole or absent)."""
    stop = threading.Event()

    def one(planned: PlannedFile) -> str:
        if stop.is_set():
            return "stopped"
        try:
            return _write_one(dest, planned, sources[planned.path])
        except BaseException:
            stop.set()
            raise

    pool = ThreadPoolExecutor(max_workers=min(workers, len(files)))
    try:
        futures = [pool.submit(one, planned) for planned in files]
        wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _print_plan(where: str, plan: FilePlan, dry_run: bool, log: TextIO) -> None:
    counts = plan.counts
    print(
        f"{where}: {counts[FileAction.ADD]} to add, {counts[FileAction.SKIP]} to skip, "
        f"{counts[FileAction.REPLACE]} to replace, {counts[FileAction.REFUSE]} refused"
        + (" (dry run: nothing written)" if dry_run else ""),
        file=log,
    )
    if dry_run:
        for planned in plan.files:
            print(f"  {planned.action.value:<8} {planned.path}", file=log)
