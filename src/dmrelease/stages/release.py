"""The release sessions (DESIGN.md §1, DMTN-106 §4-5, issue 5 §4).

- ``weekly``: rebuild from ``main``, then tag ``w.YYYY.WW`` (tags after a green build);
- ``release_candidate``: plan, tag ``vM.n.p.rcN``, rebuild from the new tag (tags before
  the build, DMTN-106 §4.4);
- ``final_release``: tag the last candidate's SHAs ``M.n.p``, rebuild (same versions, so
  binaries are reused);
- ``patch_release``: release branches from the final tags of the impacted packages.

Each session takes the product's release lock, plans, applies the plan through
:mod:`dmrelease.stages.release_apply` (journaled, resumable) and releases the lock when it
is done. A failure that leaves nothing half-made (before any write, or in a rerun of a
finished session) releases it too; after unfinished pushes, or tags not yet built, the lock
stays, so that a weekly cannot tag over a half-made release: rerun the session to finish.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.journal import JournalFile, LockFile, now
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.facts import Facts, RepoFacts
from dmrelease.core.journal import Journal, Lock
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import parse_manifest
from dmrelease.core.names import Candidate, Release, ReleaseBranchPattern, eups_tag
from dmrelease.core.plan import (
    PackagePlan,
    ReleasePlan,
    Session,
    candidates_of,
    default_candidate_refs,
    parse_plan,
    render_plan,
)
from dmrelease.core.rules import check_plan, check_tag_name, check_weekly_order
from dmrelease.core.rules_versions import check_final, check_rc_sequence
from dmrelease.stages.release_apply import apply_plan, streams, untrusted
from dmrelease.stages.release_plan import (
    Planned,
    clone_root,
    gather_facts,
    plan_session,
    product_of,
    remote_tags,
    tag_plan,
    unbuilt,
)
from dmrelease.stages.release_state import journal_for, release_lock, resume


@dataclass(frozen=True)
class Request:
    """What a release verb was asked: product, tag or release, refs, packages, options."""

    release: str
    product: str | None = None
    refs: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    dry_run: bool = False
    break_lock: bool = False
    build: bool = True


def show_plan(planned: Planned, log: TextIO) -> None:
    log.write(render_plan(planned.plan))
    for note in planned.notes:
        print(f"  note: {note}", file=log)


def _apply(
    config: Config, planned: Planned, lock: Lock | None, request: Request, out: TextIO, log: TextIO
) -> Journal | None:
    plan = planned.plan
    journal = journal_for(config, plan.product, plan.session, plan.release)
    return apply_plan(
        config,
        plan,
        planned.clones,
        journal=journal,
        lock=lock,
        dry_run=request.dry_run,
        out=out,
        log=log,
    )


def check_early(config: Config, product: ProductConfig, session: Session, release: str) -> None:
    """Refuse a bad name or an out-of-sequence candidate or final before any clone is made:
    ``tag-canonical``, ``tag-kind``, then ``rc-gap``, ``rc-order``, ``rc-after-final`` and
    ``final-without-rc``, ``weekly-order`` against the tags of the product's repository
    (a weekly is refused before its build, not after)."""
    stub = ReleasePlan(product.name, session, release, (), (), product.release_branch)
    problems = check_tag_name(stub, Facts({}))
    if not problems and session in (Session.CANDIDATE, Session.FINAL, Session.WEEKLY):
        names = remote_tags(config, product.name)
        facts = Facts({product.name: RepoFacts(dict.fromkeys(names, ""))})
        problems = check_rc_sequence(stub, facts) + check_final(stub, facts)
        itself = PackagePlan(product.name, "", "", "", "")
        problems += check_weekly_order(dataclasses.replace(stub, packages=(itself,)), facts)
    if problems:
        raise CheckFailed(problems)


def session_refs(
    config: Config, product: ProductConfig, session: Session, release: str, given: Sequence[str]
) -> tuple[str, ...]:
    """The source refs: as given, else the session's default (DESIGN.md §1): rcN from the
    release branch and rc(N-1), a final from the last candidate, a patch's branches from
    the previous final, a backport's branches from ``vM.n.0.rc1``, a weekly from main."""
    if given:
        return tuple(given)
    pattern = ReleaseBranchPattern(product.release_branch)
    if session is Session.CANDIDATE:
        refs = default_candidate_refs(Candidate.parse(release), pattern)
        if not refs:
            raise UsageError(f"{release} is made from a weekly: give it, e.g. --refs w.2025.24")
        return refs
    if session is Session.FINAL:
        return (str(_last_candidate(config, product, Release.parse(release))),)
    if session is Session.PATCH:
        final = Release.parse(release)
        return (str(Release(final.major, final.minor, final.patch - 1)),)
    if session is Session.BACKPORT:
        major, minor = pattern.match(release) or (0, 0)
        return (str(Candidate(Release(major, minor, 0), 1)),)
    return tuple(config.refs)


