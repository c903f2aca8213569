"""Journal and release-lock files in the state directory.

``<state>/journal/<product>/<session>-<release>.json`` holds the journal of one operation
(:mod:`dmrelease.core.journal`), ``<state>/locks/<product>.json`` the product's release
lock; a name too long or too odd for a file name is shortened with a digest
(:func:`~dmrelease.adapters.files.bounded_name`). A journal is started (and a journal of
the previous format, one JSON document, converted) by
:func:`~dmrelease.adapters.files.write_atomically`; each step after that appends one line
and fsyncs it. A killed process leaves at most its last line torn, which the reader
ignores and the next append cuts off; a full disk leaves the journal as it was before the
step (the part of a line written is cut off again). The lock is written to a temporary
file and hard-linked to its name, which fails if it exists: two sessions cannot both take
it, and it never appears empty. A rerun of the holder's session takes the lock over only
once the holder's process is dead (same host and pid namespace; its pid gone, reused, or
from before a reboot); ``--break-lock`` replaces any lock without reading it, whatever it
holds (issue 8).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import secrets
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from dmrelease.adapters.files import (
    WriteFailed,
    bounded_name,
    create_exclusively,
    write_atomically,
)
from dmrelease.core.errors import (
    CheckFailed,
    Diagnostic,
    DmReleaseError,
    ParseError,
    UsageError,
)
from dmrelease.core.journal import Journal, Lock, change_line, parse_lock, read_journal
from dmrelease.core.limits import decode_text

__all__ = [
    "JournalFile",
    "LockCorrupt",
    "LockFile",
    "LockHeld",
    "Replaced",
    "journal_path",
    "lock_of",
    "new_lock",
    "now",
    "refusal",
    "write_atomically",
]

BREAK_HINT = "if no session is running, rerun with --break-lock"
LOCK = "the release lock"
IF_DEAD = "if that run is dead, rerun with --break-lock"


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


def process_started(pid: int) -> str:
    """When process ``pid`` started (clock ticks after boot, ``/proc/<pid>/stat`` field 22),
    to tell a reused pid from the holder; ``exited`` for a zombie, "" where /proc is silent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    if fields[:1] in (["Z"], ["X"]):
        return "exited"
    return fields[19] if len(fields) > 19 else ""


def pid_space() -> str:
    """Where this process's pid means something: the boot (a reboot ends every holder) and
    the pid namespace (a container sees only its own); "" where /proc does not say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{boot} {namespace}"


def is_running(pid: int, started: str) -> bool:
    """Whether process ``pid``, which started at ``started``, still runs here."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    current = process_started(pid)
    return current != "exited" and not (started and current and current != started)


def new_lock(product: str, session: str, release: str) -> Lock:
    """The lock this process takes for ``session`` ``release`` of ``product``."""
    pid = os.getpid()
    return Lock(
        product, session, release, holder(), now(), socket.gethostname(), pid,
        process_started(pid), pid_space(),
    )  # fmt: skip


def journal_path(state: Path, product: str, session: str, release: str) -> Path:
    name = bounded_name(f"{session}-{release.replace('/', '_')}")
    return state / "journal" / bounded_name(product) / f"{name}.json"


JOURNAL = "the journal"


