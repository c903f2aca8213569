"""Release stage, part two: apply exactly a reviewed plan, journaled, resumable (issue 5 §3).

1. re-verify: what every remote holds, run every rule; any problem stops the run before
   anything is written. The clones are the command's workspace, fetched once by it (issue
   9 §1): the apply does not fetch them again, and what that fetch brought (the remote's
   branches, and its tags exactly: ``--prune-tags``) is what the rules judge
   (``remote``); a package the workspace did not fetch has its remote listed
   (``git ls-remote``), and its local tags read, since an earlier run may have left some;
2. tag: create the annotated tags locally in each clone (message: version, build id,
   manifest and plan checksums) and verify each (an annotated tag of the planned commit,
   by the configured tagger, with the planned message);
3. push: ``git push --porcelain --atomic`` per repository of its tags and new branch, in
   a bounded pool; the remote's own report of each ref (new, or already there) verifies
   the push, so the remote is not listed again. A push the remote refuses has its remote
   listed once more and the rules run again, so a tag made there since the check (a race)
   is reported as the check would have (``tag-conflict``). Each step is journaled.

A rerun of an interrupted run re-verifies every repository and skips what is done: a tag
already on the remote at the planned commit is a no-op, one elsewhere is an error; nothing
is ever forced, moved or deleted. ``dry_run`` prints every git command that would write
(without ``--porcelain``, which only changes how git reports) and runs none of them.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

from dmrelease.adapters.config import auto_git_jobs
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.journal import JournalFile, now, write_atomically
from dmrelease.adapters.progress import Phase, Progress, progress_for
from dmrelease.core.config import Config
from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError
from dmrelease.core.facts import Facts, RepoFacts, facts_from_remote
from dmrelease.core.journal import Journal, Lock, Step
from dmrelease.core.manifest import SHA_RE
from dmrelease.core.packages import is_package_name
from dmrelease.core.plan import PackagePlan, ReleasePlan, plan_to_json, tag_message
from dmrelease.core.redact import redact
from dmrelease.core.refnames import ref_name_problem
from dmrelease.core.rules import check_existing_refs, check_plan
from dmrelease.stages.release_plan import gather_facts
from dmrelease.stages.release_writes import REMOTE, LocalTag, WouldRun, Writer, read_tags

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
    run (which writes no journal either). ``fetched``: the packages whose facts are what
    the command's workspace fetch brought, so that their clone's tags are the remote's."""

    plan: ReleasePlan
    gits: Mapping[str, Git]
    write: Writer
    journal: JournalFile | None
    jobs: int
    tagger: str = ""
    fetched: frozenset[str] = frozenset()

    def record(self, change: Callable[[Journal], Journal]) -> None:
        if self.journal is not None:
            self.journal.update(change)

    def local_tags(self, package: PackagePlan, remote: RepoFacts) -> dict[str, LocalTag]:
        """The clone's tags of the plan that its remote does not show at the planned commit
        (one read; none for a clone just fetched: its tags are the remote's)."""
        if package.name in self.fetched:
            return {}
        git = self.gits[package.name]
        existing = git.local_refs("refs/tags/")
        wanted = _not_on_remote(package, remote)
        return read_tags(git, [t for t in wanted if f"refs/tags/{t}" in existing])

    def local_problems(
        self, facts: Facts, local: Mapping[str, Mapping[str, LocalTag]]
    ) -> list[Diagnostic]:
        """Local tags left by an earlier run must point at the planned commit (a tag the
        remote has is judged by ``tag-conflict`` and never pushed from here)."""
        problems = []
        for package in self.plan.packages:
            for tag, there in local.get(package.name, {}).items():
                if tag not in facts.repo(package.name).tags and there.commit != package.sha:
                    problems.append(_local_conflict(package, tag, there.commit))
        return problems

    def tag(
        self, package: PackagePlan, remote: RepoFacts, local: Mapping[str, LocalTag]
    ) -> str | None:
        """Create and verify the local tags ``package`` still needs; the error, if any."""
        git = self.gits[package.name]
        wanted = _not_on_remote(package, remote)
        made = [t for t in wanted if t not in local]
        try:
            for tag in made:
                message = tag_message(self.plan, tag)
                self.write(package.name, git, "tag", "--annotate", "-m", message, tag, package.sha)
            if wanted and not self.write.dry_run:
                found = {**local, **read_tags(git, made)}
                self._verify_local(package, wanted, made, found)
        except (GitError, DmReleaseError) as exc:
            why = _short_error(exc)
            self.record(lambda j: j.fail(package.name, why, now()))
            return why
        if not self.write.dry_run:
            self.record(lambda j: _at_least(j, package.name, Step.TAGGED, "local tags verified"))
        return None

    def _verify_local(
        self,
        package: PackagePlan,
        wanted: Sequence[str],
        made: Sequence[str],
        found: Mapping[str, LocalTag],
    ) -> None:
        """Each tag the remote lacks is an annotated tag of the planned commit; those made
        now carry the planned message and the configured tagger."""
        for tag in wanted:
            there = found.get(tag)
            shown = None if there is None else (there.kind, there.commit)
            if shown != ("tag", package.sha):
                raise DmReleaseError(
                    f"local tag {tag} is {shown}, not an annotated tag of {package.sha[:12]}"
                )
            assert there is not None
            if tag in made and there.tagger != self.tagger:
                raise DmReleaseError(f"local tag {tag} is by {there.tagger}, not {self.tagger}")
            if tag in made and there.message.strip() != tag_message(self.plan, tag).strip():
                raise DmReleaseError(f"local tag {tag} does not carry the planned message")

    def push(self, package: PackagePlan, remote: RepoFacts) -> Outcome:
        """Push what the remote lacks in one atomic push, verified by the remote's report;
        a refused push is judged again against what the remote holds now."""
        refspecs = _missing_refspecs(package, remote)
        git = self.gits[package.name]
        if refspecs:
            pushed = self.write.push(package.name, git, refspecs)
            why = None if self.write.dry_run else pushed.problem(refspecs)
            if why is not None:
                conflicts = self._raced(package, git)
                why = _short_error(DmReleaseError(pushed.stderr or why))
                if conflicts:
                    why = "; ".join(d.message for d in conflicts)
                self.record(lambda j: j.fail(package.name, why or "", now()))
                return Outcome(why, conflicts)
        detail = f"pushed {len(refspecs)} refs" if refspecs else "already on the remote"
        if not self.write.dry_run:
            self.record(lambda j: j.advance(package.name, Step.PUSHED, now(), detail))
        return Outcome(None)

    def _raced(self, package: PackagePlan, git: Git) -> list[Diagnostic]:
        """The rules' problems with ``package`` against what its remote holds now (after a
        refused push: a tag or branch made there since the check)."""
        try:
            now_there = facts_from_remote(git.remote_refs(REMOTE))
        except GitError:
            return []
        alone = dataclasses.replace(self.plan, packages=(package,))
        return check_existing_refs(alone, Facts({package.name: now_there}))


