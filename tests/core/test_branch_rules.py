"""core/branch_rules: the check-branch-name rule as a pure function (moved from the hook's
tests, issue 9 §5)."""

from __future__ import annotations

import re

import pytest

from dmrelease.core.branch_rules import branch_diagnostics, merged_branch
from dmrelease.core.names import ReleaseBranchPattern

DEFAULT = ReleaseBranchPattern()
DMTN106 = ReleaseBranchPattern("b.{major}.{minor}.x")


@pytest.mark.parametrize(
    ("branch", "pattern", "rule"),
    [
        ("main", DEFAULT, None),
        ("master", DEFAULT, None),
        ("tickets/DM-12345", DEFAULT, None),
        ("tickets/DM-12345-v29", DEFAULT, None),
        ("u/jdoe/try-this", DEFAULT, None),
        ("v29.1.x", DEFAULT, None),
        ("b.29.1.x", DMTN106, None),
        ("b.29.1.x", DEFAULT, "branch-name"),
        ("v29.1.x", DMTN106, "branch-name"),
        ("feature-x", DEFAULT, "branch-name"),
        ("tickets/DM-012", DEFAULT, "branch-name"),
        ("tickets/dm-12", DEFAULT, "branch-name"),
        ("u/jdoe", DEFAULT, "branch-name"),
        ("v29.01.x", DEFAULT, "branch-name"),
        ("bad..name", DEFAULT, "branch-ref-format"),
    ],
)
def test_branch_names(branch: str, pattern: ReleaseBranchPattern, rule: str | None) -> None:
    found = branch_diagnostics(branch, pattern, committing=False)
    assert [d.rule for d in found] == ([rule] if rule else [])
    assert all(d.hint and "git branch -m" in d.hint for d in found), "say how to fix it"


def test_allow_adds_names() -> None:
    allow = [re.compile(r"dependabot/.+")]
    assert branch_diagnostics("dependabot/pip/x", DEFAULT, allow=allow) == []
    assert branch_diagnostics("renovate/x", DEFAULT, allow=allow) != []


@pytest.mark.parametrize(
    ("merging", "allowed"),
    [
        (None, False),
        ("tickets/DM-7-v29", True),
        ("origin/tickets/DM-7-v29", True),
        ("tickets/DM-7-v28", False),  # a backport to another major
        ("tickets/DM-7", False),
        ("main", False),
    ],
)
def test_commits_on_a_release_branch(merging: str | None, allowed: bool) -> None:
    found = branch_diagnostics("v29.1.x", DEFAULT, committing=True, merging=merging)
    assert (found == []) is allowed
    assert all(d.rule == "branch-release-commit" for d in found)


def test_allow_release_commits_relaxes_the_rule() -> None:
    assert branch_diagnostics("v29.1.x", DEFAULT, allow_release_commits=True) == []


@pytest.mark.parametrize(
    ("message", "branch"),
    [
        ("Merge branch 'tickets/DM-7-v29' into v29.1.x\n", "tickets/DM-7-v29"),
        ("Merge remote-tracking branch 'origin/tickets/DM-7-v29'\n", "origin/tickets/DM-7-v29"),
        ("Revert something\n", None),
    ],
)
def test_merge_messages(message: str, branch: str | None) -> None:
    assert merged_branch(message) == branch
