"""git that cannot be run is an environment error (exit 2), told apart from a repository
directory that is missing (a failed command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rebuild_helpers import make_product, write_config

from dmrelease.adapters.git import Git, GitError, GitMissing


def test_git_not_on_path_is_git_missing_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(GitMissing) as error:
        Git(tmp_path).run("status")
    assert error.value.exit_code == 2
    assert str(error.value) == f"{tmp_path}: git status: cannot run git: not found on PATH"


def test_a_missing_repository_directory_is_a_failed_git_command(tmp_path: Path) -> None:
    with pytest.raises(GitError) as error:
        Git(tmp_path / "gone").run("status")
    assert not isinstance(error.value, GitMissing)
    assert error.value.exit_code == 1
    assert str(error.value) == f"{tmp_path / 'gone'}: git status: no such directory"


def test_rebuild_without_git_exits_2_naming_the_cause(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    environ = {**os.environ, "PATH": str(tmp_path / "no-bin")}
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "rebuild", "--config", str(config)],
        env=environ, capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].startswith("dm-release: error: ")
    assert done.stderr.splitlines()[-1].endswith(": cannot run git: not found on PATH")
    assert "Traceback" not in done.stderr
