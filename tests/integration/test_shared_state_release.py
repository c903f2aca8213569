"""Release state on the versiondb remote (issue 9 §4): the release lock is a ref there,
taken and released by compare-and-swap pushes and naming its holder; the plan and journal
of a release are stored there, so that a release interrupted on one agent is finished
from another agent's empty work dir, with no tag moved. Real remotes, real processes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from release_helpers import (
    PACKAGES,
    RC1,
    Setup,
    clean_environment,
    journal_json,
    make_setup,
    ok,
    run,
    tag_objects,
    tags,
)

from dmrelease import cli
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.journal import LockCorrupt, LockHeld, new_lock
from dmrelease.adapters.remote_state import LockRef, RemoteRefs
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.journal import Lock
from dmrelease.demo.synthetic import push_change

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)
LOCK_REF = "refs/dm-release/locks/meta"
RELEASE_REF = "refs/dm-release/releases/meta/release_candidate/v29.1.0.rc1"


def bare(path: Path) -> Path:
    Git(path.parent).run("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


def lock_ref(root: Path, remote: Path, agent: str) -> LockRef:
    """The lock of ``meta`` as seen from ``agent``'s own versiondb clone."""
    db = VersionDb.open(root / agent, "ci", "ci@example.org", 60, remote=str(remote))
    assert db.remote is not None
    return LockRef(RemoteRefs(db.git, db.remote), "meta")


def remote_ref(remote: Path, ref: str) -> str:
    return Git(remote).run("for-each-ref", "--format=%(objectname)", ref)


# -- the lock ref -------------------------------------------------------------------------


def test_the_lock_ref_is_exclusive_names_its_holder_and_is_released_by_it(tmp_path: Path) -> None:
    remote = bare(tmp_path / "versiondb.git")
    one, two = lock_ref(tmp_path, remote, "agent-1"), lock_ref(tmp_path, remote, "agent-2")
    mine = new_lock("meta", "release_candidate", "v29.1.0.rc1")
    assert one.take(mine) is None
    held = remote_ref(remote, LOCK_REF)
    assert Git(remote).run("cat-file", "-t", held) == "commit"
    assert json.loads(Git(remote).run("show", f"{held}:lock.json"))["holder"] == mine.holder
    assert two.read() == mine
    with pytest.raises(LockHeld) as caught:
        two.take(new_lock("meta", "weekly", "w.2025.25"))
    (problem,) = caught.value.diagnostics
    assert (problem.path, problem.line, problem.rule) == ("meta", 1, "release-lock")
    assert problem.message == str(mine)  # "meta is locked by release_candidate v29.1.0.rc1 (…)"
    assert problem.hint == (
        f"wait for it to finish; if that run is dead, rerun with --break-lock ({remote} {LOCK_REF})"
    )
    assert not two.release(new_lock("meta", "weekly", "w.2025.25"))  # not its lock
    assert remote_ref(remote, LOCK_REF) == held
    assert one.release(mine) and remote_ref(remote, LOCK_REF) == "" and two.read() is None


def test_of_eight_agents_taking_the_lock_ref_at_once_exactly_one_holds_it(tmp_path: Path) -> None:
    remote = bare(tmp_path / "versiondb.git")
    refs = [lock_ref(tmp_path, remote, f"agent-{n}") for n in range(8)]
    locks = [new_lock("meta", "weekly", f"w.2025.{n:02d}") for n in range(10, 18)]

    def take(pair: tuple[LockRef, Lock]) -> bool:
        try:
            pair[0].take(pair[1])
        except LockHeld:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(take, zip(refs, locks, strict=True)))
    assert won.count(True) == 1
    assert refs[0].read() == locks[won.index(True)]


def test_break_lock_replaces_what_it_read_and_the_broken_holder_cannot_remove_it(
    tmp_path: Path,
) -> None:
    remote = bare(tmp_path / "versiondb.git")
    one, two = lock_ref(tmp_path, remote, "agent-1"), lock_ref(tmp_path, remote, "agent-2")
    first = new_lock("meta", "release_candidate", "v29.1.0.rc1")
    one.take(first)
    second = new_lock("meta", "weekly", "w.2025.25")
    replaced = two.take(second, break_lock=True)
    assert str(replaced) == f"broke the release lock: {first}"
    assert not one.release(first)  # the broken holder ends: the breaker's lock stays
    assert one.read() == second
    assert two.release(second) and one.read() is None


