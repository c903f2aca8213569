"""core/auxiliary: what an auxiliary repository gets, from its remote's listing."""

from __future__ import annotations

from dmrelease.core.auxiliary import (
    AuxRemote,
    AuxTarget,
    decide,
    parse_ls_remote,
    planned_detail,
    planned_in,
    release_branch,
)
from dmrelease.core.config import AuxiliaryConfig
from dmrelease.core.errors import Diagnostic
from dmrelease.core.journal import Journal
from dmrelease.core.plan import PackagePlan, ReleasePlan, Session

A, B, C, T = "a" * 40, "b" * 40, "c" * 40, "d" * 40
DOCS = AuxiliaryConfig("docs", "https://example.org/docs.git")


def plan(
    session: Session = Session.CANDIDATE, release: str = "v1.0.0.rc1", *refs: str
) -> ReleasePlan:
    return ReleasePlan(
        "meta", session, release, refs, (PackagePlan("afw", "main", "branch", "", A),)
    )


def test_ls_remote_lines_give_the_default_branch_and_peeled_tags() -> None:
    lines = [
        "ref: refs/heads/develop\tHEAD",
        f"{A}\tHEAD",
        f"{A}\trefs/heads/develop",
        f"{B}\trefs/heads/main",
        f"{T}\trefs/tags/w.2025.24",
        f"{C}\trefs/tags/w.2025.24^{{}}",
        f"{B}\trefs/tags/light",
        f"{C}\trefs/pull/1/head",
    ]
    assert parse_ls_remote(lines) == AuxRemote(
        "develop", {"develop": A, "main": B}, {"w.2025.24": C, "light": B}
    )


def test_the_first_ref_it_has_wins_a_tag_before_a_branch_else_the_default() -> None:
    remote = AuxRemote("main", {"main": A, "w.2025.24": B}, {"w.2025.24": C})
    assert decide(DOCS, remote, plan(Session.CANDIDATE, "v1.0.0.rc1", "v1.0.x", "w.2025.24"),
                  default_branch="main") == AuxTarget(
        "docs", DOCS.url, C, "w.2025.24", "tag", "v1.0.0.rc1"
    )  # fmt: skip
    got = decide(DOCS, remote, plan(Session.WEEKLY, "w.2025.25"), default_branch="x")
    assert got == AuxTarget("docs", DOCS.url, A, "main", "branch", "w.2025.25")


def test_a_tag_there_at_the_commit_is_done_elsewhere_refused() -> None:
    remote = AuxRemote("main", {"main": A}, {"v1.0.0.rc1": A})
    got = decide(DOCS, remote, plan(), default_branch="main")
    assert isinstance(got, AuxTarget) and got.done
    assert got == AuxTarget("docs", DOCS.url, A, "main", "branch", "v1.0.0.rc1", done=True)
    remote = AuxRemote("main", {"main": A}, {"v1.0.0.rc1": B})
    refused = decide(DOCS, remote, plan(), default_branch="main", shown_url="docs.git")
    assert isinstance(refused, Diagnostic)
    assert str(refused).startswith(
        f"docs:1: auxiliary-tag-conflict: docs.git has v1.0.0.rc1 at {B[:12]}; the release "
        f"tags {A[:12]} (branch main)"
    )
    assert str(refused) == (
        f"docs:1: auxiliary-tag-conflict: docs.git has v1.0.0.rc1 at {B[:12]}; the release "
        f"tags {A[:12]} (branch main) (a tag is never moved: tag the release under another "
        "name, or delete that tag by hand if it is wrong)"
    )


def test_no_ref_and_no_default_branch_and_a_package_of_the_product_are_refused() -> None:
    got = decide(DOCS, AuxRemote(None, {"trunk": A}, {}), plan(), default_branch="main")
    assert str(got) == (
        "docs:1: auxiliary-ref: docs has none of main (set ref in [auxiliary.docs] to a "
        "branch it has)"
    )
    afw = AuxiliaryConfig("afw", "x")
    got = decide(afw, AuxRemote("main", {"main": A}, {}), plan(), default_branch="main")
    assert isinstance(got, Diagnostic) and got.rule == "auxiliary-in-product"
    assert str(got) == (
        "afw:1: auxiliary-in-product: afw is a package of meta and an auxiliary repository "
        "(drop [auxiliary.afw]: the product's packages are tagged with it)"
    )


def test_the_release_branch_of_a_patch_and_of_a_backport() -> None:
    assert release_branch(plan(Session.PATCH, "29.1.1")) == "v29.1.x"
    assert release_branch(plan(Session.BACKPORT, "v29.1.x")) == "v29.1.x"
    assert release_branch(plan(Session.FINAL, "29.1.0")) is None
    remote = AuxRemote("main", {"main": A, "v29.1.x": B}, {"29.1.0": C})
    kept = decide(DOCS, remote, plan(Session.PATCH, "29.1.1", "29.1.0"), default_branch="main")
    assert kept == AuxTarget("docs", DOCS.url, B, "29.1.0", "tag", None, "v29.1.x", done=True)


def test_a_journaled_choice_is_read_back_and_a_bad_one_ignored() -> None:
    target = AuxTarget("docs", DOCS.url, B, "main", "branch", "w.2025.24")
    stage, detail = planned_detail(target)
    journal = Journal.start("weekly meta w.2025.24", "sum", ["afw"], "t0")
    assert planned_in(journal.finish_stage(stage, "t1", detail), DOCS) == AuxTarget(
        "docs", DOCS.url, B, "main", "branch"
    )
    assert planned_in(journal.finish_stage(stage, "t1", "not a sha"), DOCS) is None
    assert planned_in(journal, DOCS) is None
    remote = AuxRemote("main", {"main": A}, {})  # main moved since: the journaled commit
    got = decide(DOCS, remote, plan(Session.WEEKLY, "w.2025.24"), default_branch="main",
                 planned=planned_in(journal.finish_stage(stage, "t1", detail), DOCS))  # fmt: skip
    assert isinstance(got, AuxTarget) and got.sha == B
    assert got == AuxTarget("docs", DOCS.url, B, "main", "branch", "w.2025.24")


def test_a_new_branch_is_pushed_with_a_lease_that_it_does_not_exist_a_tag_without() -> None:
    branch = AuxTarget("docs", DOCS.url, A, "29.1.0", "tag", None, "v29.1.x")
    assert (branch.push_options(), branch.refspec()) == (
        ("--force-with-lease=refs/heads/v29.1.x:",),
        f"{A}:refs/heads/v29.1.x",
    )
    tag = AuxTarget("docs", DOCS.url, A, "main", "branch", "w.2025.24")
    assert (tag.push_options(), tag.refspec()) == ((), "refs/tags/w.2025.24:refs/tags/w.2025.24")
