"""Every release rule, failing and passing (core/rules.py, core/rules_versions.py).

Each case names the session, the tag, the source refs, what each package resolved to and
what its remote shows; it expects exactly the (package, rule) pairs listed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from rule_cases import F0, FIX, MAIN, RC1, RC2, RC3, W24, Case, sha

from dmrelease.core.journal import Lock
from dmrelease.core.plan import Session
from dmrelease.core.rules import ancestry_questions, check_plan, check_tags_present


def both(tags: Mapping[str, str]) -> dict[str, Mapping[str, str]]:
    return {"base": tags, "afw": tags}


RC1_TAGS = {"w.2025.24": W24, "v29.1.0.rc1": RC1}
RC2_TAGS = {**RC1_TAGS, "v29.1.0.rc2": RC2}
FINAL_TAGS = {**RC2_TAGS, "29.1.0": RC2}

CASES: dict[str, tuple[Case, list[tuple[str, str]]]] = {
    # the tag name and its kind
    "rc ok": (Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",),
                   {"base": ("w.2025.24", W24)}, {"base": {"w.2025.24": W24}}), []),
    "zero-padded rc": (Case(Session.CANDIDATE, "v29.1.0.rc01", ("w.2025.24",),
                            {"base": ("w.2025.24", W24)}), [("demo", "tag-canonical")]),
    "zero-padded final": (Case(Session.FINAL, "29.01.0", ("v29.1.0.rc1",),
                               {"base": ("v29.1.0.rc1", RC1)}), [("demo", "tag-canonical")]),
    "v-final is not canonical": (Case(Session.FINAL, "v29.1.0", ("v29.1.0.rc1",),
                                      {"base": ("v29.1.0.rc1", RC1)}),
                                 [("demo", "tag-canonical")]),
    "final given to candidate": (Case(Session.CANDIDATE, "29.1.0", ("w.2025.24",),
                                      {"base": ("w.2025.24", W24)}), [("demo", "tag-kind")]),
    "rc given to final": (Case(Session.FINAL, "v29.1.0.rc1", ("v29.1.0.rc1",),
                               {"base": ("v29.1.0.rc1", RC1)}), [("demo", "tag-kind")]),
    "final given to weekly": (Case(Session.WEEKLY, "29.1.0", (), {"base": ("main", MAIN)}),
                              [("demo", "tag-kind")]),
    "patch .0 is no patch": (Case(Session.PATCH, "29.1.0", ("29.0.0",),
                                  {"base": ("29.0.0", F0)}, branch="v29.1.x"),
                             [("demo", "tag-kind")]),
    "backport to a non-branch": (Case(Session.BACKPORT, "main", (), {"afw": ("main", MAIN)},
                                      branch="main"), [("demo", "tag-kind")]),
    # rc1 from a weekly on every package
    "rc1 from main": (Case(Session.CANDIDATE, "v29.1.0.rc1", ("main",),
                           {"base": ("main", MAIN)}), [("demo", "rc1-source")]),
    "rc1 from weekly and branch": (Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24", "main"),
                                        {"base": ("w.2025.24", W24)}, both({"w.2025.24": W24})),
                                   [("demo", "rc1-source")]),
    "rc1 weekly missing on afw": (Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",),
                                       {"base": ("w.2025.24", W24), "afw": ("main", MAIN)},
                                       {"base": {"w.2025.24": W24}}), [("afw", "rc1-source")]),
    # rcN follows rc(N-1), forward only, no gaps, not after the final
    "rc2 ok": (Case(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x", "v29.1.0.rc1"),
                    {"base": ("v29.1.0.rc1", RC1), "afw": ("v29.1.x", FIX)}, both(RC1_TAGS)), []),
    "rc2 not descending": (Case(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x", "v29.1.0.rc1"),
                                {"base": ("v29.1.0.rc1", RC1), "afw": ("v29.1.x", FIX)},
                                both(RC1_TAGS), descends={"afw": False}),
                           [("afw", "rc-descends")]),
    "rc2 without rc1 on afw": (Case(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x", "v29.1.0.rc1"),
                                    {"base": ("v29.1.0.rc1", RC1), "afw": ("v29.1.x", FIX)},
                                    {"base": RC1_TAGS}), [("afw", "rc-previous")]),
    "rc3 after rc1 is a gap": (Case(Session.CANDIDATE, "v29.1.0.rc3", ("v29.1.0.rc1",),
                                    {"base": ("v29.1.0.rc1", RC1)}, {"base": RC1_TAGS}),
                               [("demo", "rc-gap")]),
    "rc2 without any rc": (Case(Session.CANDIDATE, "v29.1.0.rc2", ("w.2025.24",),
                                {"base": ("w.2025.24", W24)}, {"base": {"w.2025.24": W24}}),
                           [("demo", "rc-gap")]),
    "rc2 after rc3": (Case(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.0.rc1",),
                           {"base": ("v29.1.0.rc1", RC1)},
                           {"base": {"v29.1.0.rc1": RC1, "v29.1.0.rc3": RC3}}),
                      [("demo", "rc-order")]),
    "rc2 rerun is a no-op": (Case(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x", "v29.1.0.rc1"),
                                  {"base": ("v29.1.0.rc1", RC2)}, {"base": RC2_TAGS}), []),
    "rc3 after the final": (Case(Session.CANDIDATE, "v29.1.0.rc3", ("v29.1.x", "v29.1.0.rc2"),
                                 {"base": ("v29.1.0.rc2", RC2)}, {"base": FINAL_TAGS}),
                            [("demo", "rc-after-final")]),
    # finals
    "final ok": (Case(Session.FINAL, "29.1.0", ("v29.1.0.rc2",),
                      {"base": ("v29.1.0.rc2", RC2), "afw": ("v29.1.0.rc2", RC2)},
                      both(RC2_TAGS)), []),
    "final of an older rc": (Case(Session.FINAL, "29.1.0", ("v29.1.0.rc1",),
                                  {"base": ("v29.1.0.rc1", RC1), "afw": ("v29.1.0.rc1", RC1)},
                                  {"base": RC2_TAGS, "afw": RC1_TAGS | {"v29.1.0.rc2": RC1}}),
                             [("base", "final-matches-rc")]),
    "final without rc": (Case(Session.FINAL, "29.1.0", ("w.2025.24",),
                              {"base": ("w.2025.24", W24)}, {"base": {"w.2025.24": W24}}),
                         [("demo", "final-without-rc")]),
    "final manifest differs": (Case(Session.FINAL, "29.1.0", ("v29.1.0.rc2",),
                                    {"base": ("v29.1.0.rc2", RC2)}, {"base": RC2_TAGS},
                                    checksums={"v29.1.0.rc2": sha("m2")},
                                    manifest_checksum=sha("other")),
                               [("demo", "final-manifest")]),
    "final manifest same": (Case(Session.FINAL, "29.1.0", ("v29.1.0.rc2",),
                                 {"base": ("v29.1.0.rc2", RC2)}, {"base": RC2_TAGS},
                                 checksums={"v29.1.0.rc2": sha("m2")},
                                 manifest_checksum=sha("m2")), []),
    "external final already tagged elsewhere": (
        Case(Session.FINAL, "29.1.0", ("v29.1.0.rc2",), {"base": ("v29.1.0.rc2", RC2)},
             {"base": RC2_TAGS | {"v29.1.0": W24}}, external=("base",)),
        [("base", "tag-conflict")]),
    # patches
    "patch rc1 ok": (Case(Session.CANDIDATE, "v29.1.1.rc1", ("v29.1.x", "29.1.0"),
                          {"base": ("29.1.0", RC2), "afw": ("v29.1.x", FIX)},
                          both(FINAL_TAGS)), []),
    "patch rc1 from a weekly": (Case(Session.CANDIDATE, "v29.1.1.rc1", ("w.2025.24",),
                                     {"base": ("w.2025.24", W24)}, {"base": FINAL_TAGS}),
                                [("demo", "patch-source")]),
    "patch rc1 without the final": (Case(Session.CANDIDATE, "v29.1.1.rc1", ("v29.1.x", "29.1.0"),
                                         {"base": ("29.1.0", RC2), "afw": ("v29.1.x", FIX)},
                                         {"base": FINAL_TAGS, "afw": RC2_TAGS}),
                                    [("afw", "patch-base")]),
    "patch rc1 not descending": (Case(Session.CANDIDATE, "v29.1.1.rc1", ("v29.1.x", "29.1.0"),
                                      {"base": ("29.1.0", RC2), "afw": ("v29.1.x", FIX)},
                                      both(FINAL_TAGS), descends={"afw": False}),
                                 [("afw", "patch-descends")]),
    "patch branches from the final": (Case(Session.PATCH, "29.1.1", ("29.1.0",),
                                           {"afw": ("29.1.0", RC2)}, {"afw": FINAL_TAGS},
                                           branch="v29.1.x"), []),
    "patch branch elsewhere": (Case(Session.PATCH, "29.1.1", ("29.1.0",),
                                    {"afw": ("main", MAIN)}, {"afw": FINAL_TAGS},
                                    branch="v29.1.x"),
                               [("afw", "patch-base")]),
    # release branches
    "backport branch at rc1": (Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc1",),
                                    {"afw": ("v29.1.0.rc1", RC1)}, {"afw": RC2_TAGS},
                                    branch="v29.1.x"), []),
    "backport branch at rc2": (Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc2",),
                                    {"afw": ("v29.1.0.rc2", RC2)}, {"afw": RC2_TAGS},
                                    branch="v29.1.x"), [("afw", "release-branch-base")]),
    "backport branch without rc1": (Case(Session.BACKPORT, "v29.1.x", ("main",),
                                         {"afw": ("main", MAIN)}, {"afw": {}},
                                         branch="v29.1.x"), [("afw", "release-branch-base")]),
    "existing branch moved on": (Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc1",),
                                      {"afw": ("v29.1.0.rc1", RC1)}, {"afw": RC1_TAGS},
                                      {"afw": {"v29.1.x": FIX}}, branch="v29.1.x"), []),
    "existing branch elsewhere": (Case(Session.BACKPORT, "v29.1.x", ("v29.1.0.rc1",),
                                       {"afw": ("v29.1.0.rc1", RC1)}, {"afw": RC1_TAGS},
                                       {"afw": {"v29.1.x": MAIN}}, descends={"afw": False},
                                       branch="v29.1.x"), [("afw", "branch-conflict")]),
    # weeklies
    "weekly ok": (Case(Session.WEEKLY, "w.2025.25", (), {"base": ("main", MAIN)},
                       {"base": {"w.2025.24": W24, "w.2024.53": W24}}), []),
    "weekly back in time": (Case(Session.WEEKLY, "w.2025.20", (), {"base": ("main", MAIN)},
                                 {"base": {"w.2025.24": W24}}), [("base", "weekly-order")]),
    "weekly rerun": (Case(Session.WEEKLY, "w.2025.24", (), {"base": ("main", W24)},
                          {"base": {"w.2025.24": W24}}), []),
    # existing tags, the lock
    "rc1 exists elsewhere": (Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",),
                                  {"base": ("w.2025.24", W24), "afw": ("w.2025.24", W24)},
                                  {"base": {"w.2025.24": W24, "v29.1.0.rc1": MAIN},
                                   "afw": {"w.2025.24": W24}}), [("base", "tag-conflict")]),
    "weekly while a release holds the lock": (
        Case(Session.WEEKLY, "w.2025.25", (), {"base": ("main", MAIN)},
             lock=Lock("demo", "release_candidate", "v29.1.0.rc1", "jenkins pid 1", "then")),
        [("demo", "release-lock")]),
    "rerun of the lock holder": (
        Case(Session.WEEKLY, "w.2025.25", (), {"base": ("main", MAIN)},
             lock=Lock("demo", "weekly", "w.2025.25", "jenkins pid 1", "then")), []),
}  # fmt: skip


@pytest.mark.parametrize(("case", "expected"), CASES.values(), ids=CASES.keys())
def test_rule(case: Case, expected: list[tuple[str, str]]) -> None:
    plan = case.plan()
    found = [(d.path, d.rule) for d in check_plan(plan, case.facts(plan))]
    assert found == expected


def test_every_rule_has_a_failing_case() -> None:
    import dmrelease.core.rules as rules

    documented = {
        word.strip("`,.")
        for word in (rules.__doc__ or "").split()
        if word.startswith("``") and word.strip("`,.").islower()
    }
    failing = {rule for _case, expected in CASES.values() for _path, rule in expected}
    assert documented <= failing


def test_diagnostics_say_how_to_fix() -> None:
    case, _ = CASES["rc3 after rc1 is a gap"]
    plan = case.plan()
    (problem,) = check_plan(plan, case.facts(plan))
    assert str(problem) == (
        "demo:1: rc-gap: v29.1.0.rc3 would leave a gap: the last candidate is v29.1.0.rc1 "
        "(tag v29.1.0.rc2)"
    )


def test_all_problems_are_collected() -> None:
    case = Case(
        Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x", "v29.1.0.rc1"),
        {"afw": ("v29.1.x", FIX), "base": ("v29.1.0.rc1", MAIN), "log": ("main", MAIN)},
        {"base": RC1_TAGS | {"v29.1.0.rc2": RC1}, "afw": RC1_TAGS},
        descends={"afw": False, "base": False},
        lock=Lock("demo", "weekly", "w.2025.25", "pid 7", "then"),
    )  # fmt: skip
    plan = case.plan()
    found = [(d.path, d.rule) for d in check_plan(plan, case.facts(plan))]
    assert found == [
        ("demo", "release-lock"),
        ("base", "tag-conflict"),
        ("afw", "rc-descends"),
        ("base", "rc-descends"),
        ("log", "rc-previous"),
    ]


def test_ancestry_questions_ask_rc_bases_and_branch_tips() -> None:
    case, _ = CASES["rc2 ok"]
    plan = case.plan()
    questions = ancestry_questions(plan, case.facts(plan))
    assert questions == {"base": set(), "afw": {(RC1, FIX)}}
    case, _ = CASES["existing branch moved on"]
    plan = case.plan()
    assert ancestry_questions(plan, case.facts(plan)) == {"afw": {(RC1, FIX)}}


#: each package's remote, as validate names it
REMOTES = {"base": "https://h/base.git", "afw": "https://h/afw.git"}


@pytest.mark.parametrize(
    ("tags", "saved", "expected"),
    [
        # not made yet: a missing tag is what apply pushes
        ({}, False, []),
        # made on base only (afw's push never happened, or its tag was deleted)
        ({"base": {"v29.1.0.rc1": RC1}}, False,
         [("afw", "tag-missing", "the remote https://h/afw.git has no tag v29.1.0.rc1 of "
           "release_candidate demo v29.1.0.rc1")]),
        # the saved plan says it was applied: every missing tag is reported
        ({}, True,
         [("base", "tag-missing", "the remote https://h/base.git has no tag v29.1.0.rc1 of "
           "release_candidate demo v29.1.0.rc1"),
          ("afw", "tag-missing", "the remote https://h/afw.git has no tag v29.1.0.rc1 of "
           "release_candidate demo v29.1.0.rc1")]),
        (both({"v29.1.0.rc1": RC1}), True, []),
        # a tag elsewhere is tag-conflict's, not missing
        ({"base": {"v29.1.0.rc1": RC1}, "afw": {"v29.1.0.rc1": RC2}}, False, []),
    ],
)  # fmt: skip
def test_a_tag_missing_from_a_remote_of_a_made_release(
    tags: dict[str, Mapping[str, str]], saved: bool, expected: list[tuple[str, str, str]]
) -> None:
    case = Case(Session.CANDIDATE, "v29.1.0.rc1", ("w.2025.24",),
                {"base": ("w.2025.24", RC1), "afw": ("w.2025.24", RC1)}, tags)  # fmt: skip
    plan = case.plan()
    found = check_tags_present(plan, case.facts(plan), REMOTES, saved)
    assert [(d.path, d.rule, d.message) for d in found] == expected
    assert all(d.line == 1 and d.hint and RC1[:12] in d.hint for d in found)


def test_a_final_on_an_external_repo_misses_its_v_tag_too() -> None:
    case = Case(Session.FINAL, "29.1.0", ("v29.1.0.rc1",), {"base": ("v29.1.0.rc1", RC1)},
                {"base": {"29.1.0": RC1}}, external=("base",))  # fmt: skip
    plan = case.plan()
    found = check_tags_present(plan, case.facts(plan), {}, False)
    assert [(d.path, d.rule, d.message) for d in found] == [
        ("base", "tag-missing", "the remote origin has no tag v29.1.0 of final_release demo 29.1.0")
    ]
