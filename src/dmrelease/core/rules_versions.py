"""The rules of the release sequence: candidates, finals, patches, release branches.

DMTN-106 §4.3-4.6 and DESIGN.md §1: rc1 comes from a weekly on every package, rcN follows
rc(N-1) without gaps and only moves forward, a final tags exactly the last candidate, a
patch comes from the previous final and the release branch, and a release branch starts
at the first candidate. Part of :data:`dmrelease.core.rules.RULES`.
"""

from __future__ import annotations

from dmrelease.core.errors import Diagnostic
from dmrelease.core.facts import Facts, all_tags, diagnostic, parse_or_none
from dmrelease.core.names import Candidate, Release, Weekly
from dmrelease.core.plan import PackagePlan, ReleasePlan, Session, candidates_of

__all__ = [
    "check_branch_base",
    "check_final",
    "check_patch",
    "check_rc1_source",
    "check_rc_sequence",
]

# -- candidates ---------------------------------------------------------------------------


def _candidate(plan: ReleasePlan) -> Candidate | None:
    tag = plan.tag
    ok = plan.session is Session.CANDIDATE and isinstance(tag, Candidate)
    return tag if ok and isinstance(tag, Candidate) else None


def check_rc1_source(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``rc1-source``: ``vM.n.0.rc1`` is made from one weekly tag that exists on every
    package of the manifest, and every package resolved to it (DMTN-106 §4.3)."""
    rc = _candidate(plan)
    if rc is None or rc.rc != 1 or rc.patch != 0:
        return []
    weeklies = [ref for ref in plan.source_refs if isinstance(parse_or_none(ref), Weekly)]
    if len(weeklies) != 1 or len(plan.source_refs) != 1:
        given = " ".join(plan.source_refs) or "none"
        return [
            diagnostic(
                plan.product,
                "rc1-source",
                f"{rc} must be made from exactly one weekly tag (refs given: {given})",
                "e.g. --refs w.2025.24",
            )
        ]
    weekly = weeklies[0]
    return [
        diagnostic(
            p.name,
            "rc1-source",
            f"weekly {weekly} does not exist here "
            f"(resolved to {p.ref}): {rc} needs it on every package",
        )
        for p in plan.packages
        if weekly not in facts.repo(p.name).tags or p.ref != weekly
    ]


def check_rc_sequence(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """rcN (N > 1): ``rc-gap`` no gap in rc numbers, ``rc-order`` no candidate below the
    last one, ``rc-previous`` rc(N-1) exists on each package, ``rc-descends`` each new SHA
    descends from rc(N-1)'s; ``rc-after-final``: no candidate once the final is out."""
    rc = _candidate(plan)
    if rc is None:
        return []
    existing = candidates_of(rc.release, all_tags(facts))
    problems = _rc_order(plan, rc, existing, facts)
    if rc.rc > 1 and not problems:
        problems += _rc_previous(plan, Candidate(rc.release, rc.rc - 1), facts)
    return problems


def _rc_order(
    plan: ReleasePlan, rc: Candidate, existing: list[Candidate], facts: Facts
) -> list[Diagnostic]:
    if str(rc.release) in all_tags(facts):
        return [
            diagnostic(
                plan.product,
                "rc-after-final",
                f"{rc.release} is out: no more candidates for it",
                f"the next is {rc.release.next_patch()}",
            )
        ]
    last = existing[-1].rc if existing else 0
    if rc.rc > last + 1:
        expected = Candidate(rc.release, last + 1)
        return [
            diagnostic(
                plan.product,
                "rc-gap",
                f"{rc} would leave a gap: the last candidate is "
                f"{existing[-1] if existing else 'none'}",
                f"tag {expected}",
            )
        ]
    if rc.rc < last and rc not in existing:
        return [
            diagnostic(
                plan.product,
                "rc-order",
                f"{existing[-1]} exists: {rc} would come after it",
                f"tag {existing[-1].next_rc()}",
            )
        ]
    return []


def _rc_previous(plan: ReleasePlan, previous: Candidate, facts: Facts) -> list[Diagnostic]:
    problems = []
    for package in plan.packages:
        base = facts.repo(package.name).tags.get(str(previous))
        if base is None:
            problems.append(
                diagnostic(
                    package.name,
                    "rc-previous",
                    f"{previous} does not exist here; {plan.release} follows it on every package",
                )
            )
        elif not facts.descends(package.name, base, package.sha):
            problems.append(_not_descending(package, "rc-descends", str(previous), base))
    return problems


def _not_descending(package: PackagePlan, rule: str, base_name: str, base: str) -> Diagnostic:
    return diagnostic(
        package.name,
        rule,
        f"{package.sha[:12]} (from {package.ref}) does not descend from {base_name} at {base[:12]}",
        "a release only moves forward: merge or backport onto the release branch",
    )


# -- finals and patches -------------------------------------------------------------------


def check_final(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``final-without-rc``, ``final-matches-rc``, ``final-manifest``: a final tags exactly
    the SHAs of the last candidate in every repo, with the same manifest content hash
    (DMTN-106 §4.6)."""
    tag = plan.tag
    if plan.session is not Session.FINAL or not isinstance(tag, Release):
        return []
    existing = candidates_of(tag, all_tags(facts))
    if not existing:
        return [
            diagnostic(
                plan.product,
                "final-without-rc",
                f"no candidate of {tag} exists",
                f"tag {tag.candidate(1)} first",
            )
        ]
    last = str(existing[-1])
    problems = [
        diagnostic(
            p.name,
            "final-matches-rc",
            f"{plan.release} would tag {p.sha[:12]}, but "
            f"{last} is {_short(facts.repo(p.name).tags.get(last))}",
            f"a final tags the last candidate: use --refs {last}",
        )
        for p in plan.packages
        if facts.repo(p.name).tags.get(last) != p.sha
    ]
    recorded = facts.manifest_checksums.get(last)
    if recorded and plan.manifest_checksum and recorded != plan.manifest_checksum:
        problems.append(
            diagnostic(
                plan.product,
                "final-manifest",
                f"manifest {plan.manifest_checksum} differs from {last}'s {recorded}",
            )
        )
    return problems


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "missing"


def check_patch(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """A patch ``M.n.p+1`` comes from ``M.n.p`` and the ``M.n`` release branches: its rc1
    (``patch-source``, ``patch-base``, ``patch-descends``) and its release branches
    (``patch-base``: made at the final's SHA)."""
    tag = plan.tag
    if plan.session is Session.PATCH and isinstance(tag, Release) and tag.patch > 0:
        base = Release(tag.major, tag.minor, tag.patch - 1)
        return _patch_branches(plan, base, facts)
    rc = _candidate(plan)
    if rc is None or rc.rc != 1 or rc.patch == 0:
        return []
    base = Release(rc.major, rc.minor, rc.patch - 1)
    allowed = {plan.pattern.render(rc.release), str(base)}
    if str(base) not in plan.source_refs or not set(plan.source_refs) <= allowed:
        return [
            diagnostic(
                plan.product,
                "patch-source",
                f"{rc} is made from the release branch "
                f"and {base}, not {' '.join(plan.source_refs) or 'nothing'}",
                f"--refs {' '.join(sorted(allowed, reverse=True))}",
            )
        ]
    return [d for p in plan.packages for d in _patch_package(p, base, facts)]


def _patch_package(package: PackagePlan, base: Release, facts: Facts) -> list[Diagnostic]:
    there = facts.repo(package.name).tags.get(str(base))
    if there is None:
        return [diagnostic(package.name, "patch-base", f"{base} does not exist here")]
    if not facts.descends(package.name, there, package.sha):
        return [_not_descending(package, "patch-descends", str(base), there)]
    return []


def _patch_branches(plan: ReleasePlan, base: Release, facts: Facts) -> list[Diagnostic]:
    problems = []
    for package in plan.packages:
        there = facts.repo(package.name).tags.get(str(base))
        if there != package.sha:
            problems.append(
                diagnostic(
                    package.name,
                    "patch-base",
                    f"the release branch must start "
                    f"at {base} ({_short(there)}), not {package.sha[:12]}",
                )
            )
    return problems


def check_branch_base(plan: ReleasePlan, facts: Facts) -> list[Diagnostic]:
    """``release-branch-base``: a new release branch starts at ``vM.n.0.rc1``'s SHA, not a
    later candidate's (DESIGN.md §1, issue 5 §5); a patch's new branches start at the previous
    final instead, which for a package never branched is the same commit."""
    if plan.session is Session.PATCH:
        return []  # a patch's branches start at the previous final: check_patch
    problems = []
    for package in plan.packages:
        if package.branch is None or package.branch in facts.repo(package.name).branches:
            continue
        numbers = plan.pattern.match(package.branch)
        if numbers is None:
            problems.append(
                diagnostic(
                    package.name,
                    "release-branch-base",
                    f"{package.branch} is not of the pattern {plan.branch_pattern}",
                )
            )
            continue
        rc1 = str(Candidate(Release(*numbers, 0), 1))
        there = facts.repo(package.name).tags.get(rc1)
        if there != package.sha:
            problems.append(
                diagnostic(
                    package.name,
                    "release-branch-base",
                    f"{package.branch} must start at {rc1} ({_short(there)}), "
                    f"not {package.sha[:12]}",
                    "release branches start at the first candidate",
                )
            )
    return problems
