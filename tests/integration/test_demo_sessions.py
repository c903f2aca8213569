"""The commands the nox sessions ``release_notes``, ``announce`` and ``validate`` run, run
as those sessions run them on the demo product: ``dm-release`` in the demo's directory
(its dm-release.toml found there, no --config), after the demo's whole flow (made once for
the module with ``dm-release demo --dir``). The demo itself calls the stages; this is the
release engineer's way in, from the command line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_helpers import JENKINS_VARIABLES

from dmrelease import cli

PRODUCT = "demo_distrib"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's directory after its whole flow (two finals, 29.1.0 and 29.1.1)."""
    root = tmp_path_factory.mktemp("sessions") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        for name in (*JENKINS_VARIABLES, "DM_RELEASE_CONFIG", "RELEASE_ISSUE"):
            patch.delenv(name, raising=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(["demo", "--dir", str(root), "--quiet"])
        assert code == 0, out.getvalue()
    yield root


def dm_release(demo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``dm-release ARGS`` in the demo's directory, as a nox session runs it there."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DM_RELEASE_") and k not in (*JENKINS_VARIABLES, "RELEASE_ISSUE")
    }
    env["DM_RELEASE_PROGRESS"] = "off"
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", *args],
        cwd=demo, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_release_notes_of_the_demo_final(demo: Path) -> None:
    """nox -s release_notes -- 29.1.1: since the previous final, the patch's one ticket
    (Jira is the demo's, stopped with it: --no-jira gives the commits' words)."""
    done = dm_release(demo, "notes", "29.1.1", "--no-jira")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "# demo_distrib 29.1.1 release notes"
    tickets = [line for line in lines if line.startswith("- **DM-")]
    assert tickets == ["- **DM-40200**: fix python/log/fix.py (log)"]
    assert lines.index("## Other issues") < lines.index(tickets[0])
    assert "- Git tag: `29.1.1`" in lines
    assert "- EUPS tag: `v29_1_1`" in lines


def test_announce_of_the_next_release_is_a_dry_run(demo: Path) -> None:
    """nox -s announce -- 29.2.0 --weekly w.2025.24 --start 2025-07-21: the post, not sent."""
    done = dm_release(demo, "announce", "29.2.0", "--weekly", "w.2025.24", "--start", "2025-07-21")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:4] == [
        "# Upcoming release 29.2.0, from w.2025.24",
        "",
        "We plan to make the release 29.2.0 from the weekly w.2025.24.",
        "",
    ]
    assert done.stderr.splitlines()[-1] == (
        "dry run: not posted; set discourse.url and discourse.category to see what --post "
        "would send"
    )


def test_validate_install_of_the_demo_final(demo: Path) -> None:
    """nox -s validate -- 29.1.1: the rules, then the final installed from the binary server
    (dm-release's fetch: no EUPS here), inspected, its demo run; the summary written."""
    done = dm_release(demo, "release", "validate", "--install", "29.1.1")
    summary = demo / "work" / "state" / "validation" / PRODUCT / "29.1.1.json"
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"validate --install 29.1.1: passed; summary: {summary}"
    )
    data = json.loads(summary.read_text())
    assert (data["format"], data["release"], data["product"], data["ok"]) == (
        "dm-release-validation/1", "29.1.1", PRODUCT, True,
    )  # fmt: skip
    assert [(i["kind"], i["status"]) for i in data["installs"]] == [
        ("binary", "ok"), ("source", "skipped"),
    ]  # fmt: skip
    assert (demo / "work" / "state" / "validation" / PRODUCT / "29.1.1.md").is_file()
