"""The backport session (DESIGN.md §1, DMTN-106 §4.5, issue 5 §4).

``backport DM-N --to vM.n.x --packages a b``: where a named package has no release branch
yet, create it from ``vM.n.0.rc1``'s SHA (a branch plan, applied like any release plan);
then, per package, make ``tickets/DM-N-vM`` from the ticket branch merged into main and
rebase the ticket's own commits onto the release branch. The rebase runs in a temporary
worktree; on a conflict it is aborted and the worktree removed, so no clone is ever left
half-rebased; conflicts are reported per package. ``merge`` also fast-forwards the release
branch to the backport (what merging its pull request does), in the same atomic push.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.journal import JournalFile, now
from dmrelease.core.branches import backport_branch
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError, UsageError
from dmrelease.core.journal import Journal, Step
from dmrelease.core.names import ReleaseBranchPattern, ticket_of
from dmrelease.core.packages import is_package_name
from dmrelease.core.plan import Session
from dmrelease.core.requests import BackportRequest
from dmrelease.stages.release_apply import REMOTE, streams, tagger
from dmrelease.stages.release_plan import product_of
from dmrelease.stages.release_session import branch_session
from dmrelease.stages.release_state import journal_for
from dmrelease.stages.release_writes import WouldRun, show
from dmrelease.stages.workspace import load_repos


class BackportProblem(DmReleaseError):
    """One package cannot be backported; ``rule`` names why (for the diagnostic)."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(message)


@dataclass(frozen=True)
class Backport:
    """What to backport where: ``ticket`` ``DM-N``, onto ``release_branch``."""

    ticket: str
    release_branch: str
    branch: str  # tickets/DM-N-vM
    main: str
    merge: bool

    @property
    def ticket_branch(self) -> str:
        return f"tickets/{self.ticket}"

    @property
    def push_specs(self) -> list[str]:
        """What the one atomic push sends: the backport branch and, with ``merge``, the
        release branch fast-forwarded to it."""
        specs = [f"refs/heads/{self.branch}"]
        if self.merge:
            specs.append(f"refs/heads/{self.branch}:refs/heads/{self.release_branch}")
        return specs


@dataclass(frozen=True)
class Outcome:
    package: str
    status: str  # backported, nothing to backport, already backported
    commits: int = 0

    def __str__(self) -> str:
        count = f" ({self.commits} commit{'s' if self.commits > 1 else ''})" if self.commits else ""
        return f"{self.package}: {self.status}{count}"


def _merge_parent(git: Git, tip: str, main: str) -> str:
    """The first parent of the merge that brought ``tip`` into ``main``: the ticket's
    commits are those of ``tip`` not in it."""
    if not git.is_ancestor(tip, main):
        raise BackportProblem("backport-unmerged", f"{tip[:12]} is not merged into main yet")
    chain = git.run("rev-list", "--first-parent", "--ancestry-path", "--reverse", f"{tip}..{main}")
    merge = chain.split()[0] if chain else ""
    parents = git.run("rev-list", "--parents", "-n", "1", merge).split()[1:] if merge else []
    if len(parents) < 2 or git.is_ancestor(tip, parents[0]):
        raise BackportProblem(
            "backport-no-merge",
            "the ticket reached main without a merge commit; its commits cannot be told apart",
        )
    return parents[0]


def _conflicts(worktree: Git) -> str:
    files = worktree.run("diff", "--name-only", "--diff-filter=U").split()
    return ", ".join(files) or "(see git status)"


def _rebase(git: Git, job: Backport, identity: dict[str, str]) -> int:
    """Rebase the ticket's commits onto the release branch in a temporary worktree;
    returns the number of commits on ``job.branch`` beyond the release branch."""
    tip = git.rev_parse(f"{REMOTE}/{job.ticket_branch}")
    base = _merge_parent(git, tip, git.rev_parse(f"{REMOTE}/{job.main}"))
    target = f"{REMOTE}/{job.release_branch}"
    git.run("worktree", "prune")
    with tempfile.TemporaryDirectory(prefix="dm-release-backport-") as scratch:
        place = Path(scratch) / "worktree"
        git.run("worktree", "add", "--quiet", "--detach", str(place), tip)
        worktree = Git(place, env=identity, timeout=git.timeout)
        try:
            worktree.run("checkout", "--quiet", "-B", job.branch)
            if not worktree.ok("rebase", "--quiet", "--onto", target, base):
                files = _conflicts(worktree)
                worktree.run("rebase", "--abort")
                worktree.run("checkout", "--quiet", "--detach")
                git.run("branch", "--quiet", "-D", job.branch)
                raise BackportProblem("backport-conflict", f"conflict in {files}: rebase aborted")
        finally:
            git.run("worktree", "remove", "--force", str(place))
    return int(git.run("rev-list", "--count", f"{target}..{job.branch}"))


def backport_package(git: Git, job: Backport, identity: dict[str, str]) -> Outcome:
    """Backport ``job`` in one clone (rebase, atomic push); the clone is the workspace's,
    fetched by the branch session of the same command (issue 9 §1: one fetch)."""
    name = git.repo.name
    if git.ok("rev-parse", "--verify", "--quiet", f"{REMOTE}/{job.branch}"):
        return _backported_already(git, job, name)
    if not git.ok("rev-parse", "--verify", "--quiet", f"{REMOTE}/{job.ticket_branch}"):
        raise BackportProblem("backport-no-ticket", f"no branch {job.ticket_branch} on the remote")
    commits = _rebase(git, job, identity)
    if commits == 0:
        git.run("branch", "--quiet", "-D", job.branch)
        return Outcome(name, f"nothing to backport: {job.release_branch} has it all")
    git.run("push", "--atomic", "--quiet", REMOTE, *job.push_specs)
    merged = f", merged into {job.release_branch}" if job.merge else ""
    return Outcome(name, f"backported onto {job.release_branch} as {job.branch}{merged}", commits)


