"""Journal files (adapters/journal.py): atomic writes, updates from many threads; the lock
file has its own tests (test_lock.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dmrelease.adapters.journal import JournalFile, write_atomically
from dmrelease.core.journal import Journal, Step


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
