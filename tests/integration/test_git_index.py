"""A clone is proved clean from its index only when git status would list nothing
(adapters/git_index, issue 10): every kind of local change, and every state the reader does
not know, leaves the answer to git (None), on real clones."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dmrelease.adapters.git import Git
from dmrelease.adapters.git_index import MAX_ENTRIES, MAX_RACY_BYTES, is_clean

ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
}  # fmt: skip


def _clone(tmp_path: Path, files: int = 3) -> Git:
    upstream = Git(tmp_path / "up", env=ENV, timeout=30)
    upstream.repo.mkdir()
    upstream.run("init", "--quiet", "--initial-branch=main")
    (upstream.repo / "ups").mkdir()
    for n in range(files):
        (upstream.repo / "ups" / f"f{n}.txt").write_text(f"file {n}\n")
    (upstream.repo / "run.sh").write_text("#!/bin/sh\n")
    (upstream.repo / "run.sh").chmod(0o755)
    os.symlink("ups/f0.txt", upstream.repo / "link")
    upstream.run("add", "--all")
    upstream.run("commit", "--quiet", "-m", "one")
    clone = tmp_path / "clone"
    url = f"file://{upstream.repo}"
    Git(tmp_path).run("clone", "--quiet", "--no-checkout", "--", url, str(clone))
    git = Git(clone, env=ENV, timeout=30)
    git.run("checkout", "--quiet", "--detach", "origin/main")
    return git


def _settle(git: Git) -> None:
    """The index written after its files, as a status a second after the checkout leaves it."""
    newest = max(p.lstat().st_mtime_ns for p in git.repo.rglob("*") if ".git" not in p.parts)
    os.utime(git.repo / ".git" / "index", ns=(newest + 2_000_000_000,) * 2)


def test_a_clone_as_checked_out_is_clean_once_its_index_is_not_racy(tmp_path: Path) -> None:
    git = _clone(tmp_path)
    _racy(git)
    assert is_clean(git.repo) is None  # git would compare contents: let it
    _settle(git)
    assert is_clean(git.repo) is True
    assert git.changed_files() == []
    (git.repo / "untracked.txt").write_text("not git's business here\n")
    assert is_clean(git.repo) is True
    _modify(git.repo, "file X\n")  # same size, same mtime: only the ctime's nanoseconds tell
    assert is_clean(git.repo) is None


def _racy(git: Git) -> None:
    """The index written in the second its files were (as by the checkout that made them)."""
    files = max(p.lstat().st_mtime_ns for p in git.repo.rglob("*") if ".git" not in p.parts)
    os.utime(git.repo / ".git" / "index", ns=(files, files))


def test_racily_clean_files_are_compared_by_content_as_git_compares_them(
    tmp_path: Path,
) -> None:
    git = _clone(tmp_path)
    _racy(git)
    assert is_clean(git.repo, racy_by_content=True) is True
    index = git.repo / ".git" / "index"
    data = index.read_bytes()
    blob = bytes.fromhex(git.run("rev-parse", "HEAD:ups/f1.txt"))
    assert data.count(blob) == 1
    index.write_bytes(data.replace(blob, bytes(20)))  # the entry names another content
    os.utime(index, ns=(index.stat().st_mtime_ns - 10**9,) * 2)  # racy still
    assert is_clean(git.repo, racy_by_content=True) is None
    index.write_bytes(data)
    _racy(git)
    (git.repo / "ups" / ".gitattributes").write_text("*.txt text eol=crlf\n")  # untracked
    assert is_clean(git.repo, racy_by_content=True) is None  # git could convert: ask it
    (git.repo / "ups" / ".gitattributes").unlink()
    (git.repo / ".git" / "info").mkdir(exist_ok=True)
    (git.repo / ".git" / "info" / "attributes").write_text("* filter=x\n")
    _racy(git)
    assert is_clean(git.repo, racy_by_content=True) is None


def test_attributes_in_a_directory_that_holds_no_file_directly_count_too(
    tmp_path: Path,
) -> None:
    """git reads the .gitattributes of every directory above a file, also of one whose
    only entries are in its subdirectories."""
    git = _clone(tmp_path)
    (git.repo / "deep" / "inner").mkdir(parents=True)
    (git.repo / "deep" / "inner" / "x.txt").write_text("deep\n")
    git.run("add", "deep/inner/x.txt")
    git.run("commit", "--quiet", "-m", "deep")
    _racy(git)
    assert is_clean(git.repo, racy_by_content=True) is True
    (git.repo / "deep" / ".gitattributes").write_text("*.txt text eol=crlf\n")  # untracked
    assert is_clean(git.repo, racy_by_content=True) is None  # git could convert: ask it


def test_much_racily_clean_content_is_left_to_git(tmp_path: Path) -> None:
    git = _clone(tmp_path)
    (git.repo / "ups" / "big.txt").write_bytes(b"x" * (MAX_RACY_BYTES + 1))
    git.run("add", "ups/big.txt")
    git.run("commit", "--quiet", "-m", "big")
    _racy(git)
    assert is_clean(git.repo, racy_by_content=True) is None
    _settle(git)
    assert is_clean(git.repo, racy_by_content=True) is True


def _modify(repo: Path, text: str = "file 1, changed\n") -> None:
    """Rewrite ``ups/f1.txt`` and give it back its mtime."""
    path = repo / "ups" / "f1.txt"
    stamp = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(stamp, stamp))


def _stage_new(git: Git) -> None:
    (git.repo / "new.txt").write_text("new\n")
    git.run("add", "new.txt")
    _settle(git)


def _intent_to_add(git: Git) -> None:
    (git.repo / "n.txt").write_text("n\n")
    git.run("add", "-N", "n.txt")
    _settle(git)


def _retarget_link(git: Git) -> None:
    (git.repo / "link").unlink()
    os.symlink("./ups/f1.txt", git.repo / "link")


CHANGES: dict[str, Callable[[Git], object]] = {
    "modified": lambda git: _modify(git.repo),
    "deleted": lambda git: (git.repo / "ups" / "f2.txt").unlink(),
    "chmod": lambda git: (git.repo / "ups" / "f0.txt").chmod(0o755),
    "staged": _stage_new,
    "staged removal": lambda git: git.run("rm", "--quiet", "--cached", "ups/f0.txt"),
    "link retargeted": _retarget_link,
    "intent to add": _intent_to_add,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_local_change_is_left_to_git_which_reports_it(tmp_path: Path, change: str) -> None:
    git = _clone(tmp_path)
    _settle(git)
    CHANGES[change](git)
    assert is_clean(git.repo) is None
    assert git.changed_files() != []


STATES: dict[str, Callable[[Git], object]] = {
    "skip-worktree": lambda git: git.run("update-index", "--skip-worktree", "ups/f0.txt"),
    "assume-unchanged": lambda git: git.run("update-index", "--assume-unchanged", "run.sh"),
    "index v4": lambda git: git.run("update-index", "--index-version", "4"),
    "split index": lambda git: git.run("update-index", "--split-index"),
    "no cache tree": lambda git: git.run("read-tree", "HEAD"),
}


@pytest.mark.parametrize("state", sorted(STATES))
def test_an_index_state_the_reader_does_not_know_is_left_to_git(tmp_path: Path, state: str) -> None:
    git = _clone(tmp_path)
    STATES[state](git)
    _settle(git)
    assert is_clean(git.repo) is None
    assert git.changed_files() == []  # clean all the same: git says so


def test_a_large_index_is_left_to_git(tmp_path: Path) -> None:
    git = _clone(tmp_path, files=MAX_ENTRIES)
    _settle(git)
    assert is_clean(git.repo) is None
    assert git.changed_files() == []


def test_a_work_tree_that_is_no_clone_is_not_clean(tmp_path: Path) -> None:
    assert is_clean(tmp_path) is None
