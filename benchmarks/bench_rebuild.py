"""rebuild at scale (issue 4): a generated product of 300 git packages, each with history
and a table file, as bare remotes written by ``git fast-import``.

Measured in one run, wall clock: prepare from scratch and prepare when everything is
cloned (fetch only), each with the default pool (``min(cpu, 8)``) and with a pool of 1
(the serial implementation) for the ratio, alternating and best of ``ROUNDS``; the first
build; a no-change rebuild (asserts 0 built); a rebuild after changing one mid-graph
package (asserts exactly that package and its downstream closure built). Every manifest
must pass ``verify_manifest``.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dmrelease.adapters.config import auto_jobs, load_config
from dmrelease.core.config import Config
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.manifest import parse_manifest, render_manifest
from dmrelease.core.manifest_verify import verify_manifest
from dmrelease.core.requests import BuildRequest
from dmrelease.demo.rebuild import BUILD_COMMAND as BUILD
from dmrelease.demo.synthetic import create_product, layered_graph, product_specs, push_change
from dmrelease.stages.rebuild import Built, Prepared, build, rebuild

PACKAGES = 299  # plus the metapackage: 300
LEVELS = 13
HISTORY = 5
CHANGED_LEVEL = 6
ROUNDS = 2  # each prepare figure is the best of this many runs
T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def _config(root: Path, repos: Path, name: str, git_jobs: int) -> Config:
    path = root / f"{name}.toml"
    path.write_text(
        f"[products.synth_distrib]\nrepos = \"{repos}\"\n\n[build]\ncommand = '{BUILD}'\n\n"
        f"[git]\njobs = {git_jobs}\n\n"
        f'[paths]\nwork_dir = "{name}/work"\nversiondb = "{name}/versiondb"\n'
        f'stack = "{name}/stack"\n'
    )
    return load_config(path, environ={})


def _prepare(config: Config) -> Prepared:
    prepared, _ = rebuild(config, BuildRequest(prepare_only=True), io.StringIO())
    text = render_manifest(prepared.manifest)
    problems = verify_manifest(parse_manifest(text, "manifest.txt"), "manifest.txt")
    assert not problems, problems
    return prepared


def _build(config: Config, prepared: Prepared) -> Built:
    return build(config, BuildRequest(), None, prepared.manifest, io.StringIO())


def _mid_graph_package(graph: DependencyGraph) -> str:
    """The package of the middle level with the most packages downstream of it."""
    level = [n for n in graph if n.startswith(f"pkg_{CHANGED_LEVEL:02d}_")]
    return max(level, key=lambda name: (len(graph.downstream_of([name])), name))


def _prepare_all(configs: list[Config]) -> tuple[Prepared, dict[int, list[float]]]:
    """Prepare with each config in turn (serial and pooled alternate, to share the noise)."""
    times: dict[int, list[float]] = {}
    prepared = None
    for config in configs:
        started = time.perf_counter()
        prepared = _prepare(config)
        took = time.perf_counter() - started
        times.setdefault(config.git_jobs, []).append(took)
    assert prepared is not None
    return prepared, times


def _ratio(times: dict[int, list[float]], pool: int) -> str:
    serial, pooled = min(times[1]), min(times[pool])
    return f"{pooled:.1f}s vs {serial:.1f}s serial = {serial / pooled:.2f}x (best of {ROUNDS})"


def run() -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as scratch:
        root = Path(scratch)
        deps = layered_graph(PACKAGES, LEVELS)
        product, took = _timed(lambda: create_product(root / "up", product_specs(deps, HISTORY)))
        rows.append((f"generate {len(deps)} repos (fast-import)", f"{took:.1f}s"))
        pool = auto_jobs(0)
        configs = [
            _config(root, product.repos_yaml, f"round{n}-pool{jobs}", jobs)
            for n in range(ROUNDS)
            for jobs in (1, pool)
        ]
        first, scratch_times = _prepare_all(configs)
        rows.append((f"prepare from scratch, pool {pool} vs 1", _ratio(scratch_times, pool)))
        _, fetch_times = _prepare_all(configs)
        rows.append((f"prepare all cloned (fetch), pool {pool} vs 1", _ratio(fetch_times, pool)))
        assert len(first.manifest.entries) == len(deps)
        parallel = configs[-1]

        built, t_build = _timed(lambda: _build(parallel, first))
        assert built.counts["built"] == len(deps), built.counts
        jobs = auto_jobs(parallel.jobs)
        rows.append((f"first build, {jobs} jobs", f"{t_build:.1f}s, {built.counts['built']} built"))

        def no_change() -> Built:
            return _build(parallel, _prepare(parallel))

        same, t_same = _timed(no_change)
        assert same.counts["built"] == 0 and same.counts["reused"] == len(deps), same.counts
        rows.append(("no-change rebuild (prepare + build)",
                     f"{t_same:.1f}s, {same.counts['built']} built, "
                     f"{same.counts['reused']} reused"))  # fmt: skip

        graph = DependencyGraph(deps)
        changed = _mid_graph_package(graph)
        push_change(product, changed, f"Change {changed}")
        expected = {changed} | graph.downstream_of([changed])
        again, t_again = _timed(no_change)
        rebuilt = {o.package for o in again.outcomes if str(o.action) == "built"}
        assert rebuilt == expected, sorted(rebuilt ^ expected)
        rows.append((f"rebuild after changing {changed} (prepare + build)",
                     f"{t_again:.1f}s, {len(rebuilt)} built = 1 + {len(expected) - 1} downstream,"
                     f" {again.counts['reused']} reused"))  # fmt: skip
    return rows
