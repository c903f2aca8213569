"""``lfs: true`` packages get their LFS content (``git lfs pull``, as lsst_build's prepare
does; issue 9 §1), with a real LFS object in a bare remote (git-lfs 3 moves objects over
``file://`` remotes itself); a package without ``lfs: true`` is not touched by LFS."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from rebuild_helpers import GRAPH, config_for, make_product, run_prepare, write_config

from dmrelease.adapters.git import Git
from dmrelease.demo.synthetic import SyntheticProduct
from dmrelease.stages.workspace import LfsMissing
from git_trace import tracing

POINTER = b"version https://git-lfs.github.com/spec/v1\n"
IDENT = ("-c", "user.name=Dev", "-c", "user.email=dev@example.org")


@pytest.fixture(autouse=True)
def _git_lfs() -> None:
    found = subprocess.run(["git", "lfs", "version"], capture_output=True, check=False)
    if found.returncode == 0:
        return
    if os.geteuid() == 0:  # CI (root, fresh Debian) installs it: .ci/run
        pytest.fail("git-lfs is not installed: apt-get install git-lfs (.ci/run does)")
    pytest.skip("git-lfs is not installed and this user cannot install it (CI does)")


def _push_lfs_file(product: SyntheticProduct, name: str, work: Path, data: bytes) -> None:
    """Commit ``data/<name>.fits`` as an LFS object to ``name``'s main and push it."""
    Git(work.parent).run("clone", "--quiet", product.url(name), str(work))
    git = Git(work)
    git.run("lfs", "install", "--local")
    git.run("lfs", "track", "*.fits")
    (work / "data").mkdir()
    (work / "data" / f"{name}.fits").write_bytes(data)
    git.run("add", ".gitattributes", "data")
    git.run(*IDENT, "commit", "--quiet", "-m", f"LFS data for {name}")
    git.run("push", "--quiet", "origin", "main")
    pointer = git.run("show", f"HEAD:data/{name}.fits").encode()
    assert pointer.startswith(POINTER)  # the commit holds the pointer, the remote the object


def test_an_lfs_package_gets_its_content_and_a_plain_package_keeps_the_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = make_product(tmp_path)
    data = {name: os.urandom(3000) for name in ("geom", "daf")}
    for name, content in data.items():
        _push_lfs_file(product, name, tmp_path / f"{name}-work", content)
    assert list((product.remote("geom") / "lfs" / "objects").rglob("*"))  # a real object
    url = product.url("geom")
    text = product.repos_yaml.read_text()
    product.repos_yaml.write_text(text.replace(f"geom: {url}", f"geom:\n  url: {url}\n  lfs: true"))
    setup = config_for(write_config(tmp_path, product))
    clones = tmp_path / "work" / "clones"

    with tracing(tmp_path, monkeypatch) as trace:
        prepared, log = run_prepare(setup)
    assert len(prepared.manifest.entries) == len(GRAPH)
    assert (clones / "geom" / "data" / "geom.fits").read_bytes() == data["geom"]
    assert (clones / "daf" / "data" / "daf.fits").read_bytes().startswith(POINTER)
    assert trace.count("lfs") == {"geom": 1}
    assert "git lfs pull: geom\n" in log
    assert not (clones / "daf" / ".git" / "lfs").exists()  # LFS never ran there

    shutil.rmtree(tmp_path / "geom-work")
    with tracing(tmp_path, monkeypatch) as trace:
        again, _ = run_prepare(setup)  # fetched: the LFS content is no local change
    assert {s.action for s in again.sources.values()} == {"fetched"}
    assert (clones / "geom" / "data" / "geom.fits").read_bytes() == data["geom"]
    assert trace.count("lfs") == {"geom": 1}
    assert Git(clones / "geom").changed_files() == []


def test_an_lfs_package_without_git_lfs_is_an_environment_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = make_product(tmp_path)
    url = product.url("daf")
    text = product.repos_yaml.read_text()
    product.repos_yaml.write_text(text.replace(f"daf: {url}", f"daf:\n  url: {url}\n  lfs: true"))
    setup = config_for(write_config(tmp_path, product))
    only_git = tmp_path / "only-git"
    only_git.mkdir()
    git = shutil.which("git")
    assert git is not None
    (only_git / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(only_git))
    with pytest.raises(LfsMissing) as missing:
        run_prepare(setup)
    assert missing.value.exit_code == 2
    assert str(missing.value) == (
        "daf has lfs: true in repos.yaml, but git-lfs is not installed: install it "
        "(Debian: apt-get install git-lfs)"
    )
