"""The auxiliary repositories of a release session (DMTN-106 §4.5), internal to the release
family (front: :mod:`dmrelease.stages.release`).

Two steps around the product's apply, added only when the product has auxiliary
repositories (``[auxiliary.NAME]``):

- ``auxiliary-check``, after the plan: list each repository's remote (``git ls-remote``,
  no clone), decide what it gets (core/auxiliary: the release's tag, or the release
  branch of a patch or backport) and refuse the session (exit 1) before anything is
  written when a tag is there at another commit; print the choices (a dry run also the git
  commands it would run);
- ``auxiliary``, after the product's packages are pushed (as the real release jobs tag
  their auxiliaries after the product's repositories): journal each choice, then make the
  tag or branch in a bare repository of the work dir (``auxiliary/NAME.git``: one fetch of
  the chosen ref) and push it, verified by the remote's report, each journaled.

A rerun of the same plan (a killed session) takes the journaled choices, skips what its
remote has and pushes the rest; nothing is moved or deleted.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.config import auto_git_jobs
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.journal import JournalFile, journal_path, now
from dmrelease.core.auxiliary import (
    AuxRemote,
    AuxTarget,
    aux_tag_message,
    decide,
    parse_ls_remote,
    planned_detail,
    planned_in,
    pushed_stage,
)
from dmrelease.core.config import AuxiliaryConfig, Config
from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError
from dmrelease.core.journal import Journal
from dmrelease.core.plan import ReleasePlan
from dmrelease.core.redact import redact
from dmrelease.stages.release_apply import PushFailed, tagger
from dmrelease.stages.release_plan import Planned
from dmrelease.stages.release_steps import SessionRun, SessionStep
from dmrelease.stages.release_writes import REMOTE, WouldRun, Writer, show

__all__ = [
    "AuxiliarySteps",
    "auxiliary_problems",
    "auxiliary_report",
    "auxiliary_steps",
    "auxiliary_targets",
    "with_auxiliaries",
]


def _listed(config: Config, auxiliary: AuxiliaryConfig) -> AuxRemote:
    """The remote listed from an empty directory of its own, git stopped from looking
    above it: not wherever the user stands, whose repository's config (``insteadOf``,
    ``core.sshCommand``) would apply, and which may be gone."""
    with tempfile.TemporaryDirectory(prefix="dm-release-ls-remote-") as empty:
        where = Path(empty)
        ceiling = {"GIT_CEILING_DIRECTORIES": str(where.parent)}
        git = Git(where, env=ceiling, timeout=config.git_timeout)
        return parse_ls_remote(git.lines("ls-remote", "--symref", "--", auxiliary.url))


def _remotes(
    config: Config, auxiliaries: Sequence[AuxiliaryConfig]
) -> tuple[dict[str, AuxRemote], list[Diagnostic]]:
    """Each repository's remote as it is now (listed in parallel), and the ones that
    could not be listed (rule ``git``)."""

    def listed(auxiliary: AuxiliaryConfig) -> AuxRemote | Diagnostic:
        try:
            return _listed(config, auxiliary)
        except GitError as exc:
            why = redact(exc.stderr.strip()) or "git ls-remote failed"
            return Diagnostic(auxiliary.name, 1, "git", f"{redact(auxiliary.url)}: {why}")

    jobs = max(1, min(len(auxiliaries), auto_git_jobs(config.git_jobs)))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        found = list(pool.map(listed, auxiliaries))
    remotes = {
        a.name: r for a, r in zip(auxiliaries, found, strict=True) if isinstance(r, AuxRemote)
    }
    return remotes, [r for r in found if isinstance(r, Diagnostic)]


def auxiliary_targets(
    config: Config, plan: ReleasePlan, journal: Journal | None = None
) -> tuple[list[AuxTarget], list[Diagnostic]]:
    """What each auxiliary repository of ``plan``'s product gets, from what its remote
    shows now and what ``journal`` (of this plan; when not given, the session's journal
    file as it is, only read) recorded; and every problem."""
    auxiliaries = config.auxiliaries_of(plan.product)
    if not auxiliaries:
        return [], []
    if journal is None:  # what a rerun would take: a plan and a dry run show the same
        path = journal_path(config.state_dir, plan.product, str(plan.session), plan.release)
        journal = JournalFile(path).load()
    if journal is not None and journal.plan_checksum != plan.checksum:
        journal = None  # an earlier plan's choices are not this one's
    remotes, problems = _remotes(config, auxiliaries)
    targets = []
    for auxiliary in auxiliaries:
        if auxiliary.name not in remotes:
            continue
        decided = decide(
            auxiliary, remotes[auxiliary.name], plan, default_branch=config.default_branch,
            planned=planned_in(journal, auxiliary), shown_url=redact(auxiliary.url),
        )  # fmt: skip
        if isinstance(decided, Diagnostic):
            problems.append(decided)
        else:
            targets.append(decided)
    return targets, problems


def with_auxiliaries(config: Config, planned: Planned) -> tuple[Planned, list[Diagnostic]]:
    """``release plan``'s auxiliary repositories: the plan with what each gets, and what
    the session would be refused for."""
    targets, problems = auxiliary_targets(config, planned.plan)
    return dataclasses.replace(planned, auxiliary=tuple(targets)), problems


def auxiliary_problems(config: Config, plan: ReleasePlan, made: bool) -> list[Diagnostic]:
    """``release validate``'s check of the auxiliary repositories (:func:`auxiliary_report`'s
    problems)."""
    return auxiliary_report(config, plan, made)[1]


def auxiliary_report(
    config: Config, plan: ReleasePlan, made: bool
) -> tuple[list[AuxTarget], list[Diagnostic]]:
    """What each auxiliary repository gets (listed once), and what the session would be
    refused for and, once the release was ``made``, ``auxiliary-tag-missing`` for a
    repository that lacks its tag (or release branch)."""
    targets, problems = auxiliary_targets(config, plan)
    if made:
        for target in targets:
            if not target.done:
                problems.append(
                    Diagnostic(
                        target.name, 1, "auxiliary-tag-missing",
                        f"{redact(target.url)} lacks {target.made} of the release",
                        hint="rerun the release session to finish it",
                    )
                )  # fmt: skip
    return targets, problems


def auxiliary_steps(config: Config, product: str) -> tuple[list[SessionStep], list[SessionStep]]:
    """The session's auxiliary steps: the check (after the plan) and the write (after the
    product's apply); none when ``product`` has no auxiliary repository."""
    if not config.auxiliaries_of(product):
        return [], []
    check, write = AuxiliarySteps().steps()
    return [check], [write]


