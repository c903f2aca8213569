"""Library products on real bare remotes and a real binary server on 127.0.0.1.

The library ``shared`` (``shared`` → ``utils`` → ``base``) is built and released on its own:
its binaries and its tag list ``v1_2_0.list`` (``#BUILD=b1``), written by the tarball stage,
served over HTTP. The product
``app`` (``app`` → ``afw`` → ``geom`` → ``base``; ``afw`` → ``utils``) lists it in
``libraries``: rebuilt in a fresh stack it installs ``base`` and ``utils`` from the library's
release (never cloned nor built), its manifest records them with the library's SHAs, and its
release sessions tag only its own repositories.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eups_client import Served
from rebuild_helpers import config_for, run_build, run_prepare
from release_helpers import clean_environment, tags

from dmrelease import cli
from dmrelease.adapters.git import Git
from dmrelease.adapters.stack import Stack
from dmrelease.core.manifest import LINE_FORMAT, Manifest, eups_version_for, parse_manifest
from dmrelease.core.requests import TarballRequest
from dmrelease.demo.rebuild import BUILD_COMMAND as BUILD
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, create_product
from dmrelease.stages.rebuild import rebuild
from dmrelease.stages.tarball import tarball

__all__ = ["clean_environment"]  # the fixture, for pytest

TAG = "v1_2_0"
LIBRARY = {"base": (), "utils": ("base",), "shared": ("utils",)}
PRODUCT = {"geom": ("base",), "afw": ("geom", "utils"), "app": ("afw",)}


def library_config(root: Path, library: SyntheticProduct) -> Path:
    path = root / "library.toml"
    path.write_text(
        f'[products.shared]\nrepos = "{library.repos_yaml}"\n\n'
        f"[build]\ncommand = '{BUILD}'\njobs = 2\n\n"
        '[paths]\nwork_dir = "library-work"\nversiondb = "versiondb"\nstack = "library-stack"\n'
    )
    return path


def product_config(
    root: Path, product: SyntheticProduct, server: str, *, tag: str = TAG, extra: str = ""
) -> Path:
    path = root / "app.toml"
    path.write_text(
        f'[libraries.shared]\ntag = "{tag}"\nserver = "{server}"\n\n'
        f'[products.app]\nrepos = "{product.repos_yaml}"\nlibraries = ["shared"]\n{extra}\n'
        f"[build]\ncommand = '{BUILD}'\njobs = 2\n\n"
        '[paths]\nwork_dir = "app-work"\nversiondb = "versiondb"\nstack = "app-stack"\n'
    )
    return path


@dataclass(frozen=True)
class Released:
    """The library built and released (versiondb b1, its binaries in ``tree``), and the
    product's remotes."""

    root: Path
    library: SyntheticProduct
    product: SyntheticProduct
    manifest: Manifest
    tree: Path


def release_library(root: Path) -> Released:
    specs = {name: PackageSpec(deps=deps, history=2) for name, deps in LIBRARY.items()}
    library = create_product(root / "library-upstream", specs)
    setup = config_for(library_config(root, library))
    prepared, _ = run_prepare(setup)
    run_build(setup, prepared)
    tree = root / "binaries"  # the library's release: dm-release tarball --tag v1_2_0
    packed = tarball(setup.config, TarballRequest(TAG, server_dir=str(tree)), None, io.StringIO())
    assert len(packed.packed) == len(LIBRARY)
    specs = {name: PackageSpec(deps=deps, history=2) for name, deps in PRODUCT.items()}
    product = create_product(root / "app-upstream", specs)
    return Released(root, library, product, prepared.manifest, tree)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    return release_library(tmp_path_factory.mktemp("library"))


@dataclass(frozen=True)
class World:
    """One test's copy of the released library (versiondb, binary tree), served."""

    root: Path
    released: Released
    served: Served
    config: Path

    @property
    def flavor(self) -> str:
        return config_for(self.config).config.flavor


@pytest.fixture
def world(tmp_path: Path, released: Released, serve_tree: Callable[..., Served]) -> Iterator[World]:
    shutil.copytree(released.root / "versiondb", tmp_path / "versiondb", symlinks=True)
    shutil.copytree(released.tree, tmp_path / "binaries")
    served = serve_tree(tmp_path / "binaries")
    config = product_config(tmp_path, released.product, served.url)
    yield World(tmp_path, released, served, config)


