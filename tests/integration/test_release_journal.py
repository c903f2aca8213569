"""Journal files (adapters/journal.py): atomic writes, updates from many threads, one line
appended per step (JSON Lines), a torn last line, the previous format; the lock file has
its own tests (test_lock.py)."""

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


def _step(file: JournalFile, name: str) -> None:
    file.update(lambda j: j.advance(name, Step.PUSHED, "t1", "pushed 1 refs"))


def test_each_step_appends_one_line_instead_of_rewriting_the_file(tmp_path: Path) -> None:
    names = [f"pkg_{i:02d}" for i in range(40)]
    file = JournalFile(tmp_path / "j.json")
    file.save(Journal.start("weekly p w.2025.24", "sha256:x", names, "t0"))
    first = file.path.read_bytes()
    for name in names:
        _step(file, name)
    data = file.path.read_bytes()
    assert data.startswith(first) and data.count(b"\n") == 1 + len(names)
    assert file.writes == 1 + len(names)  # one whole write, then one line per step
    assert [p.name for p in tmp_path.iterdir()] == ["j.json"]
    assert JournalFile(file.path).load() == file.journal


def test_a_torn_last_line_is_ignored_then_cut_off_by_the_next_step(tmp_path: Path) -> None:
    """A process killed while appending leaves a line without its newline: the rerun
    reads the journal without it, says so, and appends after the last whole line."""
    file = JournalFile(tmp_path / "j.json")
    file.save(Journal.start("weekly p w.2025.24", "sha256:x", ["afw", "base"], "t0"))
    _step(file, "afw")
    whole = file.path.read_bytes()
    with file.path.open("ab") as torn:
        torn.write(b'{"packages": {"base": "pu\xc3')  # cut inside a character, too
    again = JournalFile(file.path)
    assert again.load() == file.journal and again.torn.startswith('{"packages"')
    _step(again, "base")
    assert file.path.read_bytes().startswith(whole) and file.path.read_bytes().endswith(b"}\n")
    reread = JournalFile(file.path)
    assert reread.load() == again.journal and reread.torn == ""
    assert reread.journal is not None and reread.journal.complete()


def test_a_journal_of_the_previous_format_is_finished_in_the_new_one(tmp_path: Path) -> None:
    """A release half made by the previous dm-release (one JSON document) is read, and its
    first step rewrites it whole as JSON Lines; from then on steps append."""
    old = Journal.start("weekly p w.2025.24", "sha256:x", ["afw", "base"], "t0")
    old = old.advance("afw", Step.PUSHED, "t1")
    path = tmp_path / "j.json"
    path.write_text(old.to_json())
    file = JournalFile(path)
    assert file.load() == old
    _step(file, "base")
    _step(file, "afw")
    assert path.read_text().splitlines()[0].startswith('{"format": "dm-release-journal/2"')
    assert len(path.read_text().splitlines()) == 2 and file.writes == 2
    assert JournalFile(path).load() == file.journal
    assert file.journal is not None and file.journal.complete()
