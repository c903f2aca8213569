"""The real EUPS client installs what the demo published: its last final by its EUPS tag from
the demo's binary server, and the library by its tag, each into a fresh EUPS_PATH; ``eups
list`` shows every product of the build at its version, current, with the server tags
naming that version (written out per package), and ``setup`` works. Skipped without the
vendored EUPS (required in CI). (An install from the source server builds every package:
the release sessions' tests judge that server, test_release_publish_eups.py.)"""

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


#: the EUPS tags naming one version, by the builds that version is in (written out from
#: the flow, not read from the servers): unchanged since the first nightly b1, changed
#: after it (afwdata), in 29.1.0's rc2 (the DM-40100 fix in utils and what needs it), in
#: 29.1.1 only (the DM-40200 fix in log, and afw, which needs both)
SINCE_B1 = (
    "d_2025_06_12", "d_2025_06_13", "d_latest", "o_latest", "v29_1_0", "v29_1_0_rc1",
    "v29_1_0_rc2", "v29_1_1", "v29_1_1_rc1", "w_2025_24", "w_latest",
)  # fmt: skip
SINCE_B2 = SINCE_B1[1:]
SINCE_B3 = ("o_latest", "v29_1_0", "v29_1_0_rc2", "v29_1_1", "v29_1_1_rc1")
ONLY_B4 = ("o_latest", "v29_1_1", "v29_1_1_rc1")
#: the server tags eups list shows for each package of 29.1.1 (build b4)
FINAL_TAGS = {
    "afw": ONLY_B4, "afwdata": SINCE_B2, "base": SINCE_B1, "daf_base": SINCE_B3,
    "demo_distrib": ONLY_B4, "geom": SINCE_B3, "log": ONLY_B4, "meas_base": ONLY_B4,
    "pex_config": SINCE_B1, "pex_exceptions": SINCE_B1, "pipe_base": ONLY_B4,
    "pipe_tasks": ONLY_B4, "sconsUtils": SINCE_B1, "utils": SINCE_B3,
}  # fmt: skip


def _listed(root: Path, build: str, tags: dict[str, tuple[str, ...]]) -> list[Listed]:
    """What eups list must show once build ``build`` is installed: each package at its
    version in versiondb, current, with the server tags ``tags`` gives it."""
    text = (root / "versiondb" / "manifests" / f"{build}.txt").read_text()
    entries = parse_manifest(text).entries
    assert sorted(e.name for e in entries) == sorted(tags)
    return sorted(
        Listed(e.name, e.version, tuple(sorted({"current", *tags[e.name]}))) for e in entries
    )


def test_the_real_eups_installs_the_demo_final_by_its_tag(
    demo: Path, tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    tree = demo / "servers" / "binary"
    served = serve_tree(tree)
    stack = tmp_path / "eups"
    distrib_install(eups_vendor, stack, served.url, PRODUCT, tag="v29_1_1")
    listed = eups_list(eups_vendor, stack)
    assert listed == _listed(demo, "b4", FINAL_TAGS)
    assert len(listed) == 14 and all("v29_1_1" in row.tags for row in listed)
    assert setup_ok(eups_vendor, stack, PRODUCT)


def test_the_real_eups_installs_the_library_by_its_tag(
    demo: Path, tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    served = serve_tree(demo / "servers" / "binary")
    stack = tmp_path / "eups"
    distrib_install(eups_vendor, stack, served.url, LIBRARY, tag=LIBRARY_TAG)
    listed = eups_list(eups_vendor, stack)
    assert listed == _listed(demo, "b5", {LIBRARY: (LIBRARY_TAG,), "sphgeom": (LIBRARY_TAG,)})
    assert [(row.product, row.tags) for row in listed] == [
        (LIBRARY, ("current", LIBRARY_TAG)), ("sphgeom", ("current", LIBRARY_TAG)),
    ]  # fmt: skip
    assert setup_ok(eups_vendor, stack, LIBRARY)
