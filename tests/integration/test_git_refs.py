"""The in-process reader of a clone's refs, HEAD and origin URL (adapters/git_refs, issue 10)
answers what git answers, or nothing: each case is compared with git itself on real clones
(packed refs after a clone, loose refs and objects after a fetch, a pack kept by a fetch,
annotated and nested tags, names of odd bytes), and each doubt falls back to git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dmrelease.adapters.git import Git
from dmrelease.adapters.git_refs import _Repo, is_commit, read_head, read_origin_url, read_refs

PREFIXES = ("refs/remotes/origin/", "refs/tags/")
ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
}  # fmt: skip


def _upstream(path: Path, commits: int = 2) -> Git:
    git = Git(path, env=ENV, timeout=30)
    path.mkdir()
    git.run("init", "--quiet", "--initial-branch=main")
    for n in range(commits):
        git.run("commit", "--quiet", "--allow-empty", "-m", f"c{n}")
    git.run("tag", "-a", "-m", "annotated", "w.2025.01")
    git.run("tag", "light")
    return git


def _clone(upstream: Git, path: Path) -> Git:
    url = f"file://{upstream.repo}"  # through the transport: a pack, not hard links
    Git(path.parent).run("clone", "--quiet", "--no-checkout", "--", url, str(path))
    return Git(path, env=ENV, timeout=30)


def _fetch(clone: Git) -> None:
    clone.run("fetch", "--quiet", "--prune", "--prune-tags", "--tags", "--force", "origin")


def _same_as_git(clone: Git, prefixes: tuple[str, ...] = PREFIXES) -> dict[str, str]:
    found = read_refs(clone.repo / ".git", prefixes)
    assert found is not None
    assert list(found.items()) == list(clone.refs(*prefixes).items())  # same order too
    return found


def test_a_fresh_clone_reads_its_packed_refs_with_tags_peeled(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    clone = _clone(upstream, tmp_path / "clone")
    found = _same_as_git(clone)
    head = upstream.run("rev-parse", "HEAD")
    assert found == {
        "refs/remotes/origin/HEAD": head, "refs/remotes/origin/main": head,
        "refs/tags/light": head, "refs/tags/w.2025.01": head,
    }  # fmt: skip
    assert upstream.run("rev-parse", "w.2025.01") != head  # an annotated tag, peeled
    assert read_head(clone.repo / ".git") == head == clone.head()  # on main, not detached


def test_refs_fetched_since_are_loose_and_read_over_the_packed_ones(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    clone = _clone(upstream, tmp_path / "clone")
    upstream.run("commit", "--quiet", "--allow-empty", "-m", "moved")
    upstream.run("tag", "-a", "-m", "second", "w.2025.02")
    upstream.run("tag", "-d", "light")
    upstream.run("branch", "tickets/DM-1")
    _fetch(clone)
    assert (clone.repo / ".git" / "refs" / "tags" / "w.2025.02").is_file()  # loose
    found = _same_as_git(clone)
    assert "refs/tags/light" not in found
    assert found["refs/tags/w.2025.02"] == upstream.run("rev-parse", "HEAD")
    assert found["refs/remotes/origin/tickets/DM-1"] == upstream.run("rev-parse", "HEAD")


def test_an_annotated_tag_kept_in_a_fetched_pack_is_peeled(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    clone = _clone(upstream, tmp_path / "clone")
    for n in range(3):
        upstream.run("commit", "--quiet", "--allow-empty", "-m", f"more {n}")
    upstream.run("tag", "-a", "-m", "packed", "w.2025.03")
    clone.run("config", "fetch.unpackLimit", "1")  # the fetch keeps its pack
    _fetch(clone)
    assert not list((clone.repo / ".git" / "objects").glob("??/*"))  # no loose object
    assert len(list((clone.repo / ".git" / "objects" / "pack").glob("*.idx"))) == 2
    found = _same_as_git(clone)
    assert found["refs/tags/w.2025.03"] == upstream.run("rev-parse", "HEAD")
    assert is_commit(clone.repo / ".git", found["refs/tags/w.2025.03"]) is True
    tag = upstream.run("rev-parse", "w.2025.03")
    assert is_commit(clone.repo / ".git", tag) is False


def test_a_tag_of_a_tag_is_peeled_to_its_commit_as_lsst_build_does(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    upstream.run("-c", "advice.nestedTag=false", "tag", "-a", "-m", "nested", "outer", "w.2025.01")
    head = upstream.run("rev-parse", "HEAD")
    assert upstream.refs("refs/tags/")["refs/tags/outer"] == head  # git, peeled twice
    clone = _clone(upstream, tmp_path / "clone")
    assert _same_as_git(clone)["refs/tags/outer"] == head  # packed-refs
    (clone.repo / ".git" / "packed-refs").unlink()
    for name, sha in upstream.refs("refs/tags/").items():  # the same refs, loose
        raw = upstream.run("rev-parse", name)
        (clone.repo / ".git" / name).parent.mkdir(parents=True, exist_ok=True)
        (clone.repo / ".git" / name).write_text(raw + "\n")
        assert sha == head
    clone.run("update-ref", "refs/remotes/origin/main", head)
    assert _same_as_git(clone)["refs/tags/outer"] == head


def test_names_of_odd_bytes_read_as_git_output_reads_them(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    for name in ("w.2025.24\u0085x".encode(), "a\u2028b".encode(), b"v\xff1", b"v\xfe1"):
        subprocess.run([b"git", b"tag", name], cwd=upstream.repo, check=True)
    clone = _clone(upstream, tmp_path / "clone")
    subprocess.run([b"git", b"tag", b"loose\xff"], cwd=clone.repo, check=True)
    found = _same_as_git(clone)
    assert {"refs/tags/w.2025.24\u0085x", "refs/tags/a\u2028b", "refs/tags/loose\ufffd"} <= set(
        found
    )
    assert "refs/tags/v\ufffd1" in found  # two names, one text: the later one, as from git


def test_a_detached_head_and_the_configured_url_are_read(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up", commits=3)
    clone = _clone(upstream, tmp_path / "clone")
    first = upstream.run("rev-list", "--max-parents=0", "HEAD")
    clone.run("checkout", "--quiet", "--detach", first)
    assert read_head(clone.repo / ".git") == first == clone.run("rev-parse", "HEAD")
    assert read_origin_url(clone.repo / ".git") == f"file://{upstream.repo}"
    clone.run("remote", "set-url", "origin", "file:///elsewhere/x.git")
    assert read_origin_url(clone.repo / ".git") == "file:///elsewhere/x.git"
    assert clone.origin_url() == clone.run("remote", "get-url", "origin")


@pytest.mark.parametrize(
    "config",
    [
        '[remote "origin"]\n\turl = "/quoted/path"\n',
        '[remote "origin"]\n\turl = /a\n\turl = /b\n',
        '[include]\n\tpath = other\n[remote "origin"]\n\turl = /a\n',
        '[remote "Origin"]\n\turl = /a\n',
        "[core]\n\tbare = false\n",
    ],
)
def test_a_config_that_does_not_read_plainly_gives_no_url(tmp_path: Path, config: str) -> None:
    (tmp_path / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "config").write_text(config)
    assert read_origin_url(tmp_path) is None


def test_what_does_not_read_plainly_is_asked_of_git(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    clone = _clone(upstream, tmp_path / "clone")
    git_dir = clone.repo / ".git"
    (git_dir / "refs" / "tags" / "w.2025.09.lock").write_text("garbage\n")  # a ref in writing
    assert read_refs(git_dir, PREFIXES) is None
    assert clone.local_refs(*PREFIXES) == clone.refs(*PREFIXES)
    (git_dir / "refs" / "tags" / "w.2025.09.lock").unlink()
    clone.run("symbolic-ref", "HEAD", "refs/heads/unborn")
    assert read_head(git_dir) is None  # no commit yet on that branch
    assert read_refs(tmp_path / "not-a-repo", PREFIXES) is None
    assert is_commit(git_dir, "0" * 40) is None  # not here: git decides


def test_a_tag_object_deltified_in_a_pack_is_read_through_its_deltas(tmp_path: Path) -> None:
    upstream = _upstream(tmp_path / "up")
    message = "release notes\n" * 200
    for n in range(6):  # similar tag objects: pack-objects deltifies them
        upstream.run("tag", "-a", "-m", f"{message}{n}", f"v{n}")
    upstream.run("repack", "-a", "-d", "-f", "--depth=50", "--window=50")
    clone = _clone(upstream, tmp_path / "clone")
    (clone.repo / ".git" / "packed-refs").write_text(
        "".join(
            f"{upstream.run('rev-parse', name)} {name}\n" for name in upstream.refs("refs/tags/")
        )  # no traits: every ref's object is read to peel it
    )
    clone.run("repack", "-a", "-d", "-f", "--depth=50", "--window=50")
    packs = clone.lines("verify-pack", "-v", *map(str, (clone.repo / ".git").rglob("*.idx")))
    assert sum(" tag " in line and len(line.split()) == 7 for line in packs) >= 5  # deltas
    found = read_refs(clone.repo / ".git", ("refs/tags/",))
    assert found == clone.refs("refs/tags/")
    assert set(found.values()) == {upstream.run("rev-parse", "HEAD")}
    for name in found:  # and each tag's content is git's, byte for byte
        tag = upstream.run("rev-parse", name)
        if upstream.run("cat-file", "-t", tag) == "tag":
            read = _Repo(clone.repo / ".git")._object(tag.encode(), want_body=True)
            assert read == ("tag", upstream.run("cat-file", "tag", tag).encode() + b"\n")
