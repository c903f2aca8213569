"""The release part of the demo (issue 5 §6): on the demo product, after its first builds,
weekly → rc1 → its validation → a backport in two packages → rc2 (first match: the release
branch where it exists, rc1 elsewhere) → final → a patch release (branch, backport, rc1,
final), then the tags of every repository and the journals; each a section of the tour
(:mod:`dmrelease.demo.tour`), each session a row of its summary table.

Developer work (more commits on main, ticket branches merged with a merge commit) is done
in the demo's developer clones with fixed dates, the way people work on GitHub.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import Git
from dmrelease.core.config import Config
from dmrelease.core.journal import Journal, parse_journal
from dmrelease.core.limits import decode_text
from dmrelease.core.names import parse_tag
from dmrelease.core.plan import ReleasePlan, Session, parse_plan
from dmrelease.core.requests import BackportRequest, RefList, ReleaseRequest
from dmrelease.demo.change_control import show_announcement, show_fix_versions
from dmrelease.demo.jira import (
    APPROVER,
    PATCH_ISSUE,
    PATCH_RFC,
    RELEASE_ISSUE,
    WAIVED,
    WAIVER_WHY,
)
from dmrelease.demo.jira_server import LocalJira
from dmrelease.demo.tour import Row, Tour, build_id, developer_env, installed
from dmrelease.stages.release import (
    backport,
    journal_for,
    product_of,
    saved_plan_path,
    tag_then_build,
    validate_request,
    weekly,
)

_EPOCH = 1_752_000_000  # 2025-07-08: after the demo's creation commits
FLOW = (
    "weekly w.2025.24 → rc1 → validate → backport DM-40100 (afw, utils) → rc2 → "
    "final 29.1.0 → patch 29.1.1 (branch log, backport DM-40200, rc1, final)"
)


#: the change control of the first candidate: its release issue, the waiver of the blocker
#: still open, the product owner's approval
RC1_CONTROL: dict[str, Any] = {
    "release_issue": RELEASE_ISSUE,
    "waivers": ((WAIVED, WAIVER_WHY),),
    "approved_by": APPROVER,
}
#: and of the patch 29.1.1's sessions: its release issue and its RFC
PATCH_CONTROL: dict[str, Any] = {"release_issue": PATCH_ISSUE, "rfc": PATCH_RFC}

#: ref name and the commit it points at (tags peeled)
_FORMAT = "--format=%(refname:short)=%(*objectname)%(objectname)"


class _Developer:
    """Commits in the demo's developer clones, one fixed minute apart."""

    def __init__(self, clones: Path) -> None:
        self.clones = clones
        self.clock = _EPOCH

    def git(self, package: str) -> Git:
        self.clock += 60
        return Git(self.clones / package, env=developer_env(self.clock))

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


def applied_plan(config: Config, session: Session, release: str) -> ReleasePlan:
    """The plan the session applied, as its journal keeps it."""
    product = product_of(config, None).name
    plan_file = saved_plan_path(journal_for(config, product, session, release))
    return parse_plan(decode_text(plan_file.read_bytes(), str(plan_file)), str(plan_file))


def _change_control(tour: Tour, config: Config, session: Session, release: str) -> None:
    """What the plan recorded of the change control: the release issue and its blockers
    as Jira showed them, the waivers, the approval, the source weekly, a patch's RFC."""
    record = applied_plan(config, session, release).change_control
    if record.release_issue:
        blockers = ", ".join(f"{key} {status}" for key, status in record.blockers)
        tour.say(f"  release issue {record.release_issue}, blocked by: {blockers or 'nothing'}")
    for key, why in record.waivers:
        tour.say(f"  waived: {key} ({why})")
    if record.approved_by:
        tour.say(f"  approved by: {record.approved_by}")
    if record.weekly:
        tour.say(f"  source weekly: {record.weekly} (green)")
    if record.rfc:
        tour.say(f"  RFC: {record.rfc} {record.rfc_status or ''}".rstrip())


