"""One discovery per command (issue 9 §1): ``dm-release rebuild`` clones or fetches each
package exactly once, on a first run, a rerun and a dry run, counted from a real process's
git calls (tests/integration/git_trace.py); and the fetch path starts no more git processes
per package than it needs (issue 10): what a process would only print (refs, HEAD, the
origin URL) is read from the clone's files."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

from rebuild_helpers import GRAPH, make_product, rebuild_process, write_config

from dmrelease.adapters.config import git_attributes_elsewhere
from dmrelease.demo.synthetic import push_branch, push_change
from git_trace import GitTrace

ONCE = dict.fromkeys(GRAPH, 1)


def test_each_run_clones_or_fetches_each_package_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    trace = GitTrace.install(tmp_path / "trace")

    rebuild_process(trace, config, "--prepare-only")
    assert trace.count("clone", "fetch") == ONCE
    assert trace.count("clone") == ONCE
    assert trace.commands()["clone"] == len(GRAPH)  # and no clone anywhere else

    rebuild_process(trace, config)
    assert trace.count("clone", "fetch") == ONCE
    assert trace.count("fetch") == ONCE and trace.commands()["clone"] == 0

    log = rebuild_process(trace, config, "--dry-run")
    assert trace.count("clone", "fetch") == ONCE
    assert trace.count("fetch") == ONCE and trace.commands()["clone"] == 0
    assert "[dry run]" in log and "would be" not in log  # built already: all reused


def test_a_dry_run_on_an_empty_work_dir_clones_into_the_work_clones_once(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    trace = GitTrace.install(tmp_path / "trace")
    rebuild_process(trace, config, "--dry-run")
    assert trace.count("clone") == ONCE
    assert trace.commands()["clone"] == len(GRAPH)  # no temporary clone of any package
    assert sorted(p.name for p in (tmp_path / "work" / "clones").iterdir()) == sorted(GRAPH)
    assert not (tmp_path / "versiondb").exists()
    assert not (tmp_path / "work" / "manifest.txt").exists()


def _per_package(trace: GitTrace) -> dict[str, Counter[str]]:
    """Per package, how many git processes of each subcommand ran in its clone."""
    table: dict[str, Counter[str]] = {name: Counter() for name in GRAPH}
    for command in trace.commands():
        for package, count in trace.count(command).items():
            table[package][command] += count
    return table


def _index_written(clones: Path, *, after_files: bool) -> None:
    """Each clone's index as git leaves it: written in the second its files were checked
    out (racily clean: git status compares their content), or later, as a status refreshing
    it does (the stat data is then trusted). Set here so that counts do not depend on the
    second a run falls in."""
    for clone in clones.iterdir():
        newest = max(p.lstat().st_mtime_ns for p in clone.rglob("*") if ".git" not in p.parts)
        stamp = newest + 2_000_000_000 if after_files else newest
        os.utime(clone / ".git" / "index", ns=(stamp, stamp))


def test_git_processes_per_package_on_the_fetch_path(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    clones = tmp_path / "work" / "clones"
    trace = GitTrace.install(tmp_path / "trace")
    # from scratch: a clone without checkout, the refs read from it, one checkout
    rebuild_process(trace, config, "--prepare-only")
    assert _per_package(trace) == {n: Counter(clone=1, checkout=1) for n in GRAPH}
    # everything cloned, nothing moved, the files just checked out: their contents prove the
    # clone clean, unless git could read attributes from elsewhere (then git status runs)
    _index_written(clones, after_files=False)
    rebuild_process(trace, config, "--prepare-only")
    status = int(git_attributes_elsewhere())
    assert _per_package(trace) == {n: Counter(status=status, fetch=1) - Counter() for n in GRAPH}
    _index_written(clones, after_files=False)
    trace_env = trace.environment() | {"GIT_CONFIG_GLOBAL": str(tmp_path / "global.gitconfig")}
    rebuild_process(trace, config, "--prepare-only", env=trace_env)
    assert _per_package(trace) == {n: Counter(status=1, fetch=1) for n in GRAPH}
    # the same later on: the index proves the clone clean, the fetch is the one process
    _index_written(clones, after_files=True)
    rebuild_process(trace, config, "--prepare-only")
    assert _per_package(trace) == {n: Counter(fetch=1) for n in GRAPH}
    # a package moved upstream and a ticket branch in two: one checkout more each
    push_change(product, "base", "moved upstream")
    for name in ("afw", "daf"):
        push_branch(product, name, "tickets/DM-1", "Fix on tickets/DM-1")
    rebuild_process(trace, config, "--prepare-only", "--refs", "tickets/DM-1")
    moved = {"base", "afw", "daf"}
    assert _per_package(trace) == {
        n: Counter(fetch=1, checkout=int(n in moved)) - Counter() for n in GRAPH
    }
    # back to main: the two clones at the ticket branch's tip (no local work: no rev-list)
    # are checked out again
    _index_written(clones, after_files=True)
    rebuild_process(trace, config, "--prepare-only")
    assert _per_package(trace) == {
        n: Counter(fetch=1, checkout=int(n in {"afw", "daf"})) - Counter() for n in GRAPH
    }


def test_a_clone_at_a_commit_on_no_branch_tip_asks_git_whether_it_is_local_work(
    tmp_path: Path,
) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    trace = GitTrace.install(tmp_path / "trace")
    rebuild_process(trace, config, "--prepare-only")
    clone = tmp_path / "work" / "clones" / "geom"
    first = subprocess.run(
        ["git", "rev-list", "--max-parents=0", "HEAD"], cwd=clone,
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(["git", "checkout", "--quiet", "--detach", first], cwd=clone, check=True)
    _index_written(tmp_path / "work" / "clones", after_files=True)
    rebuild_process(trace, config, "--prepare-only")
    counts = _per_package(trace)
    assert counts["geom"] == Counter({"rev-list": 1, "fetch": 1, "checkout": 1})
    assert counts["base"] == Counter(fetch=1)
