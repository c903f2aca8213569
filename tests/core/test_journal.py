"""The journal and lock models (core/journal.py): steps, failures, JSON round trips."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.errors import ParseError
from dmrelease.core.journal import (
    Event,
    Journal,
    Lock,
    Step,
    change_line,
    parse_journal,
    parse_lock,
    read_journal,
)


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


# -- JSON Lines: a first line, then one change per line (issue 10) -------------------------


def _lines_of(*journals: Journal) -> str:
    text = journals[0].to_lines()
    for before, after in itertools.pairwise(journals):
        line = change_line(before, after)
        assert line is not None
        text += line
    return text


def test_each_step_is_one_line_and_the_lines_read_back_as_the_journal() -> None:
    steps = [started()]
    steps.append(steps[-1].advance("afw", Step.TAGGED, "t1", "local tags verified"))
    steps.append(steps[-1].fail("base", 'refused: "policy"', "t2"))
    steps.append(steps[-1].finish_stage("tagged", "t3", "2 packages"))
    steps.append(steps[-1].advance("base", Step.PUSHED, "t4").including(["utils"]))
    text = _lines_of(*steps)
    assert len(text.splitlines()) == len(steps)
    assert json.loads(text.splitlines()[0])["format"] == "dm-release-journal/2"
    assert parse_journal(text) == steps[-1]
    assert read_journal(text).lines and read_journal(text).torn == ""


def test_events_kept_from_before_the_journal_go_before_its_first_event() -> None:
    earlier = (Event("t0", "op", "step lock", "started"),)
    after = dataclasses.replace(started(), events=(*earlier, *started().events))
    assert parse_journal(_lines_of(started(), after)) == after


def test_no_change_is_no_line_and_another_plan_is_a_rewrite() -> None:
    assert change_line(started(), started()) == ""
    other = Journal.start("release_candidate demo v29.1.0.rc1", "sha256:cd", ["afw"], "t0")
    assert change_line(started(), other) is None


def test_a_torn_last_line_is_ignored_and_reported() -> None:
    text = _lines_of(started(), started().advance("afw", Step.TAGGED, "t1"))
    torn = text + '{"packages": {"base": "pus'
    found = read_journal(torn, "j.json")
    assert found.journal == parse_journal(text) and found.torn == '{"packages": {"base": "pus'


def test_a_first_line_without_its_newline_is_no_journal() -> None:
    with pytest.raises(ParseError) as caught:
        parse_journal(started().to_lines().rstrip("\n"), "j.json")
    assert str(caught.value.diagnostic) == (
        "j.json:1: journal-format: its first line is cut short (move the file aside and rerun)"
    )


def test_a_damaged_whole_line_is_reported_at_its_line() -> None:
    text = _lines_of(started(), started().advance("afw", Step.TAGGED, "t1"))
    for bad, message in [
        ("{nope}\n", "not JSON: Expecting property name enclosed in double quotes"),
        ('{"packages": {"afw": "half-done"}}\n', "malformed journal line: "),
        ("[1]\n", "malformed journal line: "),
    ]:
        with pytest.raises(ParseError) as caught:
            parse_journal(text + bad + '{"stages": ["x"]}\n', "j.json")
        assert caught.value.diagnostic.rule == "journal-format"
        assert (caught.value.diagnostic.path, caught.value.diagnostic.line) == ("j.json", 3)
        assert caught.value.diagnostic.message.startswith(message)


def test_a_journal_of_the_previous_format_is_read_as_before() -> None:
    journal = started().advance("afw", Step.PUSHED, "t1").finish_stage("tagged", "t2")
    found = read_journal(journal.to_json())
    assert found.journal == journal and not found.lines


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["advance", "fail", "stage", "include"]),
            st.sampled_from(["afw", "base", "utils"]),
            st.sampled_from(Step),
        ),
        max_size=12,
    )
)
def test_any_run_of_changes_replays_to_the_same_journal(
    changes: list[tuple[str, str, Step]],
) -> None:
    journals = [started().including(["utils"])]
    for kind, package, step in changes:
        last = journals[-1]
        if kind == "advance":
            journals.append(last.advance(package, step, "t", "ok"))
        elif kind == "fail":
            journals.append(last.fail(package, f"no {step}", "t"))
        elif kind == "stage":
            journals.append(last.finish_stage(str(step), "t"))
        else:
            journals.append(last.including([package, "geom"]))
    assert parse_journal(_lines_of(*journals)) == journals[-1]


def test_a_stage_s_build_id_is_a_field_kept_in_both_formats() -> None:
    built = started().finish_stage("built[9.0.0]", "t1", "build b7 from main", build_id="b7")
    again = built.finish_stage("published[9.0.0]", "t2", "b7 as d_2025_06_11")
    assert (built.builds, again.builds) == ({"built[9.0.0]": "b7"}, {"built[9.0.0]": "b7"})
    line = change_line(started(), built)
    assert line is not None and json.loads(line)["builds"] == {"built[9.0.0]": "b7"}
    assert change_line(built, again) is not None
    assert "builds" not in json.loads(change_line(built, again) or "{}")
    assert parse_journal(_lines_of(started(), built, again)) == again
    assert parse_journal(again.to_json()) == again
    assert json.loads(again.to_json())["builds"] == {"built[9.0.0]": "b7"}


def test_a_journal_without_builds_is_written_as_before() -> None:
    journal = started().finish_stage("built", "t1", "build b1 from main")
    assert journal.builds == {}
    assert "builds" not in json.loads(journal.to_json())
    assert "builds" not in json.loads(journal.to_lines())
    assert parse_journal(journal.to_json()).builds == {}
