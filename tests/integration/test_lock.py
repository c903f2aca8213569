"""The release lock (adapters/journal.py, issue 8): created whole and exclusively, taken over
only from a dead holder of the same session, broken whatever it holds, never left held by a
failure, and named by a file name any file system takes. Holders are real processes."""

from __future__ import annotations

import errno
import io
import os
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from release_helpers import Setup, clean_environment, make_setup, ok, run, tags

from dmrelease.adapters.config import load_config
from dmrelease.adapters.files import bounded_name
from dmrelease.adapters.journal import (
    LockCorrupt,
    LockFile,
    LockHeld,
    journal_path,
    new_lock,
    pid_space,
    process_started,
)
from dmrelease.core.config import Config
from dmrelease.core.journal import Lock
from dmrelease.core.plan import Session
from dmrelease.stages.release import release_lock

RC1 = ("release_candidate", "v29.1.0.rc1")
HOST = socket.gethostname()


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of a process that runs for the length of the test."""
    process = subprocess.Popen(["sleep", "300"])
    yield process.pid
    process.kill()
    process.wait()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def held_by(
    pid: int,
    session: str = RC1[0],
    release: str = RC1[1],
    *,
    product: str = "demo",
    host: str = HOST,
    started: str | None = None,
    space: str | None = None,
) -> Lock:
    """The lock that process ``pid`` on ``host`` would have written."""
    started = process_started(pid) if started is None else started
    space = pid_space() if space is None else space
    holder = f"ci@{host} pid {pid}"
    return Lock(product, session, release, holder, "t0", host, pid, started, space)


def test_the_lock_is_exclusive_and_released_by_its_session(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    mine = new_lock("demo", *RC1)
    assert file.take(mine) is None
    assert file.read() == mine and mine.host == HOST and mine.pid > 0 and mine.started
    with pytest.raises(LockHeld) as caught:
        file.take(new_lock("demo", "weekly", "w.2025.25"))
    (problem,) = caught.value.diagnostics
    assert (problem.path, problem.line, problem.rule) == ("demo", 1, "release-lock")
    assert problem.message.startswith("demo is locked by release_candidate v29.1.0.rc1 (")
    assert "wait for it to finish; if that run is dead, rerun with --break-lock" in str(problem)
    assert not file.release(new_lock("demo", "weekly", "w.2025.25"))
    assert file.release(mine) and file.read() is None
    assert list(file.path.parent.iterdir()) == []  # no temporary, no file moved aside


def test_of_eight_sessions_taking_the_lock_at_once_exactly_one_holds_it(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    locks = [new_lock("demo", "weekly", f"w.2025.{n:02d}") for n in range(10, 18)]

    def take(lock: Lock) -> bool:
        try:
            file.take(lock)
        except LockHeld:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(take, locks))
    assert won.count(True) == 1
    assert file.read() == locks[won.index(True)]


def test_a_rerun_takes_the_lock_over_from_its_dead_holder(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    dead = held_by(dead_pid())
    file.take(dead)
    rerun = new_lock("demo", *RC1)
    replaced = file.take(rerun)
    assert replaced is not None and not replaced.broken
    assert str(replaced) == f"took over the release lock of a run that is no more: {dead}"
    assert file.read() == rerun
    assert not file.release(dead)  # the run taken over no longer holds it
    assert file.release(rerun) and file.read() is None


def test_a_second_copy_of_a_live_session_is_refused(tmp_path: Path, live_pid: int) -> None:
    file = LockFile.of(tmp_path, "demo")
    live = held_by(live_pid)
    file.take(live)
    with pytest.raises(LockHeld) as caught:
        file.take(new_lock("demo", *RC1))
    (problem,) = caught.value.diagnostics
    assert problem.rule == "release-lock"
    assert f"pid {live_pid} still runs on {HOST}: wait for it to finish" in str(problem)
    assert "--break-lock" in str(problem) and file.read() == live


def test_a_pid_reused_by_another_process_does_not_keep_the_lock(
    tmp_path: Path, live_pid: int
) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.take(held_by(live_pid, started="1"))  # that pid now runs a process started later
    replaced = file.take(new_lock("demo", *RC1))
    assert replaced is not None and not replaced.broken


def test_a_holder_on_another_host_is_refused_naming_it(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.take(held_by(dead_pid(), host="agent-7"))
    with pytest.raises(LockHeld) as caught:
        file.take(new_lock("demo", *RC1))
    text = str(caught.value.diagnostics[0])
    assert "(ci@agent-7 pid" in text and "taken on host agent-7" in text
    assert "rerun with --break-lock" in text


def test_a_lock_of_an_older_version_naming_no_process_is_not_taken_over(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.take(Lock("demo", *RC1, "me@here pid 1", "t0"))
    with pytest.raises(LockHeld, match="named no process"):
        file.take(new_lock("demo", *RC1))


CORRUPT = [
    (b"", 1, "empty lock file"),
    (b"  \n", 1, "empty lock file"),
    (b"\xff\xfe{\x00", 1, "not UTF-8 text, not a lock dm-release wrote"),
    (b'{\n "format": "dm-release-lock/1",\n "product": ', 3, "Expecting value"),
    (b'{"format": "dm-release-journal/1"}', 1, "not a dm-release-lock/1 file"),
    (b'{"format": "dm-release-lock/1"}', 1, "lock file without 'product'"),
    (b"[1, 2]", 1, "not a dm-release-lock/1 file"),
]


@pytest.mark.parametrize(("content", "line", "message"), CORRUPT)
def test_a_corrupt_lock_is_a_diagnostic_naming_the_file_and_break_lock(
    tmp_path: Path, content: bytes, line: int, message: str
) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.path.parent.mkdir(parents=True)
    file.path.write_bytes(content)
    with pytest.raises(LockCorrupt) as caught:
        file.take(new_lock("demo", *RC1))
    (problem,) = caught.value.diagnostics
    assert (problem.path, problem.line, problem.rule) == (str(file.path), line, "lock-format")
    assert problem.message.endswith(message)  # a JSON error: prefixed by the JSON reader
    assert problem.hint == "if no session is running, rerun with --break-lock"
    assert file.path.read_bytes() == content  # refused: nothing changed


@pytest.mark.parametrize("content", [c for c, _, _ in CORRUPT])
def test_break_lock_replaces_any_content_without_parsing_it(tmp_path: Path, content: bytes) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.path.parent.mkdir(parents=True)
    file.path.write_bytes(content)
    mine = new_lock("demo", "weekly", "w.2025.25")
    replaced = file.take(mine, break_lock=True)
    assert replaced is not None and replaced.broken
    assert str(replaced).startswith(f"broke the release lock: {file.path} ({len(content)} bytes): ")
    assert file.read() == mine


def test_breaking_a_readable_lock_names_its_holder(tmp_path: Path, live_pid: int) -> None:
    file = LockFile.of(tmp_path, "demo")
    file.take(held_by(live_pid))
    replaced = file.take(new_lock("demo", "weekly", "w.2025.25"), break_lock=True)
    assert str(replaced) == f"broke the release lock: {held_by(live_pid)}"


def test_lock_and_journal_names_stay_file_names(tmp_path: Path) -> None:
    plain = journal_path(tmp_path, "meta", "release_candidate", "v29.1.0.rc1")
    assert plain == tmp_path / "journal" / "meta" / "release_candidate-v29.1.0.rc1.json"
    long_tags = [f"v29.1.0.rc{'9' * 250}", f"v29.1.0.rc{'9' * 249}8", "é" * 200, "a/../../b"]
    names = [journal_path(tmp_path, "meta", "release_candidate", t).name for t in long_tags]
    assert len(set(names)) == len(names)  # distinct releases never share a journal
    for name in names:
        assert len((name.removesuffix(".json") + ".plan.json").encode()) <= 200
        assert "/" not in name and not name.startswith(".") and name.isascii()
    assert names[0] == journal_path(tmp_path, "meta", "release_candidate", long_tags[0]).name
    assert len(LockFile.of(tmp_path, "p" * 300).path.name) <= 200
    assert bounded_name("meta") == "meta" and bounded_name(".x") != ".x"


def _config(tmp_path: Path) -> Config:
    path = tmp_path / "dm-release.toml"
    path.write_text('[paths]\nwork_dir = "work"\n')
    return load_config(path, environ={})


def test_any_failure_while_the_lock_is_held_releases_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    long = f"v29.1.0.rc{'9' * 300}"
    held = release_lock(config, "meta", Session.CANDIDATE, long, break_lock=False,
                        dry_run=False, log=io.StringIO())  # fmt: skip
    with pytest.raises(OSError, match="File name too long"), held:
        (tmp_path / long).write_text("")  # a name the file system refuses
    assert not LockFile.of(config.state_dir, "meta").path.exists()


def test_a_failure_with_an_unreadable_journal_leaves_a_lock_the_rerun_takes_over(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    state = config.state_dir
    journal = journal_path(state, "meta", "release_candidate", "v29.1.0.rc1")
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"\xff not a journal")

    def hold(log: io.StringIO) -> AbstractContextManager[Lock | None]:
        return release_lock(config, "meta", Session.CANDIDATE, "v29.1.0.rc1",
                            break_lock=False, dry_run=False, log=log)  # fmt: skip

    with pytest.raises(RuntimeError), hold(io.StringIO()):
        raise RuntimeError("a failure whose writes cannot be told")
    assert LockFile.of(state, "meta").path.exists()  # kept: the writes may be half-made
    log = io.StringIO()
    with hold(log) as lock:  # this process has returned from the run: its lock is dead
        assert lock is not None
    assert "took over the release lock of a run that is no more" in log.getvalue()
    assert not LockFile.of(state, "meta").path.exists()


# -- through the CLI, on a real product --------------------------------------------------


@pytest.mark.usefixtures(clean_environment.__name__)
def test_a_second_copy_of_a_live_weekly_waits_and_a_rerun_takes_over_once_it_is_dead(
    tmp_path: Path,
) -> None:
    setup = make_setup(tmp_path)
    holder = subprocess.Popen(["sleep", "300"])
    try:
        live = held_by(holder.pid, "weekly", "w.2025.24", product="meta")
        setup.lock().parent.mkdir(parents=True)
        setup.lock().write_text(live.to_json())
        code, _out, err = run(setup, "weekly", "w.2025.24")
        assert code == 1
        assert f"meta:1: release-lock: {live} (pid {holder.pid} still runs on {HOST}" in err
        assert "w.2025.24" not in tags(setup.remote("meta"))
    finally:
        holder.kill()
        holder.wait()
    text = ok(setup, "weekly", "w.2025.24")
    assert f"took over the release lock of a run that is no more: {live}" in text
    assert "w.2025.24" in tags(setup.remote("meta")) and not setup.lock().exists()


@pytest.mark.usefixtures(clean_environment.__name__)
def test_an_empty_or_corrupt_lock_is_reported_and_break_lock_removes_it(tmp_path: Path) -> None:
    setup: Setup = make_setup(tmp_path)
    setup.lock().parent.mkdir(parents=True)
    for content, message in ((b"\xff\xfe", "not UTF-8 text"), (b"", "empty lock file")):
        setup.lock().write_bytes(content)
        code, _out, err = run(setup, "weekly", "w.2025.24")
        assert code == 1 and "Traceback" not in err
        assert f"{setup.lock()}:1: lock-format: {message}" in err
        assert "(if no session is running, rerun with --break-lock)" in err
        assert setup.lock().read_bytes() == content
    code, _out, err = run(setup, "weekly", "w.2025.24", "--dry-run", "--break-lock")
    assert code == 0 and setup.lock().read_bytes() == b""  # a dry run breaks nothing
    text = ok(setup, "weekly", "w.2025.24", "--break-lock")
    assert f"broke the release lock: {setup.lock()} (0 bytes): empty lock file" in text
    assert "w.2025.24" in tags(setup.remote("meta")) and not setup.lock().exists()


def test_a_dead_holder_of_another_session_is_named_as_gone(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    dead = held_by(dead_pid())
    file.take(dead)
    with pytest.raises(LockHeld) as caught:
        file.take(new_lock("demo", "weekly", "w.2025.25"))
    assert caught.value.diagnostics[0].hint == (
        f"pid {dead.pid} is gone and may have left writes half-made: rerun release_candidate "
        f"v29.1.0.rc1 to finish it, or --break-lock ({file.path})"
    )


def test_without_hard_links_the_lock_is_still_exclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported")  # e.g. some network mounts

    monkeypatch.setattr(os, "link", no_links)
    file = LockFile.of(tmp_path, "demo")
    mine = new_lock("demo", *RC1)
    assert file.take(mine) is None and file.read() == mine
    with pytest.raises(LockHeld):
        file.take(new_lock("demo", "weekly", "w.2025.25"))
    assert file.release(mine) and sorted(file.path.parent.iterdir()) == []


def test_a_holder_in_another_pid_namespace_is_refused(tmp_path: Path) -> None:
    file = LockFile.of(tmp_path, "demo")
    boot = pid_space().split()[0]
    file.take(held_by(dead_pid(), space=f"{boot} pid:[1]"))  # a container on this host
    with pytest.raises(LockHeld, match=r"in another pid namespace \(a container\) on host"):
        file.take(new_lock("demo", *RC1))


def test_a_holder_from_before_a_reboot_is_gone(tmp_path: Path, live_pid: int) -> None:
    file = LockFile.of(tmp_path, "demo")
    namespace = pid_space().split()[1]
    file.take(held_by(live_pid, space=f"another-boot {namespace}"))  # its pid is reused since
    replaced = file.take(new_lock("demo", *RC1))
    assert replaced is not None and not replaced.broken
