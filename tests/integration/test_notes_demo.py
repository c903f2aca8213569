"""``dm-release notes`` on the demo's data (``dm-release demo --dir``): its versiondb (six
builds), its finals 29.1.0 and 29.1.1 and their backports."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notes-demo") / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "demo", "--dir", str(root), "--quiet"],
        env={k: v for k, v in os.environ.items() if not k.startswith(("DM_RELEASE_", "GIT_"))},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


def notes(demo: Path, *args: str) -> tuple[int, str, str]:
    from dmrelease import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["notes", "--config", str(demo / "dm-release.toml"), "--no-jira", *args])
    return code, out.getvalue(), err.getvalue()


def ticket_lines(text: str) -> list[str]:
    return re.findall(r"^- \*\*DM-\d+\*\*.*$", text, flags=re.MULTILINE)


def test_each_final_lists_its_backports_once(demo: Path) -> None:
    code, first, err = notes(demo, "29.1.0")  # no final before it: since the first build
    assert (code, err) == (0, "")
    assert ticket_lines(first) == [
        "- **DM-40050**: document the changes of afwdata (afwdata)",
        "- **DM-40100**: fix python/afw/fix.py (afw, utils)",
    ]
    assert "- Since: `b1`\n- Git tag: `29.1.0`\n- EUPS tag: `v29_1_0`\n- Build: `b3`\n" in first
    code, patch, err = notes(demo, "29.1.1")  # since 29.1.0, the previous final
    assert (code, err) == (0, "")
    assert ticket_lines(patch) == ["- **DM-40200**: fix python/log/fix.py (log)"]
    assert "- Since: `29.1.0`\n- Since build: `b3`\n- Git tag: `29.1.1`\n" in patch


def test_the_builds_and_the_manifest_files_agree(demo: Path) -> None:
    manifests = demo / "versiondb" / "manifests"
    by_release = json.loads(notes(demo, "29.1.0..29.1.1", "--json")[1])
    by_build = json.loads(notes(demo, "b3..b4", "--json")[1])
    by_file = json.loads(
        notes(demo, "--manifests", str(manifests / "b3.txt"), str(manifests / "b4.txt"),
              "--json")[1]
    )  # fmt: skip
    assert by_release["packages"] == by_build["packages"] == by_file["packages"]
    assert by_release["ticket_keys"] == by_build["ticket_keys"] == ["DM-40200"]
    changes = {p["name"]: p["change"] for p in by_release["packages"]}
    assert changes["log"] == "changed"
    assert set(changes.values()) == {"changed", "rebuilt"}


def test_the_rst_of_the_demos_final_is_valid(demo: Path) -> None:
    code, text, _err = notes(demo, "29.1.1", "--format", "rst")
    assert code == 0
    docutils = pytest.importorskip("docutils.core", reason="docutils is not installed")
    messages = io.StringIO()
    docutils.publish_doctree(
        text, settings_overrides={"warning_stream": messages, "report_level": 2},
    )  # fmt: skip
    assert messages.getvalue() == ""
