"""The release sessions as ordered steps (issue 9 §3), internal to the release family:
the front is :mod:`dmrelease.stages.release` (see its docstring for the sessions).

Each session is a list of named steps run by ``release_steps.run_steps``: take the
product's release lock and the work dir, plan from the command's one workspace (every
package cloned or fetched once, issue 9 §1), apply the plan through ``release_apply``
(journaled, resumable), rebuild from the new tag re-resolved in the same clones (no fetch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.journal import now
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.facts import Facts, RepoFacts
from dmrelease.core.journal import Journal
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import parse_manifest
from dmrelease.core.names import Candidate, Release, ReleaseBranchPattern, Tag
from dmrelease.core.plan import (
    PackagePlan,
    ReleasePlan,
    Session,
    candidates_of,
    default_candidate_refs,
    parse_plan,
    render_plan,
)
from dmrelease.core.requests import BuildRequest, RefList, ReleaseRequest, parse_ref_list
from dmrelease.core.rules import check_tag_name, check_weekly_order
from dmrelease.core.rules_versions import check_final, check_rc_sequence
from dmrelease.stages.rebuild import build, prepare
from dmrelease.stages.release_apply import (
    apply_plan,
    saved_plan_path,
    stale_local_tags,
    streams,
    untrusted,
)
from dmrelease.stages.release_auxiliary import auxiliary_steps
from dmrelease.stages.release_plan import (
    Planned,
    plan_session,
    product_of,
    remote_tags,
    unbuilt,
    with_change_control,
)
from dmrelease.stages.release_publish import (
    BUILT,
    Publication,
    built_id,
    check_destinations,
    publication_done,
    publish_build,
    publishes,
    stage_of,
)
from dmrelease.stages.release_state import (
    journal_for,
    release_lock,
    resume,
)
from dmrelease.stages.release_steps import SessionRun, SessionStep, Stop, run_steps
from dmrelease.stages.release_writes import WouldRun
from dmrelease.stages.workspace import (
    Workspace,
    open_workspace,
    reresolve,
    work_dir_lock,
)

__all__ = [
    "apply_file",
    "apply_step",
    "branch_session",
    "built_step",
    "check_destinations_of",
    "check_early",
    "lock_step",
    "plan_for",
    "plan_step",
    "publish_step",
    "session_refs",
    "session_run",
    "show_plan",
    "tag_then_build",
]


def show_plan(planned: Planned, log: TextIO) -> None:
    log.write(render_plan(planned.plan))
    for note in planned.notes:
        print(f"  note: {note}", file=log)


def check_early(config: Config, product: ProductConfig, session: Session, release: str) -> None:
    """Refuse a bad name or an out-of-sequence candidate or final before any clone is made:
    ``tag-canonical``, ``tag-kind``, then ``rc-gap``, ``rc-order``, ``rc-after-final`` and
    ``final-without-rc``, ``weekly-order`` against the tags of the product's repository
    (a weekly is refused before its build, not after)."""
    stub = ReleasePlan(product.name, session, release, (), (), product.release_branch)
    problems = check_tag_name(stub, Facts({}))
    if not problems and session in (Session.CANDIDATE, Session.FINAL, Session.WEEKLY):
        names = remote_tags(config, product, product.name)
        facts = Facts({product.name: RepoFacts(dict.fromkeys(names, ""))})
        problems = check_rc_sequence(stub, facts) + check_final(stub, facts)
        itself = PackagePlan(product.name, "", "", "", "")
        problems += check_weekly_order(dataclasses.replace(stub, packages=(itself,)), facts)
    if problems:
        raise CheckFailed(problems)


def session_refs(
    config: Config, product: ProductConfig, session: Session, tag: Tag, given: RefList
) -> RefList:
    """The source refs of a tagging or patch session: as given, else the session's default
    (DESIGN.md §1): rcN from the release branch and rc(N-1), a final from the last
    candidate, a patch's branches from the previous final, a weekly from main."""
    if given:
        return given
    pattern = ReleaseBranchPattern(product.release_branch)
    if session is Session.CANDIDATE and isinstance(tag, Candidate):
        refs = default_candidate_refs(tag, pattern)
        if not refs:
            raise UsageError(f"{tag} is made from a weekly: give it, e.g. --refs w.2025.24")
        return RefList(refs)
    if session is Session.FINAL and isinstance(tag, Release):
        return RefList((str(_last_candidate(config, product, tag)),))
    if session is Session.PATCH and isinstance(tag, Release):
        return RefList((str(Release(tag.major, tag.minor, tag.patch - 1)),))
    return given


