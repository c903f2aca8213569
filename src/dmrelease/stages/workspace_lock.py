"""The work-dir lock: one command at a time uses a work dir (issue 9 §1).

Two commands fetching into, checking out and building in the same clones would corrupt
each other's work, so the command using ``<work_dir>`` holds ``<work_dir>/.dm-release.lock``
while it runs. The lock is created exclusively (hard link of a whole file: it never appears
empty) and names its holder; a second command is refused with that name (exit 2). A lock
whose holder is seen dead (same host and pid namespace; pid gone, reused, or from before a
reboot: the rules of the release lock, :mod:`dmrelease.adapters.journal`) is taken over. The
lock is re-entrant within one process, so a release that rebuilds from its tag holds it once.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from dmrelease.adapters.files import WriteFailed, create_exclusively
from dmrelease.adapters.journal import holder, is_running, now, pid_space, process_started
from dmrelease.core.config import Config
from dmrelease.core.errors import UsageError

__all__ = ["WorkDirBusy", "lock_path", "work_dir_lock"]

_NAME = ".dm-release.lock"
_WHAT = "the work-dir lock"
_held: dict[Path, int] = {}  # lock path -> depth, for this process
_mutex = threading.Lock()


class WorkDirBusy(UsageError):
    """Another command uses the work dir (exit 2): names the holder and since when."""


@dataclass(frozen=True)
class _Holder:
    who: str
    since: str
    host: str
    pid: int
    started: str
    pid_space: str

    @classmethod
    def me(cls) -> _Holder:
        pid = os.getpid()
        return cls(holder(), now(), socket.gethostname(), pid, process_started(pid), pid_space())

    def text(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def gone(self, me: _Holder) -> bool:
        """Whether this holder is seen to be dead from ``me`` (never for another host or
        pid namespace of the same boot, whose processes cannot be seen)."""
        if self.host != me.host or not self.pid:
            return False
        if self.pid_space and me.pid_space and self.pid_space != me.pid_space:
            return self.pid_space.split()[0] != me.pid_space.split()[0]  # rebooted since
        return self.pid != me.pid and not is_running(self.pid, self.started)


def lock_path(config: Config) -> Path:
    return config.work_dir / _NAME


@contextmanager
def work_dir_lock(config: Config) -> Iterator[None]:
    """Hold the lock of ``config.work_dir`` for the block; WorkDirBusy when another live
    command holds it."""
    path = lock_path(config).absolute()
    mine = b""
    with _mutex:
        depth = _held.get(path, 0)
        if depth == 0:
            me = _Holder.me()
            _take(path, me)
            mine = me.text().encode("utf-8")
        _held[path] = depth + 1
    try:
        yield
    finally:
        with _mutex:
            _held[path] -= 1
            if _held[path] == 0:
                del _held[path]
            if mine:
                _remove_if(path, mine)


def _take(path: Path, me: _Holder) -> None:
    text = me.text()
    while not create_exclusively(path, text, what=_WHAT):
        data = _read(path)
        if data is None:
            continue  # released meanwhile: try again
        previous = _parse(data)
        if previous is not None and not previous.gone(me):
            raise WorkDirBusy(
                f"{path.parent} is in use by {previous.who} since {previous.since} "
                f"({path}); wait for that command to finish{_unseen_hint(previous, me)}"
            )
        if previous is None and not _old_enough(path):
            raise WorkDirBusy(f"{path.parent} is being locked by another command ({path})")
        _remove_if(path, data)


def _unseen_hint(previous: _Holder, me: _Holder) -> str:
    """What to do when the holder's process cannot be seen from here (a dead one on this
    host and pid namespace is taken over without asking)."""
    if previous.host == me.host and previous.pid_space == me.pid_space:
        return ""
    return "; it runs on another host or in another container: if it is dead, remove the lock"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {_WHAT}: {exc.strerror}") from None


def _parse(data: bytes) -> _Holder | None:
    """The holder a lock names; None for a file that is not a lock dm-release wrote whole
    (where hard links are missing, a crash can leave one short)."""
    try:
        fields = json.loads(data.decode("utf-8"))
        return _Holder(**fields)
    except (UnicodeDecodeError, ValueError, TypeError):
        return None


def _old_enough(path: Path) -> bool:
    """A short or unreadable lock older than a minute was left by a crash mid-write."""
    try:
        return time.time() - path.stat().st_mtime > 60
    except FileNotFoundError:
        return True


def _remove_if(path: Path, seen: bytes) -> bool:
    """Remove the lock if it holds ``seen``: renamed aside first, so that of two processes
    only one removes it, and put back if another lock replaced it meanwhile."""
    aside = path.with_name(f"{path.name}.{secrets.token_hex(4)}.old")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WriteFailed(path, exc, _WHAT) from None
    try:
        same = aside.read_bytes() == seen
    except OSError:
        same = False
    if not same:
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # a newer lock came since: the one aside is stale
        except OSError as exc:
            raise WriteFailed(path, exc, _WHAT) from None
    aside.unlink(missing_ok=True)
    return same
