"""A library and a product on one binary server, judged by the real EUPS client.

The library ``shared`` is rebuilt and released with ``dm-release tarball --tag v1_2_0``; the
product ``app`` is rebuilt in a fresh stack (the library's packages fetched from that
server, never built), then released onto the same server under its weekly tag. Only the
product's own packages are packed (the library's tarballs stay byte for byte what the
library wrote, and its tag list too), and ``eups distrib install --tag w_2025_24 app`` from
the server installs the whole closure: the library packages at the library's versions.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from eups_client import Listed, Served, distrib_install, eups_list, setup_ok, setup_run
from rebuild_helpers import config_for
from test_library import LIBRARY, PRODUCT, TAG, library_config, product_config
from vendor import Vendor

from dmrelease.core.requests import BuildRequest, TarballRequest
from dmrelease.demo.synthetic import PackageSpec, create_product
from dmrelease.stages.rebuild import rebuild
from dmrelease.stages.tarball import tarball

WEEKLY = "w_2025_24"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_real_eups_client_installs_a_product_with_its_library_packages(
    tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    tree = tmp_path / "binaries"
    specs = {name: PackageSpec(deps=deps, history=2) for name, deps in LIBRARY.items()}
    library = create_product(tmp_path / "library-upstream", specs)
    lib = config_for(library_config(tmp_path, library)).config
    log = io.StringIO()
    prepared, _ = rebuild(lib, BuildRequest(), log)
    released = tarball(lib, TarballRequest(TAG, server_dir=str(tree)), None, io.StringIO())
    assert sorted(released.packed) == sorted(
        f"{e.name}-{e.version}@{lib.flavor}.tar.gz" for e in prepared.manifest.entries
    )
    served = serve_tree(tree)
    before = _files(tree)

    specs = {name: PackageSpec(deps=deps, history=2) for name, deps in PRODUCT.items()}
    product = create_product(tmp_path / "app-upstream", specs)
    app = config_for(product_config(tmp_path, product, served.url)).config
    ours, built = rebuild(app, BuildRequest(), io.StringIO())
    assert built is not None
    actions = {o.package: str(o.action) for o in built.outcomes}
    assert actions == {
        "base": "fetched", "utils": "fetched", "geom": "built", "afw": "built", "app": "built",
    }  # fmt: skip
    weekly = tarball(app, TarballRequest(WEEKLY, server_dir=str(tree)), None, io.StringIO())
    versions = {e.name: e.version for e in ours.manifest.entries}
    mine = ("geom", "afw", "app")
    assert sorted(weekly.packed) == sorted(f"{n}-{versions[n]}@{app.flavor}.tar.gz" for n in mine)
    after = _files(tree)
    kept = [name for name in before if not name.endswith("index.json")]  # listings grow
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    package_files = [
        name for e in prepared.manifest.entries
        for name in (f"{e.name}-{e.version}@{lib.flavor}.tar.gz",
                     f"{e.name}-{e.version}@{lib.flavor}.tar.gz.sha256",
                     f"manifests/{e.name}-{e.version}@{lib.flavor}.manifest",
                     f"tables/{e.name}-{e.version}.table")
    ]  # fmt: skip
    assert sorted(kept) == sorted([*package_files, "config.txt", f"env/{TAG}.env", f"{TAG}.list"])
    # the library's release is untouched: its tarballs, manifests, tables and tag list

    stack = tmp_path / "eups-stack"
    distrib_install(eups_vendor, stack, served.url, "app", tag=WEEKLY)
    # the library packages carry the library's tag too: EUPS declares each server tag
    # whose list names the version it installs
    tags = {n: ("current", TAG, WEEKLY) if n in LIBRARY else ("current", WEEKLY) for n in versions}
    assert eups_list(eups_vendor, stack) == [
        Listed(name, versions[name], tuple(sorted(tags[name]))) for name in sorted(versions)
    ]
    assert setup_ok(eups_vendor, stack, "app")
    shown = setup_run(eups_vendor, stack, "app").stdout
    utils = versions["utils"]
    assert f"SETUP_UTILS=utils {utils} -f {app.flavor} -Z {stack}\n" in shown
    assert utils == prepared.manifest.packages["utils"].version
