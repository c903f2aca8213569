"""Session flows as ordered steps (issue 9 §3): one runner runs the named steps in order,
a step may stop the run, and each step journals itself (started, finished, stopped or
failed), in time order, whether the journal existed before or is made by the run."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from release_helpers import (
    Setup,
    clean_environment,
    journal_json,
    make_setup,
    ok,
    run,
)

from dmrelease.adapters.journal import JournalFile, new_lock, now
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.config_layers import build_config
from dmrelease.core.journal import Journal
from dmrelease.core.plan import Session
from dmrelease.stages.release_steps import SessionRun, SessionStep, Stop, run_steps

OPERATION = "release_candidate meta v29.1.0.rc1"


def _run(tmp_path: Path, *, dry_run: bool = False) -> SessionRun:
    config: Config = build_config(cwd=tmp_path)
    product = ProductConfig("meta", tmp_path / "repos.yaml")
    log = io.StringIO()
    return SessionRun(config, product, Session.CANDIDATE, "v29.1.0.rc1", dry_run, log, log)


def _take(run: SessionRun) -> None:
    run.lock = new_lock("meta", "release_candidate", "v29.1.0.rc1")
    run.journal = JournalFile(run.config.state_dir / "journal.json")


def _start(run: SessionRun) -> None:
    assert run.journal is not None
    run.journal.save(Journal.start(OPERATION, "sha256:x", ["afw"], now()))


def _steps(run: SessionRun, journal: Path) -> list[tuple[str, str]]:
    events = journal_json(journal)["events"]
    return [(e[2], e[3]) for e in events if e[1] == OPERATION]


def test_steps_run_in_order_and_journal_themselves_before_the_journal_they_make(
    tmp_path: Path,
) -> None:
    done: list[str] = []
    session = _run(tmp_path)
    steps = [
        SessionStep("lock", lambda r: _take(r)),
        SessionStep("plan", lambda r: done.append("plan")),
        SessionStep("apply", _start),
        SessionStep("build", lambda r: done.append("build")),
    ]
    run_steps(steps, session)
    assert done == ["plan", "build"]
    assert _steps(session, session.config.state_dir / "journal.json") == [
        ("step lock", "started"), ("step lock", "finished"),
        ("step plan", "started"), ("step plan", "finished"),
        ("step apply", "started"), ("planned", "1 packages"), ("step apply", "finished"),
        ("step build", "started"), ("step build", "finished"),
    ]  # fmt: skip


def test_a_step_that_stops_the_run_ends_it_there(tmp_path: Path) -> None:
    done: list[str] = []
    session = _run(tmp_path)
    steps = [
        SessionStep("lock", _take),
        SessionStep("apply", _start),
        SessionStep("build", lambda r: Stop("v29.1.0.rc1: already built (journal)")),
        SessionStep("after", lambda r: done.append("after")),
    ]
    run_steps(steps, session)
    assert done == []
    assert isinstance(session.log, io.StringIO)
    assert "build: v29.1.0.rc1: already built (journal)" in session.log.getvalue()
    assert _steps(session, session.config.state_dir / "journal.json")[-2:] == [
        ("step build", "started"),
        ("step build", "stopped: v29.1.0.rc1: already built (journal)"),
    ]


def test_a_failing_step_is_journaled_and_leaves_the_held_context_with_its_error(
    tmp_path: Path,
) -> None:
    seen: list[type[BaseException] | None] = []

    @contextmanager
    def held() -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            seen.append(type(exc))
            raise
        seen.append(None)

    def lock(run: SessionRun) -> None:
        run.held.enter_context(held())
        _take(run)

    def fail(run: SessionRun) -> None:
        raise RuntimeError("push refused")

    session = _run(tmp_path)
    steps = [SessionStep("lock", lock), SessionStep("apply", _start), SessionStep("push", fail)]
    with pytest.raises(RuntimeError, match="push refused"):
        run_steps(steps, session)
    assert seen == [RuntimeError]  # the lock's context saw the failure, after the journal
    assert _steps(session, session.config.state_dir / "journal.json")[-2:] == [
        ("step push", "started"),
        ("step push", "failed"),
    ]


def test_a_journal_that_cannot_be_read_at_a_failure_does_not_hide_the_failure(
    tmp_path: Path,
) -> None:
    def fail(run: SessionRun) -> None:
        run.config.state_dir.mkdir(parents=True, exist_ok=True)
        broken = run.config.state_dir / "broken.json"
        broken.write_text("{ not a journal\n")
        run.journal = JournalFile(broken)  # the failure's record cannot read it
        raise RuntimeError("push refused")

    session = _run(tmp_path)
    with pytest.raises(RuntimeError, match="push refused"):
        run_steps([SessionStep("lock", _take), SessionStep("push", fail)], session)


def test_a_rerun_appends_its_steps_to_the_journal_it_finds(tmp_path: Path) -> None:
    session = _run(tmp_path)
    _take(session)
    _start(session)  # an earlier run's journal
    session.lock = None
    run_steps([SessionStep("lock", _take), SessionStep("plan", lambda r: None)], session)
    assert _steps(session, session.config.state_dir / "journal.json") == [
        ("planned", "1 packages"),
        ("step lock", "started"), ("step lock", "finished"),
        ("step plan", "started"), ("step plan", "finished"),
    ]  # fmt: skip


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_dry_run_or_a_run_that_holds_no_lock_writes_no_step(
    tmp_path: Path, dry_run: bool
) -> None:
    """Without the lock another process may be writing the journal; a dry run writes none."""
    session = _run(tmp_path, dry_run=dry_run)
    _take(session)
    _start(session)  # the journal of an earlier run
    before = (session.config.state_dir / "journal.json").read_text()
    if not dry_run:
        session.lock = None  # and no step takes it
    run_steps([SessionStep("plan", lambda r: None), SessionStep("apply", lambda r: None)], session)
    assert (session.config.state_dir / "journal.json").read_text() == before


# -- the sessions -------------------------------------------------------------------------


@pytest.mark.usefixtures(clean_environment.__name__)
def test_a_candidate_journals_each_of_its_steps_in_order(tmp_path: Path) -> None:
    setup: Setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    events = journal_json(setup.journal("release_candidate", "v29.1.0.rc1"))["events"]
    mine = [(e[2], e[3]) for e in events if e[1] == OPERATION]
    assert mine == [
        ("step lock", "started"), ("step lock", "finished"),
        ("step plan", "started"), ("step plan", "finished"),
        ("step apply", "started"), ("planned", "4 packages"), ("tagged", "4 packages"),
        ("pushed", ""), ("step apply", "finished"),
        ("step build", "started"), ("built", "build b1 from v29.1.0.rc1"),
        ("step build", "finished"),
    ]  # fmt: skip
    code, _out, err = run(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 0 and "build: v29.1.0.rc1: already built (journal)" in err
    again = journal_json(setup.journal("release_candidate", "v29.1.0.rc1"))["events"]
    assert [(e[2], e[3]) for e in again if e[1] == OPERATION][-2:] == [
        ("step build", "started"),
        ("step build", "stopped: v29.1.0.rc1: already built (journal)"),
    ]
