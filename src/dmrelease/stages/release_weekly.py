"""The weekly session (DESIGN.md §1): a green build from main, then ``w.YYYY.WW`` at its
SHAs (tags after the build), as ordered steps: check the name and order, take the lock,
prepare and check every rule on the workspace, build, tag and push. Internal to the
release family (front: :mod:`dmrelease.stages.release`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from dmrelease.core.config import Config
from dmrelease.core.errors import CheckFailed
from dmrelease.core.journal import Journal
from dmrelease.core.plan import Session
from dmrelease.core.requests import BuildRequest, ReleaseRequest
from dmrelease.core.rules import check_plan
from dmrelease.stages.rebuild import build, prepare
from dmrelease.stages.release_auxiliary import auxiliary_steps
from dmrelease.stages.release_plan import Planned, gather_facts, tag_plan, unbuilt
from dmrelease.stages.release_publish import publishes
from dmrelease.stages.release_session import (
    apply_step,
    built_step,
    check_destinations_of,
    check_early,
    lock_step,
    plan_for,
    plan_step,
    publish_step,
    session_run,
)
from dmrelease.stages.release_steps import SessionRun, SessionStep, Stop, run_steps
from dmrelease.stages.release_writes import WouldRun
from dmrelease.stages.workspace import Workspace, open_workspace

__all__ = ["weekly"]


def _weekly_request(run: SessionRun, request: ReleaseRequest) -> BuildRequest:
    eups = request.tag.eups_tag
    return BuildRequest((run.product.name,), request.refs, eups_tag=eups, dry_run=run.dry_run)


def _weekly_plan(request: ReleaseRequest) -> Callable[[SessionRun], tuple[Planned, Workspace]]:
    """Prepare from the refs (main by default), check every rule: the weekly tag is planned
    at the SHAs of the build that comes next, and nothing is built or declared for a weekly
    that could not be tagged. ``--no-build`` only tags a manifest already built. A dry run
    plans on the fetched work clones and records nothing."""

    def make(run: SessionRun) -> tuple[Planned, Workspace]:
        if run.dry_run:
            given = " ".join(request.refs) or "main"
            print(f"would rebuild {run.product.name} from {given}", file=run.log)
            return plan_for(run.config, request, run.log, checked=True)  # the check step's
        config, product = run.config, run.product
        workspace = open_workspace(config, (product.name,), request.refs, log=run.log)
        prepared = prepare(config, _weekly_request(run, request), workspace, run.log)
        manifest = prepared.manifest
        resolutions = workspace.resolutions()
        refs = request.refs.refs
        plan = tag_plan(product, Session.WEEKLY, run.release, refs, resolutions, manifest)
        planned = Planned(plan, workspace.clones())
        problems = check_plan(plan, gather_facts(config, plan, planned.clones, run.lock))
        if not problems and not request.build:
            problems = unbuilt(config, plan, manifest)
        if problems:
            raise CheckFailed(problems)
        run.manifest = manifest
        return planned, workspace

    return make


def _weekly_build(request: ReleaseRequest) -> Callable[[SessionRun], Stop | None]:
    def build_it(run: SessionRun) -> Stop | None:
        if run.manifest is None:  # a dry run, or a resumed plan (built before)
            return None
        build(run.config, _weekly_request(run, request), run.opened(), run.manifest, run.log)
        return None

    return build_it


def weekly(
    config: Config,
    request: ReleaseRequest,
    out: TextIO | None = None,
    log: TextIO | None = None,
    would: WouldRun | None = None,
) -> Journal | None:
    """The weekly: a green build from main, then ``w.YYYY.WW`` at its SHAs (tags after);
    ``would``: where a dry run keeps the git commands it prints."""
    run = session_run(config, request, out, log, would)

    def check(run: SessionRun) -> None:
        check_early(run.config, run.product, Session.WEEKLY, run.release)
        if publishes(run.config):  # the servers writable, before anything is built or tagged
            check_destinations_of(run)

    check_aux, write_aux = auxiliary_steps(config, run.product.name)
    steps = [
        SessionStep("check", check),
        lock_step(False, request.break_lock),
        plan_step(_weekly_plan(request)),
        *check_aux,
    ]
    if request.build:
        steps.append(SessionStep("build", _weekly_build(request)))
    steps += [SessionStep("apply", apply_step), *write_aux]
    if publishes(config):  # with --no-build too: the manifest it tags was built green
        if request.build:
            steps.append(SessionStep("built", built_step))
        steps.append(publish_step("git"))
    return run_steps(steps, run).result
