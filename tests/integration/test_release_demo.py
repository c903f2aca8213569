"""The demo's release flow runs end to end: weekly → rc1 → backport → rc2 → final → patch."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from release_helpers import clean_environment

from dmrelease.adapters.git import Git
from dmrelease.demo.rebuild import PACKAGES, run_demo

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


def test_demo_release_flow_tags_every_repo_and_prints_the_journals(tmp_path: Path) -> None:
    out, log = io.StringIO(), io.StringIO()
    run_demo(tmp_path, out=out, log=log)
    text = out.getvalue()
    assert "29.1.0 tags the commit of v29.1.0.rc2 in 14 of 14 repositories" in text
    # rc2 takes afw from the release branch, base from rc1 (per package: line by line
    # with --verbose, grouped by ref in the tour)
    assert re.search(r"from v29\.1\.x: .*\bafw\b", text)
    assert re.search(r"from v29\.1\.0\.rc1: .*\bbase\b", text)
    assert "final_release demo_distrib 29.1.1          14 pushed" in text
    for name in PACKAGES:
        remote = Git(tmp_path / "remotes" / f"{name}.git")
        assert remote.rev_parse("29.1.0") == remote.rev_parse("v29.1.0.rc2")
        assert remote.rev_parse("29.1.1") == remote.rev_parse("v29.1.1.rc1")
        has_branch = remote.ok("rev-parse", "--verify", "--quiet", "refs/heads/v29.1.x")
        assert has_branch == (name in ("afw", "utils", "log"))
        assert (
            f"  {name:<15} "
            in text.split("== 11. Tags and release branches of every repository")[1]
        )