def _last_candidate(config: Config, product: ProductConfig, release: Release) -> Candidate:
    found = candidates_of(release, remote_tags(config, product.name))
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


def plan_for(config: Config, request: Request, session: Session, root: Path) -> Planned:
    """Check the name, choose the refs and plan ``session`` (the ``release plan`` verb).

    When the default refs of a candidate name a release branch that no package has (no
    backport was needed), the candidate is made from the previous tag alone."""
    product = product_of(config, request.product)
    check_early(config, product, session, request.release)
    refs = session_refs(config, product, session, request.release, request.refs)
    try:
        return plan_session(
            config, product, session, request.release, refs, root, packages=request.packages
        )
    except CheckFailed as exc:
        if request.refs or session is not Session.CANDIDATE or not _only_unmatched(exc, refs[0]):
            raise
    planned = plan_session(config, product, session, request.release, refs[1:], root)
    note = f"no package has the release branch {refs[0]}: made from {refs[1]} alone"
    return dataclasses.replace(planned, notes=(*planned.notes, note))


def _only_unmatched(failure: CheckFailed, ref: str) -> bool:
    found = failure.diagnostics
    return len(found) == 1 and found[0].rule == "ref-unmatched" and repr(ref) in found[0].message


def _rebuild_from(
    config: Config, product: str, tag: str, journal: JournalFile, log: TextIO
) -> None:
    """Rebuild from the new tag (DMTN-106 §4.4); skipped when the journal says it is done."""
    from dmrelease.stages.rebuild import rebuild

    if (journal.load() or Journal("", "", {})).has_stage("built"):
        print(f"{tag}: already built (journal)", file=log)
        return
    scoped = dataclasses.replace(config, refs=(tag,), selected=(product,), eups_tag=eups_tag(tag))
    prepared, _built = rebuild(scoped, log=log)
    build_id = prepared.manifest.build_id
    journal.update(lambda j: j.finish_stage("built", now(), f"build {build_id} from {tag}"))


def tag_then_build(
    config: Config,
    session: Session,
    request: Request,
    out: TextIO | None = None,
    log: TextIO | None = None,
) -> Journal | None:
    """release_candidate, final_release, patch_release: plan, tag, then rebuild from the tag."""
    out, log = streams(out, log)
    product = product_of(config, request.product)
    with release_lock(
        config,
        product.name,
        session,
        request.release,
        break_lock=request.break_lock,
        dry_run=request.dry_run,
        log=log,
        build=request.build and session.tags,
    ) as lock:
        with clone_root(config, dry_run=request.dry_run) as root:
            planned = None if request.dry_run else resume(config, product, session, request.release)
            planned = planned or plan_for(config, request, session, root)
            show_plan(planned, log)
            journal = _apply(config, planned, lock, request, out, log)
        if session.tags and request.build and not request.dry_run:
            file = journal_for(config, product.name, session, request.release)
            _rebuild_from(config, product.name, request.release, file, log)
        elif session.tags and request.build:
            print(f"would rebuild {product.name} from {request.release}", file=log)
    return journal


