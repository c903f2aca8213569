"""The change-control rules (DMTN-106 §3, §4.4): rc1 criteria, patch RFCs, new packages."""

from __future__ import annotations

import dataclasses

import pytest

from dmrelease.core.criteria import (
    PATCH_NOT_CHECKED,
    RC1_NOT_CHECKED,
    Asked,
    CriteriaFacts,
    WeeklyFacts,
    judge,
    needs_rc1,
    needs_rfc,
    parse_waivers,
    previous_final,
    source_weekly,
)
from dmrelease.core.errors import Diagnostic, UsageError
from dmrelease.core.jira import JiraIssue
from dmrelease.core.plan import (
    ChangeControl,
    PackagePlan,
    ReleasePlan,
    Session,
    parse_plan,
    plan_to_json,
    render_plan,
)

GREEN = WeeklyFacts("w.2025.24", (), "b7", recorded=True)


def a_plan(session: Session, release: str, refs: tuple[str, ...] = ("w.2025.24",)) -> ReleasePlan:
    packages = tuple(
        PackagePlan(name, refs[0] if refs else "main", "tag", "first match", "a" * 40, (release,))
        for name in ("lsst_distrib", "afw")
    )
    return ReleasePlan("lsst_distrib", session, release, refs, packages)


RC1 = a_plan(Session.CANDIDATE, "v29.1.0.rc1")


def issue(key: str, status: str = "Done", *, done: bool = True) -> JiraIssue:
    return JiraIssue(key, f"summary of {key}", "Story", status, done)


def facts(**kw: object) -> CriteriaFacts:
    base = CriteriaFacts(jira=True, release_issue=issue("DM-1", "In Progress", done=False))
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_which_plans_are_judged() -> None:
    assert needs_rc1(RC1)
    assert not needs_rc1(a_plan(Session.CANDIDATE, "v29.1.0.rc2"))
    assert not needs_rc1(a_plan(Session.CANDIDATE, "v29.1.1.rc1"))
    assert needs_rfc(a_plan(Session.CANDIDATE, "v29.1.1.rc1"))
    assert needs_rfc(a_plan(Session.FINAL, "29.1.1"))
    assert needs_rfc(a_plan(Session.PATCH, "29.1.1"))
    assert not needs_rfc(a_plan(Session.FINAL, "29.1.0"))
    assert not needs_rfc(RC1)
    assert source_weekly(a_plan(Session.CANDIDATE, "v29.1.0.rc1", ("main", "w.2025.24"))) == (
        "w.2025.24"
    )
    assert source_weekly(a_plan(Session.CANDIDATE, "v29.1.0.rc1", ("main",))) is None


def test_previous_final_is_the_highest_below() -> None:
    names = ["28.0.0", "29.0.0", "29.0.1", "v29.1.0.rc1", "29.1.0", "w.2025.24", "junk"]
    assert str(previous_final(RC1, names)) == "29.0.1"
    assert str(previous_final(a_plan(Session.FINAL, "29.1.0"), names)) == "29.0.1"
    assert previous_final(a_plan(Session.CANDIDATE, "v28.0.0.rc1"), names) is None
    assert previous_final(a_plan(Session.WEEKLY, "w.2025.25"), names) is None


def test_rc1_with_an_open_blocker_is_refused_naming_it() -> None:
    found = facts(blockers=(issue("DM-2"), issue("DM-3", "In Progress", done=False)), weekly=GREEN)
    record, problems, notes = judge(RC1, Asked("DM-1", approved_by="Jane Doe"), found)
    assert [str(p) for p in problems] == [
        "lsst_distrib:1: rc1-blocker-open: DM-3 (In Progress) blocks release issue DM-1 of "
        "v29.1.0.rc1: summary of DM-3 (finish it, or waive it: --waive DM-3 --why TEXT)"
    ]
    assert notes == []
    assert record.blockers == (("DM-2", "Done"), ("DM-3", "In Progress"))


def test_rc1_accepted_with_a_recorded_waiver() -> None:
    found = facts(blockers=(issue("DM-3", "In Progress", done=False),), weekly=GREEN)
    asked = Asked("DM-1", (("DM-3", "moved to 29.2"),), "Jane Doe")
    record, problems, notes = judge(RC1, asked, found)
    assert (problems, notes) == ([], [])
    assert record == ChangeControl(
        release_issue="DM-1",
        blockers=(("DM-3", "In Progress"),),
        waivers=(("DM-3", "moved to 29.2"),),
        approved_by="Jane Doe",
        weekly="w.2025.24 b7",
    )
    assert record.lines() == [
        "release issue DM-1",
        "blocker DM-3 In Progress: waived (moved to 29.2)",
        "approved by Jane Doe",
        "source weekly w.2025.24 b7: green",
    ]


