"""Auxiliary repositories (DMTN-106 §4.5): what a release session does in each, decided
from what its remote shows. Pure: the stage lists the remote and hands the lines in.

An auxiliary repository is not a package of the product but carries its releases
(documentation, environment definitions, the installer, test data). A tagging session
(weekly, candidate, final) tags it with the release's tag after the product's packages are
pushed, as the real release jobs do; a branch session (patch release, backport) makes the
product's release branch in it. Where: the first ref of the session's list that the
repository has (a tag before a branch of the same name, as the product's resolution), else
its configured ``ref``, else its default branch. Nothing that exists is moved: a tag there
at the chosen commit is done already, one at another commit is refused
(``auxiliary-tag-conflict``); a branch there is kept as it is.

A session journals what it chose (:func:`planned_detail`) before it writes, so that a rerun
writes exactly that, even when the branch it came from moved meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dmrelease.core.config import AuxiliaryConfig
from dmrelease.core.errors import Diagnostic
from dmrelease.core.journal import Journal
from dmrelease.core.manifest import SHA_RE
from dmrelease.core.names import Release
from dmrelease.core.plan import ReleasePlan, Session
from dmrelease.core.refnames import ref_name_problem

__all__ = [
    "AuxRemote",
    "AuxTarget",
    "aux_tag_message",
    "decide",
    "parse_ls_remote",
    "planned_detail",
    "planned_in",
    "pushed_stage",
    "release_branch",
]


@dataclass(frozen=True)
class AuxRemote:
    """What ``git ls-remote --symref`` shows of a repository: its default branch (None
    when the remote names none), its branches and its tags (each peeled to its commit)."""

    head: str | None
    branches: Mapping[str, str]
    tags: Mapping[str, str]


def parse_ls_remote(lines: Sequence[str]) -> AuxRemote:
    """``git ls-remote --symref -- URL`` lines: ``ref: refs/heads/B\\tHEAD`` names the
    default branch; ``SHA\\trefs/tags/T^{}`` gives the commit of an annotated tag."""
    head = None
    objects: dict[str, str] = {}
    for line in lines:
        left, _, name = line.partition("\t")
        if left.startswith("ref: ") and name == "HEAD":
            head = left.removeprefix("ref: ").removeprefix("refs/heads/")
        elif SHA_RE.fullmatch(left):
            objects[name] = left
    branches = {
        n.removeprefix("refs/heads/"): sha
        for n, sha in objects.items()
        if n.startswith("refs/heads/")
    }
    tags = {
        n.removeprefix("refs/tags/"): objects.get(f"{n}^{{}}", sha)
        for n, sha in objects.items()
        if n.startswith("refs/tags/") and not n.endswith("^{}")
    }
    return AuxRemote(head, branches, tags)


@dataclass(frozen=True)
class AuxTarget:
    """What one auxiliary repository gets: ``tag`` or ``branch`` at ``sha``, chosen from
    ``ref`` (``ref_kind``: tag or branch); ``done``: its remote has it already (the tag at
    ``sha``, or the branch)."""

    name: str
    url: str
    sha: str
    ref: str
    ref_kind: str
    tag: str | None = None
    branch: str | None = None
    done: bool = False

    @property
    def made(self) -> str:
        """``tag NAME`` or ``branch NAME``: what the session makes there."""
        return f"tag {self.tag}" if self.tag is not None else f"branch {self.branch}"

    def to_dict(self) -> dict[str, object]:
        """The target as ``release plan --json`` shows it (``url`` as configured: the
        caller redacts it)."""
        return {
            "name": self.name, "url": self.url, "sha": self.sha, "ref": self.ref,
            "ref_kind": self.ref_kind, "tag": self.tag, "branch": self.branch, "done": self.done,
        }  # fmt: skip

    def push_options(self) -> tuple[str, ...]:
        """A new branch is pushed with a lease that it must not exist: one made there since
        the check is kept as it is, never fast-forwarded to the chosen commit."""
        if self.tag is not None:
            return ()
        return (f"--force-with-lease=refs/heads/{self.branch}:",)

    def refspec(self) -> str:
        if self.tag is not None:
            return f"refs/tags/{self.tag}:refs/tags/{self.tag}"
        return f"{self.sha}:refs/heads/{self.branch}"

    def line(self) -> str:
        """The plan's line for people."""
        where = f"at {self.sha[:12]} from {self.ref_kind} {self.ref}"
        if not self.done:
            return f"auxiliary {self.name}: {self.made} {where}"
        if self.tag is not None:
            return f"auxiliary {self.name}: {self.made} {where}: already there"
        return f"auxiliary {self.name}: {self.made} exists already: kept as it is"


def release_branch(plan: ReleasePlan) -> str | None:
    """The release branch a branch session makes (None for a tagging session): a
    backport's release is its branch; a patch's is rendered from its version."""
    if plan.session.tags:
        return None
    if plan.session is Session.BACKPORT:
        return plan.release
    return plan.pattern.render(plan.tag) if isinstance(plan.tag, Release) else None