def _last_candidate(config: Config, product: ProductConfig, release: Release) -> Candidate:
    found = candidates_of(release, remote_tags(config, product, product.name))
    if not found:
        raise CheckFailed(
            [
                Diagnostic(
                    product.name,
                    1,
                    "final-without-rc",
                    f"no candidate of {release} exists",
                    hint=f"tag {release.candidate(1)} first",
                )
            ]
        )
    return found[-1]


def _resolved(
    config: Config, workspace: Workspace, refs: RefList, *, defaults: bool, log: TextIO
) -> tuple[Workspace, tuple[str, ...]]:
    """The workspace, refused when a ref of the list exists in no package (DESIGN.md §2);
    except that when the default refs of a candidate name a release branch no package has
    (no backport was needed) and that is the only such ref, the candidate is made from the
    previous tag alone: re-resolved in the same clones, without a fetch."""
    if defaults and len(refs) > 1 and workspace.unmatched == (refs[0],):
        note = f"no package has the release branch {refs[0]}: made from {refs[1]} alone"
        return reresolve(config, workspace, refs.drop_first(), log=log), (note,)
    workspace.refuse_unmatched()
    return workspace, ()


def plan_for(
    config: Config,
    request: ReleaseRequest,
    log: TextIO | None = None,
    root: Path | None = None,
    *,
    checked: bool = False,
) -> tuple[Planned, Workspace]:
    """Check the name (unless ``checked`` already), choose the refs, open the workspace (the
    work clones, or under ``root``) and plan the session (the ``release plan`` verb, the
    sessions' plan step)."""
    product = product_of(config, request.product)
    session, tag = request.session, request.tag
    if not checked:
        check_early(config, product, session, str(tag))
    refs = session_refs(config, product, session, tag, request.refs)
    pattern = ReleaseBranchPattern(product.release_branch)
    branch = pattern.render(tag) if isinstance(tag, Release) and not session.tags else None
    asked = _Asked(session, str(tag), refs, request.packages, branch, defaults=not request.refs)
    planned, workspace = _plan(config, product, asked, log, root)
    return with_change_control(config, request, planned, workspace, log), workspace


@dataclass(frozen=True)
class _Asked:
    """What a session plans: its release name, its refs and, for a branch session, the
    packages and the branch; ``defaults``: the refs are the session's default ones."""

    session: Session
    release: str
    refs: RefList
    packages: tuple[str, ...] = ()
    branch: str | None = None
    defaults: bool = False


def _plan(
    config: Config,
    product: ProductConfig,
    asked: _Asked,
    log: TextIO | None,
    root: Path | None = None,
) -> tuple[Planned, Workspace]:
    _out, log = streams(None, log)
    workspace = open_workspace(config, (product.name,), asked.refs, log=log, root=root)
    may_drop = asked.defaults and asked.session is Session.CANDIDATE
    workspace, notes = _resolved(config, workspace, asked.refs, defaults=may_drop, log=log)
    planned = plan_session(
        config, product, asked.session, asked.release, workspace,
        packages=asked.packages, branch=asked.branch,
    )  # fmt: skip
    return dataclasses.replace(planned, notes=(*planned.notes, *notes)), workspace


# -- the steps ----------------------------------------------------------------------------


#: the journal's stage of a final's Fix Versions in Jira
JIRA = "jira"


def lock_step(build: bool, break_lock: bool) -> SessionStep:
    def take(run: SessionRun) -> None:
        lock = release_lock(
            run.config, run.product.name, run.session, run.release,
            break_lock=break_lock, dry_run=run.dry_run, log=run.log, build=build,
        )  # fmt: skip
        run.lock = run.held.enter_context(lock)
        run.held.enter_context(work_dir_lock(run.config))
        run.journal = journal_for(run.config, run.product.name, run.session, run.release)

    return SessionStep("lock", take)


def _reopen(run: SessionRun, planned: Planned, where: str) -> None:
    """The workspace of a saved plan: its clones fetched once (they may be absent: a
    rerun on another agent), resolved against the plan's refs."""
    clones = {p.name: run.config.work_dir / "clones" / p.name for p in planned.plan.packages}
    problems = stale_local_tags(run.config, planned.plan, clones)
    if problems:
        raise CheckFailed(problems)
    refs = parse_ref_list(planned.plan.source_refs, where=where)
    run.workspace = open_workspace(run.config, (run.product.name,), refs, log=run.log)
    clones = run.workspace.clones()
    run.planned = dataclasses.replace(planned, clones={**planned.clones, **clones})