@dataclass(frozen=True)
class Outcome:
    """How one package's push went: ``why`` it failed (None: done), and the rules'
    problems when the remote changed since the check."""

    why: str | None
    conflicts: list[Diagnostic] = dataclasses.field(default_factory=list)


def _counted(
    phase: Phase, work: Callable[[PackagePlan], _R], failed: Callable[[_R], bool]
) -> Callable[[PackagePlan], _R]:
    """``work`` of one package, then one step of ``phase`` (``failed`` by its result)."""

    def step(package: PackagePlan) -> _R:
        result = work(package)
        phase.advance(package.name, failed=failed(result))
        return result

    return step


def _not_on_remote(package: PackagePlan, remote: RepoFacts) -> list[str]:
    """The plan's tags of ``package`` that its remote does not show at the planned commit."""
    return [t for t in package.tags if remote.tags.get(t) != package.sha]


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
        local = {
            ref.removeprefix("refs/tags/"): sha for ref, sha in git.local_refs("refs/tags/").items()
        }
        wrong = [t for t in package.tags if t in local and local[t] != package.sha]
        if wrong:
            remote = facts_from_remote(git.remote_refs(REMOTE))
            problems += [
                _local_conflict(package, t, local[t]) for t in wrong if t not in remote.tags
            ]
    return problems


