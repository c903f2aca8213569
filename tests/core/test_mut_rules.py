"""Every release rule's diagnostic, whole: rule id, place, message and hint.

Written against mutation testing (issue 8) of core/rules.py and core/rules_versions.py: each
case lists the complete ``PATH:LINE: rule: message (hint)`` lines it must produce, so a rule
that fires on the wrong package, names the wrong tag or loses its hint fails here.
"""

from __future__ import annotations

import pytest
from rule_cases import F0, FIX, MAIN, RC1, RC2, RC3, RC4, W24, Case

from dmrelease.core.journal import Lock
from dmrelease.core.plan import ReleasePlan, Session, make_plan
from dmrelease.core.refs import RefKind, RefSource, Resolution
from dmrelease.core.rules import (
    Facts,
    RepoFacts,
    ancestry_questions,
    check_weekly_order,
)
from dmrelease.core.rules_versions import check_patch, check_rc1_source, check_rc_sequence


def short(full: str) -> str:
    return full[:12]


RC1_TAGS = {"w.2025.24": W24, "v29.1.0.rc1": RC1}
RC2_TAGS = {**RC1_TAGS, "v29.1.0.rc2": RC2}
FINAL_TAGS = {**RC2_TAGS, "29.1.0": RC2}
OTHERS_LOCK = Lock("demo", "weekly", "w.2025.25", "jenkins pid 7", "2025-06-20T10:00:00Z")
NOT_FORWARD = "a release only moves forward: merge or backport onto the release branch"

