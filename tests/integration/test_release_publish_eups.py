"""The real EUPS client (2.2.15) installs what the release sessions published: after a
weekly, a candidate and a final with both servers configured, served over HTTP on
127.0.0.1 like a bucket, ``eups distrib install`` of the final by its tag from the binary
server into a fresh EUPS_PATH, and of the weekly from the source server (cloning the bare
remotes); then ``eups list`` and ``setup``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eups_client import Listed, Served, distrib_install, eups_list, setup_ok
from release_helpers import PACKAGES, clean_environment, ok
from release_publish_helpers import binary, publishing, source, versions
from vendor import Vendor

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

TAGS = ("current", "o_latest", "v29_1_0", "v29_1_0_rc1", "w_2025_24", "w_latest")


def test_eups_installs_the_published_final_and_weekly(
    tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    setup = publishing(tmp_path / "product")
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    ok(setup, "final", "29.1.0")
    v = versions(setup, "b1")
    served = serve_tree(binary(setup))
    stack = tmp_path / "stack"
    distrib_install(eups_vendor, stack, served.url, "meta", tag="v29_1_0")
    # EUPS declares every tag of the server whose list names the version: the weekly's,
    # the candidate's (tagged without a build, it publishes the weekly's green build it
    # tags) and the final's
    assert eups_list(eups_vendor, stack) == [Listed(n, v[n], TAGS) for n in PACKAGES]
    assert setup_ok(eups_vendor, stack, "meta")
    assert ("GET", "/v29_1_0.list") in served.requests
    sources = serve_tree(source(setup))
    weekly = tmp_path / "weekly-stack"
    distrib_install(eups_vendor, weekly, sources.url, "meta", tag="w_2025_24")
    assert eups_list(eups_vendor, weekly) == [Listed(n, v[n], TAGS) for n in PACKAGES]
    assert (weekly / "Linux64" / "afw" / v["afw"] / "ups" / "afw.table").is_file()
    assert setup_ok(eups_vendor, weekly, "meta")
