"""The release part of the demo (issue 5 §6): on the demo product, after its first builds,
weekly → rc1 → a backport in two packages → rc2 (first match: the release branch where it
exists, rc1 elsewhere) → final → a patch release (branch, backport, rc1, final), then the
tags of every repository and the journals.

Developer work (more commits on main, ticket branches merged with a merge commit) is done
in the demo's developer clones with fixed dates, the way people work on GitHub.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import Git
from dmrelease.core.config import Config
from dmrelease.core.journal import parse_journal
from dmrelease.core.limits import decode_text
from dmrelease.core.names import parse_tag
from dmrelease.core.plan import Session, parse_plan
from dmrelease.core.requests import BackportRequest, RefList, ReleaseRequest
from dmrelease.stages.release import (
    backport,
    journal_for,
    product_of,
    saved_plan_path,
    tag_then_build,
    weekly,
)

_EPOCH = 1_752_000_000  # 2025-07-08: after the demo's creation commits
_FLOW = (
    "weekly w.2025.24 → rc1 → backport DM-40100 (afw, utils) → rc2 → final 29.1.0 → "
    "patch 29.1.1 (branch log, backport DM-40200, rc1, final)"
)


#: ref name and the commit it points at (tags peeled)
_FORMAT = "--format=%(refname:short)=%(*objectname)%(objectname)"


class _Developer:
    """Commits in the demo's developer clones, one fixed minute apart."""

    def __init__(self, clones: Path) -> None:
        self.clones = clones
        self.clock = _EPOCH

    def git(self, package: str) -> Git:
        self.clock += 60
        stamp = f"@{self.clock} +0000"
        who = {"NAME": "Demo Developer", "EMAIL": "demo@example.org", "DATE": stamp}
        env = {
            f"GIT_{role}_{key}": value
            for role in ("AUTHOR", "COMMITTER")
            for key, value in who.items()
        }
        return Git(self.clones / package, env=env)

    def commit(self, package: str, path: str, text: str, message: str) -> None:
        write_atomically(self.clones / package / path, text)
        self.git(package).run("add", "-A")
        self.git(package).run("commit", "--quiet", "-m", message)

    def work_on_main(self, package: str, message: str) -> None:
        self.git(package).run("checkout", "--quiet", "main")
        self.commit(package, "NEWS.md", f"# {package}\n\n- {message}\n", message)
        self.git(package).run("push", "--quiet", "origin", "main")

    def merge_ticket(self, package: str, ticket: str, path: str, text: str) -> None:
        """A fix on ``tickets/<ticket>`` merged into main with a merge commit, both pushed."""
        branch = f"tickets/{ticket}"
        self.git(package).run("checkout", "--quiet", "-b", branch, "main")
        self.commit(package, path, text, f"{ticket}: fix {path}")
        self.git(package).run("checkout", "--quiet", "main")
        self.git(package).run(
            "merge", "--quiet", "--no-ff", "-m", f"Merge branch '{branch}'", branch
        )
        self.git(package).run("push", "--quiet", "origin", "main", branch)


def _step(title: str, out: TextIO) -> None:
    print(f"\n== {title}", file=out)


def _resolution(config: Config, session: Session, release: str, out: TextIO) -> None:
    """Which ref each package was taken from (the plan that was applied)."""
    product = product_of(config, None).name
    plan_file = saved_plan_path(journal_for(config, product, session, release))
    plan = parse_plan(decode_text(plan_file.read_bytes(), str(plan_file)), str(plan_file))
    for package in plan.packages:
        print(f"  {package.name:<15} {package.ref:<12} {package.sha[:10]}", file=out)


def _candidate(
    config: Config, tag: str, out: TextIO, log: TextIO, refs: Sequence[str] = ()
) -> None:
    _step(f"release candidate {tag}" + (f" from {' '.join(refs)}" if refs else ""), out)
    request = ReleaseRequest(Session.CANDIDATE, parse_tag(tag), refs=RefList(tuple(refs)))
    tag_then_build(config, request, out, log)
    _resolution(config, Session.CANDIDATE, tag, out)


