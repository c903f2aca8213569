"""Journal and release-lock files in the state directory, written atomically.

``<state>/journal/<product>/<session>-<release>.json`` holds the journal of one operation
(:mod:`dmrelease.core.journal`), ``<state>/locks/<product>.json`` the product's release
lock. A write goes to a temporary file in the same directory, is flushed to disk and then
renamed over the old file, so a killed process leaves either the old or the new journal,
never half of one. The lock is created with ``O_EXCL``, so two sessions cannot both take it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError
from dmrelease.core.journal import Journal, Lock, parse_journal, parse_lock


def now() -> str:
    """The current UTC time for journal events and locks (time is read at the edge)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def holder() -> str:
    """Who takes a lock: ``user@host pid N``, for the message that names the holder."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` so that readers see the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def journal_path(state: Path, product: str, session: str, release: str) -> Path:
    safe = release.replace("/", "_")
    return state / "journal" / product / f"{session}-{safe}.json"


@dataclass
class JournalFile:
    """The journal of one operation on disk; :meth:`update` is safe from pool threads."""

    path: Path
    journal: Journal | None = None
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self) -> Journal | None:
        if not self.path.is_file():
            return None
        self.journal = parse_journal(self.path.read_text(encoding="utf-8"), str(self.path))
        return self.journal

    def save(self, journal: Journal) -> Journal:
        with self._mutex:
            self.journal = journal
            write_atomically(self.path, journal.to_json())
        return journal

    def update(self, change: Callable[[Journal], Journal]) -> Journal:
        """Apply ``change(journal) -> journal`` under the lock and write the result."""
        with self._mutex:
            if self.journal is None:
                raise DmReleaseError(f"{self.path}: journal not started")
            self.journal = change(self.journal)
            write_atomically(self.path, self.journal.to_json())
            return self.journal


class LockHeld(CheckFailed):
    """Another session holds the product's release lock (rule ``release-lock``)."""

    def __init__(self, lock: Lock, path: Path) -> None:
        self.lock = lock
        hint = f"wait for it to finish; if that run is dead, rerun with --break-lock ({path})"
        super().__init__([Diagnostic(lock.product, 1, "release-lock", str(lock), hint=hint)])


@dataclass(frozen=True)
class LockFile:
    """``<state>/locks/<product>.json``: at most one release session per product."""

    path: Path

    @classmethod
    def of(cls, state: Path, product: str) -> LockFile:
        return cls(state / "locks" / f"{product}.json")

    def read(self) -> Lock | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return parse_lock(text, str(self.path))

    def take(self, lock: Lock, *, break_lock: bool = False) -> Lock | None:
        """Take the lock; a rerun of the holder takes it over; with ``break_lock`` any
        holder is replaced. Returns the lock that was there before, if any."""
        previous = self.read()
        if previous is not None and not (
            break_lock or previous.owned_by(lock.session, lock.release)
        ):
            raise LockHeld(previous, self.path)
        if previous is not None:
            write_atomically(self.path, lock.to_json())
            return previous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return self.take(lock, break_lock=break_lock)  # lost a race: judge the winner
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(lock.to_json())
        return None

    def release(self, lock: Lock) -> bool:
        """Remove the lock if ``lock`` is still the one held (not broken, nor taken over by
        a rerun since, which now holds it); True when removed."""
        if self.read() != lock:
            return False
        self.path.unlink(missing_ok=True)
        return True