class AuxiliarySteps:
    """The two steps of one session run; the check's choices are the write's."""

    def __init__(self) -> None:
        self.targets: list[AuxTarget] = []

    def steps(self) -> tuple[SessionStep, SessionStep]:
        return SessionStep("auxiliary-check", self.check), SessionStep("auxiliary", self.write)

    def check(self, run: SessionRun) -> None:
        plan = run.made().plan
        found = None if run.journal is None else run.journal.current()  # a dry run reads it too
        targets, problems = auxiliary_targets(run.config, plan, found)
        if problems:
            raise CheckFailed(problems)
        self.targets = targets
        for target in targets:
            print(target.line(), file=run.log)

    def write(self, run: SessionRun) -> None:
        plan = run.made().plan
        if run.dry_run:  # the commands, after the product's as they would run
            _show(run.out, plan, self.targets, run.would)
            return
        if not self.targets:
            return
        file = run.journal
        found = None if file is None else file.current()
        if found is not None and found.plan_checksum != plan.checksum:
            found = None  # not this plan's journal: record nothing in it
        record = _Record(file if found is not None else None)
        record.planned(self.targets, found)
        failures, conflicts = {}, []
        for target in self.targets:
            if target.done:
                record.pushed(target, "already on the remote")
                continue
            why, raced = _make(run.config, plan, target, run.out)
            if isinstance(raced, AuxTarget):  # made there meanwhile: kept as it is
                record.pushed(raced, "already on the remote")
                print(raced.line(), file=run.log)
                continue
            conflicts += raced
            if why is None:
                record.pushed(target, f"pushed {target.made}")
                print(f"auxiliary {target.name}: {target.made} pushed", file=run.log)
            elif not raced:
                failures[target.name] = why
        if conflicts:
            raise CheckFailed(conflicts)
        if failures:
            raise PushFailed(failures)
        record.finish(len(self.targets))


class _Record:
    """The session journal's record of the auxiliary repositories (None: no journal, as a
    branch session whose packages all had the branch: nothing to resume)."""

    def __init__(self, file: JournalFile | None) -> None:
        self.file = file

    def planned(self, targets: Sequence[AuxTarget], found: Journal | None) -> None:
        if self.file is None or found is None:
            return
        new = [planned_detail(t) for t in targets if not found.has_stage(planned_detail(t)[0])]

        def add(journal: Journal) -> Journal:
            for stage, detail in new:
                journal = journal.finish_stage(stage, now(), detail)
            return journal

        if new:
            self.file.update(add)

    def pushed(self, target: AuxTarget, detail: str) -> None:
        if self.file is not None:
            stage = pushed_stage(target.name)
            self.file.update(
                lambda j: j if j.has_stage(stage) else j.finish_stage(stage, now(), detail)
            )

    def finish(self, count: int) -> None:
        if self.file is not None:
            detail = f"{count} repositories"
            self.file.update(
                lambda j: (
                    j if j.has_stage("auxiliary") else j.finish_stage("auxiliary", now(), detail)
                )
            )