def _resolution(tour: Tour, config: Config, session: Session, release: str) -> None:
    """Which ref each package was taken from (the plan that was applied): grouped by ref
    in the tour, one line per package with --verbose."""
    plan = applied_plan(config, session, release)
    by_ref: dict[str, list[str]] = {}
    for package in plan.packages:
        by_ref.setdefault(package.ref, []).append(package.name)
        tour.detail(f"    {package.name:<15} {package.ref:<12} {package.sha[:10]}")
    for ref, names in by_ref.items():
        tour.words(f"from {ref}:", names)


def _pushed(journal: Journal | None, what: str) -> str:
    return f"{journal.summary()['pushed']} {what}" if journal is not None else "-"


class _Session:
    """Runs one release session and adds its summary row: the build it made (from the
    build.properties it wrote) and which packages it built (the stack's new versions)."""

    def __init__(self, tour: Tour, config: Config) -> None:
        self.tour = tour
        self.config = config

    def run(self, step: str, request: ReleaseRequest, builds: bool = True) -> Journal | None:
        self.tour.tick()
        before = installed(self.config)
        journal = (weekly if request.session is Session.WEEKLY else tag_then_build)(
            self.config, request, self.tour.stage_out, self.tour.stage_log
        )
        if not builds:
            branched = _pushed(journal, "branched")
            self.tour.say(f"  {request.tag}: release branch made in {', '.join(request.packages)}")
            self.tour.row(Row(step, str(request.tag), repositories=branched))
            return journal
        made = installed(self.config) - before
        build = build_id(self.config)
        size = _manifest_size(self.config, build)
        self.tour.say(
            f"  {request.tag}: build {build}, {len(made)} built, {size - len(made)} reused"
        )
        row = Row(
            step, str(request.tag), build, len(made), size - len(made), 0,
            _pushed(journal, "tagged"),
        )  # fmt: skip
        self.tour.row(row)
        return journal


def _manifest_size(config: Config, build: str) -> int:
    """How many packages manifest ``build`` of the versiondb lists."""
    path = config.versiondb / "manifests" / f"{build}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line and not line.startswith(("#", "BUILD=")))


def _candidate(
    session: _Session, step: str, tag: str, refs: Sequence[str] = (), **control: Any
) -> None:
    """A candidate; ``control``: its change-control fields (release issue, waivers,
    approval, RFC), shown as the plan recorded them."""
    request = ReleaseRequest(
        Session.CANDIDATE, parse_tag(tag), refs=RefList(tuple(refs)), **control
    )
    session.run(step, request)
    _change_control(session.tour, session.config, Session.CANDIDATE, tag)
    _resolution(session.tour, session.config, Session.CANDIDATE, tag)


def _backport(tour: Tour, config: Config, ticket: str, packages: tuple[str, ...]) -> None:
    tour.tick()
    request = BackportRequest(ticket, "v29.1.x", packages, merge=True)
    outcomes = backport(config, request, out=tour.stage_out, log=tour.stage_log)
    tour.say(*(f"  {outcome}" for outcome in outcomes))
    names = ", ".join(o.package for o in outcomes)
    tour.row(Row(f"backport {ticket}", repositories=f"{len(outcomes)} ({names})"))


def _same_shas(
    tour: Tour, remotes: Path, packages: Sequence[str], final: str, candidate: str
) -> None:
    same = [
        n
        for n in packages
        if Git(remotes / f"{n}.git").rev_parse(final)
        == Git(remotes / f"{n}.git").rev_parse(candidate)
    ]
    tour.say(
        f"  {final} tags the commit of {candidate} in {len(same)} of {len(packages)} repositories"
    )


def show_tags(tour: Tour, remotes: Path, packages: Sequence[str]) -> None:
    """Every tag and release branch of every repository, with the commit it points at."""
    for name in packages:
        git = Git(remotes / f"{name}.git")
        listed = git.run(
            "for-each-ref", "--sort=creatordate", _FORMAT, "refs/tags/", "refs/heads/v*"
        )
        shown = " ".join(f"{ref}@{sha[:7]}" for ref, sha in (i.split("=") for i in listed.split()))
        tour.say(f"  {name:<15} {shown}")


