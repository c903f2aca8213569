"""Release stage, part one: compute the plan and gather the facts the rules judge.

The plan is made from the command's :class:`~dmrelease.stages.workspace.Workspace` (every
package cloned or fetched once, the ref list resolved first-match per package, the tables
read, DESIGN.md §2), but it records nothing: the build id is the one versiondb would give
(reused for known content, else the next). The facts come from the remotes themselves
(``git ls-remote``), the ancestry answers from ``git merge-base --is-ancestor`` in the
clones (issue 5 §2).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dmrelease.adapters.config import auto_git_jobs, auto_jobs
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.auxiliary import AuxTarget
from dmrelease.core.build import Action
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.facts import Facts, RepoFacts, facts_from_remote
from dmrelease.core.journal import Lock
from dmrelease.core.manifest import Manifest, content_hash, parse_manifest, render_manifest
from dmrelease.core.names import Release
from dmrelease.core.plan import ReleasePlan, Session, candidates_of, make_plan, read_tag_message
from dmrelease.core.refs import Resolution
from dmrelease.core.requests import ReleaseRequest
from dmrelease.core.rules import ancestry_questions
from dmrelease.stages.rebuild import builder_for
from dmrelease.stages.workspace import Workspace, load_repos

if TYPE_CHECKING:
    from dmrelease.core.criteria import Asked, CriteriaFacts, WeeklyFacts


@dataclass(frozen=True)
class Planned:
    """A plan, the clone of each of its packages, and what was left out of it and why;
    ``auxiliary``: what its auxiliary repositories get, once they were listed."""

    plan: ReleasePlan
    clones: Mapping[str, Path]
    notes: tuple[str, ...] = ()
    auxiliary: tuple[AuxTarget, ...] = ()


def product_of(config: Config, name: str | None, selected: Sequence[str] = ()) -> ProductConfig:
    """The product a session works on: ``name``, or the only one of ``selected`` (the
    products option; every configured product when empty)."""
    return config.one_product(name, selected)


def _build_id(config: Config, manifest: Manifest) -> str:
    """The build id the rebuild will record: reused for known content, else the next."""
    if not config.versiondb_remote and not (config.versiondb / ".git").is_dir():
        return "b1"
    versiondb = VersionDb.of(config)
    return versiondb.preview(manifest)[0]  # with a remote, what the remote holds (issue 9 §4)


def plan_session(
    config: Config,
    product: ProductConfig,
    session: Session,
    release: str,
    workspace: Workspace,
    *,
    packages: Sequence[str] = (),
    branch: str | None = None,
) -> Planned:
    """Plan ``session`` from the workspace (resolved against the session's refs); branch-only
    sessions make ``branch`` in the named ``packages`` that do not have it yet."""
    if not session.tags:
        if branch is None:
            raise ValueError(f"{session} makes a release branch: name it")  # a caller's bug
        return _branch_plan(product, session, release, branch, workspace, packages)
    manifest = workspace.manifest
    manifest = dataclasses.replace(manifest, build_id=_build_id(config, manifest))
    refs = workspace.refs.refs
    plan = tag_plan(product, session, release, refs, workspace.resolutions(), manifest)
    return Planned(plan, workspace.clones(), workspace.notes)


def tag_plan(
    product: ProductConfig,
    session: Session,
    release: str,
    refs: Sequence[str],
    resolutions: Mapping[str, Resolution],
    manifest: Manifest,
) -> ReleasePlan:
    """The plan of a tagging session: every package of ``manifest`` in its order, with the
    build id, the manifest and its content hash the tags will carry (DMTN-106 §2.3); a
    library's packages (in the manifest, not among the product's ``resolutions``) are
    the library's to tag, not this product's."""
    return make_plan(
        product.name,
        session,
        release,
        refs,
        resolutions,
        order=[e.name for e in manifest.entries if e.name in resolutions],
        external=product.external_repos,
        branch_pattern=product.release_branch,
        build_id=manifest.build_id or "",
        manifest=render_manifest(manifest),
        manifest_checksum=content_hash(manifest),
    )


def _branch_plan(
    product: ProductConfig,
    session: Session,
    release: str,
    branch: str,
    workspace: Workspace,
    packages: Sequence[str],
) -> Planned:
    sources = workspace.sources
    unknown = [name for name in packages if name not in sources]
    if unknown or not packages:
        known = ", ".join(sorted(sources))
        what = f"unknown package {', '.join(unknown)}; " if unknown else ""
        raise UsageError(
            f"{what}name the packages that need the branch (of {product.name}: {known})"
        )
    need = [n for n in packages if branch not in sources[n].refs.branches]
    notes = tuple(f"{n}: {branch} exists already" for n in packages if n not in need)
    plan = make_plan(
        product.name,
        session,
        release,
        workspace.refs.refs,
        {n: sources[n].resolution for n in need},
        branch=branch,
        branch_pattern=product.release_branch,
    )
    return Planned(plan, {n: sources[n].clone for n in packages}, notes)


def _remote_facts(git: Git) -> RepoFacts:
    return facts_from_remote(git.remote_refs())


def _answers(git: Git, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], bool]:
    return {pair: git.is_ancestor(*pair) for pair in sorted(pairs)}


def gather_facts(
    config: Config,
    plan: ReleasePlan,
    clones: Mapping[str, Path],
    lock: Lock | None,
    known: Mapping[str, RepoFacts] | None = None,
) -> Facts:
    """What every remote shows now, the ancestry answers and, for a final, the manifest
    checksum the last candidate's tag carries; one ``ls-remote`` per package whose remote
    is not ``known`` already (read by the command's fetch), in parallel."""
    gits = {p.name: Git(clones[p.name], timeout=config.git_timeout) for p in plan.packages}
    known = known or {}
    unknown = [name for name in gits if name not in known]
    try:
        with ThreadPoolExecutor(max_workers=auto_git_jobs(config.git_jobs)) as pool:
            found = dict(
                zip(unknown, pool.map(_remote_facts, (gits[n] for n in unknown)), strict=True)
            )
            listed = {name: known[name] if name in known else found[name] for name in gits}
            partial = Facts(listed)
            questions = ancestry_questions(plan, partial)
            jobs = [pool.submit(_answers, gits[n], pairs) for n, pairs in questions.items()]
            answers = dict(zip(questions, (job.result() for job in jobs), strict=True))
    except GitError as exc:
        raise CheckFailed([Diagnostic(str(exc.repo.name), 1, "git", exc.stderr)]) from None
    checksums = _candidate_checksums(config, plan, clones)
    return Facts(listed, answers, checksums, lock)


def _candidate_checksums(
    config: Config, plan: ReleasePlan, clones: Mapping[str, Path]
) -> dict[str, str]:
    """For a final: the manifest checksum in the last candidate's tag of the product."""
    clone = clones.get(plan.product)
    if plan.session is not Session.FINAL or clone is None:
        return {}
    git = Git(clone, timeout=config.git_timeout)
    names = [ref.removeprefix("refs/tags/") for ref in git.refs("refs/tags/")]
    found = candidates_of(plan.tag, names) if isinstance(plan.tag, Release) else []
    if not found:
        return {}
    message = git.run("for-each-ref", "--format=%(contents)", f"refs/tags/{found[-1]}")
    recorded = read_tag_message(message).get("manifest", "-")
    return {str(found[-1]): recorded} if recorded != "-" else {}


def remote_tags(config: Config, product: ProductConfig, package: str) -> list[str]:
    """The tag names of ``package``'s remote (``product``'s repos.yaml URL), without
    cloning it."""
    entries, _origin = load_repos((product,))
    if package not in entries:
        raise UsageError(f"{package} is not in repos.yaml")
    out = Git(Path.cwd(), timeout=config.git_timeout).lines(
        "ls-remote", "--tags", "--refs", "--", entries[package].url
    )
    return [line.partition("\trefs/tags/")[2] for line in out]


def unbuilt(config: Config, plan: ReleasePlan, manifest: Manifest) -> list[Diagnostic]:
    """``weekly-unbuilt``: without a build, a weekly tags only a manifest whose every
    package is installed or on the binary server, i.e. was built green before."""
    actions = builder_for(config).plan(manifest, auto_jobs(config.jobs))
    missing = [name for name, action in actions.items() if action is Action.BUILT]
    if not missing:
        return []
    message = (
        f"{', '.join(missing)} of {plan.build_id} not built; a weekly is tagged after a green build"
    )
    return [Diagnostic(plan.product, 1, "weekly-unbuilt", message, hint="drop --no-build")]


# -- change control (DMTN-106 §3, §4.4): the facts the criteria judge -------------------


def with_change_control(
    config: Config,
    request: ReleaseRequest,
    planned: Planned,
    workspace: Workspace,
    log: TextIO | None = None,
) -> Planned:
    """The plan with its change-control record, once :func:`dmrelease.core.criteria.judge`
    found nothing to refuse (CheckFailed, exit 1, naming each open issue and missing
    approval, before anything is written); its notes say what was not judged. Jira is
    asked only for an rc1 or a patch, and only when jira.url is set."""
    from dmrelease.core.criteria import Asked, judge

    plan = planned.plan
    asked = Asked(request.release_issue, request.waivers, request.approved_by, request.rfc)
    facts = _criteria_facts(config, plan, asked, planned.clones, workspace, log)
    record, problems, notes = judge(plan, asked, facts)
    if problems:
        raise CheckFailed(problems)
    plan = dataclasses.replace(plan, change_control=record)
    return dataclasses.replace(planned, plan=plan, notes=(*planned.notes, *notes))


def _criteria_facts(
    config: Config,
    plan: ReleasePlan,
    asked: Asked,
    clones: Mapping[str, Path],
    workspace: Workspace,
    log: TextIO | None,
) -> CriteriaFacts:
    from dmrelease.core.criteria import CriteriaFacts, needs_rc1, needs_rfc

    facts = CriteriaFacts(jira=bool(config.jira_url), rfc_approved=config.jira_rfc_approved)
    rc1, patch = needs_rc1(plan), needs_rfc(plan)
    if facts.jira and (rc1 or patch):
        facts = _jira_facts(config, facts, asked, rc1=rc1, patch=patch, log=log)
    if rc1 and facts.jira:
        facts = dataclasses.replace(facts, weekly=_weekly_facts(config, plan, clones))
    clone = clones.get(plan.product)
    if clone is None or plan.session is Session.WEEKLY:
        return facts
    return _contents_facts(config, plan, clone, workspace, facts)


def _jira_facts(
    config: Config,
    facts: CriteriaFacts,
    asked: Asked,
    *,
    rc1: bool,
    patch: bool,
    log: TextIO | None,
) -> CriteriaFacts:
    from dmrelease.adapters.jira import JiraClient

    client = JiraClient.of(config, refresh=True, log=log)  # the facts as they are now
    if rc1 and asked.release_issue:
        issue = client.issue(asked.release_issue)
        blockers = tuple(client.blockers(asked.release_issue)) if issue is not None else ()
        facts = dataclasses.replace(facts, release_issue=issue, blockers=blockers)
    if patch and asked.rfc:
        facts = dataclasses.replace(facts, rfc=client.issue(asked.rfc))
    return facts


def _tag_build(git: Git, tag: str) -> str | None:
    """The build id an annotated tag's message names (``build: bN``), None without one."""
    message = git.run("for-each-ref", "--format=%(contents)", f"refs/tags/{tag}")
    build = read_tag_message(message).get("build", "-")
    return None if build == "-" else build


def _weekly_facts(config: Config, plan: ReleasePlan, clones: Mapping[str, Path]) -> WeeklyFacts:
    """The rc1's source weekly: green when its tag is what every package of the plan was
    made from and the build its tag names is recorded in versiondb (a weekly is tagged
    only after a green build, ``weekly-unbuilt``)."""
    from dmrelease.core.criteria import WeeklyFacts, source_weekly

    weekly = source_weekly(plan)
    if weekly is None:
        return WeeklyFacts(None)
    missing = tuple(p.name for p in plan.packages if p.ref != weekly)
    clone = clones.get(plan.product)
    if missing or clone is None:
        return WeeklyFacts(weekly, missing or (plan.product,))
    build_id = _tag_build(Git(clone, timeout=config.git_timeout), weekly)
    return WeeklyFacts(weekly, (), build_id, _recorded_build(config, build_id))


def _recorded_build(config: Config, build_id: str | None) -> bool:
    return _build_text(config, build_id) is not None


def _build_text(config: Config, build_id: str | None) -> str | None:
    if build_id is None:
        return None
    if not config.versiondb_remote and not (config.versiondb / ".git").is_dir():
        return None
    return VersionDb.of(config).build_manifest(build_id)


def _contents_facts(
    config: Config, plan: ReleasePlan, clone: Path, workspace: Workspace, facts: CriteriaFacts
) -> CriteriaFacts:
    """The packages new to the product's closure since the previous final (its build's
    manifest in versiondb) and their approvals, and the third-party rule, from the
    contents file at the plan's SHA of the metapackage (the product's own repository)."""
    from dmrelease.core.contents import (
        CONTENTS_PATH,
        approval_of,
        check_third_party,
        parse_contents,
    )
    from dmrelease.core.criteria import previous_final

    git = Git(clone, timeout=config.git_timeout)
    sha = plan.package(plan.product).sha if plan.product in plan.shas() else "HEAD"
    path = CONTENTS_PATH.format(product=plan.product)
    text = git.run("show", f"{sha}:{path}", check=False) if _has(git, sha, path) else None
    contents = parse_contents(text, path) if text is not None else None
    names = [ref.removeprefix("refs/tags/") for ref in git.refs("refs/tags/")]
    previous = previous_final(plan, names)
    new: tuple[str, ...] = ()
    if previous is not None:
        before = _build_text(config, _tag_build(git, str(previous)))
        if before is not None:
            known = set(parse_manifest(before, f"<{previous}>").packages)
            new = tuple(p.name for p in plan.packages if p.name not in known)
    approvals = {n: approval_of(contents, n) for n in new} if contents is not None else {}
    third: tuple[Diagnostic, ...] = ()
    if contents is not None:
        product = product_of(config, plan.product)
        eups = sorted(set(product.external) | workspace.graph.external_names())
        conda = _conda_names(git, sha)
        third = tuple(check_third_party(contents, eups, conda, path))
    return dataclasses.replace(
        facts,
        previous=None if previous is None else str(previous),
        new_packages=new,
        approvals=approvals,
        contents=path if contents is not None else None,
        third_party=third,
    )


def _has(git: Git, sha: str, path: str) -> bool:
    return git.ok("cat-file", "-e", f"{sha}:{path}")


_CONDA_FILE = re.compile(r"(^|/)(environment|conda)[^/]*\.ya?ml$")


def _conda_names(git: Git, sha: str) -> list[str]:
    """The package names of the conda environment files of the metapackage at ``sha``
    (the files the check-conda-env hook checks)."""
    import yaml

    from dmrelease.core.conda_env import parse_spec

    names: list[str] = []
    for path in git.lines("ls-tree", "-r", "--name-only", sha):
        if not _CONDA_FILE.search(path):
            continue
        try:
            data = yaml.safe_load(git.run("show", f"{sha}:{path}"))
        except yaml.YAMLError:
            continue  # the check-conda-env hook reports it
        deps = data.get("dependencies") if isinstance(data, dict) else None
        for item in deps if isinstance(deps, list) else ():
            spec = parse_spec(item) if isinstance(item, str) else None
            if spec is not None and not isinstance(spec, str) and spec.name not in names:
                names.append(spec.name)
    return names
