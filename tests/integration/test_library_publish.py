"""dm-release publish of a product that uses a library (the fixtures of test_library.py):
the library's packages are never made by the product's publish; they must be on the source
server already, published by the library's own release, and the product's tag list names
them beside its own packages."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rebuild_helpers import config_for
from test_library import (
    LIBRARY,
    TAG,
    World,
    dm_release,
    library_config,
    released,
    world,
)

from dmrelease.stages.rebuild import rebuild

__all__ = ["released", "world"]  # the fixtures, for pytest

OWN = ("geom", "afw", "app")


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "index.json")


def test_a_product_publish_needs_its_library_published_first(world: World) -> None:
    setup = config_for(world.config)
    _, built = rebuild(setup.config, setup.request, io.StringIO())
    assert built is not None
    lib = world.released.manifest.packages
    server = world.root / "source"
    publish = ("publish", "--config", str(world.config), "--server-dir", str(server))
    code, err = dm_release(*publish, "--tag", "w_2025_24")
    assert code == 1, err
    assert err.splitlines()[-3:] == [
        f"dm-release: error: base {lib['base'].version}: a package of library shared ({TAG}, "
        f"build b1), not on {server} (products/base-{lib['base'].version}.eupspkg)",
        f"utils {lib['utils'].version}: a package of library shared ({TAG}, build b1), not on "
        f"{server} (products/utils-{lib['utils'].version}.eupspkg)",
        "a product's publish never makes its libraries' packages: publish the library to this "
        "server first (dm-release publish of its build, under its tag): nothing was written",
    ]
    assert not server.exists()

    # the library's own release publishes its build b1 under its tag
    library = library_config(world.root, world.released.library)
    code, err = dm_release(
        "publish", "--config", str(library), "--server-dir", str(server), "--tag", TAG,
        "--build", "b1",
    )  # fmt: skip
    assert code == 0, err
    products = _names(server / "products")
    assert products == sorted(f"{n}-{lib[n].version}.eupspkg" for n in LIBRARY)
    manifests = _names(server / "manifests")

    out = io.StringIO()
    code, err = dm_release(*publish, "--tag", "w_2025_24", "--json", out=out)
    assert code == 0, err
    document = json.loads(out.getvalue())
    assert document["libraries"] == ["base", "utils"]
    assert document["on_server"] == []  # the product's own packages: none there before
    assert document["kept_sources"] == {}
    versions = {p["name"]: p["version"] for p in document["packages"]}
    assert list(versions) == ["base", "geom", "utils", "afw", "app"]
    assert (
        f"publish b2 as w_2025_24, w_latest to {server}: 5 packages, SOURCE=git; 0 already on "
        "the server as first published (none kept), 2 of libraries (there), 3 to make"
    ) in err.splitlines()
    # the library's files are its release's: only the product's own are added
    added = _names(server / "products")
    assert added == sorted([*products, *(f"{n}-{versions[n]}.eupspkg" for n in OWN)])
    assert _names(server / "manifests") == sorted(
        [*manifests, *(f"{n}-{versions[n]}.manifest" for n in OWN)]
    )
    listed = (server / "tags" / "w_2025_24.list").read_text().splitlines()
    assert listed[:2] == ["EUPS distribution w_2025_24 version list. Version 1.0", "#BUILD=b2"]
    assert listed[4:] == [
        f"{n:<20} {'generic':<10} {versions[n]}" for n in sorted(versions)
    ]  # the library's packages named, as the binary server's tag lists do
    app = (server / "manifests" / f"app-{versions['app']}.manifest").read_text()
    assert f"eupspkg:utils-{versions['utils']}.eupspkg" in app
