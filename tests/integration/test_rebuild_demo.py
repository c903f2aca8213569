"""The demo builds its product, changes one leaf package and rebuilds only what depends on it."""

from __future__ import annotations

import io
from pathlib import Path

from dmrelease.core.manifest import parse_manifest
from dmrelease.core.manifest_verify import verify_manifest
from dmrelease.demo.rebuild import CHANGED, run_demo


def test_demo_rebuilds_the_changed_leaf_and_its_downstream_only(tmp_path: Path) -> None:
    out, log = io.StringIO(), io.StringIO()
    manifest = run_demo(tmp_path, out=out, log=log)
    text = out.getvalue()
    assert "first build b1: 14 built, 0 reused" in text
    assert "second build b2: 5 built, 9 reused" in text
    assert "  built: afwdata afw meas_base pipe_tasks demo_distrib\n" in text
    assert "    built    afwdata" not in text  # per package with --verbose only
    assert log.getvalue() == ""  # the stages' messages: in demo.log, the directory kept
    assert "manifest b2 (new)" in (tmp_path / "demo.log").read_text()
    downstream = manifest.graph().downstream_of([CHANGED])
    assert downstream == {"afw", "meas_base", "pipe_tasks", "demo_distrib"}
    for name in ("b1", "b2"):
        path = tmp_path / "versiondb" / "manifests" / f"{name}.txt"
        assert verify_manifest(parse_manifest(path.read_text(), str(path)), str(path)) == []
    assert (tmp_path / "work" / "build.properties").read_text() == "BUILD=b2\n"
