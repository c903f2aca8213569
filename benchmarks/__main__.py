"""``python -m benchmarks [NAME...]``: run every ``bench_*`` module (or those named) and print
one table of their rows. NAME is ``graph`` or ``bench_graph``."""

from __future__ import annotations

import pkgutil
import sys
from collections.abc import Sequence
from importlib import import_module

import benchmarks


def _modules(names: Sequence[str]) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__))
    available = [name for name in found if name.startswith("bench_")]
    if not names:
        return available
    wanted = [name if name.startswith("bench_") else f"bench_{name}" for name in names]
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; have {available}")
    return wanted


def main(argv: Sequence[str]) -> int:
    rows = []
    for name in _modules(argv):
        module = import_module(f"benchmarks.{name}")
        rows += [(name.removeprefix("bench_"), what, figures) for what, figures in module.run()]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    for group, what, figures in rows:
        print(f"{group:<{widths[0]}}  {what:<{widths[1]}}  {figures}")
    return 0


raise SystemExit(main(sys.argv[1:]))
