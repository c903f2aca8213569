"""``python -m benchmarks.mutation_score [PATTERN...]``: the mutation score per module from
mutmut's own results (the ``mutants/**/*.py.meta`` files a ``mutmut run`` leaves).

A mutant counts as killed when a test failed on it (mutmut's "killed", "timeout" or "caught by
type check"); every other verdict (survived, no tests, suspicious, skipped, not checked) counts
against the score, so a mutant that changes only a message string is a survivor like any
other. PATTERNs are mutmut's mutant-name globs (``"dmrelease.core.graph*"``); without one, every
module that has results is printed. ``--max-children N`` is accepted and ignored, so the nox
session can hand the same arguments to ``mutmut run`` and to this script.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Sequence
from pathlib import Path

# mutmut 3.8's exit codes (mutmut/stats.py) that mean a test noticed the mutant
KILLED = {1, 3, 36, 37, 24, -24, 152, 255}
SURVIVED = {0}
NOT_CHECKED = {None}


def module_name(meta: Path, root: Path) -> str:
    relative = meta.relative_to(root / "src").with_suffix("").with_suffix("")
    return ".".join(relative.parts)


def scores(root: Path, patterns: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """(module, killed, survived, not checked, total) per module with selected mutants."""
    rows = []
    for meta in sorted((root / "src").rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        selected = [
            code
            for name, code in codes.items()
            if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)
        ]
        if not selected:
            continue
        killed = sum(code in KILLED for code in selected)
        survived = sum(code in SURVIVED for code in selected)
        unchecked = sum(code in NOT_CHECKED for code in selected)
        rows.append((module_name(meta, root), killed, survived, unchecked, len(selected)))
    return rows


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation_score")
    parser.add_argument("patterns", nargs="*", metavar="PATTERN")
    parser.add_argument("--max-children", help=argparse.SUPPRESS)
    parser.add_argument("--mutants", type=Path, default=Path("mutants"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.mutants.is_dir():
        print(f"{args.mutants}: no mutmut results (run `nox -s mutate` first)", file=sys.stderr)
        return 2
    rows = scores(args.mutants, args.patterns)
    if not rows:
        print("no mutant matches the patterns given", file=sys.stderr)
        return 2
    width = max(len(row[0]) for row in rows)
    print(f"{'module':<{width}}  killed/total       %  survived  other  unchecked")
    all_killed = all_total = 0
    for name, killed, survived, unchecked, total in rows:
        other = total - killed - survived - unchecked
        print(
            f"{name:<{width}}  {f'{killed}/{total}':>12}  {100 * killed / total:6.1f}"
            f"  {survived:8d}  {other:5d}  {unchecked:9d}"
        )
        all_killed += killed
        all_total += total
    overall = f"{all_killed}/{all_total}"
    print(f"{'all':<{width}}  {overall:>12}  {100 * all_killed / all_total:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
