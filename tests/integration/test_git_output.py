"""git's output is read as git writes it: lines end at ``\\n`` only, and ref names that are
not UTF-8 are read, not a traceback (a remote's refs are whatever its users pushed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dmrelease.adapters.git import Git


def _repo(path: Path) -> Git:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    git = Git(path, env=env, timeout=30)
    git.run("init", "--quiet", "--initial-branch=main")
    git.run("commit", "--quiet", "--allow-empty", "-m", "one")
    return git


def _tag(path: Path, name: bytes) -> None:
    """A lightweight tag whose name is ``name``'s bytes, as git stores any other."""
    subprocess.run([b"git", b"tag", name], cwd=path, check=True)


def test_a_tag_holding_line_separators_of_unicode_is_one_ref(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    head = git.run("rev-parse", "HEAD")
    for name in ("w.2025.24\u0085x", "a\u2028b"):
        _tag(tmp_path, name.encode())
    refs = git.refs("refs/tags")
    assert refs == {"refs/tags/w.2025.24\u0085x": head, "refs/tags/a\u2028b": head}
    remote = git.remote_refs(str(tmp_path))
    assert remote["refs/tags/w.2025.24\u0085x"] == head
    assert remote["refs/tags/a\u2028b"] == head
    assert git.lines("tag", "--list") == ["a\u2028b", "w.2025.24\u0085x"]


def test_a_tag_name_that_is_not_utf8_is_read_with_a_replacement(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    _tag(tmp_path, b"v\xff1")
    assert git.refs("refs/tags") == {"refs/tags/v\ufffd1": git.run("rev-parse", "HEAD")}


def test_no_output_is_no_lines(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    assert git.lines("tag", "--list") == []
    assert git.changed_files() == []
