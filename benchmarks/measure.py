"""Measuring a command against its baseline in the same run (issue 10).

A :class:`Sample` is one process tree, run by :func:`run`: its wall time, its CPU time (user
and system of the process and of every descendant it waited for) and its peak memory, all
from ``os.wait4``, and, in a traced round, how many git processes it started (the logging
``git`` of ``tests/integration/git_trace.py`` first on its PATH; git's own git children are
not counted). Peak memory is ``ru_maxrss``: Linux keeps, for a reaped child, the largest RSS
of it and of its waited-for descendants, so it is the largest process of the tree, not the
tree's sum.

A :class:`Row` holds one workload's samples on both sides, round by round; the sides of a
round run one after the other, the first side alternating between rounds (:func:`paired`),
so that the load of the machine falls on both alike. The figures are the median and the
range of the rounds, the ratio of the medians (ours / baseline) with the range of the
per-round ratios, git processes per package from the traced round, and the peak memory of
all rounds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.git_trace import read_log, write_wrapper


class BenchFailed(Exception):
    """A command failed, or left another result than the one it must."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu: float
    rss_kb: int
    git: int | None = None  # git processes started; None when the run was not traced

    def __add__(self, other: Sample) -> Sample:
        """The steps of one workload together (``lsst-build prepare`` then ``build``)."""
        git = None if self.git is None or other.git is None else self.git + other.git
        return Sample(self.seconds + other.seconds, self.cpu + other.cpu,
                      max(self.rss_kb, other.rss_kb), git)  # fmt: skip


@dataclass(frozen=True)
class Done:
    sample: Sample
    stdout: str
    stderr: str


class GitTracer:
    """The logging ``git`` wrapper in ``root/bin``, its log in ``root/log``."""

    def __init__(self, root: Path) -> None:
        self.bin, self.log = root / "bin", root / "log"
        write_wrapper(self.bin, self.log, inner=True)

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        return {**env, "PATH": f"{self.bin}{os.pathsep}{env.get('PATH', os.defpath)}"}

    def count(self) -> int:
        return len(read_log(self.log))

    def reset(self) -> None:
        for path in self.log.iterdir():
            path.unlink()


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    tracer: GitTracer | None = None,
    exits: tuple[int, ...] = (0,),
) -> Done:
    """Run ``argv`` to its end and measure it; BenchFailed if it exits otherwise than ``exits``."""
    if tracer is not None:
        tracer.reset()
        env = tracer.environment(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if process.returncode not in exits:
        raise BenchFailed(
            f"{' '.join(map(str, argv))} (in {cwd}): exit {process.returncode}\n{stderr[-3000:]}"
        )
    git = tracer.count() if tracer is not None else None
    sample = Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, git)
    return Done(sample, stdout, stderr)


def paired(
    number: int, ours: Callable[[], Sample], theirs: Callable[[], Sample]
) -> tuple[Sample, Sample]:
    """Both sides of one round, ours first in even rounds and the baseline first in odd ones."""
    if number % 2:
        baseline = theirs()
        return ours(), baseline
    mine = ours()
    return mine, theirs()


@dataclass(frozen=True)
class Goal:
    """The issue's goal for a row: a ratio ours / baseline, or ours' median in ms."""

    limit: float
    unit: str = "ratio"  # or "ms"

    def __str__(self) -> str:
        return f"≤ {self.limit:g}" + (" ms" if self.unit == "ms" else "")


@dataclass
class Row:
    number: int
    workload: str
    baseline: str
    goal: Goal
    packages: int  # repositories, for git processes per package
    skipped: str = ""
    ours: list[Sample] = field(default_factory=list)
    theirs: list[Sample] = field(default_factory=list)
    traced: tuple[Sample, Sample] | None = None

    def add(self, pair: tuple[Sample, Sample], *, traced: bool) -> None:
        if traced:
            self.traced = pair
        else:
            self.ours.append(pair[0])
            self.theirs.append(pair[1])

    def ratio(self) -> float:
        return _median(self.ours) / _median(self.theirs)

    def round_ratios(self) -> list[float]:
        return [o.seconds / t.seconds for o, t in zip(self.ours, self.theirs, strict=True)]

    def met(self) -> bool:
        if self.goal.unit == "ms":
            return _median(self.ours) * 1000 <= self.goal.limit
        return self.ratio() <= self.goal.limit

    def git_per_package(self, side: int) -> float | None:
        git = self.traced[side].git if self.traced else None
        return None if git is None else git / self.packages

    def figures(self) -> dict[str, object]:
        """Every figure of the row, for ``--json``."""
        if self.skipped:
            return {"workload": self.workload, "skipped": self.skipped}
        return {
            "workload": self.workload, "baseline": self.baseline, "goal": str(self.goal),
            "met": self.met(), "ratio": self.ratio(), "round ratios": self.round_ratios(),
            "ours": [vars(s) for s in self.ours], "theirs": [vars(s) for s in self.theirs],
            "traced": [vars(s) for s in self.traced] if self.traced else None,
            "git/pkg": [self.git_per_package(0), self.git_per_package(1)],
        }  # fmt: skip


def _median(samples: Sequence[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def _time(samples: Sequence[Sample], ms: bool) -> str:
    scale, unit, digits = (1000, "ms", 0) if ms else (1, "s", 2)
    low, high = (min(s.seconds for s in samples) * scale, max(s.seconds for s in samples) * scale)
    return f"{_median(samples) * scale:.{digits}f} {unit} ({low:.{digits}f}-{high:.{digits}f})"


def _git(row: Row, side: int) -> str:
    per = row.git_per_package(side)
    if per is None:
        return "-"
    if row.goal.unit == "ms":  # one file, no packages: the count of one run
        return f"{row.traced[side].git} per run" if row.traced else "-"
    return f"{per:.2f}"


def _rss(samples: Sequence[Sample]) -> str:
    return f"{max(s.rss_kb for s in samples) / 1024:.0f} MB"


def cells(row: Row) -> list[str]:
    """The row's cells: ours, baseline, ratio, goal, met, git/pkg and peak RSS of each side."""
    if row.skipped:
        return [f"skipped: {row.skipped}"] + [""] * 8
    ms = row.goal.unit == "ms"
    ratios = row.round_ratios()
    return [
        _time(row.ours, ms), _time(row.theirs, ms),
        f"{row.ratio():.2f} ({min(ratios):.2f}-{max(ratios):.2f})", str(row.goal),
        "yes" if row.met() else "no", _git(row, 0), _git(row, 1),
        _rss(row.ours), _rss(row.theirs),
    ]  # fmt: skip


HEADER = ("#", "workload", "baseline", "dm-release median (range)", "baseline median (range)",
          "ratio (rounds)", "goal", "met", "git/pkg dm-release", "git/pkg baseline",
          "peak RSS dm-release", "peak RSS baseline")  # fmt: skip


def markdown(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        values = [str(row.number), row.workload, row.baseline, *cells(row)]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def plain(row: Row) -> tuple[str, str]:
    """(what, figures) for ``python -m benchmarks``."""
    what = f"{row.number}. {row.workload} vs {row.baseline}"
    if row.skipped:
        return what, f"skipped: {row.skipped}"
    ours, theirs, ratio, goal, met, git_ours, git_theirs, rss_ours, rss_theirs = cells(row)
    return what, (
        f"{ours} vs {theirs}: ratio {ratio}, goal {goal} {'met' if met == 'yes' else 'NOT met'};"
        f" git/pkg {git_ours} vs {git_theirs}; peak RSS {rss_ours} vs {rss_theirs}"
    )