def _backport(
    config: Config, ticket: str, packages: tuple[str, ...], out: TextIO, log: TextIO
) -> None:
    _step(f"backport {ticket} to v29.1.x in {', '.join(packages)}", out)
    request = BackportRequest(ticket, "v29.1.x", packages, merge=True)
    backport(config, request, out=out, log=log)


def _same_shas(
    remotes: Path, packages: Sequence[str], final: str, candidate: str, out: TextIO
) -> None:
    same = [
        n
        for n in packages
        if Git(remotes / f"{n}.git").rev_parse(final)
        == Git(remotes / f"{n}.git").rev_parse(candidate)
    ]
    print(
        f"  {final} tags the commit of {candidate} in {len(same)} of {len(packages)} repositories",
        file=out,
    )


def show_tags(remotes: Path, packages: Sequence[str], out: TextIO) -> None:
    """Every tag and release branch of every repository, with the commit it points at."""
    _step("tags and release branches of every repository", out)
    for name in packages:
        git = Git(remotes / f"{name}.git")
        listed = git.run(
            "for-each-ref", "--sort=creatordate", _FORMAT, "refs/tags/", "refs/heads/v*"
        )
        shown = " ".join(f"{ref}@{sha[:7]}" for ref, sha in (i.split("=") for i in listed.split()))
        print(f"  {name:<15} {shown}", file=out)


def show_journals(config: Config, out: TextIO) -> None:
    """One line per operation, then the full journal of the last final."""
    _step("journals", out)
    files = sorted((config.state_dir / "journal").rglob("*.json"), key=lambda f: f.stat().st_mtime)
    journals = [
        parse_journal(decode_text(f.read_bytes(), str(f)), str(f))
        for f in files
        if not f.name.endswith(".plan.json")
    ]
    for journal in journals:
        counts = ", ".join(f"{n} {step}" for step, n in journal.summary().items() if n)
        print(f"  {journal.operation:<42} {counts}; stages: {', '.join(journal.stages)}", file=out)
    finals = [j for j in journals if j.operation.startswith(str(Session.FINAL))]
    if finals:
        out.write("\n" + finals[-1].render())


def run_release_demo(
    config: Config, remotes: Path, clones: Path, packages: Sequence[str], out: TextIO, log: TextIO
) -> None:
    """The release flow of the demo (see the module docstring); the builds it makes write
    their manifest.txt and build.properties under ``<work_dir>/release``."""
    config = dataclasses.replace(config, output_dir=config.work_dir / "release")
    print(f"\nrelease flow: {_FLOW}", file=out)
    developer = _Developer(clones)
    _step("weekly w.2025.24: rebuild from main, then tag", out)
    weekly(config, ReleaseRequest(Session.WEEKLY, parse_tag("w.2025.24")), out, log)
    _candidate(config, "v29.1.0.rc1", out, log, refs=("w.2025.24",))
    developer.work_on_main("afw", "Start the work for the next release")
    for package in ("afw", "utils"):
        developer.merge_ticket(package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    _backport(config, "DM-40100", ("afw", "utils"), out, log)
    _candidate(config, "v29.1.0.rc2", out, log)
    _step("final 29.1.0 (the SHAs of v29.1.0.rc2)", out)
    tag_then_build(config, ReleaseRequest(Session.FINAL, parse_tag("29.1.0")), out, log)
    _same_shas(remotes, packages, "29.1.0", "v29.1.0.rc2", out)
    _step("patch 29.1.1: release branch for log from 29.1.0", out)
    patch = ReleaseRequest(Session.PATCH, parse_tag("29.1.1"), packages=("log",))
    tag_then_build(config, patch, out, log)
    developer.merge_ticket("log", "DM-40200", "python/log/fix.py", "LEVEL = 'INFO'\n")
    _backport(config, "DM-40200", ("log",), out, log)
    _candidate(config, "v29.1.1.rc1", out, log)
    _step("final 29.1.1", out)
    tag_then_build(config, ReleaseRequest(Session.FINAL, parse_tag("29.1.1")), out, log)
    show_tags(remotes, packages, out)
    show_journals(config, out)