@dataclass
class JournalFile:
    """The journal of one operation on disk; :meth:`update` is safe from pool threads.

    ``torn`` is what the last :meth:`load` found of a last line a killed run left
    half-written (ignored: the journal is a record, and a rerun re-verifies every
    repository); ``writes`` counts the writes of the file, appends and rewrites alike,
    ``reads`` the times :meth:`load` read it."""

    path: Path
    journal: Journal | None = None
    #: called with the journal at its start and at each stage it finishes (not at each
    #: package's step), e.g. to store it on a remote as well (stages/release_state.py)
    mirror: Callable[[Journal], None] | None = field(default=None, repr=False)
    torn: str = ""
    writes: int = 0
    reads: int = 0
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: the bytes of whole lines the file holds when a line may be appended; None: the next
    #: write rewrites it (not read or started yet, or in the previous format)
    _size: int | None = field(default=None, repr=False)

    def load(self) -> Journal | None:
        self.reads += 1
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read the journal: {exc.strerror}") from None
        whole = data.rfind(b"\n") + 1
        text = decode_text(data[:whole], str(self.path))
        found = read_journal(text + data[whole:].decode("utf-8", "replace"), str(self.path))
        self.journal, self.torn = found.journal, found.torn
        self._size = whole if found.lines else None
        return self.journal

    def current(self) -> Journal | None:
        """The journal as this file last read or wrote it, read the first time: while the
        release lock is held only this run writes it."""
        return self.journal if self.journal is not None else self.load()

    def save(self, journal: Journal) -> Journal:
        with self._mutex:
            self._rewrite(journal)
            if self.mirror is not None:
                self.mirror(journal)
        return journal

    def update(self, change: Callable[[Journal], Journal]) -> Journal:
        """Apply ``change(journal) -> journal`` under the lock and write the result: one
        line appended, or the whole file when the change cannot be a line."""
        with self._mutex:
            if self.journal is None:
                raise DmReleaseError(f"{self.path}: journal not started")
            before, changed = self.journal, change(self.journal)
            line = None if self._size is None else change_line(before, changed)
            if line is None:
                self._rewrite(changed)
            elif line:
                self._append(line.encode("utf-8"))
            self.journal = changed
            if self.mirror is not None and changed.stages != before.stages:
                self.mirror(changed)
            return changed

    def _rewrite(self, journal: Journal) -> None:
        data = journal.to_lines().encode("utf-8")
        write_atomically(self.path, data, what=JOURNAL)
        self.journal, self.torn, self._size = journal, "", len(data)
        self.writes += 1

    def _append(self, data: bytes) -> None:
        """Append ``data`` (whole lines) and fsync it; what a killed run left after the last
        whole line is cut off first, and so is the part written of a failed append."""
        assert self._size is not None
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise WriteFailed(self.path, exc, JOURNAL) from None
        try:
            if os.fstat(descriptor).st_size != self._size:
                os.ftruncate(descriptor, self._size)
            rest = memoryview(data)
            while rest:
                rest = rest[os.write(descriptor, rest) :]
            os.fsync(descriptor)
        except OSError as exc:
            with suppress(OSError):
                os.ftruncate(descriptor, self._size)
            raise WriteFailed(self.path, exc, JOURNAL) from None
        finally:
            os.close(descriptor)
        self._size += len(data)
        self.writes += 1


class LockHeld(CheckFailed):
    """Another session holds the product's release lock (rule ``release-lock``)."""

    def __init__(self, lock: Lock, path: Path | str, hint: str = "") -> None:
        self.lock = lock
        hint = hint or f"wait for it to finish; {IF_DEAD}"
        problem = Diagnostic(lock.product, 1, "release-lock", str(lock), hint=f"{hint} ({path})")
        super().__init__([problem])


class LockCorrupt(CheckFailed):
    """The lock file is not a lock dm-release wrote whole (rule ``lock-format``)."""

    def __init__(self, path: Path | str, message: str, line: int = 1) -> None:
        problem = Diagnostic(str(path), line, "lock-format", message, hint=BREAK_HINT)
        super().__init__([problem])


def lock_of(text: str, where: str, *, empty: str) -> Lock:
    """The lock ``text`` holds (a lock file's or a lock ref's), else LockCorrupt naming
    ``where``; ``empty`` says what an empty text means there."""
    if not text.strip():
        raise LockCorrupt(where, empty)
    try:
        return parse_lock(text, where)
    except ParseError as exc:
        raise LockCorrupt(where, exc.diagnostic.message, exc.diagnostic.line) from None


@dataclass(frozen=True)
class Replaced:
    """The lock a take replaced: ``what`` it held, and whether it was ``broken`` on purpose
    (else taken over from a dead run of the same session)."""

    what: str
    broken: bool

    def __str__(self) -> str:
        if self.broken:
            return f"broke the release lock: {self.what}"
        return f"took over the release lock of a run that is no more: {self.what}"