def show_journals(tour: Tour, config: Config) -> None:
    """One line per operation, then (with --verbose) the full journal of the last final."""
    files = sorted((config.state_dir / "journal").rglob("*.json"), key=lambda f: f.stat().st_mtime)
    journals = [
        parse_journal(decode_text(f.read_bytes(), str(f)), str(f))
        for f in files
        if not f.name.endswith(".plan.json")
    ]
    for journal in journals:
        counts = ", ".join(f"{n} {step}" for step, n in journal.summary().items() if n)
        tour.say(f"  {journal.operation:<42} {counts}; stages: {', '.join(journal.stages)}")
    finals = [j for j in journals if j.operation.startswith(str(Session.FINAL))]
    if finals:
        tour.detail("", *finals[-1].render().splitlines())


def run_release_demo(
    tour: Tour,
    config: Config,
    remotes: Path,
    clones: Path,
    packages: Sequence[str],
    jira: LocalJira,
) -> None:
    """The release flow of the demo (see the module docstring), its change control against
    the demo's ``jira``; the builds it makes write
    their manifest.txt and build.properties under ``<work_dir>/release``."""
    config = dataclasses.replace(config, output_dir=config.work_dir / "release")
    developer = _Developer(clones)
    session = _Session(tour, config)
    with tour.section(
        "Weekly w.2025.24: rebuild from main, then tag",
        "Once a week main is built and, when the build is green, tagged w.YYYY.WW in every "
        "package (tags after the build). Nothing changed since the last nightly: the "
        "manifest is the same, so is its build id, and every package is reused. A few days "
        "before a release starts, its announcement goes to the community forum: the "
        "planned version, the base weekly, the dates and the issues blocking the release "
        "issue, with their state in Jira now.",
        look=("git -C remotes/base.git show w.2025.24 (an annotated tag at main's SHA)",),
        commands=(
            "dm-release release weekly w.2025.24",
            f"dm-release announce 29.1.0 --weekly w.2025.24 --start 2025-07-13 "
            f"--release-issue {RELEASE_ISSUE}   (add --post to send it)",
        ),
    ):
        session.run("weekly", ReleaseRequest(Session.WEEKLY, parse_tag("w.2025.24")))
        show_announcement(tour, config, "29.1.0", "w.2025.24", RELEASE_ISSUE)
    with tour.section(
        "First release candidate v29.1.0.rc1, from a good weekly",
        "A release starts from a weekly that passed its tests: vM.n.0.rc1 is tagged at the "
        "weekly's SHA in every package, then built from the new tag (a candidate is tagged "
        "before its build). Same SHAs as the weekly, so the same versions: nothing to "
        f"build. Its criteria are checked first, in Jira: every issue blocking the release "
        f"issue {RELEASE_ISSUE} is done or waived ({WAIVED} is still open: waived, with its "
        "reason), the source weekly had a green build, and the product owner's approval is "
        "recorded; the plan keeps all of it.",
        look=(
            "work/state/journal/ (what each release operation did, step by step)",
            "the plan's change_control: work/state/journal/demo_distrib/*v29.1.0.rc1.plan.json",
        ),
        commands=(
            "dm-release release candidate v29.1.0.rc1 --refs w.2025.24 "
            f"--release-issue {RELEASE_ISSUE} --waive {WAIVED} --why '{WAIVER_WHY}' "
            f"--approved-by '{APPROVER}'",
        ),
    ):
        _candidate(session, "first candidate", "v29.1.0.rc1", ("w.2025.24",), **RC1_CONTROL)
    with tour.section(
        "Validation of v29.1.0.rc1",
        "The candidate is now tested and characterized (DMTN-106 leaves that to the test "
        "campaigns). dm-release's part: every release rule checked again against the "
        "remotes as they are now (names, order, each tag present at its planned SHA), in "
        "clones of its own; nothing is written.",
        commands=(
            "dm-release release validate v29.1.0.rc1 --refs w.2025.24 (and rc1's change "
            "control flags)",
        ),
    ):
        request = ReleaseRequest(
            Session.CANDIDATE, parse_tag("v29.1.0.rc1"), refs=RefList(("w.2025.24",)),
            **RC1_CONTROL,
        )  # fmt: skip
        planned, problems = validate_request(config, request, tour.stage_log)
        tour.say(f"  {planned.plan.operation}: {len(problems)} problems")
        tour.say(*(f"  {problem}" for problem in problems))
        tour.row(Row("validation", "v29.1.0.rc1", repositories=f"{len(problems)} problems"))
    with tour.section(
        "Backport DM-40100 onto the release branch v29.1.x",
        "Development goes on on main (afw gets work for the next release). The bug "
        "DM-40100, open at rc1 (waived there), is fixed on ticket branch tickets/DM-40100 "
        "in afw and utils, merged into main and resolved in Jira. The backport makes the "
        "release branch v29.1.x from v29.1.0.rc1 in the packages that lack it, rebases the "
        "ticket's commits onto it as tickets/DM-40100-v29 and fast-forwards v29.1.x to it; "
        "main's other work stays out.",
        look=("git -C remotes/afw.git log --oneline --graph main v29.1.x",),
        commands=(
            "dm-release release backport DM-40100 --to v29.1.x --packages afw utils --merge",
        ),
    ):
        developer.work_on_main("afw", "Start the work for the next release")
        for package in ("afw", "utils"):
            developer.merge_ticket(
                package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n"
            )
        _backport(tour, config, "DM-40100", ("afw", "utils"))
        jira.set_status(WAIVED, "Done")
        tour.say(f"  {WAIVED}: Done in Jira")
    with tour.section(
        "Next release candidate v29.1.0.rc2, from the release branch and rc1",
        "Each next candidate takes, per package, the first of: the release branch where it "
        "exists, else the previous candidate. afw and utils come from v29.1.x (with the "
        "fix), the others keep rc1's SHA; what depends on afw or utils is built again.",
        commands=("dm-release release candidate v29.1.0.rc2",),
    ):
        _candidate(session, "next candidate", "v29.1.0.rc2")
    with tour.section(
        "Final release 29.1.0 = the last candidate",
        "The final tag M.n.p is put at the SHAs of the last candidate in every package, "
        "so the versions are the same and every binary is reused.",
        look=("versiondb/manifests/ (the final's build id is rc2's)",),
        commands=("dm-release release final 29.1.0",),
    ):
        final = ReleaseRequest(Session.FINAL, parse_tag("29.1.0"), release_issue=RELEASE_ISSUE)
        session.run("final", final)
        _same_shas(tour, remotes, packages, "29.1.0", "v29.1.0.rc2")
        show_fix_versions(tour, config, jira, "29.1.0", RELEASE_ISSUE)
    with tour.section(
        "Patch release 29.1.1",
        "A fix after the final: the release branch is made from 29.1.0 where it is missing "
        "(here log), ticket DM-40200 is backported onto it, then candidates and a final as "
        "before, v29.1.1.rc1 taking the release branch first, then 29.1.0.",
        look=("git -C remotes/log.git log --oneline --graph v29.1.x",),
        commands=(
            f"dm-release release patch 29.1.1 --packages log --rfc {PATCH_RFC}",
            "dm-release release backport DM-40200 --to v29.1.x --packages log --merge",
            f"dm-release release candidate v29.1.1.rc1 --rfc {PATCH_RFC}",
            f"dm-release release final 29.1.1 --rfc {PATCH_RFC} --release-issue {PATCH_ISSUE}",
        ),
    ):
        patch = ReleaseRequest(
            Session.PATCH, parse_tag("29.1.1"), packages=("log",), **PATCH_CONTROL
        )
        session.run("patch branch", patch, builds=False)
        developer.merge_ticket("log", "DM-40200", "python/log/fix.py", "LEVEL = 'INFO'\n")
        _backport(tour, config, "DM-40200", ("log",))
        _candidate(session, "patch candidate", "v29.1.1.rc1", **PATCH_CONTROL)
        final = ReleaseRequest(Session.FINAL, parse_tag("29.1.1"), **PATCH_CONTROL)
        session.run("patch final", final)
        show_fix_versions(tour, config, jira, "29.1.1", PATCH_ISSUE)
    with tour.section(
        "Tags and release branches of every repository",
        "Each tag with the commit it points at, oldest first: a final and its last "
        "candidate point at the same commit.",
    ):
        show_tags(tour, remotes, packages)
    with tour.section(
        "Journals",
        "Every release operation keeps a journal: per package how far it got (planned, "
        "tagged, pushed) and which stages are done, so that a rerun of an interrupted "
        "command finishes it without doing anything twice.",
        look=("work/state/journal/<product>/",),
    ):
        show_journals(tour, config)
