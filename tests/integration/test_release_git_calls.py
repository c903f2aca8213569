"""One discovery per command (issue 9 §1): a ``release candidate`` clones or fetches each
package once, whatever it plans, re-verifies and rebuilds; ``release apply PLAN`` too."""

from __future__ import annotations

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    merge_ticket,
    ok,
    tags,
)

from git_trace import GitTrace, tracing

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

ONCE = dict.fromkeys(PACKAGES, 1)


def discovered_once(trace: GitTrace) -> None:
    """Each package cloned or fetched once, in its clone, and no clone or fetch elsewhere
    (a throw-away clone, a second fetch of the same remote)."""
    assert trace.count("clone", "fetch") == ONCE
    assert trace.commands()["clone"] + trace.commands()["fetch"] == len(PACKAGES)


def test_rc1_built_from_its_tag_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    discovered_once(trace)
    assert trace.count("clone") == {}  # the weekly's clones are reused
    assert trace.count("push") == ONCE
    assert trace.count("tag") == ONCE  # one call each, its multi-line message in one piece
    assert trace.commands()[""] == 0  # no fragment of an argument read as a call
    for name in PACKAGES:
        assert "v29.1.0.rc1" in tags(weekly.remote(name))


def test_rc2_whose_release_branch_no_package_has_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default refs 'v29.1.x v29.1.0.rc1': no package has v29.1.x, so the candidate is
    re-resolved from rc1 alone in the same clones, not discovered again."""
    ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    with tracing(weekly.root, monkeypatch) as trace:
        text = ok(weekly, "candidate", "v29.1.0.rc2")
    assert "no package has the release branch v29.1.x: made from v29.1.0.rc1 alone" in text
    discovered_once(trace)


def test_a_candidate_on_an_empty_work_dir_clones_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = weekly
    (setup.root / "work" / "clones").rename(setup.root / "old-clones")
    with tracing(setup.root, monkeypatch) as trace:
        ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    discovered_once(trace)
    assert trace.count("clone") == ONCE


def test_applying_a_plan_file_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "apply", str(plan))
    discovered_once(trace)
    assert trace.count("push") == ONCE


def test_a_backport_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release branches and the rebases share the workspace of the command."""
    ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    for package in ("afw", "utils"):
        merge_ticket(weekly, package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "utils",
           "--merge")  # fmt: skip
    discovered_once(trace)
    assert trace.count("push") == {"afw": 2, "utils": 2}  # the release branch, the backport
    for package in ("afw", "utils"):
        assert weekly.remote(package).ok("rev-parse", "--verify", "tickets/DM-40100-v29")
