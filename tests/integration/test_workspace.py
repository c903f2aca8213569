"""The workspace (issue 9 §1): one discovery, re-resolvable against another ref list
without a fetch, and a ref that no package has reported as data with its column."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rebuild_helpers import GRAPH, Setup, config_for, make_product, write_config

from dmrelease.adapters.git import Git
from dmrelease.core.refs import RefKind, RefSource
from dmrelease.core.requests import RefList
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, push_change
from dmrelease.stages.workspace import Workspace, open_workspace, reresolve
from git_trace import tracing

FEATURE = "tickets/DM-1"


def _open(setup: Setup, *refs: str) -> Workspace:
    return open_workspace(setup.config, (), RefList(refs), log=io.StringIO())


def _branch_with_table(product: SyntheticProduct, name: str, branch: str, table: str) -> str:
    """A commit on a new ``branch`` of ``name``'s remote whose table file is ``table``."""
    remote = Git(product.remote(name))
    data = f"data {len(table.encode())}\n{table}\n"
    stream = (
        f"commit refs/heads/{branch}\ncommitter Dev <dev@example.org> 1750200000 +0000\n"
        f"data 8\nfeature\nfrom refs/heads/main^0\nM 644 inline ups/{name}.table\n{data}done\n"
    )
    remote.run("fast-import", "--quiet", "--done", input=stream)
    return remote.rev_parse(f"refs/heads/{branch}")


def test_a_ref_no_package_has_is_data_with_its_position_in_the_list(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"base": PackageSpec(tags=("v1.0.0.rc1",))})
    workspace = _open(config_for(write_config(tmp_path, product)), "v1.0.x", "v1.0.0.rc1", "v9")
    assert workspace.unmatched == ("v1.0.x", "v9")
    problems = workspace.problems()
    assert [(p.path, p.line, p.column, p.rule) for p in problems] == [
        ("<refs>", 1, 1, "ref-unmatched"),
        ("<refs>", 1, 3, "ref-unmatched"),
    ]
    assert problems[1].message == f"ref 'v9' exists in none of the {len(GRAPH)} packages"
    assert workspace.resolutions()["base"].ref == "v1.0.0.rc1"
    assert set(workspace.clones()) == set(GRAPH)
    assert [e.name for e in workspace.manifest.entries] == [
        "base", "daf", "utils", "geom", "afw", "meta"
    ]  # fmt: skip
    assert workspace.manifest.build_id == "b0"  # until versiondb gives one


def test_reresolve_reads_the_clones_refs_without_fetching_so_a_new_local_tag_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = make_product(tmp_path)
    setup = config_for(write_config(tmp_path, product))
    first = _open(setup)
    clones = tmp_path / "work" / "clones"
    for name in ("base", "utils"):  # as release apply tags the clones before it pushes
        Git(clones / name).run("tag", "v1.0.0.rc1", first.resolutions()[name].sha)
    pushed = push_change(product, "daf", "a change no fetch has seen")

    with tracing(tmp_path, monkeypatch) as trace:
        again = reresolve(setup.config, first, RefList(("v1.0.0.rc1",)))
    assert trace.count("clone", "fetch") == {}
    assert trace.commands()["clone"] + trace.commands()["fetch"] == 0
    base = again.resolutions()["base"]
    assert (base.ref, base.kind, base.source) == ("v1.0.0.rc1", RefKind.TAG, RefSource.REF_LIST)
    assert again.resolutions()["daf"].sha == first.resolutions()["daf"].sha != pushed
    assert {s.action for s in again.sources.values()} == {"local"}
    assert again.unmatched == () and again.synced == frozenset(GRAPH)
    assert again.manifest.packages["utils"].sha == first.manifest.packages["utils"].sha


def test_reresolve_reads_tables_at_the_new_commits_and_clones_only_new_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = make_product(tmp_path, {"sphgeom": PackageSpec()})  # in repos.yaml, unused
    table = "setupRequired(utils)\nsetupRequired(sphgeom)\n"
    feature = _branch_with_table(product, "geom", FEATURE, table)
    setup = config_for(write_config(tmp_path, product))
    first = _open(setup)
    assert "sphgeom" not in first.sources

    with tracing(tmp_path, monkeypatch) as trace:
        again = reresolve(setup.config, first, RefList((FEATURE,)))
    assert trace.count("clone", "fetch") == {"sphgeom": 1}
    assert trace.count("clone") == {"sphgeom": 1}
    assert again.resolutions()["geom"].sha == feature
    assert again.sources["geom"].deps == ("utils", "sphgeom")
    assert again.sources["sphgeom"].action == "cloned"
    assert again.graph.dependents("sphgeom") == ("geom",)
    assert "sphgeom" in again.graph.closure("meta")
    assert Git(tmp_path / "work" / "clones" / "geom").rev_parse("HEAD") == feature

    with tracing(tmp_path, monkeypatch) as trace:  # and back: nothing is fetched again
        back = reresolve(setup.config, again, RefList(()))
    assert trace.count("clone", "fetch") == {}
    assert "sphgeom" not in back.sources
    assert back.manifest == first.manifest


@pytest.mark.parametrize(
    ("jobs", "cpus", "expected"),
    [(0, 2, 8), (0, 1, 4), (0, 4, 16), (0, 64, 16), (0, None, 4), (3, 64, 3), (40, 2, 40)],
)
def test_git_runs_four_processes_a_core_at_most_16_unless_jobs_are_set(
    monkeypatch: pytest.MonkeyPatch, jobs: int, cpus: int | None, expected: int
) -> None:
    from dmrelease.adapters import config

    monkeypatch.setattr(config.os, "cpu_count", lambda: cpus)
    assert config.auto_git_jobs(jobs) == expected
    assert config.auto_jobs(0) == min(cpus or 1, 8)  # builds stay one a core


def test_git_jobs_come_from_the_file_the_environment_or_a_flag(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    path = write_config(tmp_path, product, extra="\n[git]\njobs = 1\n")
    setup = config_for(path, environ={"DM_RELEASE_GIT_JOBS": "3"})
    assert setup.config.git_jobs == 3  # the environment over the file
    assert config_for(path).config.git_jobs == 1
    assert config_for(path, git_jobs=5).config.git_jobs == 5  # a flag over both
