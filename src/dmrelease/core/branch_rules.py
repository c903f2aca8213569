"""The branch rule of check-branch-name (DMTN-106): only DM branch names, and no direct
commits to a release branch unless they conclude the merge of a backport branch
``tickets/DM-N-vM`` of the same major. Pure: the hook asks git and calls
:func:`branch_diagnostics`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# the branch half of the name API (core.names re-exports it): a branch check loads no tag
# parser (semver, packaging; start-up of check-branch-name, issue 10)
from dmrelease.core.branches import (
    BranchKind,
    InvalidBranch,
    ReleaseBranchPattern,
    branch_problem,
    parse_branch,
)
from dmrelease.core.errors import Diagnostic

__all__ = [
    "branch_diagnostics",
    "merged_branch",
]

#: the first line git writes to MERGE_MSG for a merge in progress
_MERGED = re.compile(r"^Merge (?:remote-tracking )?branch '([^']+)'")
_WHERE = "<branch>"


def merged_branch(merge_message: str) -> str | None:
    """The branch a ``MERGE_MSG`` says is being merged (``Merge branch 'x' into y``)."""
    match = _MERGED.match(merge_message)
    return match[1] if match else None


def branch_diagnostics(
    branch: str,
    pattern: ReleaseBranchPattern,
    *,
    allow: Sequence[re.Pattern[str]] = (),
    committing: bool = True,
    merging: str | None = None,
    allow_release_commits: bool = False,
) -> list[Diagnostic]:
    """Why ``branch`` may not be used (empty if it may); ``merging`` is a branch being merged."""
    if any(regex.fullmatch(branch) for regex in allow):
        return []
    try:
        parsed = parse_branch(branch, pattern)
    except InvalidBranch as exc:
        hint = "rename it with `git branch -m <new-name>`"
        return [Diagnostic(_WHERE, 1, "branch-ref-format", f"{branch!r}: {exc.reason}", hint=hint)]
    if parsed.kind is BranchKind.OTHER:
        from dmrelease.core.tags import Release  # for the example name only

        reason = branch_problem(branch, pattern) or "not a DM branch name"
        example = pattern.render(Release(29, 1, 0))
        hint = (
            f"use main, tickets/DM-<n>, tickets/DM-<n>-v<major>, u/<user>/<topic> or {example}; "
            "rename with `git branch -m <new-name>`"
        )
        return [Diagnostic(_WHERE, 1, "branch-name", f"{branch!r}: {reason}", hint=hint)]
    if parsed.kind is BranchKind.RELEASE and committing and not allow_release_commits:
        return _release_commit(branch, parsed.major, merging, pattern)
    return []


def _release_commit(
    branch: str, major: int | None, merging: str | None, pattern: ReleaseBranchPattern
) -> list[Diagnostic]:
    # a remote-tracking name (origin/tickets/DM-1-v29) counts as its branch
    for name in (merging, merging.split("/", 1)[-1]) if merging else ():
        try:
            source = parse_branch(name, pattern)
        except InvalidBranch:
            continue
        if source.kind is BranchKind.BACKPORT and source.major == major:
            return []
    message = f"{branch!r} is a release branch: no direct commits"
    if merging is not None:
        message += f" (merging {merging!r}, not a backport branch tickets/DM-<n>-v{major})"
    hint = (
        f"commit on main via tickets/DM-<n>, then on tickets/DM-<n>-v{major} and merge that "
        "(DMTN-106); --allow-release-commits relaxes this"
    )
    return [Diagnostic(_WHERE, 1, "branch-release-commit", message, hint=hint)]
