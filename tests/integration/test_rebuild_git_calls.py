"""One discovery per command (issue 9 §1): ``dm-release rebuild`` clones or fetches each
package exactly once, on a first run, a rerun and a dry run, counted from a real process's
git calls (tests/integration/git_trace.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rebuild_helpers import GRAPH, make_product, write_config

from git_trace import GitTrace

ONCE = dict.fromkeys(GRAPH, 1)


def _rebuild(trace: GitTrace, config: Path, *args: str) -> str:
    trace.reset()
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "rebuild", "--config", str(config), *args],
        env=trace.environment(), capture_output=True, text=True, check=False,
        cwd=config.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_each_run_clones_or_fetches_each_package_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    trace = GitTrace.install(tmp_path / "trace")

    _rebuild(trace, config, "--prepare-only")
    assert trace.count("clone", "fetch") == ONCE
    assert trace.count("clone") == ONCE
    assert trace.commands()["clone"] == len(GRAPH)  # and no clone anywhere else

    _rebuild(trace, config)
    assert trace.count("clone", "fetch") == ONCE
    assert trace.count("fetch") == ONCE and trace.commands()["clone"] == 0

    log = _rebuild(trace, config, "--dry-run")
    assert trace.count("clone", "fetch") == ONCE
    assert trace.count("fetch") == ONCE and trace.commands()["clone"] == 0
    assert "[dry run]" in log and "would be" not in log  # built already: all reused


def test_a_dry_run_on_an_empty_work_dir_clones_into_the_work_clones_once(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    trace = GitTrace.install(tmp_path / "trace")
    _rebuild(trace, config, "--dry-run")
    assert trace.count("clone") == ONCE
    assert trace.commands()["clone"] == len(GRAPH)  # no temporary clone of any package
    assert sorted(p.name for p in (tmp_path / "work" / "clones").iterdir()) == sorted(GRAPH)
    assert not (tmp_path / "versiondb").exists()
    assert not (tmp_path / "work" / "manifest.txt").exists()