CASES: dict[str, tuple[Case, list[str]]] = {
    "zero-padded rc": (
        Case(Session.CANDIDATE, "v29.1.0.rc01", ("w.2025.24",), {"base": ("w.2025.24", W24)}),
        ["demo:1: tag-canonical: 'v29.1.0.rc01': zero padding in '01' (write 1)"],
    ),
    "a final in other digits": (
        Case(Session.FINAL, "\uff12\uff19.1.0", ("v29.1.0.rc1",), {"base": ("v29.1.0.rc1", RC1)}),
        [
            "demo:1: tag-canonical: '\uff12\uff19.1.0': not a DM tag name: expected M.n.p,"
            " vM.n.p.rcN, w.YYYY.WW, d.YYYY.MM.DD or bN"
        ],
    ),
    "final given to candidate": (
        Case(Session.CANDIDATE, "29.1.0", ("w.2025.24",), {"base": ("w.2025.24", W24)}),
        ["demo:1: tag-kind: release_candidate needs a release candidate vM.n.p.rcN, not 29.1.0"],
    ),
    "patch .0 is no patch": (
        Case(Session.PATCH, "29.1.0", ("29.0.0",), {"base": ("29.0.0", F0)}, branch="v29.1.x"),
        [
            "demo:1: tag-kind: patch_release needs the coming patch release M.n.p (p ≥ 1),"
            " not 29.1.0"
        ],
    ),
    "backport to a non-branch": (
        Case(Session.BACKPORT, "main", (), {"afw": ("main", MAIN)}, branch="main"),
        ["demo:1: tag-kind: 'main' is not a release branch of the pattern 'v{major}.{minor}.x'"],
    ),
    "a bad name and a foreign lock": (
        Case(Session.CANDIDATE, "29.1.0", ("w.2025.24",), {"base": ("w.2025.24", W24)},
             lock=OTHERS_LOCK),
        [
            "demo:1: tag-kind: release_candidate needs a release candidate vM.n.p.rcN, not 29.1.0",
            "demo:1: release-lock: demo is locked by weekly w.2025.25"
            " (jenkins pid 7, since 2025-06-20T10:00:00Z)"
            " (wait for it to finish; if that run is dead, rerun with --break-lock)",
        ],
    ),
    "rc1 exists elsewhere": (
        Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",),
             {"base": ("w.2025.24", W24), "afw": ("w.2025.24", W24)},
             {"base": {"w.2025.24": W24, "v29.1.0.rc1": MAIN}, "afw": {"w.2025.24": W24}}),
        [
            f"base:1: tag-conflict: tag v29.1.0.rc1 exists at {short(MAIN)};"
            f" the plan needs it at {short(W24)}"
            " (tags are never moved or deleted: use the next name)"
        ],
    ),
    "existing branch elsewhere": (
        Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc1",), {"afw": ("v29.1.0.rc1", RC1)},
             {"afw": RC1_TAGS}, {"afw": {"v29.1.x": MAIN}}, descends={"afw": False},
             branch="v29.1.x"),
        [
            f"afw:1: branch-conflict: branch v29.1.x exists at {short(MAIN)},"
            f" which does not contain {short(RC1)}"
            " (branches are never reset: pick up the existing one)"
        ],
    ),
    "weekly back in time": (
        Case(Session.WEEKLY, "w.2025.20", (), {"base": ("main", MAIN)},
             {"base": {"w.2025.24": W24, "w.2025.22": W24, "29.1.0": W24}}),
        ["base:1: weekly-order: w.2025.24 exists: w.2025.20 would go back in time"],
    ),
    "rc1 from main": (
        Case(Session.CANDIDATE, "v29.1.0.rc1", ("main", "v29.0.x"), {"base": ("main", MAIN)}),
        [
            "demo:1: rc1-source: v29.1.0.rc1 must be made from exactly one weekly tag"
            " (refs given: main v29.0.x) (e.g. --refs w.2025.24)"
        ],
    ),
    "rc1 from nothing": (
        Case(Session.CANDIDATE, "v29.1.0.rc1", (), {"base": ("main", MAIN)}),
        [
            "demo:1: rc1-source: v29.1.0.rc1 must be made from exactly one weekly tag"
            " (refs given: none) (e.g. --refs w.2025.24)"
        ],
    ),
    "rc1 weekly missing on afw, base resolved past it": (
        Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",),
             {"base": ("main", MAIN), "log": ("w.2025.24", W24), "afw": ("main", MAIN)},
             {"base": {"w.2025.24": W24}, "log": {"w.2025.24": W24}}),
        [
            "base:1: rc1-source: weekly w.2025.24 does not exist here (resolved to main):"
            " v29.1.0.rc1 needs it on every package",
            "afw:1: rc1-source: weekly w.2025.24 does not exist here (resolved to main):"
            " v29.1.0.rc1 needs it on every package",
        ],
    ),
    "rc3 after the final": (
        Case(Session.CANDIDATE, "v29.1.0.rc3", ("v29.1.x", "v29.1.0.rc2"),
             {"base": ("v29.1.0.rc2", RC2)}, {"base": FINAL_TAGS}),
        ["demo:1: rc-after-final: 29.1.0 is out: no more candidates for it (the next is 29.1.1)"],
    ),
    "rc2 without any rc": (
        Case(Session.CANDIDATE, "v29.1.0.rc2", ("w.2025.24",), {"base": ("w.2025.24", W24)},
             {"base": {"w.2025.24": W24}}),
        [
            "demo:1: rc-gap: v29.1.0.rc2 would leave a gap: the last candidate is none"
            " (tag v29.1.0.rc1)"
        ],
    ),
    "rc3 after rc4": (
        Case(Session.CANDIDATE, "v29.1.0.rc3", ("v29.1.0.rc2",), {"base": ("v29.1.0.rc2", RC2)},
             {"base": {**RC2_TAGS, "v29.1.0.rc4": RC4}}),
        ["demo:1: rc-order: v29.1.0.rc4 exists: v29.1.0.rc3 would come after it (tag v29.1.0.rc5)"],
    ),
    "rc2 without rc1 on afw, not descending on log": (
        Case(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x", "v29.1.0.rc1"),
             {"afw": ("v29.1.x", FIX), "log": ("v29.1.x", FIX)},
             {"log": RC1_TAGS}, descends={"log": False}),
        [
            "afw:1: rc-previous: v29.1.0.rc1 does not exist here;"
            " v29.1.0.rc2 follows it on every package",
            f"log:1: rc-descends: {short(FIX)} (from v29.1.x) does not descend from"
            f" v29.1.0.rc1 at {short(RC1)} ({NOT_FORWARD})",
        ],
    ),
    "final without rc": (
        Case(Session.FINAL, "29.1.0", ("w.2025.24",), {"base": ("w.2025.24", W24)},
             {"base": {"w.2025.24": W24}}),
        ["demo:1: final-without-rc: no candidate of 29.1.0 exists (tag v29.1.0.rc1 first)"],
    ),
    "final of the last of three candidates": (
        Case(Session.FINAL, "29.1.0", ("v29.1.0.rc3",), {"base": ("v29.1.0.rc3", RC3)},
             {"base": {**RC2_TAGS, "v29.1.0.rc3": RC3}}),
        [],
    ),
    "final of an older rc": (
        Case(Session.FINAL, "29.1.0", ("v29.1.0.rc1",),
             {"base": ("v29.1.0.rc1", RC1), "afw": ("v29.1.0.rc1", RC1)},
             {"base": RC2_TAGS, "afw": RC1_TAGS}),
        [
            f"base:1: final-matches-rc: 29.1.0 would tag {short(RC1)}, but v29.1.0.rc2 is"
            f" {short(RC2)} (a final tags the last candidate: use --refs v29.1.0.rc2)",
            f"afw:1: final-matches-rc: 29.1.0 would tag {short(RC1)}, but v29.1.0.rc2 is"
            " missing (a final tags the last candidate: use --refs v29.1.0.rc2)",
        ],
    ),
    "final manifest differs": (
        Case(Session.FINAL, "29.1.0", ("v29.1.0.rc2",), {"base": ("v29.1.0.rc2", RC2)},
             {"base": RC2_TAGS}, checksums={"v29.1.0.rc2": "sha256:m2"},
             manifest_checksum="sha256:other"),
        ["demo:1: final-manifest: manifest sha256:other differs from v29.1.0.rc2's sha256:m2"],
    ),
    "final of a patch": (
        Case(Session.FINAL, "29.1.1", ("v29.1.1.rc1",), {"base": ("v29.1.1.rc1", FIX)},
             {"base": {**FINAL_TAGS, "v29.1.1.rc1": FIX}}),
        [],
    ),
    "patch rc1 from the final and main": (
        Case(Session.CANDIDATE, "v29.1.1.rc1", ("29.1.0", "main"), {"base": ("29.1.0", RC2)},
             {"base": FINAL_TAGS}),
        [
            "demo:1: patch-source: v29.1.1.rc1 is made from the release branch and 29.1.0,"
            " not 29.1.0 main (--refs v29.1.x 29.1.0)"
        ],
    ),
    "patch rc1 from nothing": (
        Case(Session.CANDIDATE, "v29.1.1.rc1", (), {"base": ("main", MAIN)},
             {"base": FINAL_TAGS}),
        [
            "demo:1: patch-source: v29.1.1.rc1 is made from the release branch and 29.1.0,"
            " not nothing (--refs v29.1.x 29.1.0)"
        ],
    ),
    "patch rc1 without the final, not descending": (
        Case(Session.CANDIDATE, "v29.1.1.rc1", ("v29.1.x", "29.1.0"),
             {"afw": ("v29.1.x", FIX), "log": ("v29.1.x", FIX)},
             {"afw": RC2_TAGS, "log": FINAL_TAGS}, descends={"log": False}),
        [
            "afw:1: patch-base: 29.1.0 does not exist here",
            f"log:1: patch-descends: {short(FIX)} (from v29.1.x) does not descend from"
            f" 29.1.0 at {short(RC2)} ({NOT_FORWARD})",
        ],
    ),
    "patch branches elsewhere": (
        Case(Session.PATCH, "29.1.1", ("29.1.0",),
             {"afw": ("main", MAIN), "log": ("main", MAIN)},
             {"afw": FINAL_TAGS}, branch="v29.1.x"),
        [
            f"afw:1: patch-base: the release branch must start at 29.1.0 ({short(RC2)}),"
            f" not {short(MAIN)}",
            f"log:1: patch-base: the release branch must start at 29.1.0 (missing),"
            f" not {short(MAIN)}",
        ],
    ),
    "backport branches not of the pattern": (
        Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc1",),
             {"afw": ("v29.1.0.rc1", RC1), "log": ("v29.1.0.rc1", RC1)},
             {"afw": RC1_TAGS, "log": RC1_TAGS}, branch="main"),
        [
            "afw:1: release-branch-base: main is not of the pattern v{major}.{minor}.x",
            "log:1: release-branch-base: main is not of the pattern v{major}.{minor}.x",
        ],
    ),
    "backport branch at rc2 after one that exists": (
        Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc2",),
             {"afw": ("v29.1.0.rc2", FIX), "log": ("v29.1.0.rc2", RC2),
              "base": ("v29.1.0.rc2", RC2)},
             {"afw": RC2_TAGS, "log": RC2_TAGS}, {"afw": {"v29.1.x": FIX}},
             branch="v29.1.x"),
        [
            f"log:1: release-branch-base: v29.1.x must start at v29.1.0.rc1 ({short(RC1)}),"
            f" not {short(RC2)} (release branches start at the first candidate)",
            f"base:1: release-branch-base: v29.1.x must start at v29.1.0.rc1 (missing),"
            f" not {short(RC2)} (release branches start at the first candidate)",
        ],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("case", "expected"), CASES.values(), ids=CASES.keys())