def test_a_lock_ref_that_is_not_a_lock_is_a_diagnostic_and_break_lock_replaces_it(
    tmp_path: Path,
) -> None:
    remote = bare(tmp_path / "versiondb.git")
    one = lock_ref(tmp_path, remote, "agent-1")
    junk = one.refs.commit({"lock.json": '{"format": "dm-release-journal/1"}\n'}, "junk")
    one.refs.swap(LOCK_REF, junk, None)
    with pytest.raises(LockCorrupt) as caught:
        one.take(new_lock("meta", "weekly", "w.2025.25"))
    (problem,) = caught.value.diagnostics
    assert (problem.path, problem.line, problem.rule) == (f"{remote} {LOCK_REF}", 1, "lock-format")
    assert problem.message == "not a dm-release-lock/1 file"
    assert remote_ref(remote, LOCK_REF) == junk  # refused: nothing changed
    replaced = one.take(new_lock("meta", "weekly", "w.2025.25"), break_lock=True)
    assert str(replaced) == (
        f"broke the release lock: {remote} {LOCK_REF}: not a dm-release-lock/1 file"
    )


def test_the_lock_ref_names_its_remote_without_credentials(tmp_path: Path) -> None:
    url = "https://ci:tok3n-s3cret@127.0.0.1:9/versiondb.git"
    db = VersionDb.open(tmp_path / "vdb", "ci", "ci@example.org", 60, remote=url)
    lock = LockRef(RemoteRefs(db.git, url), "meta")
    assert lock.where == f"https://****@127.0.0.1:9/versiondb.git {LOCK_REF}"
    with pytest.raises(GitError) as caught:
        lock.take(new_lock("meta", "weekly", "w.2025.25"))
    assert "tok3n-s3cret" not in str(caught.value) and "https://****@127.0.0.1:9/" in str(
        caught.value
    )


# -- two agents, one product --------------------------------------------------------------


def shared(setup: Setup, remote: Path) -> Setup:
    """``setup``'s configuration with the versiondb remote (its [paths] table is last)."""
    setup.config.write_text(setup.config.read_text() + f'versiondb_remote = "{remote}"\n')
    return setup


def second_agent(setup: Setup, name: str = "agent-2") -> Setup:
    """Another agent: the same configuration in an empty directory of its own (its work
    dir, state dir and versiondb are its own; the remotes are the same)."""
    root = setup.root / name
    root.mkdir()
    config = root / "dm-release.toml"
    config.write_text(setup.config.read_text())
    return Setup(root, setup.product, config)


