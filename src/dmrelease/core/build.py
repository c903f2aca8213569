"""Build scheduling: what each package of a manifest needs, and when it may start.

DESIGN.md §5 "Binary reuse" and DMTN-106 A.2.3: a package whose EUPS version is already
installed is *reused*, one whose binary is on the server is *fetched*, any other is *built*.
Packages start in manifest order once all their dependencies succeeded; a failure stops the
scheduling of everything downstream of it (those are *skipped*), while what runs finishes.
Pure: the stage asks the stack and the server, runs the work, and reports back here.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Action",
    "Outcome",
    "Schedule",
    "choose_action",
    "count_actions",
]


class Action(enum.StrEnum):
    REUSED = "reused"
    FETCHED = "fetched"
    BUILT = "built"
    FAILED = "failed"
    SKIPPED = "skipped"


def choose_action(*, installed: bool, on_server: bool, fetch_binaries: bool) -> Action:
    """Reuse before fetch before build (DESIGN.md §5)."""
    if installed:
        return Action.REUSED
    if fetch_binaries and on_server:
        return Action.FETCHED
    return Action.BUILT


@dataclass(frozen=True)
class Outcome:
    """What happened to one package, for the report and status.json."""

    package: str
    version: str
    action: Action
    seconds: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "action": str(self.action),
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }


class Schedule:
    """Which packages may start now: dependencies first, in ``order`` (the manifest order).

    ``deps`` maps each package to its direct dependencies; names outside ``order`` are
    ignored (externals). Linear in packages + edges over a whole build.
    """

    def __init__(self, order: Sequence[str], deps: Mapping[str, Iterable[str]]) -> None:
        self._rank = {name: rank for rank, name in enumerate(order)}
        self._waiting: dict[str, int] = {}
        self._dependents: dict[str, list[str]] = {name: [] for name in order}
        for name in order:
            inside = {d for d in deps.get(name, ()) if d in self._rank and d != name}
            self._waiting[name] = len(inside)
            for dep in inside:
                self._dependents[dep].append(name)
        self._ready = [(self._rank[n], n) for n in order if self._waiting[n] == 0]
        heapq.heapify(self._ready)
        self.running: set[str] = set()
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()
        self.skipped: set[str] = set()

    def take_ready(self, limit: int | None = None) -> list[str]:
        """Mark up to ``limit`` ready packages as running and return them, in order."""
        taken: list[str] = []
        while self._ready and (limit is None or len(taken) < limit):
            taken.append(heapq.heappop(self._ready)[1])
        self.running.update(taken)
        return taken

    def finish(self, name: str, ok: bool) -> set[str]:
        """Record the end of ``name``; returns the packages newly skipped because of it."""
        self.running.discard(name)
        if not ok:
            self.failed.add(name)
            return self._skip_downstream(name)
        self.succeeded.add(name)
        for dependent in self._dependents[name]:
            self._waiting[dependent] -= 1
            if self._waiting[dependent] == 0 and dependent not in self.skipped:
                heapq.heappush(self._ready, (self._rank[dependent], dependent))
        return set()

    def _skip_downstream(self, name: str) -> set[str]:
        newly: set[str] = set()
        pending = list(self._dependents[name])
        while pending:
            dependent = pending.pop()
            if dependent not in self.skipped:
                self.skipped.add(dependent)
                newly.add(dependent)
                pending.extend(self._dependents[dependent])
        return newly

    @property
    def done(self) -> bool:
        """Nothing runs and nothing more can start."""
        return not self.running and not self._ready


def count_actions(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Packages per action, every action present (zero when none)."""
    counts = {str(action): 0 for action in Action}
    for outcome in outcomes:
        counts[str(outcome.action)] += 1
    return counts