def _backported_already(git: Git, job: Backport, name: str) -> Outcome:
    """The backport branch exists: with ``merge``, fast-forward the release branch to it if
    that was not done yet (never forced: a release branch that moved on is reported)."""
    done = f"already backported as {job.branch}"
    tip = git.rev_parse(f"{REMOTE}/{job.branch}")
    release = git.rev_parse(f"{REMOTE}/{job.release_branch}")
    if not job.merge or git.is_ancestor(tip, release):
        return Outcome(name, done)
    if not git.is_ancestor(release, tip):
        raise BackportProblem(
            "backport-stale",
            f"{job.branch} does not contain the tip of {job.release_branch}: rebase it first",
        )
    git.run("push", "--atomic", "--quiet", REMOTE, f"{tip}:refs/heads/{job.release_branch}")
    return Outcome(name, f"{done}, merged into {job.release_branch}")


def missing_tickets(
    config: Config, product: ProductConfig, job: Backport, packages: Sequence[str]
) -> list[Diagnostic]:
    """``backport-no-ticket``, asked of each remote before any release branch is made (a
    branch is never deleted): the ticket branch, or its backport, must be there."""
    entries, _origin = load_repos((product,))
    git = Git(Path.cwd(), timeout=config.git_timeout)
    wanted = (f"refs/heads/{job.ticket_branch}", f"refs/heads/{job.branch}")
    return [
        Diagnostic(
            package,
            1,
            "backport-no-ticket",
            f"no branch {job.ticket_branch} on the remote",
            hint="check the ticket; no release branch was made",
        )
        for package in packages
        if package in entries
        and not git.run("ls-remote", "--heads", "--", entries[package].url, *wanted)
    ]


def _describe(job: Backport, package: str, out: TextIO, would: WouldRun | None) -> None:
    """The dry run: every git command the backport of ``package`` would run."""
    commands = [
        ["worktree", "add", "--quiet", "--detach", "<tmp>", f"{REMOTE}/{job.ticket_branch}"],
        ["checkout", "--quiet", "-B", job.branch],
        ["rebase", "--quiet", "--onto", f"{REMOTE}/{job.release_branch}", "<merge>^1"],
        ["worktree", "remove", "--force", "<tmp>"],
        ["push", "--atomic", "--quiet", REMOTE, *job.push_specs],
    ]
    show(out, package, commands, would)  # in one write: kept together in the output


def _job(config: Config, product: ProductConfig, request: BackportRequest) -> Backport:
    pattern = ReleaseBranchPattern(product.release_branch)
    numbers = pattern.match(request.release_branch)
    if numbers is None:
        raise UsageError(
            f"{request.release_branch} is not a release branch ({product.release_branch})"
        )
    ticket = request.ticket
    if ticket_of(f"tickets/{ticket}") != ticket:
        raise UsageError(f"{ticket}: a ticket is DM-<number>")
    branch = backport_branch(ticket, numbers[0])
    return Backport(ticket, request.release_branch, branch, config.default_branch, request.merge)


def backport(
    config: Config,
    request: BackportRequest,
    *,
    out: TextIO | None = None,
    log: TextIO | None = None,
    would: WouldRun | None = None,
) -> list[Outcome]:
    """Create missing release branches, then backport the ticket in every named package;
    raise CheckFailed naming each package that could not be backported. ``would``: where a
    dry run keeps the git commands it prints."""
    out, log = streams(out, log)
    product = product_of(config, request.product)
    job = _job(config, product, request)
    if not request.packages:
        raise UsageError("name the packages to backport to with --packages")
    named = [name for name in request.packages if not is_package_name(name)]
    if named:  # a package name reaches a clone path and git: checked before anything
        raise UsageError(f"{', '.join(map(repr, named))}: not a package name (letters, digits, _)")
    problems = missing_tickets(config, product, job, request.packages)
    if problems:
        raise CheckFailed(problems)
    branch_session(
        config, product, request.release_branch, request.packages,
        dry_run=request.dry_run, break_lock=request.break_lock, out=out, log=log, would=would,
    )  # fmt: skip
    clones = config.work_dir / "clones"
    if request.dry_run:
        for package in request.packages:
            _describe(job, package, out, would)
        return []
    release = job.branch.removeprefix("tickets/")
    file = journal_for(config, product.name, Session.BACKPORT, release)
    found = file.load()
    operation = f"backport {product.name} {release}"
    file.save(
        found.including(request.packages)
        if found
        else Journal.start(operation, "-", request.packages, now())
    )
    return _run(config, job, request.packages, clones, file, out)


def _run(
    config: Config,
    job: Backport,
    packages: tuple[str, ...],
    clones: Path,
    file: JournalFile,
    out: TextIO,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    problems: list[Diagnostic] = []
    identity = tagger(config)  # the committer of rebased commits; authors are kept
    for package in packages:
        git = Git(clones / package, timeout=config.git_timeout)
        try:
            outcome = backport_package(git, job, identity)
        except (BackportProblem, GitError) as exc:
            rule = exc.rule if isinstance(exc, BackportProblem) else "git"
            problems.append(Diagnostic(package, 1, rule, str(exc)))
            file.update(partial(Journal.fail, package=package, reason=str(exc), at=now()))
            continue
        outcomes.append(outcome)
        print(outcome, file=out)
        file.update(
            partial(
                Journal.advance, package=package, step=Step.PUSHED, at=now(), detail=outcome.status
            )
        )
    if problems:
        raise CheckFailed(problems)
    file.update(lambda j: j.finish_stage("pushed", now(), f"{len(outcomes)} packages"))
    return outcomes
