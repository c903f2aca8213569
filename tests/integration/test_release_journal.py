"""Journal and lock files (adapters/journal.py): atomic writes, exclusive lock, takeover."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dmrelease.adapters.journal import JournalFile, LockFile, LockHeld, write_atomically
from dmrelease.core.journal import Journal, Lock, Step


def test_atomic_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state" / "journal.json"
    write_atomically(target, "old\n")
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["journal.json"]


def test_journal_updates_from_many_threads_are_all_kept(tmp_path: Path) -> None:
    names = [f"pkg_{i:02d}" for i in range(40)]
    file = JournalFile(tmp_path / "j.json")
    file.save(Journal.start("weekly p w.2025.24", "sha256:x", names, "t0"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: file.update(lambda j: j.advance(n, Step.PUSHED, "t1")), names))
    assert JournalFile(file.path).load() == file.journal
    assert file.journal is not None and file.journal.complete()


def lock(session: str = "release_candidate", release: str = "v29.1.0.rc1") -> Lock:
    return Lock("demo", session, release, "me@here pid 1", "t0")


def test_the_lock_is_exclusive_and_released_by_its_session(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    assert file.take(lock()) is None
    with pytest.raises(LockHeld) as caught:
        file.take(lock("weekly", "w.2025.25"))
    (problem,) = caught.value.diagnostics
    assert problem.rule == "release-lock" and "--break-lock" in (problem.hint or "")
    assert not file.release(lock("weekly", "w.2025.25"))
    assert file.release(lock()) and file.read() is None


def test_a_rerun_of_the_holder_takes_the_lock_over(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.take(lock())
    rerun = Lock("demo", "release_candidate", "v29.1.0.rc1", "me@there pid 2", "t1")
    assert file.take(rerun) == lock()
    assert file.read() == rerun
    assert not file.release(lock())  # the run taken over no longer holds it
    assert file.read() == rerun
    assert file.release(rerun) and file.read() is None


def test_breaking_the_lock_replaces_any_holder(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.take(lock())
    assert file.take(lock("weekly", "w.2025.25"), break_lock=True) == lock()
    assert file.read() == lock("weekly", "w.2025.25")