def test_every_diagnostic_is_whole(case: Case, expected: list[str]) -> None:
    assert case.diagnostics() == expected


def _plan(session: Session, release: str, refs: tuple[str, ...] = ()) -> ReleasePlan:
    resolutions = {"base": Resolution("base", "main", RefKind.TAG, MAIN, RefSource.REF_LIST, "")}
    return make_plan("demo", session, release, refs, resolutions, branch="v29.1.x")


def test_candidate_rules_ignore_a_candidate_name_in_another_session() -> None:
    plan = _plan(Session.FINAL, "v29.1.0.rc2", ("main",))
    facts = Facts({"base": RepoFacts({"29.1.0": MAIN})})
    assert check_rc1_source(_plan(Session.FINAL, "v29.1.0.rc1", ("main",)), facts) == []
    assert check_rc_sequence(plan, facts) == []


def test_weekly_order_ignores_a_weekly_name_outside_a_weekly_session() -> None:
    plan = _plan(Session.CANDIDATE, "w.2025.20")
    assert check_weekly_order(plan, Facts({"base": RepoFacts({"w.2025.24": W24})})) == []


def test_a_patch_rule_asks_nothing_of_a_zero_patch() -> None:
    assert check_patch(_plan(Session.PATCH, "29.1.0"), Facts({"base": RepoFacts()})) == []


def test_rc1_asks_no_ancestry_question_whatever_tags_exist() -> None:
    plan = _plan(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",))
    facts = Facts({"base": RepoFacts({"None": W24, "w.2025.24": W24})})
    assert ancestry_questions(plan, facts) == {"base": set()}
