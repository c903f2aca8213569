"""The release sessions (DESIGN.md §1, DMTN-106 §4-5, issue 5 §4): the front of the release
family (its other modules are internal to it).

- ``weekly``: rebuild from ``main``, then tag ``w.YYYY.WW`` (tags after a green build);
- ``release_candidate``: plan, tag ``vM.n.p.rcN``, rebuild from the new tag (tags before
  the build, DMTN-106 §4.4);
- ``final_release``: tag the last candidate's SHAs ``M.n.p``, rebuild (same versions, so
  binaries are reused);
- ``patch_release``: release branches from the final tags of the impacted packages;
- ``backport``: a merged ticket rebased onto a release branch (release_backport);
- ``nightly``: rebuild from the default branch, EUPS tag ``d_YYYY_MM_DD``, no git tag
  (release_nightly).

When the settings name the servers (``paths.source_server``, ``paths.binary_server``), a
weekly, a candidate, a final and a nightly check them writable first and publish their
build after it is green, each journaled per environment (release_publish).

Each session takes the product's release lock, plans from one workspace, applies the plan
(journaled, resumable) and releases the lock when it is done. A failure that leaves nothing
half-made (before any write, or in a rerun of a finished session) releases it too; after
unfinished pushes, or tags not yet built, the lock stays, so that a weekly cannot tag over
a half-made release: rerun the session to finish. Each session is a list of named steps,
each journaled (:mod:`dmrelease.stages.release_steps`).
"""

from __future__ import annotations

from dmrelease.stages.release_apply import saved_plan_path
from dmrelease.stages.release_auxiliary import with_auxiliaries
from dmrelease.stages.release_backport import Outcome, backport
from dmrelease.stages.release_nightly import nightly
from dmrelease.stages.release_plan import Planned, product_of
from dmrelease.stages.release_session import (
    apply_file,
    branch_session,
    check_early,
    plan_for,
    session_refs,
    show_plan,
    tag_then_build,
)
from dmrelease.stages.release_state import journal_for, release_lock, resume
from dmrelease.stages.release_validate import validate, validate_request
from dmrelease.stages.release_weekly import weekly
from dmrelease.stages.release_writes import WouldRun

__all__ = [
    "Outcome",
    "Planned",
    "WouldRun",
    "apply_file",
    "backport",
    "branch_session",
    "check_early",
    "journal_for",
    "nightly",
    "plan_for",
    "product_of",
    "release_lock",
    "resume",
    "saved_plan_path",
    "session_refs",
    "show_plan",
    "tag_then_build",
    "validate",
    "validate_request",
    "weekly",
    "with_auxiliaries",
]
