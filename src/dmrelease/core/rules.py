"""The release rules, checked before anything is written (DMTN-106 §4-5, DESIGN.md §1, §3).

Every rule is a pure function of the plan and of :class:`Facts`, what the remotes show
(tags, branches, ancestry answers the stage got from git, the release lock). All problems
are collected; each :class:`Diagnostic` names the package (or the product) and the rule.
Rule ids: ``tag-canonical``, ``tag-kind``, ``rc1-source``, ``rc-previous``, ``rc-descends``,
``rc-gap``, ``rc-order``, ``rc-after-final``, ``final-without-rc``, ``final-matches-rc``,
``final-manifest``, ``patch-base``, ``patch-source``, ``patch-descends``,
``release-branch-base``, ``branch-conflict``, ``weekly-order``, ``release-lock``,
``tag-conflict``. Once a release is made, `release validate` also asks
:func:`check_tags_present` (rule tag-missing). The kind of a tag is decided by parsing it,
never by its first character.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from dmrelease.core.errors import Diagnostic
from dmrelease.core.facts import Ancestry, Facts, RepoFacts, diagnostic, parse_or_none
from dmrelease.core.names import Candidate, InvalidName, Release, Weekly, parse_tag
from dmrelease.core.plan import PackagePlan, ReleasePlan, Session, previous_of
from dmrelease.core.rules_versions import (
    check_branch_base,
    check_final,
    check_patch,
    check_rc1_source,
    check_rc_sequence,
)

__all__ = [
    "RULES",
    "Ancestry",
    "Facts",
    "RepoFacts",
    "ancestry_questions",
    "check_existing_refs",
    "check_plan",
    "check_tag_name",
    "check_tags_present",
    "check_weekly_order",
]

# -- what the rules ask git ---------------------------------------------------------------


def _bases(plan: ReleasePlan) -> list[str]:
    """Tags whose SHA each package's new SHA must descend from."""
    tag = plan.tag
    if plan.session is Session.CANDIDATE and isinstance(tag, Candidate):
        previous = previous_of(tag)
        return [str(previous)] if previous else []
    return []


def ancestry_questions(plan: ReleasePlan, facts: Facts) -> dict[str, set[Ancestry]]:
    """Per package, the (ancestor, descendant) SHA pairs the rules need answered: the new
    SHA against rc(N-1) or the previous final, and a planned branch against its tip."""
    questions: dict[str, set[Ancestry]] = {}
    bases = _bases(plan)
    for package in plan.packages:
        repo = facts.repo(package.name)
        pairs = {(repo.tags[b], package.sha) for b in bases if b in repo.tags}
        if package.branch and package.branch in repo.branches:
            pairs.add((package.sha, repo.branches[package.branch]))
        questions[package.name] = {(a, d) for a, d in pairs if a != d}
    return questions


# -- the tag itself -----------------------------------------------------------------------

_KIND_OF: dict[Session, tuple[type, str]] = {
    Session.WEEKLY: (Weekly, "a weekly w.YYYY.WW"),
    Session.CANDIDATE: (Candidate, "a release candidate vM.n.p.rcN"),
    Session.FINAL: (Release, "a final release M.n.p"),
    Session.PATCH: (Release, "the coming patch release M.n.p (p ≥ 1)"),
}