def test_rc1_every_missing_criterion_is_named() -> None:
    found = facts(release_issue=None, weekly=WeeklyFacts(None))
    _record, problems, _notes = judge(RC1, Asked(), found)
    assert [str(p) for p in problems] == [
        "lsst_distrib:1: rc1-release-issue: v29.1.0.rc1 needs its release issue "
        "(give --release-issue DM-N or set jira.release_issue)",
        "lsst_distrib:1: rc1-approval: v29.1.0.rc1 needs the product owner's approval "
        "(give --approved-by NAME once they approved it)",
        "lsst_distrib:1: rc1-weekly: v29.1.0.rc1 is not made from a weekly "
        "(make an rc1 from a green weekly: --refs w.YYYY.WW)",
    ]
    _record, problems, _notes = judge(RC1, Asked("DM-9", approved_by="J"), found)
    assert (
        str(problems[0]) == "lsst_distrib:1: rc1-release-issue: release issue DM-9 is not in Jira"
    )


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        (
            WeeklyFacts("w.2025.24", ("afw",)),
            "afw not at w.2025.24: the source weekly's tag is on every package of a green weekly",
        ),
        (WeeklyFacts("w.2025.24"), "w.2025.24's tag names no build: not a green weekly"),
        (
            WeeklyFacts("w.2025.24", (), "b7"),
            "w.2025.24's build b7 is not in versiondb: not a green weekly",
        ),
    ],
)
def test_rc1_weekly_not_green(weekly: WeeklyFacts, message: str) -> None:
    _record, problems, _notes = judge(RC1, Asked("DM-1", approved_by="J"), facts(weekly=weekly))
    assert problems == [Diagnostic("lsst_distrib", 1, "rc1-weekly", message)]


def test_a_waiver_of_an_issue_that_does_not_block_is_refused() -> None:
    asked = Asked("DM-1", (("DM-77", "typo"),), "J")
    _record, problems, _notes = judge(RC1, asked, facts(weekly=GREEN))
    assert [str(p) for p in problems] == [
        "lsst_distrib:1: rc1-waiver: --waive DM-77: DM-77 does not block release issue DM-1 "
        "(waive only issues that block the release issue)"
    ]


def test_without_jira_nothing_is_refused_and_the_note_says_so() -> None:
    record, problems, notes = judge(RC1, Asked(), CriteriaFacts())
    assert (record, problems, notes) == (ChangeControl(), [], [RC1_NOT_CHECKED])
    assert RC1_NOT_CHECKED == (
        "rc1 criteria not checked, jira.url is not set: the release issue and its blockers"
        " (rc1-release-issue, rc1-blocker-open, rc1-waiver), the product owner's approval"
        " (rc1-approval), the source weekly's green build (rc1-weekly)"
    )
    patch = a_plan(Session.PATCH, "29.1.1")
    assert judge(patch, Asked(), CriteriaFacts()) == (ChangeControl(), [], [PATCH_NOT_CHECKED])
    assert PATCH_NOT_CHECKED == (
        "patch criteria not checked, jira.url is not set: the RFC's approval (patch-rfc)"
    )
    # a later candidate is neither rc1 nor a patch: nothing to say
    assert judge(a_plan(Session.CANDIDATE, "v29.1.0.rc2"), Asked(), CriteriaFacts()) == (
        ChangeControl(),
        [],
        [],
    )


def test_patch_needs_an_approved_rfc() -> None:
    patch = a_plan(Session.CANDIDATE, "v29.1.1.rc1", ("v29.1.x",))
    _r, problems, _n = judge(patch, Asked(), facts())
    assert [str(p) for p in problems] == [
        "lsst_distrib:1: patch-rfc: patch v29.1.1.rc1 needs its RFC approved "
        "(give --rfc RFC-N (approved: Adopted, Implemented))"
    ]
    _r, problems, _n = judge(patch, Asked(rfc="RFC-5"), facts())
    assert [str(p) for p in problems] == ["lsst_distrib:1: patch-rfc: RFC-5 is not in Jira"]
    proposed = facts(rfc=issue("RFC-5", "Proposed", done=False))
    _r, problems, _n = judge(patch, Asked(rfc="RFC-5"), proposed)
    assert [str(p) for p in problems] == [
        "lsst_distrib:1: patch-rfc: RFC-5 is Proposed: patch v29.1.1.rc1 needs it approved "
        "(Adopted, Implemented)"
    ]
    record, problems, _n = judge(patch, Asked(rfc="RFC-5"), facts(rfc=issue("RFC-5", "Adopted")))
    assert problems == []
    assert (record.rfc, record.rfc_status) == ("RFC-5", "Adopted")
    branches = a_plan(Session.PATCH, "29.1.1", ("29.1.0",))
    record, problems, _n = judge(branches, Asked(rfc="RFC-5"), facts(rfc=issue("RFC-5", "Adopted")))
    assert (record, problems) == (ChangeControl(rfc="RFC-5", rfc_status="Adopted"), [])