def hold_pushes(setup: Setup, package: str, gate: Path) -> None:
    """A pre-receive hook on ``package``'s remote that holds every push until ``gate``
    exists (60 s at most)."""
    hook = setup.product.remote(package) / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\nn=0\nwhile [ ! -e '{gate}' ] && [ $n -lt 1200 ]; do sleep 0.05; "
        "n=$((n + 1)); done\nexit 0\n"
    )
    hook.chmod(0o755)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def start(setup: Setup, *args: str) -> subprocess.Popen[bytes]:
    """``dm-release release ARGS`` as a process of its own, pushing one package at a time
    (in build order: base, utils, afw, meta)."""
    command = [sys.executable, "-m", "dmrelease", "release", *args, "--config", str(setup.config)]
    environ = {**os.environ, "DM_RELEASE_GIT_JOBS": "1"}
    return subprocess.Popen(
        command, env=environ, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_two_concurrent_releases_of_one_product_one_gets_the_lock_the_other_is_told_who(
    tmp_path: Path,
) -> None:
    remote = bare(tmp_path / "versiondb.git")
    first = shared(make_setup(tmp_path), remote)
    ok(first, "weekly", "w.2025.24")
    other = second_agent(first)
    gate = tmp_path / "go"
    hold_pushes(first, "utils", gate)
    process = start(first, *RC1)
    try:
        wait_for(lambda: "v29.1.0.rc1" in tags(first.remote("base")))  # it holds the lock
        code, _out, err = run(other, *RC1)
        holder = Git(remote).run("show", f"{LOCK_REF}:lock.json")
        lock = json.loads(holder)
        assert code == 1 and "Traceback" not in err
        assert lock["pid"] == process.pid and lock["session"] == "release_candidate"
        assert (
            f"meta:1: release-lock: meta is locked by release_candidate v29.1.0.rc1 "
            f"({lock['holder']}, since {lock['taken_at']})" in err
        )
        assert f"pid {process.pid} still runs on {lock['host']}: wait for it to finish" in err
        assert f"({remote} {LOCK_REF})" in err
        assert not (other.root / "work" / "clones").exists()  # refused before any clone
    finally:
        gate.touch()
        _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert remote_ref(remote, LOCK_REF) == ""  # released by its holder
    for name in PACKAGES:
        assert "v29.1.0.rc1" in tags(first.remote(name))


def test_a_plan_made_on_a_fresh_agent_names_the_build_id_the_remote_would_give(
    tmp_path: Path,
) -> None:
    remote = bare(tmp_path / "versiondb.git")
    first = shared(make_setup(tmp_path), remote)
    ok(first, "weekly", "w.2025.24")  # b1
    push_change(first.product, "afw", "a change after the weekly")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["rebuild", "--prepare-only", "--config", str(first.config)]) == 0
    other = second_agent(first)
    _code, out, _err = run(other, "plan", "v29.1.0.rc1", "--refs", "main", "--json")
    assert json.loads(out)["plan"]["build_id"] == "b2"  # main's content, recorded as b2
    _code, out, _err = run(other, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--json")
    assert json.loads(out)["plan"]["build_id"] == "b1"


def killed_half_way(tmp_path: Path) -> tuple[Setup, Path]:
    """An agent whose candidate pushed base and utils, then was killed while afw's push
    was held: the lock and the stored plan stay on the versiondb remote."""
    remote = bare(tmp_path / "versiondb.git")
    first = shared(make_setup(tmp_path), remote)
    ok(first, "weekly", "w.2025.24")
    hold_pushes(first, "afw", tmp_path / "never")
    process = start(first, *RC1)
    try:
        wait_for(lambda: "v29.1.0.rc1" in tags(first.remote("utils")))
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    (first.product.remote("afw") / "hooks" / "pre-receive").unlink()
    assert not any("v29.1.0.rc1" in tags(first.remote(name)) for name in ("afw", "meta"))
    assert remote_ref(remote, LOCK_REF) != "" and remote_ref(remote, RELEASE_REF) != ""
    return first, remote


def test_a_candidate_killed_after_half_its_pushes_is_finished_from_an_empty_work_dir(
    tmp_path: Path,
) -> None:
    first, remote = killed_half_way(tmp_path)
    pushed = {name: tag_objects(first.remote(name)) for name in ("base", "utils")}
    stored = json.loads(Git(remote).run("show", f"{RELEASE_REF}:plan.json"))
    assert stored["plan"]["release"] == "v29.1.0.rc1"

    other = second_agent(first)  # a new agent: nothing in its work dir
    text = ok(other, *RC1)
    assert f"finishing the journaled plan {stored['checksum'][:19]}" in text
    assert "took over the release lock of a run that is no more" in text
    for name in PACKAGES:
        remote_tags = tags(first.remote(name))
        assert remote_tags["v29.1.0.rc1"] == remote_tags["w.2025.24"]
    assert {name: tag_objects(first.remote(name)) for name in ("base", "utils")} == pushed
    journal = journal_json(other.journal("release_candidate", "v29.1.0.rc1"))
    assert set(journal["packages"].values()) == {"pushed"} and not journal["errors"]
    assert journal["plan_checksum"] == stored["checksum"]
    assert remote_ref(remote, LOCK_REF) == ""
    final = json.loads(Git(remote).run("show", f"{RELEASE_REF}:journal.json"))
    assert final["stages"][-1] == "pushed"


def test_a_tag_made_elsewhere_meanwhile_stops_the_new_agent_and_no_tag_moves(
    tmp_path: Path,
) -> None:
    first, remote = killed_half_way(tmp_path)
    afw = first.remote("afw")
    elsewhere = afw.run("rev-list", "--max-parents=0", "main")  # not the planned commit
    afw.run("tag", "v29.1.0.rc1", elsewhere)
    before = {name: tag_objects(first.remote(name)) for name in PACKAGES}
    code, _out, err = run(second_agent(first), *RC1)
    assert code == 1 and "Traceback" not in err
    assert "afw:1: tag-conflict: " in err and "v29.1.0.rc1" in err
    assert {name: tag_objects(first.remote(name)) for name in PACKAGES} == before
    assert "v29.1.0.rc1" not in tags(first.remote("meta"))  # nothing pushed past the error
    assert remote_ref(remote, LOCK_REF) != ""  # half-made: the lock holds weeklies off
