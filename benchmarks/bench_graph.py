"""DependencyGraph at scale: build order, closures, downstream for 1k and 10k packages.

The synthetic product is layered like a real stack: 25 levels, each package with 1-8
dependencies on earlier levels, at least one on the level just below (so it sits on its level).
Figures are the best of 5 runs (``time.perf_counter``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from dmrelease.core.graph import DependencyGraph

SIZES = (1_000, 10_000)
LEVELS = 25
REPEAT = 5


def layered_product(count: int, seed: int = 106) -> dict[str, list[str]]:
    """``count`` packages on ``LEVELS`` levels, names in random order."""
    rng = random.Random(seed)
    names = [f"pkg_{rng.randrange(16**8):08x}_{i}" for i in range(count)]
    per_level = count // LEVELS
    deps: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        level = min(i // per_level, LEVELS - 1)
        if level == 0:
            deps[name] = []
            continue
        below = names[(level - 1) * per_level : level * per_level]
        earlier = names[: level * per_level]
        picked = {rng.choice(below), *rng.sample(earlier, rng.randint(0, 7))}
        deps[name] = sorted(picked)
    return dict(rng.sample(list(deps.items()), count))


def best_of(action: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def timings(count: int) -> list[tuple[str, str]]:
    deps = layered_product(count)
    graph = DependencyGraph(deps)
    assert len(graph.levels()) == LEVELS
    order = graph.build_order()
    base, top = order[0], order[-1]
    reach = len(graph.downstream_of([base]))
    figures = {
        "build_order (graph built anew)": best_of(lambda: DependencyGraph(deps).build_order()),
        "closures (every package)": best_of(graph.closures),
        "closure (last in order)": best_of(lambda: graph.closure(top)),
        f"downstream_of (first in order, {reach} pkgs)": best_of(
            lambda: graph.downstream_of([base])
        ),
    }
    size = f"{count} packages, {graph.edge_count} edges"
    return [(f"{what}, {count // 1000}k", f"{size}, {sec:.4f} s") for what, sec in figures.items()]


def run() -> list[tuple[str, str]]:
    return [row for count in SIZES for row in timings(count)]
