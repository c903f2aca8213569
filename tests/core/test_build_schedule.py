"""Build scheduling: reuse > fetch > build, dependencies first, failures stop dependents."""

from __future__ import annotations

import pytest

from dmrelease.core.build import Action, Outcome, Schedule, choose_action, count_actions

#: base <- utils <- geom <- afw -> utils; base <- daf; meta -> afw, daf
DEPS = {
    "base": (),
    "utils": ("base",),
    "daf": ("base",),
    "geom": ("utils",),
    "afw": ("geom", "utils", "python"),  # python: an external, ignored
    "meta": ("afw", "daf"),
}
ORDER = ["base", "daf", "utils", "geom", "afw", "meta"]


@pytest.mark.parametrize(
    ("installed", "on_server", "fetch", "expected"),
    [
        (True, True, True, Action.REUSED),
        (True, False, False, Action.REUSED),
        (False, True, True, Action.FETCHED),
        (False, True, False, Action.BUILT),
        (False, False, True, Action.BUILT),
    ],
)
def test_choose_action(installed: bool, on_server: bool, fetch: bool, expected: Action) -> None:
    assert choose_action(installed=installed, on_server=on_server, fetch_binaries=fetch) is expected


def _run(schedule: Schedule, failing: set[str], limit: int | None = None) -> list[list[str]]:
    """Drive the schedule like the stage does; returns the batches that started."""
    batches = []
    while not schedule.done:
        batch = schedule.take_ready(limit)
        batches.append(batch)
        for name in batch:
            schedule.finish(name, name not in failing)
    return batches


def test_dependencies_first_in_manifest_order() -> None:
    assert _run(Schedule(ORDER, DEPS), set()) == [
        ["base"], ["daf", "utils"], ["geom"], ["afw"], ["meta"]
    ]  # fmt: skip


def test_at_most_limit_packages_start_together() -> None:
    batches = _run(Schedule(ORDER, DEPS), set(), limit=1)
    assert [name for batch in batches for name in batch] == ORDER


def test_a_failure_skips_everything_downstream_and_only_that() -> None:
    schedule = Schedule(ORDER, DEPS)
    _run(schedule, {"geom"})
    assert schedule.failed == {"geom"}
    assert schedule.skipped == {"afw", "meta"}
    assert schedule.succeeded == {"base", "daf", "utils"}


def test_finish_reports_the_newly_skipped() -> None:
    schedule = Schedule(ORDER, DEPS)
    assert schedule.take_ready() == ["base"]
    assert schedule.finish("base", ok=False) == {"utils", "daf", "geom", "afw", "meta"}
    assert schedule.done and schedule.take_ready() == []


def test_count_actions_lists_every_action() -> None:
    outcomes = [Outcome("a", "g1", Action.BUILT), Outcome("b", "g2", Action.REUSED)]
    assert count_actions(outcomes) == {
        "reused": 1, "fetched": 0, "built": 1, "failed": 0, "skipped": 0,
    }  # fmt: skip


def test_limit_two_starts_two_of_the_ready_ones() -> None:
    schedule = Schedule(["a", "b", "c"], {})
    assert schedule.take_ready(limit=2) == ["a", "b"]
    assert schedule.take_ready(limit=2) == ["c"]
    assert schedule.running == {"a", "b", "c"}


def test_a_package_missing_from_deps_has_no_dependencies() -> None:
    schedule = Schedule(["a", "b"], {"b": ("a", "b")})  # "a" absent; "b" on itself ignored
    assert schedule.take_ready() == ["a"]
    schedule.finish("a", ok=True)
    assert schedule.take_ready() == ["b"]


def test_count_actions_counts_each_package() -> None:
    outcomes = [Outcome(name, "g", Action.BUILT) for name in "abc"]
    assert count_actions(outcomes)["built"] == 3


def test_outcome_as_dict_is_the_status_json_row() -> None:
    outcome = Outcome("afw", "g1234+1", Action.FETCHED, seconds=1.23456, message="ok")
    assert outcome.as_dict() == {
        "version": "g1234+1", "action": "fetched", "seconds": 1.235, "message": "ok",
    }  # fmt: skip
    assert Outcome("a", "v", Action.BUILT).as_dict() == {
        "version": "v", "action": "built", "seconds": 0.0, "message": "",
    }  # fmt: skip