def _weekly_plan(
    config: Config, product: ProductConfig, request: Request, lock: Lock | None, log: TextIO
) -> Planned:
    """Prepare from the refs (main by default), check every rule, then build: the weekly
    tag is planned at the SHAs of a green build, and nothing is built or declared for a
    weekly that could not be tagged. ``--no-build`` only tags a manifest already built."""
    from dmrelease.stages.rebuild import build, prepare

    scoped = dataclasses.replace(
        config, selected=(product.name,), eups_tag=eups_tag(request.release)
    )
    prepared = prepare(scoped, log=log)
    manifest = prepared.manifest
    resolutions = {n: s.resolution for n, s in prepared.sources.items()}
    plan = tag_plan(product, Session.WEEKLY, request.release, config.refs, resolutions, manifest)
    planned = Planned(plan, {n: s.clone for n, s in prepared.sources.items()})
    problems = check_plan(plan, gather_facts(config, plan, planned.clones, lock))
    if not problems and not request.build:
        problems = unbuilt(scoped, plan, manifest)
    if problems:
        raise CheckFailed(problems)
    if request.build:
        build(scoped, manifest, log=log)
    return planned


def weekly(
    config: Config, request: Request, out: TextIO | None = None, log: TextIO | None = None
) -> Journal | None:
    """The weekly: a green build from main, then ``w.YYYY.WW`` at its SHAs (tags after)."""
    out, log = streams(out, log)
    product = product_of(config, request.product)
    check_early(config, product, Session.WEEKLY, request.release)
    with release_lock(
        config,
        product.name,
        Session.WEEKLY,
        request.release,
        break_lock=request.break_lock,
        dry_run=request.dry_run,
        log=log,
    ) as lock:
        if request.dry_run:
            print(f"would rebuild {product.name} from {' '.join(config.refs) or 'main'}", file=log)
            with clone_root(config, dry_run=True) as root:
                planned = plan_for(config, request, Session.WEEKLY, root)
                show_plan(planned, log)
                return _apply(config, planned, lock, request, out, log)
        resumed = resume(config, product, Session.WEEKLY, request.release)
        planned = resumed or _weekly_plan(config, product, request, lock, log)
        show_plan(planned, log)
        return _apply(config, planned, lock, request, out, log)


def validate(config: Config, planned: Planned) -> list[Diagnostic]:
    """Every rule against the remotes as they are now (``release validate``)."""
    lock = LockFile.of(config.state_dir, planned.plan.product).read()
    return check_plan(planned.plan, gather_facts(config, planned.plan, planned.clones, lock))


def apply_file(
    config: Config,
    path: Path,
    *,
    dry_run: bool,
    break_lock: bool,
    out: TextIO | None = None,
    log: TextIO | None = None,
) -> Journal | None:
    """Apply the reviewed plan in ``path`` (checksum verified) with the work clones."""
    out, log = streams(out, log)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    text = decode_text(data, str(path))
    plan = parse_plan(text, str(path))
    problems = untrusted(config, plan, str(path))  # before any path is made of its names
    if problems:
        raise CheckFailed(problems)
    clones = {p.name: config.work_dir / "clones" / p.name for p in plan.packages}
    missing = sorted(name for name, clone in clones.items() if not (clone / ".git").is_dir())
    if missing:
        raise UsageError(
            f"no clone of {', '.join(missing)} in {config.work_dir / 'clones'}: "
            "make the plan with `release plan` in this work directory"
        )
    if plan.session is Session.WEEKLY:  # tagged after a green build only, as the session is
        problems = unbuilt(config, plan, parse_manifest(plan.manifest, str(path)))
        if problems:
            raise CheckFailed(problems)
    request = Request(plan.release, plan.product, dry_run=dry_run, break_lock=break_lock)
    with release_lock(
        config,
        plan.product,
        plan.session,
        plan.release,
        break_lock=break_lock,
        dry_run=dry_run,
        log=log,
    ) as lock:
        log.write(render_plan(plan))
        return _apply(config, Planned(plan, clones), lock, request, out, log)
