"""Change control as release rules (DMTN-106 §3, §4.4, A.2.2): pure, judged on facts the
stage gathers (Jira, the remotes, versiondb, the metapackage's contents file).

- an rc1 (``vM.n.0.rc1``, the first candidate of a new minor or major) needs every issue
  blocking the release issue done or waived (``--waive DM-N --why TEXT``), a source weekly
  with a green build (its tag on every package of the plan, the build its tag names
  recorded in versiondb: a weekly is tagged only after a green build) and the product
  owner's approval (``--approved-by NAME``);
- a patch (the patch_release session, a candidate or final of ``M.n.p`` with ``p > 0``)
  needs its RFC (``--rfc RFC-N``) in one of the approved statuses (``jira.rfc_approved``);
- a git package new to the product's closure since the previous final needs its approval
  (an RFC) in the metapackage's contents file, and every third-party product of the closure
  and of the conda environment must be approved there (the contents module's rule).

Without a Jira (``jira.url`` unset) the Jira-based rules are not judged: the plan says so
in a note and nothing is refused for it. :func:`judge` returns the record the plan keeps,
the problems (each open issue, each missing approval named) and the notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dmrelease.core.errors import Diagnostic, UsageError
from dmrelease.core.names import Candidate, Release
from dmrelease.core.plan import ChangeControl, ReleasePlan, Session

if TYPE_CHECKING:
    from dmrelease.core.jira import JiraIssue

__all__ = [
    "Asked",
    "CriteriaFacts",
    "WeeklyFacts",
    "judge",
    "needs_rc1",
    "needs_rfc",
    "parse_waivers",
    "previous_final",
    "source_weekly",
]

#: without jira.url, what an rc1 or a patch was not judged on, by name (nothing is refused)
RC1_NOT_CHECKED = (
    "rc1 criteria not checked, jira.url is not set: the release issue and its blockers"
    " (rc1-release-issue, rc1-blocker-open, rc1-waiver), the product owner's approval"
    " (rc1-approval), the source weekly's green build (rc1-weekly)"
)
PATCH_NOT_CHECKED = (
    "patch criteria not checked, jira.url is not set: the RFC's approval (patch-rfc)"
)


@dataclass(frozen=True)
class Asked:
    """What the release engineer gave: the release issue, the waivers (key, why), the
    product owner's name, the patch's RFC."""

    release_issue: str | None = None
    waivers: tuple[tuple[str, str], ...] = ()
    approved_by: str | None = None
    rfc: str | None = None


@dataclass(frozen=True)
class WeeklyFacts:
    """The source weekly of an rc1: its name (None: the refs name no weekly), the
    packages of the plan not made from its tag, the build its tag message names (None:
    none) and whether versiondb records that build."""

    weekly: str | None
    missing: tuple[str, ...] = ()
    build_id: str | None = None
    recorded: bool = False


@dataclass(frozen=True)
class CriteriaFacts:
    """What the stage found. ``jira``: a Jira is configured (the Jira-based rules are
    judged); ``release_issue`` and ``rfc`` as Jira knows them (None: unknown to it);
    ``previous``: the final the closure is compared with (None: there is none);
    ``approvals``: each new package's RFC in the contents file (None: not approved);
    ``contents``: the contents file's path, None when the metapackage has none;
    ``third_party``: the contents rule's findings on the closure and conda environment."""

    jira: bool = False
    release_issue: JiraIssue | None = None
    blockers: tuple[JiraIssue, ...] = ()
    weekly: WeeklyFacts | None = None
    rfc: JiraIssue | None = None
    rfc_approved: tuple[str, ...] = ("Adopted", "Implemented")
    previous: str | None = None
    new_packages: tuple[str, ...] = ()
    approvals: Mapping[str, str | None] = field(default_factory=dict)
    contents: str | None = None
    third_party: tuple[Diagnostic, ...] = ()


