"""The real EUPS client installs what the demo published: its last final by its EUPS tag from
the demo's binary server, and the library by its tag, each into a fresh EUPS_PATH; ``eups
list`` shows every product of the build at its version, current, with every server tag
naming that version, and ``setup`` works. Skipped without the vendored EUPS (required in
CI). (An install from the source server builds every package: the release sessions' tests
judge that server, test_release_publish_eups.py.)"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from eups_client import Listed, Served, distrib_install, eups_list, setup_ok
from release_helpers import JENKINS_VARIABLES
from vendor import Vendor

from dmrelease.core.manifest import parse_manifest
from dmrelease.demo.library import LIBRARY, LIBRARY_TAG
from dmrelease.demo.rebuild import PRODUCT, run_demo
from dmrelease.demo.tour import Verbosity


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        for name in JENKINS_VARIABLES:
            patch.delenv(name, raising=False)
        run_demo(root, io.StringIO(), io.StringIO(), Verbosity.QUIET, kept=True)
    return root


def _tags(lists: Path) -> dict[tuple[str, str], set[str]]:
    """(product, version) -> the EUPS tags of the tag lists in ``lists`` that name it."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in lists.glob("*.list"):
        for line in path.read_text().splitlines()[1:]:
            if line and not line.startswith("#"):
                name, _flavor, version = line.split()
                found.setdefault((name, version), set()).add(path.stem)
    return found


def _listed(root: Path, build: str, lists: Path) -> list[Listed]:
    """What eups list must show once build ``build`` is installed by a tag of ``lists``:
    each package at its version, current, with every server tag naming that version."""
    text = (root / "versiondb" / "manifests" / f"{build}.txt").read_text()
    tags = _tags(lists)
    return sorted(
        Listed(e.name, e.version, tuple(sorted({"current", *tags[e.name, e.version]})))
        for e in parse_manifest(text).entries
    )


def test_the_real_eups_installs_the_demo_final_by_its_tag(
    demo: Path, tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    tree = demo / "servers" / "binary"
    served = serve_tree(tree)
    stack = tmp_path / "eups"
    distrib_install(eups_vendor, stack, served.url, PRODUCT, tag="v29_1_1")
    listed = eups_list(eups_vendor, stack)
    assert listed == _listed(demo, "b4", tree)
    assert len(listed) == 14 and all("v29_1_1" in row.tags for row in listed)
    assert setup_ok(eups_vendor, stack, PRODUCT)


def test_the_real_eups_installs_the_library_by_its_tag(
    demo: Path, tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    served = serve_tree(demo / "servers" / "binary")
    stack = tmp_path / "eups"
    distrib_install(eups_vendor, stack, served.url, LIBRARY, tag=LIBRARY_TAG)
    listed = eups_list(eups_vendor, stack)
    assert listed == _listed(demo, "b5", demo / "servers" / "binary")
    assert [(row.product, row.tags) for row in listed] == [
        (LIBRARY, ("current", LIBRARY_TAG)), ("sphgeom", ("current", LIBRARY_TAG)),
    ]  # fmt: skip
    assert setup_ok(eups_vendor, stack, LIBRARY)