def check_tag_name(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``tag-canonical``: the name parses strictly (:func:`parse_tag` accepts only names that
    re-serialise to themselves); ``tag-kind``: it is the kind the session makes (DESIGN.md §3)."""
    if plan.session is Session.BACKPORT:
        if plan.pattern.match(plan.release) is None:
            return [
                diagnostic(
                    plan.product,
                    "tag-kind",
                    f"{plan.release!r} is not a release "
                    f"branch of the pattern {plan.branch_pattern!r}",
                )
            ]
        return []
    try:
        tag = parse_tag(plan.release)
    except InvalidName as exc:
        return [diagnostic(plan.product, "tag-canonical", f"{plan.release!r}: {exc.reason}")]
    kind, what = _KIND_OF[plan.session]
    wrong = not isinstance(tag, kind) or (
        plan.session is Session.PATCH and isinstance(tag, Release) and tag.patch == 0
    )
    if wrong:
        return [diagnostic(plan.product, "tag-kind", f"{plan.session} needs {what}, not {tag}")]
    return []


def check_existing_refs(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``tag-conflict``: an existing tag of the same name must be at the same SHA (then it
    is a no-op); tags are never moved or deleted and there is no force option.
    ``branch-conflict``: a planned branch that exists must contain the planned SHA."""
    problems = []
    for package in plan.packages:
        repo = facts.repo(package.name)
        for tag in package.tags:
            there = repo.tags.get(tag)
            if there is not None and there != package.sha:
                problems.append(_tag_conflict(package, tag, there))
        tip = repo.branches.get(package.branch or "")
        if tip is not None and not facts.descends(package.name, package.sha, tip):
            problems.append(
                diagnostic(
                    package.name,
                    "branch-conflict",
                    f"branch {package.branch} exists at {tip[:12]}, which does not contain "
                    f"{package.sha[:12]}",
                    "branches are never reset: pick up the existing one",
                )
            )
    return problems


def _tag_conflict(package: PackagePlan, tag: str, there: str) -> Diagnostic:
    return diagnostic(
        package.name,
        "tag-conflict",
        f"tag {tag} exists at {there[:12]}; the plan needs it at {package.sha[:12]}",
        "tags are never moved or deleted: use the next name",
    )


def check_tags_present(
    plan: ReleasePlan, facts: Facts, remotes: Mapping[str, str], saved: bool
) -> list[Diagnostic]:
    """``tag-missing``: once a release was made (``saved``: its applied plan was kept, or
    some package's remote has one of its tags), every package's remote must have every
    tag of it (a tag deleted or never pushed); ``remotes`` names each package's remote.
    Before the release is made, a missing tag is what apply pushes, not a problem."""
    wanted = [(package, tag) for package in plan.packages for tag in package.tags]
    made = saved or any(tag in facts.repo(p.name).tags for p, tag in wanted)
    if not made:
        return []
    missing = [(p, tag) for p, tag in wanted if tag not in facts.repo(p.name).tags]
    return [
        diagnostic(
            package.name,
            "tag-missing",
            f"the remote {remotes.get(package.name, 'origin')} has no tag {tag} of "
            f"{plan.operation}",
            f"rerun the session to push it at {package.sha[:12]}; tags are never moved",
        )
        for package, tag in missing
    ]


def check_lock(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``release-lock``: a weekly must not race a release on the same product; only the
    session that took the lock (and a rerun of it) may go on."""
    lock = facts.lock
    if lock is None or lock.owned_by(str(plan.session), plan.release):
        return []
    hint = "wait for it to finish; if that run is dead, rerun with --break-lock"
    return [diagnostic(plan.product, "release-lock", str(lock), hint)]


# -- weeklies -----------------------------------------------------------------------------


def check_weekly_order(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``weekly-order``: weekly tags only move forward; none may be older than an existing
    one on the same package."""
    new = plan.tag
    if plan.session is not Session.WEEKLY or not isinstance(new, Weekly):
        return []
    problems = []
    for package in plan.packages:
        later = [w for w in _weeklies(facts.repo(package.name).tags) if w > new]
        if later:
            problems.append(
                diagnostic(
                    package.name,
                    "weekly-order",
                    f"{max(later)} exists: {new} would go back in time",
                )
            )
    return problems


def _weeklies(tags: Iterable[str]) -> list[Weekly]:
    return [w for w in (parse_or_none(t) for t in tags) if isinstance(w, Weekly)]


Rule = Callable[[ReleasePlan, Facts], list[Diagnostic]]

#: every rule, in the order their diagnostics are reported
RULES: tuple[Rule, ...] = (
    check_tag_name,
    check_lock,
    check_existing_refs,
    check_rc1_source,
    check_rc_sequence,
    check_final,
    check_patch,
    check_branch_base,
    check_weekly_order,
)


def check_plan(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """All problems of ``plan`` against ``facts``; an empty list means it may be applied.

    When the tag name itself is wrong, only that is reported: the other rules would
    explain the same mistake again."""
    naming = check_tag_name(plan, facts)
    if naming:
        return naming + check_lock(plan, facts)
    return [d for rule in RULES for d in rule(plan, facts)]