def parse_waivers(keys: Sequence[str], whys: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``--waive DM-N --why TEXT`` pairs, in the order given; UsageError (exit 2) for a
    waiver without its reason, a reason without a waiver, a key that is not an issue key,
    or an issue waived twice."""
    from dmrelease.core.jira import is_issue_key

    if len(keys) != len(whys):
        raise UsageError(
            f"{len(keys)} --waive and {len(whys)} --why: give each waiver its reason, "
            "--waive DM-N --why TEXT"
        )
    seen: set[str] = set()
    for key, why in zip(keys, whys, strict=True):
        if not is_issue_key(key):
            raise UsageError(f"--waive {key!r}: not an issue key (e.g. DM-12345)")
        if not why.strip():
            raise UsageError(f"--waive {key}: --why is empty; say why the blocker is waived")
        if key in seen:
            raise UsageError(f"--waive {key} is given twice")
        seen.add(key)
    return tuple((key, why.strip()) for key, why in zip(keys, whys, strict=True))


def needs_rc1(plan: ReleasePlan) -> bool:
    """The first candidate of a new minor or major: ``vM.n.0.rc1``."""
    tag = plan.tag
    return (
        plan.session is Session.CANDIDATE
        and isinstance(tag, Candidate)
        and tag.rc == 1
        and tag.release.patch == 0
    )


def needs_rfc(plan: ReleasePlan) -> bool:
    """A patch: the patch_release session, or a candidate or final of ``M.n.p``, ``p > 0``."""
    tag = plan.tag
    if plan.session is Session.PATCH:
        return True
    if plan.session is Session.CANDIDATE and isinstance(tag, Candidate):
        return tag.release.patch > 0
    return plan.session is Session.FINAL and isinstance(tag, Release) and tag.patch > 0


def source_weekly(plan: ReleasePlan) -> str | None:
    """The first of the plan's source refs that is a weekly's tag (``w.YYYY.WW``)."""
    from dmrelease.core.names import InvalidName, Weekly, parse_tag

    for ref in plan.source_refs:
        try:
            if isinstance(parse_tag(ref), Weekly):
                return ref
        except InvalidName:
            continue
    return None


def previous_final(plan: ReleasePlan, tag_names: Iterable[str]) -> Release | None:
    """The highest final among ``tag_names`` below the plan's release (a candidate's
    ``M.n.p`` or the final itself); None for a weekly or when there is none."""
    from dmrelease.core.names import InvalidName, parse_tag

    tag = plan.tag
    release = tag.release if isinstance(tag, Candidate) else tag
    if not isinstance(release, Release):
        return None
    found = []
    for name in tag_names:
        try:
            parsed = parse_tag(name)
        except InvalidName:
            continue
        if isinstance(parsed, Release) and parsed < release:
            found.append(parsed)
    return max(found, default=None)


def _d(where: str, rule: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(where, 1, rule, message, hint=hint)


def _rc1(plan: ReleasePlan, asked: Asked, facts: CriteriaFacts) -> list[Diagnostic]:
    where, release = plan.product, plan.release
    problems: list[Diagnostic] = []
    if asked.release_issue is None:
        problems.append(
            _d(
                where,
                "rc1-release-issue",
                f"{release} needs its release issue",
                "give --release-issue DM-N or set jira.release_issue",
            )
        )
    elif facts.release_issue is None:
        problems.append(
            _d(where, "rc1-release-issue", f"release issue {asked.release_issue} is not in Jira")
        )
    else:
        problems += _blockers(where, release, asked, facts)
    if not asked.approved_by:
        problems.append(
            _d(
                where,
                "rc1-approval",
                f"{release} needs the product owner's approval",
                "give --approved-by NAME once they approved it",
            )
        )
    problems += _weekly(where, release, facts.weekly)
    return problems


def _blockers(where: str, release: str, asked: Asked, facts: CriteriaFacts) -> list[Diagnostic]:
    waived = dict(asked.waivers)
    issue = asked.release_issue
    problems = [
        _d(
            where,
            "rc1-blocker-open",
            f"{b.key} ({b.status}) blocks release issue {issue} of {release}: {b.summary}",
            f"finish it, or waive it: --waive {b.key} --why TEXT",
        )
        for b in facts.blockers
        if not b.done and b.key not in waived
    ]
    blocking = {b.key for b in facts.blockers}
    problems += [
        _d(
            where,
            "rc1-waiver",
            f"--waive {key}: {key} does not block release issue {issue}",
            "waive only issues that block the release issue",
        )
        for key, _why in asked.waivers
        if key not in blocking
    ]
    return problems


def _weekly(where: str, release: str, weekly: WeeklyFacts | None) -> list[Diagnostic]:
    if weekly is None or weekly.weekly is None:
        return [
            _d(
                where,
                "rc1-weekly",
                f"{release} is not made from a weekly",
                "make an rc1 from a green weekly: --refs w.YYYY.WW",
            )
        ]
    name = weekly.weekly
    if weekly.missing:
        return [
            _d(
                where,
                "rc1-weekly",
                f"{', '.join(weekly.missing)} not at {name}: the source "
                "weekly's tag is on every package of a green weekly",
            )
        ]
    if weekly.build_id is None:
        return [_d(where, "rc1-weekly", f"{name}'s tag names no build: not a green weekly")]
    if not weekly.recorded:
        return [
            _d(
                where,
                "rc1-weekly",
                f"{name}'s build {weekly.build_id} is not in versiondb: not a green weekly",
            )
        ]
    return []


def _rfc(plan: ReleasePlan, asked: Asked, facts: CriteriaFacts) -> list[Diagnostic]:
    where, release = plan.product, plan.release
    approved = ", ".join(facts.rfc_approved)
    if not asked.rfc:
        return [
            _d(
                where,
                "patch-rfc",
                f"patch {release} needs its RFC approved",
                f"give --rfc RFC-N (approved: {approved})",
            )
        ]
    if facts.rfc is None:
        return [_d(where, "patch-rfc", f"{asked.rfc} is not in Jira")]
    if facts.rfc.status not in facts.rfc_approved:
        return [
            _d(
                where,
                "patch-rfc",
                f"{asked.rfc} is {facts.rfc.status}: patch {release} "
                f"needs it approved ({approved})",
            )
        ]
    return []


def _new_packages(plan: ReleasePlan, facts: CriteriaFacts) -> list[Diagnostic]:
    from dmrelease.core.contents import CONTENTS_PATH

    where = facts.contents or CONTENTS_PATH.format(product=plan.product)
    why = "no approval there" if facts.contents else f"{where} does not exist"
    return [
        _d(
            where,
            "package-unapproved",
            f"{name} is new to {plan.product} since {facts.previous}: {why}",
            "add it under packages: in the contents file with the RFC that approved it",
        )
        for name in facts.new_packages
        if facts.approvals.get(name) is None
    ]


def judge(
    plan: ReleasePlan, asked: Asked, facts: CriteriaFacts
) -> tuple[ChangeControl, list[Diagnostic], list[str]]:
    """The plan's change-control record, every problem, and the notes (what was not
    judged and why)."""
    problems: list[Diagnostic] = []
    notes: list[str] = []
    rc1, patch = needs_rc1(plan), needs_rfc(plan)
    if (rc1 or patch) and not facts.jira:
        notes.append(RC1_NOT_CHECKED if rc1 else PATCH_NOT_CHECKED)
    elif rc1:
        problems += _rc1(plan, asked, facts)
    elif patch:
        problems += _rfc(plan, asked, facts)
    if facts.new_packages and (facts.contents is not None or facts.jira):
        problems += _new_packages(plan, facts)
    elif facts.new_packages:
        notes.append(
            f"new packages since {facts.previous} not checked ({', '.join(facts.new_packages)}):"
            " no contents file"
        )
    problems += facts.third_party
    if asked.waivers and not rc1:  # judged only against an rc1's release issue: not kept
        keys = ", ".join(key for key, _why in asked.waivers)
        notes.append(
            f"--waive not recorded ({keys}): {plan.release} is not an rc1, whose blockers"
            " alone are waived"
        )
    judged = facts.jira and (rc1 or patch)
    weekly = facts.weekly if judged and rc1 else None
    green = weekly is not None and weekly.weekly and weekly.recorded and not weekly.missing
    record = ChangeControl(
        release_issue=asked.release_issue,
        blockers=tuple((b.key, b.status) for b in facts.blockers) if judged and rc1 else (),
        waivers=asked.waivers if rc1 else (),
        approved_by=asked.approved_by,
        weekly=f"{weekly.weekly} {weekly.build_id}" if green and weekly else None,
        rfc=asked.rfc,
        rfc_status=facts.rfc.status if judged and patch and facts.rfc else None,
        approvals=tuple(
            (name, rfc) for name in facts.new_packages if (rfc := facts.approvals.get(name))
        ),
    )
    if not plan.session.tags or plan.session is Session.WEEKLY:
        record = (
            ChangeControl(rfc=asked.rfc, rfc_status=record.rfc_status) if patch else ChangeControl()
        )
    return record, problems, notes