def plan_step(make: Callable[[SessionRun], tuple[Planned, Workspace]]) -> SessionStep:
    """The plan step: the journaled plan of an interrupted run, else a new one (``make``)."""

    def plan(run: SessionRun) -> None:
        resumed = None if run.dry_run else resume(run.config, run.product, run.session, run.release)
        if resumed is not None:
            _reopen(run, resumed, str(saved_plan_path(run.journaled())))
        else:
            run.planned, run.workspace = make(run)
        show_plan(run.made(), run.log)

    return SessionStep("plan", plan)


def fetched_remotes(workspace: Workspace | None) -> dict[str, RepoFacts]:
    """What the workspace's fetch (or clone) brought of each remote it reached: its
    branches (``refs/remotes/origin/``) and its tags, exactly (``--prune-tags``); the
    packages it re-resolved without a fetch are left out (their remotes are listed)."""
    if workspace is None:
        return {}
    return {
        name: RepoFacts(dict(source.refs.tags), dict(source.refs.branches))
        for name, source in workspace.sources.items()
        if source.action in ("cloned", "fetched")
    }


def apply_step(run: SessionRun) -> None:
    run.result = apply_plan(
        run.config, run.made().plan, run.made().clones, journal=run.journal, lock=run.lock,
        dry_run=run.dry_run, out=run.out, log=run.log, remote=fetched_remotes(run.workspace),
        would=run.would,
    )  # fmt: skip


def _rebuild_from_tag(run: SessionRun) -> Stop | None:
    """Rebuild from the new tag (DMTN-106 §4.4), re-resolved in the workspace's clones
    (the tags were just made there: no fetch); skipped when the journal says it is done
    (in this environment: ``built[<env>]`` with ``build.env`` set)."""
    if run.dry_run:
        print(f"would rebuild {run.product.name} from {run.release}", file=run.log)
        return None
    journal = run.journaled()
    built = stage_of(run.config, BUILT)
    if (journal.current() or Journal("", "", {})).has_stage(built):
        done = f"{run.release}: already built (journal)"
        if not publishes(run.config) and not _jira_follows(run):
            return Stop(done)
        print(f"build: {done}", file=run.log)  # the publish (or the jira) step comes next
        return None
    tag = RefList((run.release,))
    workspace = reresolve(run.config, run.opened(), tag, log=run.log)
    run.workspace = workspace  # the publish's clones, at the tag
    eups = run.tag.eups_tag if run.tag is not None else None
    request = BuildRequest((run.product.name,), tag, eups_tag=eups)
    prepared = prepare(run.config, request, workspace, run.log)
    build(run.config, request, workspace, prepared.manifest, run.log)
    made = prepared.manifest.build_id
    detail = f"build {made} from {run.release}"
    journal.update(lambda j: j.finish_stage(built, now(), detail, build_id=made))
    return None


def built_step(run: SessionRun) -> Stop | None:
    """A weekly's build in the journal, once it exists (it is made at the tags, after the
    build): with ``build.env`` set, ``built[<env>]`` names the environment whose stack has
    the build, and a weekly rerun in another environment (its tags already pushed)
    rebuilds from its tag into that environment's stack before it publishes there.
    Without ``build.env`` there is one stack, where the weekly was built before it was
    tagged: nothing is recorded (the plan's manifest names the build)."""
    if run.dry_run or not run.config.env_name:
        return None
    if run.manifest is None:  # a resumed weekly: built in this environment?
        return _rebuild_from_tag(run)
    made = run.manifest.build_id
    detail = f"build {made} from {' '.join(run.made().plan.source_refs) or 'main'}"
    built = stage_of(run.config, BUILT)
    run.journaled().update(lambda j: j.finish_stage(built, now(), detail, build_id=made))
    return None


def check_destinations_of(run: SessionRun) -> None:
    """The sessions' check of the configured servers: writable (exit 2 if not) before
    anything is planned, built, tagged or pushed; a dry run says it did not check."""
    check_destinations(run.config, dry_run=run.dry_run, log=run.log)


