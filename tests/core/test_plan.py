"""The release plan: tags per package, checksummed JSON, tag messages (core/plan.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.errors import ParseError
from dmrelease.core.names import Candidate, Release, ReleaseBranchPattern
from dmrelease.core.plan import (
    ReleasePlan,
    Session,
    candidates_of,
    default_candidate_refs,
    make_plan,
    parse_plan,
    plan_to_json,
    read_tag_message,
    render_plan,
    tag_message,
    tags_for,
)
from dmrelease.core.refs import RefKind, RefSource, Resolution


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def resolved(ref: str, *names: str, kind: RefKind = RefKind.TAG) -> dict[str, Resolution]:
    return {
        n: Resolution(n, ref, kind, sha(n + ref), RefSource.REF_LIST, "ref 1 of the list")
        for n in names
    }


def a_plan(session: Session = Session.CANDIDATE, release: str = "v29.1.0.rc1") -> ReleasePlan:
    return make_plan(
        "lsst_distrib",
        session,
        release,
        ["w.2025.24"],
        resolved("w.2025.24", "base", "afw", "sconsUtils"),
        order=["sconsUtils", "base", "afw"],
        external=["sconsUtils"],
        build_id="b8466",
        manifest="# product ...\nBUILD=b8466\n",
        manifest_checksum=sha("manifest"),
    )


@pytest.mark.parametrize(
    ("session", "release", "external", "tags"),
    [
        (Session.FINAL, "29.1.0", False, ("29.1.0",)),
        (Session.FINAL, "29.1.0", True, ("29.1.0", "v29.1.0")),
        (Session.CANDIDATE, "v29.1.0.rc2", True, ("v29.1.0.rc2",)),
        (Session.WEEKLY, "w.2025.24", True, ("w.2025.24",)),
        (Session.PATCH, "29.1.1", False, ()),
        (Session.BACKPORT, "v29.1.x", False, ()),
    ],
)
def test_tags_per_package_follow_the_v_prefix_rule_for_external_finals(
    session: Session, release: str, external: bool, tags: tuple[str, ...]
) -> None:
    assert tags_for(session, release, external=external) == tags


def test_plan_keeps_manifest_order_and_marks_external_finals() -> None:
    plan = make_plan(
        "p", Session.FINAL, "29.1.0", ["v29.1.0.rc2"], resolved("v29.1.0.rc2", "a", "b"),
        order=["b", "a"], external=["a"],
    )  # fmt: skip
    assert [p.name for p in plan.packages] == ["b", "a"]
    assert plan.package("a").tags == ("29.1.0", "v29.1.0")
    assert plan.package("b").new_refs() == ("refs/tags/29.1.0",)


def test_branch_sessions_plan_branches_and_no_tags() -> None:
    plan = make_plan(
        "p", Session.PATCH, "29.1.1", ["29.1.0"], resolved("29.1.0", "afw"), branch="v29.1.x"
    )
    assert plan.package("afw").new_refs() == ("refs/heads/v29.1.x",)


def test_plan_json_round_trips_with_its_checksum() -> None:
    plan = a_plan()
    text = plan_to_json(plan)
    assert json.loads(text)["checksum"] == plan.checksum
    assert parse_plan(text) == plan


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (lambda d: d["plan"]["packages"][0].update(sha="0" * 40), "plan-checksum"),
        (lambda d: d["plan"].update(release="v29.1.0.rc2"), "plan-checksum"),
        (lambda d: d.update(checksum="sha256:00"), "plan-checksum"),
        (lambda d: d.update(format="something/2"), "plan-format"),
        (lambda d: d["plan"].pop("packages"), "plan-format"),
    ],
)
def test_an_edited_plan_is_refused(edit, rule: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(plan_to_json(a_plan()))
    edit(data)
    with pytest.raises(ParseError) as caught:
        parse_plan(json.dumps(data), "plan.json")
    assert caught.value.diagnostic.rule == rule
    assert caught.value.diagnostic.path == "plan.json"


def _repackaged(plan: ReleasePlan, **fields: object) -> ReleasePlan:
    first = dataclasses.replace(plan.packages[0], **fields)
    return dataclasses.replace(plan, packages=(first, *plan.packages[1:]))


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "../../elsewhere"},
        {"tags": ("w.2020.01",)},
        {"tags": ("v29.1.0.rc1", "main")},
        {"branch": "v29.1.x"},
    ],
)
def test_a_plan_with_a_consistent_checksum_must_still_be_one_release_plan_makes(
    fields: dict[str, object],
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_plan(plan_to_json(_repackaged(a_plan(), **fields)), "plan.json")
    assert caught.value.diagnostic.rule == "plan-format"


def test_a_branch_plan_needs_a_release_branch() -> None:
    plan = make_plan(
        "p", Session.PATCH, "29.1.1", ["29.1.0"], resolved("29.1.0", "afw"), branch="v29.1.x"
    )
    assert parse_plan(plan_to_json(plan)) == plan
    with pytest.raises(ParseError):
        parse_plan(plan_to_json(_repackaged(plan, branch="main")))


def test_checksum_changes_with_any_field() -> None:
    assert a_plan().checksum != a_plan(release="v29.1.0.rc2").checksum
    assert a_plan().checksum == a_plan().checksum


def test_tag_message_carries_version_build_and_checksums() -> None:
    plan = a_plan()
    fields = read_tag_message(tag_message(plan, "v29.1.0.rc1"))
    assert fields["version"] == "v29.1.0.rc1"
    assert fields["eups-tag"] == "v29_1_0_rc1"
    assert fields["build"] == "b8466"
    assert fields["manifest"] == plan.manifest_checksum
    assert fields["plan"] == plan.checksum


def test_render_plan_names_every_package_ref_and_tag() -> None:
    text = render_plan(a_plan(Session.FINAL, "29.1.0"))
    assert "sconsUtils" in text and "29.1.0 v29.1.0" in text
    assert text.count("w.2025.24 (tag; ref 1 of the list)") == 3


@pytest.mark.parametrize(
    ("candidate", "refs"),
    [
        (Candidate(Release(29, 1, 0), 1), ()),
        (Candidate(Release(29, 1, 0), 2), ("v29.1.x", "v29.1.0.rc1")),
        (Candidate(Release(29, 1, 0), 10), ("v29.1.x", "v29.1.0.rc9")),
        (Candidate(Release(29, 1, 2), 1), ("v29.1.x", "29.1.1")),
        (Candidate(Release(29, 1, 2), 3), ("v29.1.x", "v29.1.2.rc2")),
    ],
)
def test_default_refs_of_a_candidate(candidate: Candidate, refs: tuple[str, ...]) -> None:
    assert default_candidate_refs(candidate, ReleaseBranchPattern()) == refs


def test_default_refs_use_the_configured_branch_pattern() -> None:
    pattern = ReleaseBranchPattern("b.{major}.{minor}.x")
    assert default_candidate_refs(Candidate(Release(9, 0, 0), 2), pattern)[0] == "b.9.0.x"


def test_candidates_of_a_release_in_rc_order_ignoring_other_names() -> None:
    names = ["v29.1.0.rc10", "v29.1.0.rc2", "v29.0.0.rc1", "29.1.0", "w.2025.24", "10.1.rc3"]
    found = candidates_of(Release(29, 1, 0), names)
    assert [str(c) for c in found] == ["v29.1.0.rc2", "v29.1.0.rc10"]


_names = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)


@given(st.lists(_names, min_size=1, max_size=6, unique=True), st.booleans())
def test_any_plan_round_trips_through_json(names: list[str], final: bool) -> None:
    session, release = (Session.FINAL, "29.1.0") if final else (Session.WEEKLY, "w.2025.24")
    plan = make_plan("p", session, release, ["main"], resolved("main", *names), external=names[:1])
    assert parse_plan(plan_to_json(plan)) == plan


@pytest.mark.parametrize(
    ("session", "release", "tag"),
    [
        (Session.CANDIDATE, "v29.1.0.rc2", Candidate(Release(29, 1, 0), 2)),
        (Session.FINAL, "29.1.0", Release(29, 1, 0)),
        (Session.PATCH, "29.1.1", Release(29, 1, 1)),
        (Session.CANDIDATE, "v29.01.0.rc1", None),  # tag-canonical's to report
        (Session.BACKPORT, "v29.1.x", None),  # a branch
    ],
)
def test_a_plan_parses_its_release_once(session: Session, release: str, tag: object) -> None:
    plan = ReleasePlan("meta", session, release, (), ())
    assert plan.tag == tag
    assert plan.tag is plan.tag  # parsed once, not at each rule
    other = dataclasses.replace(plan, session=Session.CANDIDATE, release="v29.1.0.rc3")
    assert other.tag == Candidate(Release(29, 1, 0), 3)  # a new plan parses its own
