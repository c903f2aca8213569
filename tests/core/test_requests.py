"""Requests of issue 9 §2: a ref list is validated where it enters; requests are frozen."""

from __future__ import annotations

import dataclasses

import pytest

from dmrelease.core.errors import CheckFailed
from dmrelease.core.names import Candidate, Release, parse_tag
from dmrelease.core.plan import Session
from dmrelease.core.refnames import MAX_REF_LENGTH
from dmrelease.core.requests import (
    BuildRequest,
    RefList,
    ReleaseRequest,
    parse_ref_list,
    ref_list_problems,
)


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["main"],
        ["tickets/DM-1", "v29.1.x", "v29.1.0.rc1", "w.2025.24", "main"],
        ["0123456789abcdef0123456789abcdef01234567"],
        ["a-b", "x" * MAX_REF_LENGTH],
    ],
)
def test_a_list_of_git_ref_names_is_accepted_in_its_order(words: list[str]) -> None:
    refs = parse_ref_list(words)
    assert refs.refs == tuple(words)
    assert list(refs) == words


@pytest.mark.parametrize(
    ("words", "column", "reason"),
    [
        (["-upload-pack=evil"], 1, "must not start with '-' (git would read it as an option)"),
        (["main", "--exec=x"], 2, "must not start with '-' (git would read it as an option)"),
        (["main", "a b"], 2, "spaces, control characters"),
        (["v1..v2"], 1, "'..', '@{' and '//' are not allowed"),
        (["main", "tickets/", "x"], 2, "must not start with '/' or end with '/' or '.'"),
        (["x.lock"], 1, "no part may start with '.' or end with '.lock'"),
        (["@"], 1, "empty or '@'"),
        ([""], 1, "empty or '@'"),
        (["a", "b", "x" * (MAX_REF_LENGTH + 1)], 3, f"longer than {MAX_REF_LENGTH} bytes"),
        (["main", "v29.1.x", "main"], 3, "given twice (first at position 1)"),
    ],
)
def test_a_bad_ref_is_ref_syntax_at_its_position(
    words: list[str], column: int, reason: str
) -> None:
    with pytest.raises(CheckFailed) as caught:
        parse_ref_list(words, where="<command line>")
    [problem] = caught.value.diagnostics
    assert (problem.path, problem.line, problem.column, problem.rule) == (
        "<command line>",
        1,
        column,
        "ref-syntax",
    )
    assert problem.message.startswith(f"{words[column - 1]!r} is not a git ref: {reason}")
    assert str(problem).startswith(f"<command line>:1:{column}: ref-syntax: ")


def test_every_bad_ref_is_reported_once_each() -> None:
    words = ["-x", "main", "a:b", "main", "main", "ok"]
    problems = ref_list_problems(words)
    assert [(p.column, p.rule) for p in problems] == [
        (1, "ref-syntax"),
        (3, "ref-syntax"),
        (4, "ref-syntax"),
        (5, "ref-syntax"),
    ]
    assert problems[2].message == "'main' is not a git ref: given twice (first at position 2)"
    assert problems[3].message == "'main' is not a git ref: given twice (first at position 2)"
    assert all(p.path == "<refs>" for p in problems)
    with pytest.raises(CheckFailed) as caught:
        parse_ref_list(words)
    assert caught.value.diagnostics == problems


def test_a_ref_list_behaves_like_the_tuple_of_its_refs() -> None:
    refs = parse_ref_list(["v29.1.x", "v29.1.0.rc1", "main"])
    assert len(refs) == 3
    assert refs[0] == "v29.1.x"
    assert refs[-1] == "main"
    assert refs[1:] == ("v29.1.0.rc1", "main")
    assert bool(refs) is True
    assert bool(RefList()) is False
    assert len(RefList()) == 0
    assert str(refs) == "v29.1.x v29.1.0.rc1 main"
    assert refs.drop_first() == RefList(("v29.1.0.rc1", "main"))
    assert refs.drop_first().drop_first().drop_first() == RefList()
    assert RefList().drop_first() == RefList()
    assert refs == parse_ref_list(("v29.1.x", "v29.1.0.rc1", "main"))
    assert refs != RefList(("main", "v29.1.x", "v29.1.0.rc1"))


def test_requests_are_frozen_values() -> None:
    build = BuildRequest(("lsst_distrib",), parse_ref_list(["main"]))
    assert (build.eups_tag, build.prepare_only, build.dry_run) == (None, False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        build.refs = RefList()  # type: ignore[misc]
    release = ReleaseRequest(Session.CANDIDATE, parse_tag("v29.1.0.rc1"))
    assert release.tag == Candidate(Release(29, 1, 0), 1)
    assert str(release.tag) == "v29.1.0.rc1"
    assert (release.product, release.refs, release.packages) == (None, RefList(), ())
    assert (release.dry_run, release.break_lock, release.build) == (False, False, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.tag = parse_tag("v29.1.0.rc2")  # type: ignore[misc]
