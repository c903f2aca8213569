"""adapters/eupspkg.py on a real git repository: what a ``<p>-<v>.eupspkg`` holds for
SOURCE=git (ups/pkginfo and the repository's ups/eupspkg* files, modes kept) and for
SOURCE=package (the tree at the commit, links kept), with the same bytes every time."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dmrelease.adapters.eupspkg import PackageFailed, make_package
from dmrelease.adapters.git import Git

WHEN = "1750000000 +0000"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    clone = tmp_path / "pkg"
    git = Git(
        tmp_path,
        env={"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
             "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org",
             "GIT_AUTHOR_DATE": WHEN, "GIT_COMMITTER_DATE": WHEN},
    )  # fmt: skip
    git.run("init", "--quiet", "--initial-branch=main", str(clone))
    (clone / "ups").mkdir()
    (clone / "ups" / "pkg.table").write_text("setupRequired(base)\n")
    (clone / "ups" / "eupspkg").write_text("#!/bin/bash\n")
    (clone / "ups" / "eupspkg").chmod(0o755)
    (clone / "ups" / "eupspkg.cfg.sh").write_text("TAP_PACKAGE=1\n")
    (clone / "ups" / "pkginfo").write_text("PRODUCT='stale'\n")  # never shipped as is
    (clone / "python").mkdir()
    (clone / "python" / "pkg.py").write_text("X = 1\n")
    (clone / "python" / "alias.py").symlink_to("pkg.py")
    inside = Git(clone, env=git.env)
    inside.run("add", "-A")
    inside.run("commit", "--quiet", "-m", "one")
    return clone, inside.rev_parse("HEAD")


def _listing(data: bytes) -> list[tuple[str, str, int, int, str]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return [
            (m.name, "l" if m.issym() else "d" if m.isdir() else "f", m.mode, int(m.mtime),
             m.linkname)
            for m in archive.getmembers()
        ]  # fmt: skip


def test_a_git_package_keeps_the_eupspkg_files_and_pkginfo(repo: tuple[Path, str]) -> None:
    clone, sha = repo
    made = make_package(clone, "pkg", "g1", sha, source="git", repository="file:///r/pkg.git")
    assert _listing(made.data) == [
        ("pkg-g1", "d", 0o755, 1750000000, ""),
        ("pkg-g1/ups", "d", 0o755, 1750000000, ""),
        ("pkg-g1/ups/eupspkg", "f", 0o755, 1750000000, ""),
        ("pkg-g1/ups/eupspkg.cfg.sh", "f", 0o644, 1750000000, ""),
        ("pkg-g1/ups/pkginfo", "f", 0o644, 1750000000, ""),
    ]
    assert made.table == b"setupRequired(base)\n"
    again = make_package(clone, "pkg", "g1", sha, source="git", repository="file:///r/pkg.git")
    assert again.data == made.data


def test_a_package_source_holds_the_tree_with_its_links(repo: tuple[Path, str]) -> None:
    clone, sha = repo
    made = make_package(clone, "pkg", "g1", sha, source="package", repository="file:///r")
    assert [(n, k, mode, link) for n, k, mode, _, link in _listing(made.data)] == [
        ("pkg-g1", "d", 0o755, ""),
        ("pkg-g1/python", "d", 0o755, ""),
        ("pkg-g1/python/alias.py", "l", 0o777, "pkg.py"),
        ("pkg-g1/python/pkg.py", "f", 0o644, ""),
        ("pkg-g1/ups", "d", 0o755, ""),
        ("pkg-g1/ups/eupspkg", "f", 0o755, ""),
        ("pkg-g1/ups/eupspkg.cfg.sh", "f", 0o644, ""),
        ("pkg-g1/ups/pkg.table", "f", 0o644, ""),
        ("pkg-g1/ups/pkginfo", "f", 0o644, ""),
    ]
    with tarfile.open(fileobj=io.BytesIO(made.data), mode="r:gz") as archive:
        handle = archive.extractfile("pkg-g1/ups/pkginfo")
        assert handle is not None
        assert handle.read().decode() == (
            f"PRODUCT='pkg'\nVERSION='g1'\nFLAVOR='generic'\nSOURCE='package'\nSHA1='{sha}'\n"
            f"REPOSITORY='file:///r'\nREPOVERSION='{sha}'\n"
        )


def test_a_commit_missing_from_the_clone_is_named(repo: tuple[Path, str]) -> None:
    clone, _ = repo
    missing = "0" * 40
    with pytest.raises(PackageFailed) as failed:
        make_package(clone, "pkg", "g1", missing, source="git", repository="file:///r/pkg.git")
    assert str(failed.value) == (
        f"pkg: commit {missing} is not in its clone {clone} (fetched from file:///r/pkg.git)"
    )
