"""Release stage, part two: apply exactly a reviewed plan, journaled, resumable (issue 5 §3).

1. re-verify: list every remote (``git ls-remote``), run every rule; any problem stops the
   run before anything is written. The clones are the command's workspace, fetched once
   by it (issue 9 §1): the apply does not fetch them again;
2. tag: create the annotated tags locally in each clone (message: version, build id,
   manifest and plan checksums) and verify them all;
3. push: ``git push --atomic`` per repository of its tags and new branch, in a bounded
   pool, then verify the remote. Each step is recorded in the journal.

A rerun of an interrupted run re-verifies every repository and skips what is done: a tag
already on the remote at the planned commit is a no-op, one elsewhere is an error; nothing
is ever forced, moved or deleted. ``dry_run`` prints every git command that would write
and runs none of them.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

from dmrelease.adapters.config import auto_jobs
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.journal import JournalFile, now, write_atomically
from dmrelease.core.config import Config
from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError
from dmrelease.core.facts import Facts, RepoFacts, facts_from_remote
from dmrelease.core.journal import Journal, Lock, Step
from dmrelease.core.manifest import SHA_RE
from dmrelease.core.packages import is_package_name
from dmrelease.core.plan import PackagePlan, ReleasePlan, plan_to_json, tag_message
from dmrelease.core.redact import redact
from dmrelease.core.refnames import ref_name_problem
from dmrelease.core.rules import check_plan
from dmrelease.stages.release_plan import gather_facts

REMOTE = "origin"
_T = TypeVar("_T")
_R = TypeVar("_R")


class PushFailed(DmReleaseError):
    """Some repositories could not be tagged (then nothing was pushed) or pushed (the
    others are done); a rerun of the same command finishes the job."""

    def __init__(self, failures: Mapping[str, str], step: str = "pushed") -> None:
        self.failures = dict(failures)
        lines = "\n  ".join(f"{name}: {why}" for name, why in sorted(failures.items()))
        super().__init__(
            f"{len(failures)} repositories not {step}:\n  {lines}\n"
            "rerun the same command to finish: what is done is verified and skipped"
        )


@dataclass(frozen=True)
class Writer:
    """Runs the git commands that write, or with ``dry_run`` prints them instead."""

    dry_run: bool
    out: TextIO

    def __call__(self, package: str, git: Git, *args: str) -> None:
        if self.dry_run:
            print(f"{package}: git {shlex.join(args)}", file=self.out, flush=True)
        else:
            git.run(*args)


def streams(out: TextIO | None, log: TextIO | None) -> tuple[TextIO, TextIO]:
    """stdout and stderr as they are now (not as they were at import time)."""
    return (sys.stdout if out is None else out), (sys.stderr if log is None else log)


def untrusted(config: Config, plan: ReleasePlan, path: str) -> list[Diagnostic]:
    """What a plan file says that must not be taken as given (issue 8 §5): its checksum
    is easy to recompute, so the product must be one configured here, with the release
    branch pattern configured for it (the paths of its journal and lock are made of the
    product's name), and every name that reaches git must be a ref name."""
    products = {p.name: p for p in config.products}
    product = products.get(plan.product)
    if product is None or not is_package_name(plan.product):
        configured = ", ".join(sorted(products)) or "none"
        return [
            Diagnostic(
                path, 1, "plan-product",
                f"{plan.product!r} is not a product configured here (configured: {configured})",
                hint="apply a plan in the work directory and configuration that made it",
            )
        ]  # fmt: skip
    problems = []
    if plan.branch_pattern != product.release_branch:
        message = (
            f"release branch pattern {plan.branch_pattern!r} is not {product.release_branch!r}"
            f" configured for {plan.product}"
        )
        problems.append(Diagnostic(path, 1, "plan-product", message))
    names = [("release", plan.release)] + [("source ref", ref) for ref in plan.source_refs]
    for package in plan.packages:
        names.append((f"{package.name}: ref", package.ref))
        names.extend((f"{package.name}: tag", tag) for tag in package.tags)
        if package.branch is not None:
            names.append((f"{package.name}: branch", package.branch))
        if not SHA_RE.fullmatch(package.sha):
            message = f"{package.name}: {package.sha!r} is not a 40-hex commit"
            problems.append(Diagnostic(path, 1, "plan-name", message))
    for what, name in names:
        problem = ref_name_problem(name)
        if problem:
            problems.append(Diagnostic(path, 1, "plan-name", f"{what} {name!r}: {problem}"))
    return problems


def _pool_map(jobs: int, work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    if jobs <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(work, items))


@dataclass(frozen=True)
class Applier:
    """Applies one plan; ``gits`` hold the tagger identity, ``journal`` is None in a dry
    run (which writes no journal either)."""

    plan: ReleasePlan
    gits: Mapping[str, Git]
    write: Writer
    journal: JournalFile | None
    jobs: int

    def record(self, change: Callable[[Journal], Journal]) -> None:
        if self.journal is not None:
            self.journal.update(change)

    def local_problems(self, facts: Facts) -> list[Diagnostic]:
        """Local tags left by an earlier run must point at the planned commit (a tag the
        remote has is judged by ``tag-conflict`` and never pushed from here)."""
        problems = []
        for package in self.plan.packages:
            for tag in package.tags:
                if tag in facts.repo(package.name).tags:
                    continue
                there = _local_tag(self.gits[package.name], tag)
                if there is not None and there[1] != package.sha:
                    problems.append(_local_conflict(package, tag, there[1]))
        return problems

    def tag(self, package: PackagePlan, remote: RepoFacts) -> str | None:
        """Create and verify the local tags ``package`` still needs; the error, if any."""
        git = self.gits[package.name]
        try:
            for tag in package.tags:
                if remote.tags.get(tag) == package.sha or _local_tag(git, tag) is not None:
                    continue
                message = tag_message(self.plan, tag)
                self.write(package.name, git, "tag", "--annotate", "-m", message, tag, package.sha)
            if not self.write.dry_run:
                _verify_local(git, package, remote)
        except (GitError, DmReleaseError) as exc:
            why = _short_error(exc)
            self.record(lambda j: j.fail(package.name, why, now()))
            return why
        if not self.write.dry_run:
            self.record(lambda j: _at_least(j, package.name, Step.TAGGED, "local tags verified"))
        return None

    def push(self, package: PackagePlan, remote: RepoFacts) -> str | None:
        """Push what the remote lacks in one atomic push, then verify the remote."""
        refspecs = _missing_refspecs(package, remote)
        git = self.gits[package.name]
        try:
            if refspecs:
                self.write(package.name, git, "push", "--atomic", REMOTE, *refspecs)
            if not self.write.dry_run:
                _verify_remote(git, package)
        except (GitError, DmReleaseError) as exc:
            why = _short_error(exc)
            self.record(lambda j: j.fail(package.name, why, now()))
            return why
        detail = f"pushed {len(refspecs)} refs" if refspecs else "already on the remote"
        if not self.write.dry_run:
            self.record(lambda j: j.advance(package.name, Step.PUSHED, now(), detail))
        return None


def _local_conflict(package: PackagePlan, tag: str, there: str) -> Diagnostic:
    return Diagnostic(
        package.name,
        1,
        "local-tag-conflict",
        f"the clone has a local tag {tag} at {there[:12]}, never pushed; "
        f"the plan needs {package.sha[:12]}",
        hint="delete that local tag",
    )


def stale_local_tags(
    config: Config, plan: ReleasePlan, clones: Mapping[str, Path]
) -> list[Diagnostic]:
    """``local-tag-conflict`` before the workspace fetch (which takes the remote's tags
    over the clone's): a clone that exists with a local tag of the plan elsewhere than the
    planned commit, which its remote does not have. Only such a clone asks its remote."""
    problems = []
    for package in plan.packages:
        clone = clones.get(package.name)
        if clone is None or not (clone / ".git").is_dir() or not package.tags:
            continue
        git = Git(clone, timeout=config.git_timeout)
        local = {ref.removeprefix("refs/tags/"): sha for ref, sha in git.refs("refs/tags/").items()}
        wrong = [t for t in package.tags if t in local and local[t] != package.sha]
        if wrong:
            remote = facts_from_remote(git.remote_refs(REMOTE))
            problems += [
                _local_conflict(package, t, local[t]) for t in wrong if t not in remote.tags
            ]
    return problems


def _local_tag(git: Git, tag: str) -> tuple[str, str] | None:
    """(object type, commit) of a local tag, or None when the clone has no such tag."""
    out = git.run(
        "for-each-ref", "--format=%(objecttype) %(objectname) %(*objectname)", f"refs/tags/{tag}"
    )
    if not out:
        return None
    kind, sha, *peeled = out.split(" ")
    return kind, (peeled[0] if peeled and peeled[0] else sha)


def _verify_local(git: Git, package: PackagePlan, remote: RepoFacts) -> None:
    for tag in package.tags:
        if remote.tags.get(tag) == package.sha:
            continue
        found = _local_tag(git, tag)
        if found != ("tag", package.sha):
            raise DmReleaseError(
                f"local tag {tag} is {found}, not an annotated tag of {package.sha[:12]}"
            )


def _missing_refspecs(package: PackagePlan, remote: RepoFacts) -> list[str]:
    specs = [f"refs/tags/{t}:refs/tags/{t}" for t in package.tags if t not in remote.tags]
    if package.branch and package.branch not in remote.branches:
        specs.append(f"{package.sha}:refs/heads/{package.branch}")
    return specs


def _verify_remote(git: Git, package: PackagePlan) -> None:
    remote = facts_from_remote(git.remote_refs(REMOTE))
    wrong = [t for t in package.tags if remote.tags.get(t) != package.sha]
    if package.branch and package.branch not in remote.branches:
        wrong.append(package.branch)
    if wrong:
        raise DmReleaseError(f"the remote does not show {', '.join(wrong)} at {package.sha[:12]}")


def _short_error(exc: Exception) -> str:
    """The lines that say why: the remote's own messages and rejections, else the last
    (redacted: it goes into the journal)."""
    text = redact(exc.stderr if isinstance(exc, GitError) else str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    telling = [line for line in lines if line.startswith("remote:") or "rejected]" in line]
    return " / ".join(telling or lines[-3:]) or "failed"


def _at_least(journal: Journal, package: str, step: Step, detail: str) -> Journal:
    if journal.step_of(package).rank >= step.rank:
        return journal
    return journal.advance(package, step, now(), detail)


def _journal(file: JournalFile, plan: ReleasePlan, log: TextIO) -> None:
    previous = file.load()
    if previous is not None and previous.plan_checksum == plan.checksum:
        print(f"resuming {plan.operation} from {file.path}", file=log)
        return
    if previous is not None and not previous.complete():
        print(
            f"an earlier plan of {plan.release} was not finished; its journal is replaced, "
            "every repository is re-verified",
            file=log,
        )
    names = [p.name for p in plan.packages]
    write_atomically(saved_plan_path(file), plan_to_json(plan))
    file.save(Journal.start(plan.operation, plan.checksum, names, now()))


def saved_plan_path(file: JournalFile) -> Path:
    """Where the plan being applied is kept, so that a rerun finishes exactly that plan."""
    return file.path.with_name(file.path.stem + ".plan.json")


def tagger(config: Config) -> dict[str, str]:
    """The identity of annotated tags (a tag's tagger is git's committer identity)."""
    return {"GIT_COMMITTER_NAME": config.user_name, "GIT_COMMITTER_EMAIL": config.user_email}


def apply_plan(
    config: Config,
    plan: ReleasePlan,
    clones: Mapping[str, Path],
    *,
    journal: JournalFile | None,
    lock: Lock | None,
    dry_run: bool = False,
    jobs: int | None = None,
    out: TextIO | None = None,
    log: TextIO | None = None,
) -> Journal | None:
    """Re-verify, tag, verify, push; raise CheckFailed before any write when a rule fails,
    PushFailed when some pushes failed (the others are done and journaled)."""
    out, log = streams(out, log)
    identity = tagger(config)
    gits = {
        p.name: Git(clones[p.name], env=identity, timeout=config.git_timeout) for p in plan.packages
    }
    applier = Applier(
        plan,
        gits,
        Writer(dry_run, out),
        None if dry_run else journal,
        jobs or auto_jobs(config.git_jobs),
    )
    if not plan.packages:
        print(f"{plan.operation}: nothing to do", file=log)
        return journal.journal if journal else None
    facts = gather_facts(config, plan, clones, lock)
    problems = check_plan(plan, facts) + applier.local_problems(facts)
    if problems:
        raise CheckFailed(problems)
    if applier.journal is not None:
        _journal(applier.journal, plan, log)
    _run_phases(applier, facts, log)
    if applier.journal is None:
        return None
    return applier.journal.update(lambda j: j.finish_stage("pushed", now()))


def _run_phases(applier: Applier, facts: Facts, log: TextIO) -> None:
    packages = list(applier.plan.packages)
    tagged = _pool_map(applier.jobs, lambda p: applier.tag(p, facts.repo(p.name)), packages)
    failed = {p.name: why for p, why in zip(packages, tagged, strict=True) if why}
    if failed:
        raise PushFailed(failed, "tagged (so nothing was pushed)")
    if applier.journal is not None:
        applier.record(lambda j: j.finish_stage("tagged", now(), f"{len(packages)} packages"))
    print(f"{applier.plan.operation}: {len(packages)} clones ready and verified; pushing", file=log)
    pushed = _pool_map(applier.jobs, lambda p: applier.push(p, facts.repo(p.name)), packages)
    failed = {p.name: why for p, why in zip(packages, pushed, strict=True) if why}
    if failed:
        raise PushFailed(failed)
