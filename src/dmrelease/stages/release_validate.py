"""``release validate``: every rule against the remotes as they are now and, once the
release was made, ``tag-missing`` for each of its tags a remote lacks (issue 9). Internal to
the release family (front: :mod:`dmrelease.stages.release`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.git import Git
from dmrelease.core.auxiliary import AuxTarget
from dmrelease.core.config import Config
from dmrelease.core.errors import Diagnostic
from dmrelease.core.plan import ReleasePlan
from dmrelease.core.redact import redact
from dmrelease.core.requests import ReleaseRequest
from dmrelease.core.rules import check_plan, check_tags_present
from dmrelease.stages.release_apply import saved_plan_path
from dmrelease.stages.release_auxiliary import auxiliary_report
from dmrelease.stages.release_plan import Planned, gather_facts, product_of
from dmrelease.stages.release_session import fetched_remotes, plan_for
from dmrelease.stages.release_state import journal_for, read_lock, release_ref
from dmrelease.stages.workspace import Workspace, load_repos

__all__ = ["validate", "validate_request"]


def validate_request(
    config: Config, request: ReleaseRequest, log: TextIO | None = None
) -> tuple[Planned, list[Diagnostic]]:
    """``release validate``: plan in clones of its own, which it removes (it changes no
    repository of the work dir), then :func:`validate`; the plan comes back with what its
    auxiliary repositories get (each listed once)."""
    with tempfile.TemporaryDirectory(prefix="dm-release-validate-") as scratch:
        planned, workspace = plan_for(config, request, log, root=Path(scratch))
        problems, targets = _validated(config, planned, workspace)
        return dataclasses.replace(planned, auxiliary=tuple(targets)), problems


def validate(
    config: Config, planned: Planned, workspace: Workspace | None = None
) -> list[Diagnostic]:
    """Every rule against the remotes as they are now (``release validate``); once the
    release was made (a remote has one of its tags, or its plan was saved when it was
    applied), ``tag-missing`` for each of its tags a remote lacks. The remotes the
    ``workspace`` just cloned or fetched are judged by what that brought, the others
    listed."""
    return _validated(config, planned, workspace)[0]


def _validated(
    config: Config, planned: Planned, workspace: Workspace | None
) -> tuple[list[Diagnostic], list[AuxTarget]]:
    plan = planned.plan
    lock = read_lock(config, plan.product)  # the versiondb remote's when it has one
    facts = gather_facts(config, plan, planned.clones, lock, fetched_remotes(workspace))
    if workspace is not None:
        entries = workspace.remotes.repos
    else:
        entries, _origin = load_repos((product_of(config, plan.product),))
    remotes = {name: redact(entry.url) for name, entry in entries.items()}
    made = _recorded(config, plan)
    problems = check_plan(plan, facts) + check_tags_present(plan, facts, remotes, made)
    targets, auxiliary = auxiliary_report(config, plan, made)
    return problems + auxiliary, targets


def _recorded(config: Config, plan: ReleasePlan) -> bool:
    """Whether the plan of this release was applied: saved in the state dir, or stored on
    the versiondb remote (where another agent may have applied it)."""
    saved = saved_plan_path(journal_for(config, plan.product, plan.session, plan.release))
    if saved.is_file():
        return True
    if not config.versiondb_remote:
        return False
    ref = release_ref(plan.product, plan.session, plan.release)
    git = Git(Path.cwd(), timeout=config.git_timeout)
    return bool(git.lines("ls-remote", "--", config.versiondb_remote, ref))