def _show(
    out: TextIO, plan: ReleasePlan, targets: Sequence[AuxTarget], would: WouldRun | None
) -> None:
    """A dry run's git commands of each repository that lacks its tag or branch."""
    for target in targets:
        if target.done:
            continue
        commands: list[Sequence[str]] = []
        if target.tag is not None:
            message = aux_tag_message(plan, target.name)
            commands.append(("tag", "--annotate", "-m", message, target.tag, target.sha))
        commands.append(("push", "--atomic", *target.push_options(), REMOTE, target.refspec()))
        show(out, target.name, commands, would)


def _bare(config: Config, target: AuxTarget) -> Git:
    """The work dir's bare repository of ``target`` (made once), its origin the URL."""
    repo = config.work_dir / "auxiliary" / f"{target.name}.git"
    git = Git(repo, env=tagger(config), timeout=config.git_timeout)
    if not (repo / "HEAD").is_file():
        repo.mkdir(parents=True, exist_ok=True)
        git.run("init", "--bare", "--quiet")
    if git.ok("remote", "get-url", REMOTE):
        if git.run("remote", "get-url", REMOTE) != target.url:
            git.run("remote", "set-url", REMOTE, target.url)
    else:
        git.run("remote", "add", REMOTE, target.url)
    return git


def _fetched(git: Git, target: AuxTarget) -> None:
    """The chosen commit in the bare repository: the ref it came from fetched (no tags),
    else the commit itself (the ref moved since it was chosen)."""
    commit = f"{target.sha}^{{commit}}"
    if git.ok("cat-file", "-e", commit):
        return
    full = f"refs/tags/{target.ref}" if target.ref_kind == "tag" else f"refs/heads/{target.ref}"
    git.run("fetch", "--no-tags", "--quiet", REMOTE, full)
    if not git.ok("cat-file", "-e", commit):
        git.run("fetch", "--no-tags", "--quiet", REMOTE, target.sha)


def _make(
    config: Config, plan: ReleasePlan, target: AuxTarget, out: TextIO
) -> tuple[str | None, list[Diagnostic] | AuxTarget]:
    """Make and push ``target``'s tag or branch: why it failed (None: done), and what the
    remote got since the check when that refused the push: the tag elsewhere (the
    conflict), or the tag or branch itself (done: the target as it is there)."""
    refspec = target.refspec()
    try:
        git = _bare(config, target)
        _fetched(git, target)
        if target.tag is not None:
            local = git.refs(f"refs/tags/{target.tag}").get(f"refs/tags/{target.tag}")
            if local is None:
                message = aux_tag_message(plan, target.name)
                git.run("tag", "--annotate", "-m", message, target.tag, target.sha)
            elif local != target.sha:
                raise DmReleaseError(
                    f"{git.repo} has a local tag {target.tag} at {local[:12]}, not "
                    f"{target.sha[:12]}: remove that repository and rerun"
                )
        pushed = Writer(False, out).push(target.name, git, [refspec], target.push_options())
    except (GitError, DmReleaseError) as exc:
        text = exc.stderr if isinstance(exc, GitError) else str(exc)
        return redact(text.strip()) or "failed", []
    why = pushed.problem([refspec])
    if why is None:
        return None, []
    return redact(pushed.stderr.strip() or why), _raced(config, plan, target)


def _raced(config: Config, plan: ReleasePlan, target: AuxTarget) -> list[Diagnostic] | AuxTarget:
    """What a refused push met: the remote has the tag at another commit now (the
    conflict), or has the tag or branch (done); nothing of it (``[]``: a failure)."""
    auxiliary = next(a for a in config.auxiliaries if a.name == target.name)
    try:
        remote = _listed(config, auxiliary)
    except GitError:
        return []
    decided = decide(
        auxiliary, remote, plan, default_branch=config.default_branch, planned=target,
        shown_url=redact(auxiliary.url),
    )  # fmt: skip
    if isinstance(decided, Diagnostic):
        return [decided]
    return decided if decided.done else []