def publish_step(source: str, *, built: bool = True) -> SessionStep:
    """Publish the session's build under its EUPS tag (and floating tag) to the configured
    servers, after a green build (:mod:`dmrelease.stages.release_publish`); ``source``:
    how the packages get their source (a final embeds it: ``package``). ``built``: the
    session built (or, a weekly, checked green) what it tagged; without (a candidate or a
    final with ``--no-build``) the tagged SHAs are published when their build is already
    green (recorded in versiondb, every package installed or on the binary server), and
    the step says why not otherwise."""

    def publish_it(run: SessionRun) -> Stop | None:
        assert run.tag is not None  # a tagging session's
        product = (run.product.name,)
        if run.dry_run:
            what = Publication(product, run.tag.eups_tag, None, source)
            publish_build(run.config, what, None, None, dry_run=True, log=run.log, would=run.would)
            return None
        journal = run.journaled()
        found = journal.current()
        if publication_done(run.config, found):
            done = f"{run.release}: already published (journal)"
            if not _jira_follows(run):
                return Stop(done)
            print(f"publish: {done}", file=run.log)  # the jira step comes next
            return None
        build_id = built_id(run.config, found) or _planned_build(run)
        if not built:
            why = _not_green(run)
            if why:
                return Stop(f"{run.release} not published: {why}")
        what = Publication(product, run.tag.eups_tag, build_id, source)
        publish_build(run.config, what, run.opened(), journal, dry_run=False, log=run.log)
        return None

    return SessionStep("publish", publish_it)


def _jira_follows(run: SessionRun) -> bool:
    """Whether a final's jira step comes last: a rerun (after a Jira outage, the final
    built and published) goes on to it instead of stopping at the build or publish."""
    return run.session is Session.FINAL and bool(run.config.jira_url)


def _fix_versions_step(release_issue: str | None) -> Callable[[SessionRun], Stop | None]:
    """A final's Fix Version on every Jira issue of the release, once built and published
    (jira.url set; :mod:`dmrelease.stages.jira_fix`); journaled as the stage ``jira``, so
    a rerun asks Jira nothing."""

    def fix(run: SessionRun) -> Stop | None:
        from dmrelease.core.requests import FixVersionRequest
        from dmrelease.stages.jira_fix import fix_versions

        if run.dry_run:
            print(f"would set the Fix Version {run.release} on the Jira issues of the release",
                  file=run.log)  # fmt: skip
            return None
        journal = run.journaled()
        if (journal.current() or Journal("", "", {})).has_stage(JIRA):
            print(f"jira: {run.release}: Fix Versions already set (journal)", file=run.log)
            return None
        asked = FixVersionRequest(run.release, run.product.name, release_issue)
        done = fix_versions(run.config, asked, run.log)
        for line in done.lines():
            print(line, file=run.log)
        detail = f"Fix Version {done.version}: "
        detail += f"{len(done.written)} written, {len(done.present)} had it"
        journal.update(lambda j: j.finish_stage(JIRA, now(), detail))
        return None

    return fix


def _not_green(run: SessionRun) -> str | None:
    """Why the plan's build (not made by this session: ``--no-build``) cannot be published
    (None when it can): unknown to versiondb, or packages of it not built."""
    from dmrelease.adapters.versiondb import VersionDb

    plan = run.made().plan
    manifest = parse_manifest(plan.manifest, "<plan>")
    again = "; rerun without --no-build to build and publish it"
    if not (run.config.versiondb / ".git").is_dir() and not run.config.versiondb_remote:
        return f"{plan.build_id} was never built{again}"
    build_id, reused = VersionDb.of(run.config).preview(manifest)
    if not reused:
        return f"its build ({build_id}) was never made{again}"
    if unbuilt(run.config, plan, manifest):  # packages neither installed nor on the server
        return f"packages of {build_id} are not built{again}"
    return None


def _planned_build(run: SessionRun) -> str | None:
    """The build a weekly tagged: its manifest's (a weekly is built before it is tagged,
    and its plan holds the manifest's build id); None leaves it to the publish (the last
    build)."""
    if run.manifest is not None:
        return run.manifest.build_id
    return run.made().plan.build_id or None


def session_run(
    config: Config,
    request: ReleaseRequest,
    out: TextIO | None,
    log: TextIO | None,
    would: WouldRun | None = None,
) -> SessionRun:
    out, log = streams(out, log)
    product = product_of(config, request.product)
    release = str(request.tag)
    run = SessionRun(config, product, request.session, release, request.dry_run, out, log)
    run.tag, run.would = request.tag, would
    return run