def _resolve(
    auxiliary: AuxiliaryConfig, remote: AuxRemote, refs: Sequence[str], default_branch: str
) -> tuple[str, str, str] | None:
    """(ref, kind, sha): the first of ``refs`` the repository has, a tag before a branch;
    else its configured ref, else its default branch."""
    for ref in refs:
        if ref in remote.tags:
            return ref, "tag", remote.tags[ref]
        if ref in remote.branches:
            return ref, "branch", remote.branches[ref]
    fallback = auxiliary.ref or remote.head or default_branch
    if fallback in remote.branches:
        return fallback, "branch", remote.branches[fallback]
    return None


def decide(
    auxiliary: AuxiliaryConfig,
    remote: AuxRemote,
    plan: ReleasePlan,
    *,
    default_branch: str,
    planned: AuxTarget | None = None,
    shown_url: str = "",
) -> AuxTarget | Diagnostic:
    """What ``auxiliary`` gets in the session of ``plan`` given what its remote shows:
    ``planned`` (what an earlier run of the same plan journaled) when there is one, else
    chosen from the session's refs; or why the session must stop (exit 1)."""
    name = auxiliary.name
    if name in {p.name for p in plan.packages}:
        return Diagnostic(
            name, 1, "auxiliary-in-product",
            f"{name} is a package of {plan.product} and an auxiliary repository",
            hint=f"drop [auxiliary.{name}]: the product's packages are tagged with it",
        )  # fmt: skip
    branch = release_branch(plan)
    tag = plan.release if plan.session.tags else None
    if tag is None and branch is None:
        return Diagnostic(name, 1, "auxiliary-ref", f"no release branch for {plan.release}")
    if planned is not None:
        ref, kind, sha = planned.ref, planned.ref_kind, planned.sha
    else:
        found = _resolve(auxiliary, remote, plan.source_refs, default_branch)
        if found is None:
            tried = [*plan.source_refs, auxiliary.ref or remote.head or default_branch]
            return Diagnostic(
                name, 1, "auxiliary-ref",
                f"{shown_url or name} has none of {', '.join(tried)}",
                hint=f"set ref in [auxiliary.{name}] to a branch it has",
            )  # fmt: skip
        ref, kind, sha = found
    target = AuxTarget(name, auxiliary.url, sha, ref, kind, tag, branch)
    if tag is not None and tag in remote.tags:
        there = remote.tags[tag]
        if there != sha:
            return Diagnostic(
                name, 1, "auxiliary-tag-conflict",
                f"{shown_url or name} has {tag} at {there[:12]}; the release tags "
                f"{sha[:12]} ({kind} {ref})",
                hint="a tag is never moved: tag the release under another name, or delete "
                "that tag by hand if it is wrong",
            )  # fmt: skip
        return _done(target)
    if branch is not None and branch in remote.branches:
        return _done(
            AuxTarget(name, auxiliary.url, remote.branches[branch], ref, kind, tag, branch)
        )
    return target


def _done(target: AuxTarget) -> AuxTarget:
    return AuxTarget(target.name, target.url, target.sha, target.ref, target.ref_kind,
                     target.tag, target.branch, done=True)  # fmt: skip


def aux_tag_message(plan: ReleasePlan, name: str) -> str:
    """An auxiliary repository's annotated tag message: the release it carries, its build
    id and the plan's checksum (the fields of the product's tag messages)."""
    return (
        f"{plan.product} {plan.release}\n\n"
        f"version: {plan.release}\n"
        f"session: {plan.session}\n"
        f"auxiliary: {name}\n"
        f"build: {plan.build_id or '-'}\n"
        f"manifest: {plan.manifest_checksum or '-'}\n"
        f"plan: {plan.checksum}\n"
    )


def _planned_stage(name: str) -> str:
    return f"auxiliary {name} planned"


def pushed_stage(name: str) -> str:
    """The journal stage of an auxiliary repository whose tag or branch is on its remote."""
    return f"auxiliary {name} pushed"


def planned_detail(target: AuxTarget) -> tuple[str, str]:
    """(stage, detail) journaling what ``target`` gets before it is written."""
    return _planned_stage(target.name), f"{target.sha} {target.ref_kind} {target.ref}"


def planned_in(journal: Journal | None, auxiliary: AuxiliaryConfig) -> AuxTarget | None:
    """What an earlier run journaled for ``auxiliary`` (its commit and the ref it came
    from), None when it journaled nothing valid."""
    if journal is None:
        return None
    stage = _planned_stage(auxiliary.name)
    for event in reversed(journal.events):
        if event.step != stage:
            continue
        sha, _, rest = event.detail.partition(" ")
        kind, _, ref = rest.partition(" ")
        if SHA_RE.fullmatch(sha) and kind in ("tag", "branch") and not ref_name_problem(ref):
            return AuxTarget(auxiliary.name, auxiliary.url, sha, ref, kind)
        return None
    return None