def dm_release(*args: str, out: io.StringIO | None = None) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(out or io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, err.getvalue()


def _files(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in tree.rglob("*") if p.is_file()}


def _sha(product: SyntheticProduct, name: str) -> str:
    return Git(product.remote(name)).rev_parse("main")


def test_the_product_installs_its_library_packages_from_the_release_and_records_them(
    world: World,
) -> None:
    released, lib = world.released, world.released.manifest.packages
    setup = config_for(world.config)
    log = io.StringIO()
    prepared, built = rebuild(setup.config, setup.request, log)  # one workspace, as the verb
    assert built is not None
    manifest = prepared.manifest
    assert manifest.build_id == "b2"  # the library's build is b1 of the same versiondb
    # the library packages the product uses, with the library's lines; not the metapackage
    assert [e.name for e in manifest.entries] == ["base", "geom", "utils", "afw", "app"]
    assert manifest.packages["base"] == lib["base"]
    assert manifest.packages["utils"] == lib["utils"]
    base, utils = lib["base"].sha, lib["utils"].sha
    geom, afw = _sha(released.product, "geom"), _sha(released.product, "afw")
    assert manifest.packages["geom"].version == eups_version_for(geom, {"base": base})
    assert manifest.packages["afw"].version == eups_version_for(
        afw, {"geom": geom, "utils": utils, "base": base}
    )
    assert manifest.packages["afw"].deps == ("geom", "utils")
    # versiondb's file in the layout of every manifest, the library's lines in it
    text = (world.root / "versiondb" / "manifests" / "b2.txt").read_text()
    assert text == str(manifest)
    assert LINE_FORMAT % ("utils", utils, lib["utils"].version, "base") in text.splitlines()
    assert parse_manifest(text) == manifest
    # never cloned: the library's packages are not the product's
    assert sorted(os.listdir(world.root / "app-work" / "clones")) == ["afw", "app", "geom"]
    where = f"{world.served.url}/{TAG}.list"
    shown = log.getvalue()
    assert f"library shared {TAG}: build b1, 3 packages ({where})\n" in shown
    assert f"  base   library shared ({TAG}, build b1) {base[:10]}\n" in shown
    assert f"  utils  library shared ({TAG}, build b1) {utils[:10]}\n" in shown
    actions = {o.package: str(o.action) for o in built.outcomes}
    assert actions == {
        "base": "fetched", "utils": "fetched", "geom": "built", "afw": "built", "app": "built",
    }  # fmt: skip
    flavor = world.flavor
    tarballs = {n: f"/{n}-{lib[n].version}@{flavor}.tar.gz" for n in ("base", "utils")}
    assert sorted(world.served.requests) == sorted(
        [("GET", f"/{TAG}.list"), *(("HEAD", t) for t in tarballs.values()),
         *(("GET", t) for t in tarballs.values())]
    )  # fmt: skip
    stack = Stack(world.root / "app-stack", flavor)
    for name in ("base", "utils"):  # the library's build, as its own stack has it
        ours = stack.install_dir(name, lib[name].version)
        theirs = Stack(released.root / "library-stack", flavor).install_dir(name, lib[name].version)
        assert _files(ours) == {**_files(theirs), ".pwd": _files(ours)[".pwd"]}  # + EUPS's .pwd

    # again: everything is installed, nothing asked of the server but the tag list
    world.served.requests.clear()
    again = rebuild(setup.config, setup.request, io.StringIO())[1]
    assert again is not None
    assert {str(o.action) for o in again.outcomes} == {"reused"}
    assert world.served.requests == [("GET", f"/{TAG}.list")]
    # a build handed no workspace knows the library packages too: never built
    world.served.requests.clear()
    alone, _ = run_build(setup, prepared)
    assert [str(o.action) for o in alone.outcomes] == ["reused"] * 5
    assert world.served.requests == [("GET", f"/{TAG}.list")]


@pytest.mark.usefixtures("clean_environment")
def test_release_sessions_tag_only_the_products_own_repositories(world: World) -> None:
    library = world.released.library
    before = {name: Git(library.remote(name)).refs() for name in LIBRARY}
    for args in (
        ("release", "weekly", "w.2025.24", "--config", str(world.config)),
        ("release", "candidate", "v1.0.0.rc1", "--refs", "w.2025.24", "--no-build",
         "--config", str(world.config)),
    ):  # fmt: skip
        code, err = dm_release(*args)
        assert code == 0, err
    product = world.released.product
    for name in PRODUCT:
        assert tags(Git(product.remote(name))) == {
            "w.2025.24": _sha(product, name), "v1.0.0.rc1": _sha(product, name),
        }, name  # fmt: skip
    after = {name: Git(library.remote(name)).refs() for name in LIBRARY}
    assert after == before
    assert all(not tags(Git(library.remote(name))) for name in LIBRARY)
    # the weekly's build fetched the library, built the product's three packages
    status = (world.root / "app-work" / "status.json").read_text()
    assert status.count('"action": "fetched"') == 2
    assert status.count('"action": "built"') + status.count('"action": "reused"') == 3


def test_rebuild_json_lists_the_library_packages_with_their_release(world: World) -> None:
    out = io.StringIO()
    code, err = dm_release("rebuild", "--json", "--config", str(world.config), out=out)
    assert code == 0, err
    document = json.loads(out.getvalue())
    packages = {p["package"]: p for p in document["prepare"]["packages"]}
    assert sorted(packages) == ["afw", "app", "base", "geom", "utils"]
    utils = world.released.manifest.packages["utils"]
    assert packages["utils"] == {
        "package": "utils", "ref": TAG, "kind": "library", "sha": utils.sha,
        "source": "library", "reason": f"library shared ({TAG}, build b1)",
        "version": utils.version, "clone": "library",
    }  # fmt: skip
    assert {n: p["clone"] for n, p in packages.items()} == {
        "afw": "cloned", "app": "cloned", "base": "library", "geom": "cloned", "utils": "library",
    }  # fmt: skip
    actions = {n: p["action"] for n, p in document["build"]["packages"].items()}
    assert actions == {
        "base": "fetched", "utils": "fetched", "geom": "built", "afw": "built", "app": "built",
    }  # fmt: skip
