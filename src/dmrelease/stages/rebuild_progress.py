"""What rebuild tells people (stderr): the ref that won per package and why, a progress
line while building (adapters/progress: rewritten in place on a terminal, plain lines
otherwise, and a line per package built, fetched or failed), and a summary (STYLE.md
habit 7). Machine output is ``--json`` on stdout, done by the command.
"""

from __future__ import annotations

from typing import TextIO

from dmrelease.adapters.progress import Progress, progress_for
from dmrelease.core.build import Action, Outcome, Schedule
from dmrelease.stages.rebuild_outcome import Built, Prepared


def print_prepare(prepared: Prepared, log: TextIO, *, dry_run: bool = False) -> None:
    sources = prepared.sources
    cloned = sum(1 for s in sources.values() if s.action == "cloned")
    fetched = sum(1 for s in sources.values() if s.action == "fetched")
    local = len(sources) - cloned - fetched
    counts = f"{cloned} cloned, {fetched} fetched" + (f", {local} local" if local else "")
    lines = [
        f"prepare: {len(sources)} packages ({counts})"
        f" in {prepared.seconds:.1f}s{' [dry run]' if dry_run else ''}"
    ]
    width = max((len(name) for name in [*sources, *prepared.libraries]), default=0)
    for entry in prepared.manifest.entries:
        name = entry.name
        if name in prepared.libraries:  # never cloned: its commit is the library's
            lines.append(f"  {name:<{width}}  {prepared.libraries[name].shown} {entry.sha[:10]}")
            continue
        res = sources[name].resolution
        lines.append(f"  {name:<{width}}  {res.ref} ({res.kind}) {res.sha[:10]}: {res.reason}")
    lines += [f"  skipped {note}" for note in prepared.notes]
    build_id = prepared.manifest.build_id
    state = "reused: same content as before" if prepared.build_id_reused else "new"
    where = "; dry run: not recorded" if dry_run else ""
    lines.append(f"manifest {build_id} ({state}){where}")
    # one write of the whole plan (the log redacts each write: 2 per print otherwise)
    log.write("\n".join(lines) + "\n")


def print_build(built: Built, log: TextIO) -> None:
    counts = built.counts
    verb = "would be" if built.dry_run else "were"
    summary = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    print(f"build {built.build_id}: {len(built.outcomes)} packages; {summary}", file=log)
    for outcome in built.outcomes:
        if outcome.action in (Action.BUILT, Action.FETCHED) and built.dry_run:
            print(f"  {outcome.package} {outcome.version} {verb} {outcome.action}", file=log)
        elif outcome.message:  # failed, skipped, or built after a failed fetch
            print(f"  {outcome.package}: {outcome.action}: {outcome.message}", file=log)


class ProgressLine:
    """The build phase's progress (adapters/progress): on a terminal the live line
    ``build 3/120 packages afw; running: geom, base``; each package built, fetched or
    failed is a line of its own (``[3/120] built afw 1.0 in 2.0s``); a final line. In a
    log the heartbeat names the packages running (``build 3/120 packages, 5m 12s,
    running: geom``), read from the schedule the first package's end handed over (before
    it, the heartbeat has the count and the time only)."""

    def __init__(self, log: TextIO, total: int, progress: Progress | None = None) -> None:
        self.phase = (progress_for(log) if progress is None else progress).phase("build", total)
        self._schedule: Schedule | None = None
        self.phase.running = self._running

    def _running(self) -> frozenset[str]:
        schedule = self._schedule
        return frozenset(schedule.running) if schedule is not None else frozenset()

    def __call__(self, outcome: Outcome, schedule: Schedule) -> None:
        self._schedule = schedule
        running = ", ".join(sorted(schedule.running)[:4])
        item = f"{outcome.package}; running: {running}" if running else outcome.package
        note = None
        if outcome.action is not Action.REUSED:
            took = f" in {outcome.seconds:.1f}s" if outcome.seconds else ""
            at = f"[{self.phase.done + 1}/{self.phase.total}]"
            note = f"{at} {outcome.action} {outcome.package} {outcome.version}{took}"
        failed = outcome.action is Action.FAILED
        self.phase.advance(item, failed=failed, note=note)
