"""What the figures of issue 10's benchmark (``nox -s bench -- baselines``) rest on: the
synthetic product's shape, the ticket branch, and the harness of ``benchmarks/measure.py``
(process counting, peak memory, interleaving, medians and ratios). Counts only, no timing."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from dmrelease.adapters.git import Git
from dmrelease.core.graph import DependencyGraph
from dmrelease.demo.synthetic import PackageSpec, create_product, layered_graph, push_branch

PROJECT = Path(__file__).resolve().parents[2]
if str(PROJECT) not in sys.path:  # the benchmarks are a package of the project, not of src/
    sys.path.insert(0, str(PROJECT))

from benchmarks.measure import (  # noqa: E402
    BenchFailed,
    GitTracer,
    Goal,
    Row,
    Sample,
    markdown,
    paired,
    run,
)
from benchmarks.sides import same_manifest  # noqa: E402


def test_the_issue_product_is_299_packages_on_8_levels_under_a_metapackage() -> None:
    deps = layered_graph(299, 8, 57, exact=True)
    graph = DependencyGraph(deps)
    assert len(deps) == 300
    assert [len(level) for level in graph.levels()] == [38, 38, 38, 37, 37, 37, 37, 37, 1]
    assert graph.levels()[-1] == ["synth_distrib"]
    assert graph.edge_count == 756


def test_without_exact_each_level_keeps_count_by_levels_packages() -> None:
    """The shape every other test and benchmark was written against is unchanged."""
    deps = layered_graph(299, 8)
    assert len(deps) == 8 * 37 + 1
    graph = DependencyGraph(deps)
    assert [len(level) for level in graph.levels()] == [37] * 8 + [1]
    assert graph.edge_count == 693
    # the digest of layered_graph(299, 8) before exact= was added (a4287c6)
    shape = hashlib.sha256(repr(sorted(deps.items())).encode()).hexdigest()
    assert shape == "f7da48d8b3be6f48392a71169953436ab438485602b4b0fc406bea4b10b91442"


def test_a_ticket_branch_is_one_commit_on_top_of_main(tmp_path: Path) -> None:
    product = create_product(tmp_path, {"afw": PackageSpec(history=2)})
    remote = Git(product.remote("afw"))
    main = remote.rev_parse("refs/heads/main")
    sha = push_branch(product, "afw", "tickets/DM-1", "DM-1: fix")
    assert remote.rev_parse("refs/heads/tickets/DM-1") == sha != main
    assert remote.rev_parse("refs/heads/tickets/DM-1^") == main
    assert remote.rev_parse("refs/heads/main") == main


def test_a_measured_run_counts_the_git_processes_of_its_tree(tmp_path: Path) -> None:
    tracer = GitTracer(tmp_path / "trace")
    script = ["sh", "-c", "git --version >/dev/null; git --version >/dev/null; echo done"]
    traced = run(script, env=os.environ, cwd=tmp_path, tracer=tracer)
    assert traced.sample.git == 2
    assert traced.stdout == "done\n"
    assert traced.sample.rss_kb > 0
    again = run(script, env=os.environ, cwd=tmp_path, tracer=tracer)
    assert again.sample.git == 2  # the log of the previous run is not counted twice
    assert run(script, env=os.environ, cwd=tmp_path).sample.git is None


def test_a_command_that_fails_stops_the_benchmark_with_its_error(tmp_path: Path) -> None:
    with pytest.raises(BenchFailed, match=r"exit 3\nno such plan"):
        run(["sh", "-c", "echo no such plan >&2; exit 3"], env=os.environ, cwd=tmp_path)


def test_the_sides_of_a_round_alternate_which_runs_first() -> None:
    order: list[str] = []

    def side(name: str, seconds: float) -> Sample:
        order.append(name)
        return Sample(seconds, 0, 0)

    pairs = [paired(n, lambda: side("ours", 1), lambda: side("theirs", 2)) for n in range(3)]
    assert order == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]
    assert [(o.seconds, t.seconds) for o, t in pairs] == [(1, 2)] * 3


def _row() -> Row:
    row = Row(1, "prepare from scratch", "lsst-build prepare", Goal(0.35), packages=300)
    row.add((Sample(9.0, 0, 1024, git=600), Sample(30.0, 0, 4096, git=3000)), traced=True)
    for ours, theirs in ((1.0, 4.0), (2.0, 4.0), (1.5, 5.0)):
        row.add((Sample(ours, 0, 1024), Sample(theirs, 0, 2048)), traced=False)
    return row


def test_a_row_is_the_median_of_its_timed_rounds_against_the_baseline() -> None:
    row = _row()
    assert row.ratio() == 1.5 / 4.0  # the traced round (9 s vs 30 s) is not a timed one
    assert row.round_ratios() == [0.25, 0.5, 0.3]
    assert not row.met()
    assert (row.git_per_package(0), row.git_per_package(1)) == (2.0, 10.0)
    line = markdown([row]).splitlines()[2].split(" | ")
    assert line[3:12] == ["1.50 s (1.00-2.00)", "4.00 s (4.00-5.00)", "0.38 (0.25-0.50)",
                          "≤ 0.35", "no", "2.00", "10.00", "1 MB", "2 MB |"]  # fmt: skip


def test_a_goal_in_ms_is_met_by_our_median_alone() -> None:
    row = Row(6, "a hook over 1 file", "check-yaml", Goal(60, "ms"), packages=1)
    for ours in (0.055, 0.058, 0.090):
        row.add((Sample(ours, 0, 1), Sample(0.050, 0, 1)), traced=False)
    assert row.met()
    assert "58 ms (55-90)" in markdown([row])


def test_a_skipped_row_says_why_and_has_no_figures() -> None:
    row = Row(5, "no-change rebuild", "lsst-build", Goal(0.25), packages=300, skipped="why")
    assert row.figures() == {"workload": "no-change rebuild", "skipped": "why"}
    assert "| skipped: why |" in markdown([row])


def test_manifests_that_differ_in_one_byte_stop_the_benchmark(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.txt", tmp_path / "theirs.txt"
    ours.write_text("# product\nBUILD=b1\nafw  1234\n")
    theirs.write_text("# product\nBUILD=b2\nafw  1234\n")
    with pytest.raises(BenchFailed, match=r"manifests differ:[\s\S]*-BUILD=b2\n\+BUILD=b1"):
        same_manifest(ours, theirs)
    theirs.write_bytes(ours.read_bytes())
    same_manifest(ours, theirs)
