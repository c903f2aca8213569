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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.config import auto_git_jobs, auto_jobs
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.auxiliary import AuxTarget
from dmrelease.core.build import Action
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.facts import Facts, RepoFacts, facts_from_remote
from dmrelease.core.journal import Lock
from dmrelease.core.manifest import Manifest, content_hash, render_manifest
from dmrelease.core.names import Release
from dmrelease.core.plan import ReleasePlan, Session, candidates_of, make_plan, read_tag_message
from dmrelease.core.refs import Resolution
from dmrelease.core.rules import ancestry_questions
from dmrelease.stages.rebuild import builder_for
from dmrelease.stages.workspace import Workspace, load_repos


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
    products = config.products_named(selected)
    if name is not None:
        products = tuple(p for p in config.products if p.name == name)
        if not products:
            raise UsageError(f"product {name!r} is not configured in dm-release.toml")
    if len(products) != 1:
        names = ", ".join(p.name for p in products) or "none"
        raise UsageError(f"a release is of one product; give --product (configured: {names})")
    return products[0]


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
