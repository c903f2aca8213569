"""The release plan, exactly: what people review and what ``apply`` refuses (core/plan.py).

Written against mutation testing (issue 8): the rendered plan, the tag message and every
refusal are asserted whole, so a changed word, column or line number fails a test.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from dmrelease.core.errors import ParseError
from dmrelease.core.names import Release
from dmrelease.core.plan import (
    PLAN_FORMAT,
    ReleasePlan,
    Session,
    candidates_of,
    make_plan,
    parse_plan,
    plan_to_json,
    read_tag_message,
    render_plan,
    session_of,
    tag_message,
)
from dmrelease.core.refs import RefKind, RefSource, Resolution


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def resolved(ref: str, *names: str) -> dict[str, Resolution]:
    return {
        n: Resolution(n, ref, RefKind.TAG, sha(n), RefSource.REF_LIST, "ref 1 of the list")
        for n in names
    }


def a_final() -> ReleasePlan:
    return make_plan(
        "lsst_distrib",
        Session.FINAL,
        "29.1.0",
        ["v29.1.0.rc2", "w.2025.24"],
        resolved("w.2025.24", "base", "sconsUtils"),
        order=["sconsUtils", "base"],
        external=["sconsUtils"],
        build_id="b8466",
        manifest_checksum="sha256:abc",
    )


def a_patch(branch: str | None = "v29.1.x", pattern: str = "v{major}.{minor}.x") -> ReleasePlan:
    return make_plan(
        "lsst_distrib",
        Session.PATCH,
        "29.1.1",
        [],
        resolved("w.2025.24", "base", "sconsUtils"),
        branch=branch,
        branch_pattern=pattern,
    )


@pytest.mark.parametrize(
    ("tag", "session"),
    [
        ("w.2025.24", Session.WEEKLY),
        ("v29.1.0.rc1", Session.CANDIDATE),
        ("29.1.0", Session.FINAL),
        ("d.2025.06.01", None),  # a daily parses as a tag but no session writes it
        ("b8466", None),
        ("main", None),
        ("w.2025.4", None),
    ],
)
def test_the_session_of_a_tag_is_decided_by_parsing_it(tag: str, session: Session | None) -> None:
    assert session_of(tag) is session


def test_a_plan_without_build_or_manifest_records_empty_fields() -> None:
    plan = a_patch()
    assert (plan.build_id, plan.manifest, plan.manifest_checksum) == ("", "", "")


def test_a_tagging_session_plans_no_branch_even_when_one_is_passed() -> None:
    plan = make_plan(
        "p", Session.WEEKLY, "w.2025.24", ["main"], resolved("main", "afw"), branch="v29.1.x"
    )
    assert plan.package("afw").branch is None
    assert plan.package("afw").new_refs() == ("refs/tags/w.2025.24",)


def test_a_final_that_does_not_parse_is_planned_under_its_bare_name() -> None:
    plan = make_plan("p", Session.FINAL, "29.1", ["main"], resolved("main", "afw"))
    assert plan.package("afw").tags == ("29.1",)


def test_an_unknown_package_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError) as caught:
        a_final().package("nothere")
    assert caught.value.args == ("nothere",)


def test_the_tag_message_is_exactly_this() -> None:
    plan = a_final()
    assert tag_message(plan, "29.1.0") == (
        "lsst_distrib 29.1.0\n\n"
        "version: 29.1.0\n"
        "eups-tag: v29_1_0\n"
        "session: final_release\n"
        "build: b8466\n"
        "manifest: sha256:abc\n"
        f"plan: {plan.checksum}\n"
    )


def test_a_tag_message_without_build_or_manifest_says_dash() -> None:
    plan = a_patch()
    fields = read_tag_message(tag_message(plan, "29.1.1"))
    assert fields == {
        "version": "29.1.1",
        "eups-tag": "v29_1_1",
        "session": "patch_release",
        "build": "-",
        "manifest": "-",
        "plan": plan.checksum,
    }


def test_reading_a_tag_message_splits_at_the_first_colon_and_skips_other_lines() -> None:
    text = "p 1.0\n\nnote\nversion: a: b\nnot a key: x\n"
    assert read_tag_message(text) == {"version": "a: b"}


def test_the_rendered_plan_is_exactly_this() -> None:
    plan = a_final()
    assert render_plan(plan) == (
        "plan: final_release lsst_distrib 29.1.0\n"
        "  source refs: v29.1.0.rc2 w.2025.24\n"
        "  build: b8466   manifest: sha256:abc\n"
        f"  checksum: {plan.checksum}\n"
        "\n"
        "  package                   sha          creates                      source ref (why)\n"
        "  sconsUtils                00776244737c 29.1.0 v29.1.0               "
        "w.2025.24 (tag; ref 1 of the list)\n"
        "  base                      1405df66cbe2 29.1.0                       "
        "w.2025.24 (tag; ref 1 of the list)\n"
    )


def test_a_rendered_branch_plan_names_the_default_refs_and_the_branch() -> None:
    plan = a_patch()
    assert render_plan(plan) == (
        "plan: patch_release lsst_distrib 29.1.1\n"
        "  source refs: (none: repos.yaml ref, then default branch)\n"
        "  build: -   manifest: -\n"
        f"  checksum: {plan.checksum}\n"
        "\n"
        "  package                   sha          creates                      source ref (why)\n"
        "  base                      1405df66cbe2 branch v29.1.x               "
        "w.2025.24 (tag; ref 1 of the list)\n"
        "  sconsUtils                00776244737c branch v29.1.x               "
        "w.2025.24 (tag; ref 1 of the list)\n"
    )


def test_a_package_that_gets_nothing_renders_a_dash() -> None:
    line = render_plan(a_patch(branch=None)).splitlines()[-1]
    assert line == (
        "  sconsUtils                00776244737c -                            "
        "w.2025.24 (tag; ref 1 of the list)"
    )


def test_the_plan_file_is_indented_json_with_format_and_checksum_first() -> None:
    plan = a_patch()
    text = plan_to_json(plan)
    assert text.splitlines()[:4] == [
        "{",
        f' "format": "{PLAN_FORMAT}",',
        f' "checksum": "{plan.checksum}",',
        ' "plan": {',
    ]
    assert text.endswith("\n}\n")


def test_a_plan_with_its_own_branch_pattern_round_trips() -> None:
    plan = a_patch(branch="b.29.1.x", pattern="b.{major}.{minor}.x")
    assert parse_plan(plan_to_json(plan)) == plan


def _refusal(text: str, *path: str) -> str:
    with pytest.raises(ParseError) as caught:
        parse_plan(text, *path)
    return str(caught.value.diagnostic)


def test_a_plan_of_another_format_is_refused_with_the_whole_diagnostic() -> None:
    text = json.dumps({"format": "x/2", "plan": {}})
    assert _refusal(text, "plan.json") == (
        "plan.json:1: plan-format: unreadable plan: not a dm-release-plan/1 file"
        " (write it with `release plan`)"
    )


def test_a_plan_read_without_a_path_is_reported_as_plan() -> None:
    assert _refusal(json.dumps({"format": "x/2"})) == (
        "<plan>:1: plan-format: unreadable plan: not a dm-release-plan/1 file"
        " (write it with `release plan`)"
    )


def test_a_plan_whose_checksum_differs_is_refused_naming_the_checksum_it_carries() -> None:
    data = json.loads(plan_to_json(a_final()))
    data["checksum"] = "sha256:00"
    assert _refusal(json.dumps(data), "plan.json") == (
        "plan.json:1: plan-checksum: the plan's content does not match its checksum sha256:00"
        " (a plan is applied exactly as reviewed: make a new one with `release plan`)"
    )


def test_an_inconsistent_package_is_refused_with_the_whole_diagnostic() -> None:
    plan = a_patch(branch="main")
    assert _refusal(plan_to_json(plan), "plan.json") == (
        "plan.json:1: plan-format: base: branch 'main' is not planned here"
        " (write it with `release plan`)"
    )


def test_candidates_are_found_after_names_that_are_not_tags() -> None:
    names = ["main", "tickets/DM-1", "v29.1.0.rc2", "v29.1.0.rc1", "v29.1.0.rc1"]
    assert [str(c) for c in candidates_of(Release(29, 1, 0), names)] == [
        "v29.1.0.rc1",
        "v29.1.0.rc2",
    ]


def test_a_plan_that_is_not_json_is_refused_at_the_bad_text() -> None:
    assert _refusal("{", "plan.json").startswith("plan.json:1:2: plan-format: ")
