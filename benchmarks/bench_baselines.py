"""Issue 10's table: dm-release against the tools it must beat, measured side by side in one
run on a synthetic product of 300 repositories (299 packages on 8 levels and the metapackage
``synth_distrib``, ~755 dependencies, 20 commits each; bare remotes by ``git fast-import``).

Rows (ours vs the baseline, both as processes; lsst-build and EUPS are the real ones, built by
``tests/integration/vendor.py`` from ``../shared/vendor``; without them rows 1-3 and 5 say
"skipped"):

1. prepare from scratch: ``dm-release rebuild --prepare-only`` vs ``lsst-build prepare``,
   the same repos.yaml and exclusion map, empty work dirs and versiondbs;
2. the same again, everything cloned (fetch only): the first re-run after those clones;
3. the same with a new ``tickets/DM-N`` branch (one commit) in 10 remotes, both given that ref;
4. tag + push a release to every repository: ``dm-release release apply PLAN`` (all checks and
   the journal; the plan of a built weekly) vs raw ``git tag -a`` + ``git push`` of the same
   tags from a pool of 8 (``raw_tag_push.py``), on fresh copies of the remotes and clones;
5. no-change rebuild: ``dm-release rebuild`` with every version installed (0 built) vs
   ``lsst-build prepare`` + ``build`` with every product declared in its EUPS stack;
6. a hook over one file, run directly: ``check-table-file`` on one table vs pre-commit-hooks'
   ``check-yaml`` on one YAML file (the ``bench`` extra), ~30 runs.

Every manifest of rows 1-3 and 5 must be byte-identical to lsst-build's (the run fails
otherwise), the ticket's packages must be at the ticket's commit, every remote of row 4 must
have the tag at the planned commit. Round 0 is traced (git processes counted, see
:mod:`benchmarks.measure`) and not timed; rounds 1..K are timed, untraced, the first side
alternating. Scratch data goes to /dev/shm (tmpfs) when there is one.

``python -m benchmarks.bench_baselines [--src DIR] [--packages N] [--rounds K] [--rows 1,4]
[--markdown] [--json FILE]``; ``nox -s bench`` runs it at the issue's size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dmrelease
from benchmarks.baseline_rows import (
    Bench,
    NoChange,
    Release,
    hook_pair,
    hooks_missing,
    prepare_round,
)
from benchmarks.measure import BenchFailed, GitTracer, Goal, Row, markdown, paired, plain
from benchmarks.sides import DmRelease, load_lsst_build
from dmrelease.demo.synthetic import create_product, layered_graph, product_specs

PACKAGES, LEVELS, HISTORY, SEED = 299, 8, 20, 57  # seed 57: 756 dependencies
ROUNDS = 3
HOOK_RUNS = 30
ROWS = (
    (1, "prepare from scratch", "lsst-build prepare", Goal(0.35)),
    (2, "prepare re-run, everything cloned (fetch only)", "lsst-build prepare", Goal(0.25)),
    (3, "prepare with a ticket branch in 10 repos", "lsst-build prepare", Goal(0.3)),
    (4, "tag + push a release (release apply)", "raw git tag -a + push, pool of 8", Goal(1.3)),
    (5, "no-change rebuild (prepare + build, 0 built)", "lsst-build prepare + build",
     Goal(0.25)),
    (6, "a hook over 1 file (check-table-file)", "pre-commit-hooks check-yaml",
     Goal(60, "ms")),
)  # fmt: skip
NEEDS_LSST_BUILD = (1, 2, 3, 5)


@dataclass(frozen=True)
class Options:
    src: Path
    packages: int = PACKAGES
    levels: int = LEVELS
    history: int = HISTORY
    rounds: int = ROUNDS
    hook_runs: int = HOOK_RUNS
    rows: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    scratch: Path | None = None


@contextmanager
def _scratch(where: Path | None) -> Iterator[Path]:
    """A temporary directory on tmpfs when there is one (the issue measured there)."""
    shm = Path("/dev/shm")
    parent = where or (shm if shm.is_dir() and os.access(shm, os.W_OK) else None)
    with tempfile.TemporaryDirectory(prefix="bench-baselines-", dir=parent) as scratch:
        yield Path(scratch)


def _rows(options: Options, repos: int, why: str) -> list[Row]:
    rows = []
    for number, workload, baseline, goal in ROWS:
        if number in options.rows:
            row = Row(number, workload, baseline, goal, 1 if number == 6 else repos)
            if number in NEEDS_LSST_BUILD and why:
                row.skipped = why
            if number == 6:
                row.skipped = hooks_missing()
            rows.append(row)
    return rows


def _bench(options: Options, root: Path) -> tuple[Bench, dict[str, object]]:
    deps = layered_graph(options.packages, options.levels, SEED, exact=True)
    started = time.perf_counter()
    product = create_product(root / "upstream", product_specs(deps, options.history), jobs=8)
    exclusions = root / "exclusions.txt"
    exclusions.write_text("# dependency regex      product regex (none excluded)\n")
    lsst, why = load_lsst_build()
    bench = Bench(root, product, DmRelease.of(options.src), lsst, GitTracer(root / "trace"),
                  exclusions, why)  # fmt: skip
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    facts = {
        "src": str(options.src), "repositories": len(deps), "levels": options.levels,
        "dependencies": sum(len(d) for d in deps.values()), "commits each": options.history,
        "rounds": options.rounds, "hook runs": options.hook_runs, "scratch": str(root),
        "generate s": round(time.perf_counter() - started, 1), "git": git,
        "python": sys.version.split()[0], "lsst-build": why or "real (vendor build)",
    }  # fmt: skip
    return bench, facts


def measure_all(options: Options) -> tuple[list[Row], dict[str, object]]:
    with _scratch(options.scratch) as root:
        bench, facts = _bench(options, root)
        rows = {row.number: row for row in _rows(options, bench.repos, bench.missing)}
        live = {n for n, row in rows.items() if not row.skipped}
        facts["load before"] = os.getloadavg()[0]
        started = time.perf_counter()
        no_change = NoChange(bench) if 5 in live else None
        release = Release(bench) if 4 in live else None
        hooks_per_round = math.ceil(options.hook_runs / options.rounds)
        for number in range(options.rounds + 1):
            traced = number == 0
            if live & {1, 2, 3}:
                prepare_round(bench, [rows.get(n) for n in (1, 2, 3)], number, traced)
            for side, row in ((no_change, rows.get(5)), (release, rows.get(4))):
                if side and row:
                    row.add(paired(number, partial(side.ours, traced),
                                   partial(side.theirs, traced)), traced=traced)  # fmt: skip
            if no_change:
                no_change.check()
            if 6 in live:
                for run in range(1 if traced else hooks_per_round):
                    rows[6].add(hook_pair(bench, number * hooks_per_round + run, traced),
                                traced=traced)  # fmt: skip
        facts["measured s"] = round(time.perf_counter() - started, 1)
        facts["load after"] = os.getloadavg()[0]
    return list(rows.values()), facts


def _default_src() -> Path:
    return Path(dmrelease.__file__).resolve().parents[1]


def run() -> list[tuple[str, str]]:
    try:
        rows, facts = measure_all(Options(_default_src()))
    except BenchFailed as failed:
        print(f"bench_baselines: {failed}", file=sys.stderr)
        raise SystemExit(1) from None
    return [("product and run", json.dumps(facts)), *map(plain, rows)]


def _options(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=_default_src(), help="dm-release's src dir")
    parser.add_argument("--packages", type=int, default=PACKAGES, help="plus the metapackage")
    parser.add_argument("--levels", type=int, default=LEVELS)
    parser.add_argument("--history", type=int, default=HISTORY, help="commits per package")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed rounds (and 1 traced)")
    parser.add_argument("--hook-runs", type=int, default=HOOK_RUNS)
    parser.add_argument("--rows", default="1,2,3,4,5,6", help="the rows to measure, e.g. 4,6")
    parser.add_argument("--scratch", type=Path, help="parent of the scratch dir (/dev/shm)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    rows = tuple(int(n) for n in args.rows.split(","))
    if args.rounds < 1 or args.packages < args.levels or not set(rows) <= {1, 2, 3, 4, 5, 6}:
        parser.error("needs --rounds >= 1, --packages >= --levels, --rows among 1-6")
    options = Options(args.src.resolve(), args.packages, args.levels, args.history,
                      args.rounds, args.hook_runs, rows, args.scratch)  # fmt: skip
    return options, args


def main(argv: Sequence[str] | None = None) -> int:
    options, args = _options(argv)
    try:
        rows, facts = measure_all(options)
    except BenchFailed as failed:
        print(f"bench_baselines: {failed}", file=sys.stderr)
        return 1
    if args.json:
        figures = {"facts": facts, "rows": {row.number: row.figures() for row in rows}}
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    print(", ".join(f"{key}: {value}" for key, value in facts.items()))
    if args.markdown:
        print(markdown(rows), end="")
    else:
        for what, figures in map(plain, rows):
            print(f"{what}: {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