def test_a_new_package_needs_its_approval() -> None:
    later = a_plan(Session.CANDIDATE, "v29.1.0.rc2", ("v29.1.x",))
    path = "ups/lsst_distrib.contents.yaml"
    found = CriteriaFacts(
        previous="29.0.0", new_packages=("afw",), approvals={"afw": None}, contents=path
    )
    _r, problems, _n = judge(later, Asked(), found)
    assert [str(p) for p in problems] == [
        "ups/lsst_distrib.contents.yaml:1: package-unapproved: afw is new to lsst_distrib "
        "since 29.0.0: no approval there (add it under packages: in the contents file with "
        "the RFC that approved it)"
    ]
    approved = dataclasses.replace(found, approvals={"afw": "RFC-456"})
    record, problems, _n = judge(later, Asked(), approved)
    assert (record, problems) == (ChangeControl(approvals=(("afw", "RFC-456"),)), [])
    # no contents file: refused when change control is on (Jira), else a note
    absent = dataclasses.replace(found, contents=None, approvals={})
    _r, problems, _n = judge(later, Asked(), dataclasses.replace(absent, jira=True))
    assert [p.message for p in problems] == [
        "afw is new to lsst_distrib since 29.0.0: ups/lsst_distrib.contents.yaml does not exist"
    ]
    assert judge(later, Asked(), absent) == (
        ChangeControl(),
        [],
        ["new packages since 29.0.0 not checked (afw): no contents file"],
    )


def test_third_party_findings_are_refusals() -> None:
    finding = Diagnostic("ups/x.yaml", 1, "third-party-unapproved", "EUPS product 'fftw'")
    later = a_plan(Session.FINAL, "29.1.0", ("v29.1.0.rc1",))
    assert judge(later, Asked(), CriteriaFacts(third_party=(finding,)))[1] == [finding]


def test_waivers_parse() -> None:
    assert parse_waivers(["DM-3", "DM-4"], ["later ", "not ours"]) == (
        ("DM-3", "later"),
        ("DM-4", "not ours"),
    )
    for keys, whys, message in (
        (
            ["DM-3"],
            [],
            "1 --waive and 0 --why: give each waiver its reason, --waive DM-N --why TEXT",
        ),
        (["dm-3"], ["x"], "--waive 'dm-3': not an issue key (e.g. DM-12345)"),
        (["DM-3"], [" "], "--waive DM-3: --why is empty; say why the blocker is waived"),
        (["DM-3", "DM-3"], ["a", "b"], "--waive DM-3 is given twice"),
    ):
        with pytest.raises(UsageError) as caught:
            parse_waivers(keys, whys)
        assert str(caught.value) == message


def test_the_record_is_in_the_plan_only_when_not_empty() -> None:
    assert "change_control" not in RC1.to_dict()
    record = ChangeControl(
        "DM-1", (("DM-3", "Open"),), (("DM-3", "later"),), "Jane", "w.2025.24 b7"
    )
    plan = dataclasses.replace(RC1, change_control=record)
    assert plan.to_dict()["change_control"] == {
        "release_issue": "DM-1",
        "blockers": [{"key": "DM-3", "status": "Open"}],
        "waivers": [{"key": "DM-3", "why": "later"}],
        "approved_by": "Jane",
        "weekly": "w.2025.24 b7",
        "rfc": None,
        "rfc_status": None,
        "approvals": [],
    }
    assert plan.checksum != RC1.checksum
    again = parse_plan(plan_to_json(plan))
    assert again.change_control == record
    assert again.checksum == plan.checksum
    assert parse_plan(plan_to_json(RC1)).change_control == ChangeControl()
    lines = render_plan(plan).splitlines()
    assert lines[4:8] == [
        "  change control: release issue DM-1",
        "  change control: blocker DM-3 Open: waived (later)",
        "  change control: approved by Jane",
        "  change control: source weekly w.2025.24 b7: green",
    ]
    assert not any("change control" in line for line in render_plan(RC1).splitlines())


def test_a_waiver_outside_an_rc1_is_not_recorded_and_the_note_says_so() -> None:
    asked = Asked("DM-1", (("DM-9", "x"), ("DM-8", "y")), "Jane Doe")
    note = "--waive not recorded (DM-9, DM-8): {} is not an rc1, whose blockers alone are waived"
    for plan in (a_plan(Session.CANDIDATE, "v29.1.0.rc2"), a_plan(Session.FINAL, "29.1.0")):
        record, problems, notes = judge(plan, asked, facts())
        assert (record, problems, notes) == (
            ChangeControl(release_issue="DM-1", approved_by="Jane Doe"),
            [],
            [note.format(plan.release)],
        )
    record, problems, notes = judge(
        a_plan(Session.CANDIDATE, "v29.1.0.rc2"), asked, CriteriaFacts()
    )
    assert (record.waivers, problems, notes) == ((), [], [note.format("v29.1.0.rc2")])
