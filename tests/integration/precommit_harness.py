"""Install this repository's hooks the way users do: real git repos, real pre-commit.

:func:`snapshot_hook_repo` commits the work tree (tracked and untracked, not ignored files)
of this repository into a fresh git repository, so a ``.pre-commit-config.yaml`` can name it
with ``repo:``/``rev:`` exactly as a package repository names dm-release. pre-commit fetches
the commit and pip-installs it into a hook environment; in a development tree the snapshot
carries the uncommitted work (``pre-commit try-repo`` would drop untracked files), in a fresh
clone it is the checkout. One ``PRE_COMMIT_HOME`` per test session means one environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
ZERO_SHA = "0" * 40
_IGNORED = shutil.ignore_patterns(".git", ".nox", ".venv", "__pycache__", "*.egg-info", ".*_cache")
#: fixed identity and dates make the snapshot commit reproducible
_COMMIT_ENV = {
    "GIT_AUTHOR_DATE": "2025-06-12T00:00:00Z",
    "GIT_COMMITTER_DATE": "2025-06-12T00:00:00Z",
}


def git_environment(home: Path, pre_commit_home: Path) -> dict[str, str]:
    """The process environment of every git and pre-commit call: no user or CI config leaks in."""
    config = home / "gitconfig"
    config.write_text(
        "[user]\n\tname = DM Tester\n\temail = tester@example.org\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        '[protocol "file"]\n\tallow = always\n'
    )
    leaking = ("GIT_", "GITHEAD_", "PRE_COMMIT", "DM_RELEASE_", "SKIP")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaking)}
    env.update(
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(pre_commit_home),
        PRE_COMMIT_COLOR="never",
    )
    return env


def run(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], *, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; stdout and stderr together in ``.stdout`` (as a terminal shows them)."""
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=dict(env),
        input=stdin,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        timeout=600,
    )


def _work_tree_files(source: Path, env: Mapping[str, str]) -> list[str] | None:
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], source, env
    )
    if listed.returncode != 0:
        return None
    return [name for name in listed.stdout.split("\0") if name and (source / name).is_file()]


def snapshot_hook_repo(source: Path, dest: Path, env: Mapping[str, str]) -> str:
    """Commit the work tree of ``source`` as the only commit of a new repo ``dest``; its sha."""
    files = _work_tree_files(source, env)
    if files is None:  # not a git checkout (an unpacked sdist): take the tree as it is
        shutil.copytree(source, dest, ignore=_IGNORED)
    else:
        for name in files:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)
    commit_env = {**env, **_COMMIT_ENV}
    for args in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "hooks"]):
        result = run(args, dest, commit_env)
        assert result.returncode == 0, result.stdout
    return run(["git", "rev-parse", "HEAD"], dest, env).stdout.strip()


class Workspace:
    """A package repository in ``tmp_path`` using this repository's hooks through pre-commit."""

    def __init__(self, path: Path, env: Mapping[str, str], hook_repo: tuple[str, str]) -> None:
        self.path = path
        self.env = dict(env)
        self.hook_repo = hook_repo
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")

    def git(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(["git", *args], self.path, self.env, stdin=stdin)

    def pre_commit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "pre_commit", *args], self.path, self.env)

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def configure(self, hooks: list[dict[str, Any]], hook_types: Sequence[str] = ()) -> None:
        """Write ``.pre-commit-config.yaml`` naming the hook repo, and install git hooks."""
        url, sha = self.hook_repo
        config = {"repos": [{"repo": url, "rev": sha, "hooks": hooks}]}
        self.write(".pre-commit-config.yaml", yaml.safe_dump(config, sort_keys=False))
        self.git("add", ".pre-commit-config.yaml")
        for hook_type in hook_types:
            installed = self.pre_commit("install", "--hook-type", hook_type)
            assert installed.returncode == 0, installed.stdout

    def commit(self, message: str = "change", *paths: str) -> subprocess.CompletedProcess[str]:
        """``git add`` then ``git commit``: the installed pre-commit hooks run."""
        self.git("add", *(paths or ("-A",)))
        return self.git("commit", "-qm", message)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def add_remote(self, bare: Path) -> None:
        """A bare repository in ``tmp_path`` as ``origin``."""
        result = run(["git", "init", "-q", "--bare", str(bare)], self.path, self.env)
        assert result.returncode == 0, result.stdout
        self.git("remote", "add", "origin", str(bare))

    def remote_tags(self) -> set[str]:
        listed = self.git("ls-remote", "--tags", "origin").stdout.split()
        return {ref.removeprefix("refs/tags/") for ref in listed if ref.startswith("refs/tags/")}