def _missing_refspecs(package: PackagePlan, remote: RepoFacts) -> list[str]:
    specs = [f"refs/tags/{t}:refs/tags/{t}" for t in package.tags if t not in remote.tags]
    if package.branch and package.branch not in remote.branches:
        specs.append(f"{package.sha}:refs/heads/{package.branch}")
    return specs


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
    if file.torn:
        print(
            f"{file.path}: its last line was cut short (a run killed while writing it) and "
            "is ignored; every repository is re-verified",
            file=log,
        )
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
    remote: Mapping[str, RepoFacts] | None = None,
    progress: Progress | None = None,
    would: WouldRun | None = None,
) -> Journal | None:
    """Re-verify, tag, verify, push; raise CheckFailed before any write when a rule fails
    (or after the pushes, when a remote refused one because it changed since the check),
    PushFailed when some pushes failed (the others are done and journaled). ``remote``:
    what the command's workspace fetch brought of the packages it fetched (their remote's
    tags and branches); the others' remotes are listed. ``progress``: how the tag and push
    phases are shown (by default as ``log`` allows). ``would``: where a dry run keeps the
    commands it prints."""
    out, log = streams(out, log)
    identity = tagger(config)
    gits = {
        p.name: Git(clones[p.name], env=identity, timeout=config.git_timeout) for p in plan.packages
    }
    known = {n: facts for n, facts in (remote or {}).items() if n in gits}
    applier = Applier(
        plan,
        gits,
        Writer(dry_run, out, would),
        None if dry_run else journal,
        jobs or auto_git_jobs(config.git_jobs),
        f"{config.user_name} <{config.user_email}>",
        frozenset(known),
    )
    if not plan.packages:
        print(f"{plan.operation}: nothing to do", file=log)
        return journal.journal if journal else None
    facts = gather_facts(config, plan, clones, lock, known=known)
    packages = list(plan.packages)
    try:
        read = _pool_map(
            applier.jobs, lambda p: applier.local_tags(p, facts.repo(p.name)), packages
        )
    except GitError as exc:
        raise CheckFailed([Diagnostic(str(exc.repo.name), 1, "git", exc.stderr)]) from None
    local = {p.name: tags for p, tags in zip(packages, read, strict=True)}
    problems = check_plan(plan, facts) + applier.local_problems(facts, local)
    if problems:
        raise CheckFailed(problems)
    if applier.journal is not None:
        _journal(applier.journal, plan, log)
    _run_phases(applier, facts, local, log, progress_for(log) if progress is None else progress)
    if applier.journal is None:
        return None
    return applier.journal.update(lambda j: j.finish_stage("pushed", now()))


def _run_phases(
    applier: Applier,
    facts: Facts,
    local: Mapping[str, Mapping[str, LocalTag]],
    log: TextIO,
    progress: Progress,
) -> None:
    packages = list(applier.plan.packages)
    with progress.phase("tag", len(packages), "repositories") as phase:
        tagged = _pool_map(
            applier.jobs,
            _counted(phase, lambda p: applier.tag(p, facts.repo(p.name), local[p.name]), bool),
            packages,
        )
    failed = {p.name: why for p, why in zip(packages, tagged, strict=True) if why}
    if failed:
        raise PushFailed(failed, "tagged (so nothing was pushed)")
    if applier.journal is not None:
        applier.record(lambda j: j.finish_stage("tagged", now(), f"{len(packages)} packages"))
    print(f"{applier.plan.operation}: {len(packages)} clones ready and verified; pushing", file=log)
    with progress.phase("push", len(packages), "repositories") as phase:
        pushed = _pool_map(
            applier.jobs,
            _counted(phase, lambda p: applier.push(p, facts.repo(p.name)), lambda o: bool(o.why)),
            packages,
        )
    conflicts = [d for outcome in pushed for d in outcome.conflicts]
    failed = {
        p.name: outcome.why
        for p, outcome in zip(packages, pushed, strict=True)
        if outcome.why and not outcome.conflicts
    }
    if conflicts:
        if failed:
            print(PushFailed(failed), file=log)
        raise CheckFailed(conflicts)
    if failed:
        raise PushFailed(failed)
