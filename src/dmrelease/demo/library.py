"""The library product of the demo (issue 12 §4): packages shared by several products live
in a library metapackage released on its own, and a product takes them at the library's
EUPS tag from the binary server instead of cloning or building them.

The library ``demo_lib`` (``sphgeom``) is built and packed onto the demo's binary server
under its tag ``v1_0_0``; the product ``demo_apps`` (``apps``, which needs ``sphgeom``)
lists it in ``libraries`` and is rebuilt into a new stack with the binary server served
over HTTP on 127.0.0.1: ``sphgeom`` comes from the library's release (its build in the
shared versiondb, its tarball fetched), only the product's own packages are built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from dmrelease.adapters.config import load_config
from dmrelease.adapters.files import write_atomically
from dmrelease.core.config import Config
from dmrelease.core.requests import BuildRequest, TarballRequest
from dmrelease.demo.servers import serving
from dmrelease.demo.tour import Row, Tour
from dmrelease.stages.rebuild import rebuild
from dmrelease.stages.tarball import tarball

LIBRARY, LIBRARY_TAG, APPS = "demo_lib", "v1_0_0", "demo_apps"
Deps = tuple[tuple[str, ...], tuple[str, ...]]
LIBRARY_PACKAGES: dict[str, Deps] = {"sphgeom": ((), ()), LIBRARY: (("sphgeom",), ())}
APPS_PACKAGES: dict[str, Deps] = {"apps": (("sphgeom",), ()), APPS: (("apps",), ())}
APPS_STACK = "apps-stack"  # paths.stack of apps.toml
LIBRARY_CONFIG, APPS_CONFIG = "library.toml", "apps.toml"
_EPOCH = 1_752_300_000  # after the release flow's developer commits, before its tags

_COMMON = """
[build]
command = '{command}'
flavor = "{flavor}"

[git]
user_name = "{user_name}"
user_email = "{user_email}"

[paths]
work_dir = "work/{name}"
versiondb = "versiondb"            # shared by the demo's products: the library's build is there
stack = "{name}-stack"
binary_server = "servers/binary"   # where the library's release is packed
"""

_LIBRARY = """# dm-release configuration of the demo's library product (dm-release demo writes it).
# Relative paths are relative to this file's directory.

[products.{library}]
repos = "library-repos.yaml"
"""

_APPS = """# dm-release configuration of a demo product that uses the library {library} (dm-release
# demo writes it). Relative paths are relative to this file's directory.

[libraries.{library}]
tag = "{tag}"                      # its release: {tag}.list on the binary server (servers.binary)

[products.{apps}]
repos = "apps-repos.yaml"          # without sphgeom: a package lives in one product
libraries = ["{library}"]          # what it takes from a library's release
"""


def write_config(root: Path, config: Config, name: str) -> Path:
    """``library.toml`` or ``apps.toml`` beside the demo's dm-release.toml, with its build
    command and identity."""
    head = _LIBRARY if name == LIBRARY_CONFIG else _APPS
    path = root / name
    text = (head + _COMMON).format(
        library=LIBRARY, tag=LIBRARY_TAG, apps=APPS, command=config.build_command,
        flavor=config.flavor, user_name=config.user_name, user_email=config.user_email,
        name=name.removesuffix(".toml"),
    )  # fmt: skip
    write_atomically(path, text)
    return path


def run_library_demo(
    tour: Tour, config: Config, create: Callable[[Mapping[str, Deps], Path, int], None]
) -> None:
    """The library section of the tour; ``create`` makes packages (remotes and clones)
    with their repos file, as the demo product's were made."""
    with tour.section(
        f"A library product: {APPS} takes {LIBRARY} at its release",
        "Packages several products use live in a library metapackage released on its own, "
        f"never in two products. The library {LIBRARY} (sphgeom) is built and packed onto "
        f"the binary server as {LIBRARY_TAG}; the product {APPS} (apps, which needs "
        f"sphgeom) lists it under libraries. Its rebuild reads {LIBRARY_TAG}.list from the "
        "binary server, whose #BUILD= line names the library's build in the shared "
        "versiondb: sphgeom is taken at that build's SHA and version, fetched, never "
        "cloned or built, and the product's manifest records it.",
        look=(
            f"{LIBRARY_CONFIG}, {APPS_CONFIG} ([libraries.{LIBRARY}], products.{APPS}.libraries)",
            f"servers/binary/{LIBRARY_TAG}.list, {APPS_STACK}/Linux64/sphgeom",
        ),
        commands=(f"DM_RELEASE_BINARY_SERVER=<its URL> dm-release rebuild --config {APPS_CONFIG}",),
    ):
        create(LIBRARY_PACKAGES, tour.root / "library-repos.yaml", _EPOCH)
        create(APPS_PACKAGES, tour.root / "apps-repos.yaml", _EPOCH + 86_400)
        library = load_config(write_config(tour.root, config, LIBRARY_CONFIG), environ={})
        tour.tick()
        prepared, built = rebuild(library, BuildRequest(products=(LIBRARY,)), tour.stage_log)
        assert built is not None
        build = prepared.manifest.build_id or "-"
        request = TarballRequest(LIBRARY_TAG, build_id=build, products=(LIBRARY,))
        packed = tarball(library, request, None, tour.stage_log)
        tour.say(
            f"  {LIBRARY} {LIBRARY_TAG}: build {build}, {built.counts['built']} built, "
            f"{len(packed.packed)} tarballs packed, {LIBRARY_TAG}.list names {build}"
        )
        tour.row(Row(f"library {LIBRARY}", LIBRARY_TAG, build, built.counts["built"], 0, 0))
        _product(tour, load_config(write_config(tour.root, config, APPS_CONFIG), environ={}))


def _product(tour: Tour, config: Config) -> None:
    """Rebuild the product that uses the library into its new stack, the binary server
    served over HTTP as servers.binary."""
    assert config.binary_server_dir is not None
    tour.tick()
    with serving(Path(config.binary_server_dir)) as url:
        apps = dataclasses.replace(config, binary_server=url)
        prepared, built = rebuild(apps, BuildRequest(products=(APPS,)), tour.stage_log)
    assert built is not None
    counts = built.counts
    made = {o.package: str(o.action) for o in built.outcomes}
    taken = sorted(prepared.libraries)
    tour.say(
        f"  {APPS}: build {prepared.manifest.build_id}, {', '.join(taken)} from the library "
        f"({', '.join(made[n] for n in taken)}), {counts['built']} built "
        f"({', '.join(n for n, a in made.items() if a == 'built')})"
    )
    for entry in prepared.manifest.entries:
        tour.detail(f"    {entry.name:<10} {entry.sha[:10]} {entry.version}")
    row = Row(
        f"product with {LIBRARY}", "-", prepared.manifest.build_id or "-", counts["built"],
        counts["reused"], counts["fetched"],
    )  # fmt: skip
    tour.row(row)
