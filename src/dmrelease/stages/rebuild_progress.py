"""What rebuild tells people (stderr): the ref that won per package and why, a progress
line while building (rewritten in place on a terminal, one line per event otherwise), and
a summary (STYLE.md habit 7). Machine output is ``--json`` on stdout, done by the command.
"""

from __future__ import annotations

import threading
from typing import TextIO

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
    width = max((len(name) for name in sources), default=0)
    for name in (e.name for e in prepared.manifest.entries):
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
    """``[done/total] 3 built, 120 reused … running: afw, geom`` while the build runs."""

    def __init__(self, log: TextIO, total: int) -> None:
        self.log = log
        self.total = total
        self.done = 0
        self.tty = log.isatty()
        self.lock = threading.Lock()

    def __call__(self, outcome: Outcome, schedule: Schedule) -> None:
        with self.lock:
            self.done += 1
            if self.tty:
                running = ", ".join(sorted(schedule.running)[:4])
                line = f"[{self.done}/{self.total}] {outcome.action} {outcome.package}"
                line += f"; running: {running}" if running else ""
                self.log.write(f"\r\033[K{line[:150]}")
                self.log.flush()
            elif outcome.action is not Action.REUSED:
                took = f" in {outcome.seconds:.1f}s" if outcome.seconds else ""
                self.log.write(
                    f"[{self.done}/{self.total}] {outcome.action} {outcome.package}"
                    f" {outcome.version}{took}\n"
                )

    def close(self) -> None:
        if self.tty:
            self.log.write("\r\033[K")
            self.log.flush()
