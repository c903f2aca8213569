"""A library product that cannot be used is a clear error, and nothing is cloned, fetched
or built: an unknown library, a tag the server has no list of, a tag list that disagrees
with its build, a build versiondb lacks, a library package also in the product's
repos.yaml, a library package whose binary is not on the server. ``dm-release rebuild``
as users run it, on real remotes and a real server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket

import test_library
from test_library import TAG, World, dm_release, product_config

from dmrelease.core.distrib import render_tag_list

#: the fixtures of test_library: a library released once per module, a copy per test
released, world = test_library.released, test_library.world


def _rebuild(world: World) -> tuple[int, str]:
    return dm_release("rebuild", "--config", str(world.config))


def _nothing_done(world: World) -> None:
    clones = world.root / "app-work" / "clones"
    assert not clones.exists() or os.listdir(clones) == []
    assert not (world.root / "app-stack").exists()
    manifests = sorted(os.listdir(world.root / "versiondb" / "manifests"))
    assert manifests == ["b1.txt", "content_sha.db.txt"]  # only the library's build


def test_an_unknown_library_is_a_configuration_error(world: World) -> None:
    text = world.config.read_text().replace('libraries = ["shared"]', 'libraries = ["nope"]')
    world.config.write_text(text)
    code, err = _rebuild(world)
    line = text.splitlines().index('libraries = ["nope"]') + 1
    assert (code, err) == (2, (
        f"{world.config}:{line}: config-library: products.app: library "
        "'nope' is not configured (add [libraries.nope] with its tag to dm-release.toml)\n"
    ))  # fmt: skip
    assert world.served.requests == []


def test_a_tag_the_server_has_no_list_of(world: World) -> None:
    product_config(world.root, world.released.product, world.served.url, tag="v9_9_9")
    code, err = _rebuild(world)
    url = f"{world.served.url}/v9_9_9.list"
    assert (code, err) == (1, (
        f"dm-release: error: library shared: GET {url}: HTTP 404\n"
        "  the tag list of v9_9_9 on the binary server names the library's build: is shared "
        "released at v9_9_9 there?\n"
    ))  # fmt: skip
    _nothing_done(world)


def test_an_unreachable_library_server_is_an_environment_error(world: World) -> None:
    """Nothing listens on the port: exit 2, the URL alone (no library text, no hint that
    the release is missing: it may well be there)."""
    with socket.socket() as probe:  # a port of 127.0.0.1 nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "s3cr3t-unreachable"
    product_config(world.root, world.released.product, f"http://ci:{secret}@127.0.0.1:{port}")
    code, err = _rebuild(world)
    assert (code, err) == (2, (
        f"dm-release: error: library shared: cannot reach http://****@127.0.0.1:{port}/"
        f"{TAG}.list\n"
    ))  # fmt: skip
    _nothing_done(world)


def test_a_tag_list_whose_versions_are_not_its_builds(world: World) -> None:
    manifest = world.released.manifest
    rows = [(e.name, world.flavor, "g0000000000" if e.name == "utils" else e.version)
            for e in manifest.entries]  # fmt: skip
    (world.root / "binaries" / f"{TAG}.list").write_text(render_tag_list(TAG, rows, build_id="b1"))
    code, err = _rebuild(world)
    utils = manifest.packages["utils"].version
    assert (code, err) == (1, (
        f"{world.served.url}/{TAG}.list:7: library-version: library shared: utils: version "
        f"g0000000000 here, {utils} in build b1 (versiondb manifests/b1.txt)\n"
    ))  # fmt: skip
    _nothing_done(world)


def test_a_tag_list_naming_a_build_versiondb_does_not_hold(world: World) -> None:
    rows = [(e.name, world.flavor, e.version) for e in world.released.manifest.entries]
    (world.root / "binaries" / f"{TAG}.list").write_text(render_tag_list(TAG, rows, build_id="b9"))
    code, err = _rebuild(world)
    assert (code, err) == (1, (
        f"dm-release: error: library shared: {world.served.url}/{TAG}.list names build b9, "
        f"which versiondb {world.root / 'versiondb'} does not hold (manifests/b9.txt): the "
        "library and its products share one versiondb (paths.versiondb, "
        "paths.versiondb_remote)\n"
    ))  # fmt: skip
    _nothing_done(world)


def test_a_library_package_in_the_products_repos_yaml_names_both(world: World) -> None:
    repos = world.released.product.repos_yaml
    original = repos.read_text()
    try:
        repos.write_text(original + f"utils: {world.released.library.url('utils')}\n")
        code, err = _rebuild(world)
    finally:
        repos.write_text(original)
    line = len(original.splitlines()) + 1
    assert (code, err) == (1, (
        f"{repos}:{line}: library-overlap: utils is a package of library shared ({TAG}, build "
        "b1) and of product app (its repos.yaml): a package in two products (a package lives "
        "in one product: remove it from repos.yaml, or from the library)\n"
    ))  # fmt: skip
    _nothing_done(world)


def test_a_library_package_not_on_the_server_is_never_built(world: World) -> None:
    utils = world.released.manifest.packages["utils"]
    tarball = f"utils-{utils.version}@{world.flavor}.tar.gz"
    (world.root / "binaries" / tarball).unlink()
    code, err = _rebuild(world)
    assert code == 1
    assert err.endswith(
        "dm-release: error: 1 library package(s) not on their library's binary server:\n"
        f"  utils {utils.version} of library shared ({TAG}, build b1): no "
        f"{world.served.url}/{tarball}\n"
        "a library's packages are installed from its release, never built here: publish its "
        "binaries (dm-release tarball) or check its tag and server\n"
    )
    # prepared (recorded as b2) but nothing installed, built or fetched
    assert not (world.root / "app-stack").exists()
    assert not (world.root / "app-work" / "logs").exists()
    assert ("GET", f"/{tarball}") not in world.served.requests
    assert sorted(os.listdir(world.root / "app-work" / "clones")) == ["afw", "app", "geom"]


def test_without_any_binary_server_the_library_cannot_be_found(world: World) -> None:
    text = world.config.read_text()
    world.config.write_text(text.replace(f'server = "{world.served.url}"\n', ""))
    code, err = _rebuild(world)
    assert (code, err) == (2, (
        "dm-release: error: library shared: no binary server: set server in "
        "[libraries.shared] or servers.binary (DM_RELEASE_BINARY_SERVER)\n"
    ))  # fmt: skip
    _nothing_done(world)


def test_the_library_cannot_also_be_a_configured_product(world: World) -> None:
    text = world.config.read_text()
    library = world.released.library
    world.config.write_text(text + f'\n[products.shared]\nrepos = "{library.repos_yaml}"\n')
    code, err = _rebuild(world)
    assert (code, err) == (2, (
        f"{world.config}:1: config-library: shared is both a product and "
        "a library (a product is built here or used as a library: keep one table)\n"
    ))  # fmt: skip


def test_a_credential_in_the_library_server_url_is_never_printed(world: World) -> None:
    secret = "s3cr3t-library-passw0rd"
    url = world.served.url.replace("http://", f"http://ci:{secret}@")
    product_config(world.root, world.released.product, url, tag="v9_9_9")
    code, err = _rebuild(world)
    shown = world.served.url.replace("http://", "http://****@")
    assert (code, err) == (1, (
        f"dm-release: error: library shared: GET {shown}/v9_9_9.list: HTTP 404\n"
        "  the tag list of v9_9_9 on the binary server names the library's build: is shared "
        "released at v9_9_9 there?\n"
    ))  # fmt: skip
    assert secret not in err


def test_a_dry_run_without_the_shared_versiondb_creates_none(world: World) -> None:
    shutil.rmtree(world.root / "versiondb")
    code, err = dm_release("rebuild", "--dry-run", "--config", str(world.config))
    assert (code, err) == (1, (
        f"dm-release: error: library shared: {world.served.url}/{TAG}.list names build b1, "
        f"which versiondb {world.root / 'versiondb'} does not hold (manifests/b1.txt): the "
        "library and its products share one versiondb (paths.versiondb, "
        "paths.versiondb_remote)\n"
    ))  # fmt: skip
    assert not (world.root / "versiondb").exists()
