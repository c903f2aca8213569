"""The real EUPS client (2.2.15) installs what dm-release publish wrote: served over HTTP on
127.0.0.1 like a bucket (no directory listings), ``eups distrib install`` into a fresh
EUPS_PATH by tag (SOURCE=git: every package cloned from its bare remote) and by version
(SOURCE=package: the remotes are gone, the packages carry their source), then ``eups
list`` and ``setup``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eups_client import Listed, Served, distrib_install, eups_list, setup_ok, setup_run
from publish_helpers import PACKAGES, Built, built_product, publish_json
from vendor import Vendor


def test_eups_installs_a_weekly_by_tag_cloning_each_package(
    tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    built: Built = built_product(tmp_path / "product")
    publish_json(built, "--tag", "w_2025_24", "--server-dir", str(built.server))
    served = serve_tree(built.server)
    stack = tmp_path / "stack"
    distrib_install(eups_vendor, stack, served.url, "meta", tag="w_2025_24")
    v = built.versions
    assert eups_list(eups_vendor, stack) == [
        Listed(n, v[n], ("current", "w_2025_24", "w_latest")) for n in PACKAGES
    ]
    assert setup_ok(eups_vendor, stack, "meta")
    done = setup_run(eups_vendor, stack, "meta")
    assert f"SETUP_AFW=afw {v['afw']} -f Linux64 -Z {stack}" in done.stdout
    installed = stack / "Linux64" / "geom" / v["geom"]
    assert (installed / "README.md").read_text() == "# geom\n\nrevision 3\n"  # cloned source
    assert ("GET", "/tags/w_2025_24.list") in served.requests


def test_eups_installs_a_final_by_version_without_git_access(
    tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    built: Built = built_product(tmp_path / "product")
    document = publish_json(built, "--tag", "v1_0_0", "--server-dir", str(built.server))
    assert document["source"] == "package"
    built.product.remotes.rename(tmp_path / "remotes-gone")  # nothing to clone from
    served = serve_tree(built.server)
    stack = tmp_path / "stack"
    v = built.versions
    distrib_install(eups_vendor, stack, served.url, "afw", version=v["afw"])
    assert eups_list(eups_vendor, stack) == [
        Listed(n, v[n], ("current", "o_latest", "v1_0_0")) for n in ("afw", "base", "geom", "utils")
    ]
    assert setup_ok(eups_vendor, stack, "afw")
    installed = stack / "Linux64" / "utils" / v["utils"]
    assert (installed / "README.md").read_text() == "# utils\n\nrevision 3\n"
    assert "/products/afw-" + v["afw"] + ".eupspkg" in {path for _, path in served.requests}
    whole = tmp_path / "whole"
    distrib_install(eups_vendor, whole, served.url, "meta", tag="v1_0_0")
    assert eups_list(eups_vendor, whole) == [
        Listed(n, v[n], ("current", "o_latest", "v1_0_0")) for n in PACKAGES
    ]
    assert setup_ok(eups_vendor, whole, "meta")