def _holder(previous: Lock, lock: Lock) -> str:
    """Whether the process holding ``previous`` is ``running``, ``gone``, this very process
    (``self``: an earlier call, which has returned), ``unseen`` from here (another host or
    pid namespace) or ``unknown`` (a lock naming no process)."""
    if not previous.host or not previous.pid:
        return "unknown"
    if previous.host != lock.host:
        return "unseen"
    if previous.pid_space and lock.pid_space and previous.pid_space != lock.pid_space:
        rebooted = previous.pid_space.split()[0] != lock.pid_space.split()[0]
        return "gone" if rebooted else "unseen"
    if previous.pid == lock.pid:
        return "self"
    return "running" if is_running(previous.pid, previous.started) else "gone"


def refusal(previous: Lock, lock: Lock) -> str:
    """Why ``lock`` may not take ``previous`` over, as a hint ("" when it may): only a
    rerun of the same session and release, once the holder is seen to be gone."""
    state = _holder(previous, lock)
    if not previous.owned_by(lock.session, lock.release):
        if state == "gone":
            return (
                f"pid {previous.pid} is gone and may have left writes half-made: rerun "
                f"{previous.session} {previous.release} to finish it, or --break-lock"
            )
        return f"wait for it to finish; {IF_DEAD}"
    if state == "unknown":
        return f"an older dm-release took it and named no process; {IF_DEAD}"
    if state == "unseen":
        where = "" if previous.host != lock.host else "in another pid namespace (a container) "
        return (
            f"it was taken {where}on host {previous.host}, whose processes cannot be seen "
            f"from here; {IF_DEAD}"
        )
    if state == "running":
        return f"pid {previous.pid} still runs on {previous.host}: wait for it to finish; {IF_DEAD}"
    return ""


@dataclass(frozen=True)
class LockFile:
    """``<state>/locks/<product>.json``: at most one release session per product."""

    path: Path

    @classmethod
    def of(cls, state: Path, product: str) -> LockFile:
        return cls(state / "locks" / f"{bounded_name(product)}.json")

    def read(self) -> Lock | None:
        """The lock, None when there is none; LockCorrupt when it is not a whole lock."""
        data = self._bytes()
        return None if data is None else self._parse(data)

    def take(self, lock: Lock, *, break_lock: bool = False) -> Replaced | None:
        """Take the lock or raise LockHeld (LockCorrupt when it cannot be read): a rerun of
        the holder's session takes it over from a dead holder; with ``break_lock`` whatever
        is there is replaced without being parsed. Returns what was replaced, if anything."""
        text = lock.to_json()
        if break_lock:
            data = self._bytes()
            write_atomically(self.path, text, what=LOCK)
            return None if data is None else Replaced(self._describe(data), broken=True)
        while not create_exclusively(self.path, text, what=LOCK):
            data = self._bytes()
            if data is None:
                continue  # released meanwhile: try again
            previous = self._parse(data)
            refused = refusal(previous, lock)
            if refused:
                raise LockHeld(previous, self.path, refused)
            if self._remove_if(data) and create_exclusively(self.path, text, what=LOCK):
                return Replaced(str(previous), broken=False)
        return None

    def release(self, lock: Lock) -> bool:
        """Remove the lock if ``lock`` is still the one held (not broken, nor taken over by
        a rerun since, which now holds it); True when removed."""
        return self._remove_if(lock.to_json().encode("utf-8"))

    def _bytes(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read {LOCK}: {exc.strerror}") from None

    def _parse(self, data: bytes) -> Lock:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LockCorrupt(self.path, "not UTF-8 text, not a lock dm-release wrote") from None
        return lock_of(text, str(self.path), empty="empty lock file")

    def _describe(self, data: bytes) -> str:
        try:
            return str(self._parse(data))
        except LockCorrupt as exc:
            return f"{self.path} ({len(data)} bytes): {exc.diagnostics[0].message}"

    def _remove_if(self, seen: bytes) -> bool:
        """Remove the lock if it holds ``seen``. It is renamed aside first, so that of two
        processes only one removes it, and put back if it changed since it was read."""
        aside = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.old")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise WriteFailed(self.path, exc, LOCK) from None
        try:
            same = aside.read_bytes() == seen
        except OSError:
            same = False
        if not same:  # another lock came meanwhile: it stays
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass  # and a newer one since: the one aside is stale
            except OSError as exc:
                raise WriteFailed(self.path, exc, LOCK) from None  # kept aside, not lost
        aside.unlink(missing_ok=True)
        return same
