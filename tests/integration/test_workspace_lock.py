"""A work dir is used by one command at a time (issue 9 §1): two real processes on the
same work dir, the second refused naming the first; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rebuild_helpers import config_for, make_product, write_config

from dmrelease.stages.workspace import WorkDirBusy, work_dir_lock

HOLD = """
import sys
from dmrelease.adapters.config import load_config
from dmrelease.stages.workspace import work_dir_lock
with work_dir_lock(load_config(__import__("pathlib").Path(sys.argv[1]))):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes stdin (or kills this process)
"""


def _hold(config: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(config)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=config.parent,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def _rebuild(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", "rebuild", "--prepare-only", "--config", str(config)],
        capture_output=True, text=True, check=False, cwd=config.parent,
    )  # fmt: skip


def test_a_second_command_on_a_work_dir_in_use_exits_2_naming_the_holder(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    lock = tmp_path / "work" / ".dm-release.lock"
    holder = _hold(config)
    try:
        done = _rebuild(config)
        assert done.returncode == 2
        [line] = done.stderr.splitlines()
        assert line.startswith(f"dm-release: error: {tmp_path / 'work'} is in use by ")
        assert f" pid {holder.pid} since " in line and f"({lock})" in line
        assert not (tmp_path / "work" / "clones").exists()  # refused before any fetch
        assert json.loads(lock.read_text())["pid"] == holder.pid  # the holder's lock stays
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    assert not lock.exists()  # released by its holder
    assert _rebuild(config).returncode == 0


def test_the_lock_of_a_killed_command_is_taken_over(tmp_path: Path) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    lock = tmp_path / "work" / ".dm-release.lock"
    holder = _hold(config)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=60)
    assert json.loads(lock.read_text())["pid"] == holder.pid  # left behind by the dead
    done = _rebuild(config)
    assert done.returncode == 0, done.stderr
    assert not lock.exists()
    assert (tmp_path / "work" / "build.properties").read_text() == "BUILD=b1\n"


def test_the_lock_is_reentrant_in_one_process_and_refuses_another_live_holder(
    tmp_path: Path,
) -> None:
    setup = config_for(write_config(tmp_path, make_product(tmp_path)))
    lock = tmp_path / "work" / ".dm-release.lock"
    with work_dir_lock(setup.config):
        with work_dir_lock(setup.config):  # a release rebuilding from its tag
            assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert lock.exists()  # still held by the outer block
    assert not lock.exists()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        text = json.loads(_lock_of(other.pid))
        lock.write_text(json.dumps(text))
        busy = pytest.raises(WorkDirBusy, match=f"pid {other.pid} since 2026-01-01T00:00:00Z")
        with busy, work_dir_lock(setup.config):
            pass
        assert json.loads(lock.read_text()) == text  # not taken, not removed
    finally:
        other.kill()
        other.wait()


def _lock_of(pid: int) -> str:
    """A lock naming live process ``pid`` of this host (as work_dir_lock writes it)."""
    from dmrelease.adapters.journal import pid_space, process_started

    host = os.uname().nodename
    return json.dumps(
        {
            "who": f"someone@{host} pid {pid}", "since": "2026-01-01T00:00:00Z", "host": host,
            "pid": pid, "started": process_started(pid), "pid_space": pid_space(),
        }
    )  # fmt: skip


def test_a_lock_of_another_host_is_never_taken_and_a_half_written_one_only_when_old(
    tmp_path: Path,
) -> None:
    setup = config_for(write_config(tmp_path, make_product(tmp_path)))
    lock = tmp_path / "work" / ".dm-release.lock"
    lock.parent.mkdir(parents=True)
    elsewhere = {**json.loads(_lock_of(1)), "host": "agent-7", "who": "jenkins@agent-7 pid 1"}
    lock.write_text(json.dumps(elsewhere))
    with pytest.raises(WorkDirBusy) as busy, work_dir_lock(setup.config):
        pass
    assert str(busy.value) == (
        f"{lock.parent} is in use by jenkins@agent-7 pid 1 since 2026-01-01T00:00:00Z "
        f"({lock}); wait for that command to finish; it runs on another host or in "
        "another container: if it is dead, remove the lock"
    )
    lock.write_text('{"who": "cut sh')  # a crash mid-write where hard links are missing
    half = pytest.raises(WorkDirBusy, match="is being locked by another command")
    with half, work_dir_lock(setup.config):
        pass
    os.utime(lock, (0, 0))  # left long ago: taken over
    with work_dir_lock(setup.config):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()
