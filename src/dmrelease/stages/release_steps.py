"""Session flows as ordered steps (issue 9 §3, STYLE.md habit 15; nox's ``workflow``).

A release session is a list of named :class:`SessionStep`\\ s run in order by
:func:`run_steps`. A step takes the run's :class:`SessionRun`, may set what the next steps
use (the lock, the workspace, the plan, the journal) and returns ``None`` to go on or a
:class:`Stop` to end the run there (a dry run after printing, a build already done). A
step that raises ends the run with that error.

Context a step takes (the release lock) is entered on the run's exit stack, so it is held
until the run ends and released the way :func:`~dmrelease.stages.release_state.release_lock`
decides, whatever step failed.

Each step journals itself: ``started`` and ``finished`` (or ``stopped: why``, ``failed:
why``) events of the operation in the session's journal. Steps before the journal exists
(the plan's checksum names it) or before the lock is held (another process may be writing
the journal) are kept and written once both are there, in time order; a dry run writes no
journal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TextIO

from dmrelease.adapters.journal import JournalFile, now
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.journal import Event, Journal, Lock
from dmrelease.core.manifest import Manifest
from dmrelease.core.plan import Session
from dmrelease.core.tags import Tag
from dmrelease.stages.release_plan import Planned
from dmrelease.stages.release_writes import WouldRun
from dmrelease.stages.workspace import Workspace

__all__ = ["SessionRun", "SessionStep", "Stop", "run_steps"]


@dataclass(frozen=True)
class Stop:
    """Returned by a step to end the run successfully there; ``why`` is journaled."""

    why: str


@dataclass
class SessionRun:
    """What the steps of one session run share: the inputs, then what the steps made.

    ``release`` is the name the plan and journal carry (``str(tag)``, or a backport's
    release branch)."""

    config: Config
    product: ProductConfig
    session: Session
    release: str
    dry_run: bool
    out: TextIO
    log: TextIO
    tag: Tag | None = None
    held: ExitStack = field(default_factory=ExitStack)
    lock: Lock | None = None
    journal: JournalFile | None = None
    workspace: Workspace | None = None
    planned: Planned | None = None
    manifest: Manifest | None = None  # a weekly's, built before it is tagged
    result: Journal | None = None
    would: WouldRun | None = None  # where a dry run keeps the commands it prints

    def made(self) -> Planned:
        """The plan a step made before (a bug in the step order if none)."""
        if self.planned is None:
            raise RuntimeError("no plan yet: the plan step comes first")
        return self.planned

    def journaled(self) -> JournalFile:
        """The session's journal, named by the lock step (a bug in the step order if none)."""
        if self.journal is None:
            raise RuntimeError("no journal yet: the lock step comes first")
        return self.journal

    def opened(self) -> Workspace:
        """The workspace a step opened before (a bug in the step order if none)."""
        if self.workspace is None:
            raise RuntimeError("no workspace yet: the plan step comes first")
        return self.workspace


@dataclass(frozen=True)
class SessionStep:
    """A named step of a session."""

    name: str
    run: Callable[[SessionRun], Stop | None]


def _with_event(journal: Journal, *events: Event) -> Journal:
    return dataclasses.replace(journal, events=(*journal.events, *events))


def _with_earlier(journal: Journal, events: Sequence[Event]) -> Journal:
    return dataclasses.replace(journal, events=(*events, *journal.events))


@dataclass
class _Recorder:
    """Writes step events into the run's journal once it may; keeps them until then.

    The journal is written only while the run holds the lock (no other process writes it
    then), so it is read once, not at each step: what it holds after that is what the
    run's :class:`JournalFile` wrote. When it exists as the lock is taken (a rerun), the
    events are appended as they come; when this run creates it (its plan is applied), the
    events kept until then happened before its first event and are written before it."""

    run: SessionRun
    kept: list[Event] = field(default_factory=list)
    existed: bool | None = None  # whether the journal was there when the lock was held

    def record(self, step: str, detail: str) -> None:
        if self.run.dry_run:
            return
        operation = f"{self.run.session} {self.run.product.name} {self.run.release}"
        self.kept.append(Event(now(), operation, f"step {step}", detail))
        self.flush()

    def flush(self) -> None:
        file = self.run.journal
        if not self.kept or file is None or self.run.dry_run or self.run.lock is None:
            return
        # the journal is read once: from then on the file holds what ``file`` last wrote
        # (only this run writes it while the lock is held)
        found = file.current()
        if self.existed is None:
            self.existed = found is not None
        if found is None:
            return
        kept, self.kept = self.kept, []
        if self.existed:
            file.update(lambda j: _with_event(j, *kept))
        else:
            file.update(lambda j: _with_earlier(j, kept))
            self.existed = True  # from now on, events come after what the journal holds


def run_steps(steps: Sequence[SessionStep], run: SessionRun) -> SessionRun:
    """Run ``steps`` in order until one stops the run or all are done; the context the
    steps entered (``run.held``) is left when the run ends, with the error if one failed."""
    recorder = _Recorder(run)
    with run.held:
        for step in steps:
            recorder.record(step.name, "started")
            try:
                stop = step.run(run)
            except BaseException as exc:
                _record_failure(recorder, step.name, exc)
                raise
            recorder.flush()
            if stop is not None:
                recorder.record(step.name, f"stopped: {stop.why}")
                print(f"{step.name}: {stop.why}", file=run.log)
                break
            recorder.record(step.name, "finished")
    return run


def _record_failure(recorder: _Recorder, step: str, exc: BaseException) -> None:
    """Journal the failure of ``step`` without hiding it (a full disk may refuse this too)."""
    try:
        recorder.flush()  # what the step journaled before it failed
        why = type(exc).__name__ if isinstance(exc, KeyboardInterrupt) else "failed"
        recorder.record(step, why)
    except Exception:  # the failure to report is ``exc``
        return
