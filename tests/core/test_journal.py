"""The journal and lock models (core/journal.py): steps, failures, JSON round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.errors import ParseError
from dmrelease.core.journal import Journal, Lock, Step, parse_journal, parse_lock


def started() -> Journal:
    return Journal.start("release_candidate demo v29.1.0.rc1", "sha256:ab", ["afw", "base"], "t0")


def test_a_new_journal_has_every_package_planned() -> None:
    journal = started()
    assert journal.packages == {"afw": Step.PLANNED, "base": Step.PLANNED}
    assert journal.pending(Step.TAGGED) == ["afw", "base"]
    assert not journal.complete()


def test_steps_advance_and_clear_a_failure() -> None:
    journal = started().advance("afw", Step.TAGGED, "t1").fail("afw", "refused", "t2")
    assert journal.errors == {"afw": "refused"} and journal.step_of("afw") is Step.TAGGED
    journal = journal.advance("afw", Step.PUSHED, "t3").advance("base", Step.PUSHED, "t3")
    assert journal.complete() and not journal.errors
    assert journal.summary() == {"planned": 0, "tagged": 0, "pushed": 2, "failed": 0}
    assert [e.step for e in journal.events] == ["planned", "tagged", "failed", "pushed", "pushed"]


def test_methods_never_change_the_journal_in_place() -> None:
    journal = started()
    journal.advance("afw", Step.PUSHED, "t1")
    assert journal.step_of("afw") is Step.PLANNED


def test_an_unknown_package_is_a_bug() -> None:
    with pytest.raises(KeyError):
        started().advance("geom", Step.TAGGED, "t1")


def test_a_later_run_may_add_packages_and_keeps_the_steps_done() -> None:
    journal = started().advance("afw", Step.PUSHED, "t1").including(["utils", "afw"])
    assert journal.packages == {"afw": Step.PUSHED, "base": Step.PLANNED, "utils": Step.PLANNED}
    assert journal.advance("utils", Step.PUSHED, "t2").step_of("utils") is Step.PUSHED
    assert started().including(["afw"]) == started()


def test_stages_are_recorded_once() -> None:
    journal = started().finish_stage("tagged", "t1").finish_stage("tagged", "t2")
    assert journal.stages == ("tagged",) and journal.has_stage("tagged")
    assert not journal.has_stage("built")


def test_render_shows_counts_stages_and_events() -> None:
    text = started().advance("afw", Step.TAGGED, "t1", "local tags verified").render()
    assert "1 planned, 1 tagged, 0 pushed, 0 failed" in text
    assert "t1  afw" in text and "local tags verified" in text


@given(st.lists(st.sampled_from(["afw", "base"]), max_size=8), st.lists(st.sampled_from(Step)))
def test_journal_json_round_trips(packages: list[str], steps: list[Step]) -> None:
    journal = started()
    for package, step in zip(packages, steps, strict=False):
        journal = journal.advance(package, step, "t").fail(package, 'why: "quoted"', "t")
    assert parse_journal(journal.to_json()) == journal


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        json.dumps({"format": "dm-release-journal/9"}),
        json.dumps({"format": "dm-release-journal/1", "operation": "x"}),
        json.dumps(
            {
                "format": "dm-release-journal/1",
                "operation": "x",
                "plan_checksum": "y",
                "packages": {"afw": "half-done"},
            }
        ),
    ],
)
def test_a_damaged_journal_is_reported_not_guessed(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_journal(text, "j.json")
    assert caught.value.diagnostic.rule == "journal-format"
    assert caught.value.diagnostic.path == "j.json"


def test_lock_round_trip_and_ownership() -> None:
    lock = Lock("demo", "release_candidate", "v29.1.0.rc1", "jenkins@agent pid 7", "t0")
    assert parse_lock(lock.to_json()) == lock
    assert lock.owned_by("release_candidate", "v29.1.0.rc1")
    assert not lock.owned_by("release_candidate", "v29.1.0.rc2")
    assert not lock.owned_by("weekly", "v29.1.0.rc1")
    assert str(lock) == (
        "demo is locked by release_candidate v29.1.0.rc1 (jenkins@agent pid 7, since t0)"
    )