def tag_then_build(
    config: Config,
    request: ReleaseRequest,
    out: TextIO | None = None,
    log: TextIO | None = None,
    would: WouldRun | None = None,
) -> Journal | None:
    """release_candidate, final_release, patch_release: plan, tag, then rebuild from the tag
    (``would``: where a dry run keeps the git commands it prints)."""
    session = request.session
    builds = request.build and session.tags
    publishing = session.tags and publishes(config)
    run = session_run(config, request, out, log, would)
    check_aux, write_aux = auxiliary_steps(config, run.product.name)
    steps = [SessionStep("check", check_destinations_of)] if publishing else []
    steps += [
        lock_step(builds, request.break_lock),
        plan_step(lambda run: plan_for(run.config, request, run.log)),
        *check_aux,
        SessionStep("apply", apply_step),
        *write_aux,
    ]
    if builds:
        steps.append(SessionStep("build", _rebuild_from_tag))
    if publishing:
        source = "package" if session is Session.FINAL else "git"
        steps.append(publish_step(source, built=builds))
    if session is Session.FINAL and config.jira_url:
        # last: Jira says "fixed in" only for a final built and published, and a Jira
        # outage cannot stop a final before it is published (a rerun sets them then)
        steps.append(SessionStep("jira", _fix_versions_step(request.release_issue)))
    return run_steps(steps, run).result


def branch_session(
    config: Config,
    product: ProductConfig,
    release_branch: str,
    packages: Sequence[str],
    *,
    dry_run: bool,
    break_lock: bool,
    out: TextIO | None = None,
    log: TextIO | None = None,
    would: WouldRun | None = None,
) -> Journal | None:
    """The branch part of a backport: ``release_branch`` (``vM.n.x``) made from
    ``vM.n.0.rc1``'s SHA in the named ``packages`` that lack it, as a plan applied like any
    release plan (DESIGN.md §1)."""
    out, log = streams(out, log)
    session = Session.BACKPORT
    run = SessionRun(config, product, session, release_branch, dry_run, out, log, would=would)

    def make(run: SessionRun) -> tuple[Planned, Workspace]:
        check_early(config, product, session, release_branch)
        pattern = ReleaseBranchPattern(product.release_branch)
        major, minor = pattern.match(release_branch) or (0, 0)
        refs = RefList((str(Candidate(Release(major, minor, 0), 1)),))
        asked = _Asked(session, release_branch, refs, tuple(packages), release_branch)
        return _plan(config, product, asked, run.log)

    check_aux, write_aux = auxiliary_steps(config, product.name)
    steps = [lock_step(False, break_lock), plan_step(make), *check_aux]
    steps += [SessionStep("apply", apply_step), *write_aux]
    return run_steps(steps, run).result


# -- apply a reviewed plan --------------------------------------------------------------


def apply_file(
    config: Config,
    path: Path,
    *,
    dry_run: bool,
    break_lock: bool,
    out: TextIO | None = None,
    log: TextIO | None = None,
    would: WouldRun | None = None,
) -> Journal | None:
    """Apply the reviewed plan in ``path`` (checksum verified) in the work clones, fetched
    once by this command (its own workspace)."""
    out, log = streams(out, log)
    plan = _read_plan(config, path)
    product = product_of(config, plan.product)
    run = SessionRun(config, product, plan.session, plan.release, dry_run, out, log, would=would)

    def reopen(run: SessionRun) -> None:
        _reopen(run, Planned(plan, {}), str(path))
        missing = sorted(p.name for p in plan.packages if p.name not in run.made().clones)
        if missing:
            raise UsageError(
                f"{', '.join(missing)} not in the product {plan.product} at the plan's refs: "
                "make the plan again with `release plan`"
            )
        log.write(render_plan(plan))

    def weekly_built(run: SessionRun) -> None:
        if plan.session is Session.WEEKLY:  # tagged after a green build only, as the session
            problems = unbuilt(config, plan, parse_manifest(plan.manifest, str(path)))
            if problems:
                raise CheckFailed(problems)

    check_aux, write_aux = auxiliary_steps(config, product.name)
    steps = [
        SessionStep("check", weekly_built),
        lock_step(False, break_lock),
        SessionStep("plan", reopen),
        *check_aux,
        SessionStep("apply", apply_step),
        *write_aux,
    ]
    return run_steps(steps, run).result


def _read_plan(config: Config, path: Path) -> ReleasePlan:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    plan = parse_plan(decode_text(data, str(path)), str(path))
    problems = untrusted(config, plan, str(path))  # before any path is made of its names
    if problems:
        raise CheckFailed(problems)
    return plan
