"""The journal and the lock, exactly: rendering, file layout and every refusal whole.

Written against mutation testing (issue 8) of core/journal.py: what a person reads after a
failed run (``render``) and what a damaged file is reported as are asserted in full.
"""

from __future__ import annotations

import json

import pytest

from dmrelease.core.errors import ParseError
from dmrelease.core.journal import Event, Journal, Lock, Step, parse_journal, parse_lock

OPERATION = "release_candidate demo v29.1.0.rc1"


def a_run() -> Journal:
    return (
        Journal.start(OPERATION, "sha256:0123456789abcdef0123456789", ["afw", "base"], "t0")
        .advance("afw", Step.TAGGED, "t1")
        .fail("base", "push refused", "t2")
        .finish_stage("tagged", "t3")
        .finish_stage("built", "t4", "b8466")
    )


def test_the_rendered_journal_is_exactly_this() -> None:
    assert a_run().render() == (
        f"journal of {OPERATION} (plan sha256:0123456789ab):"
        " 1 planned, 1 tagged, 0 pushed, 1 failed\n"
        "  stages done: tagged, built\n"
        f"  t0  {OPERATION} planned  2 packages\n"
        "  t1  afw                       tagged\n"
        "  t2  base                      failed  push refused\n"
        f"  t3  {OPERATION} tagged\n"
        f"  t4  {OPERATION} built  b8466\n"
    )


def test_a_journal_without_stages_renders_no_stage_line() -> None:
    journal = Journal.start(OPERATION, "sha256:ab", ["afw"], "t0")
    assert journal.render() == (
        f"journal of {OPERATION} (plan sha256:ab): 1 planned, 0 tagged, 0 pushed, 0 failed\n"
        f"  t0  {OPERATION} planned  1 packages\n"
    )


def test_an_event_without_detail_has_no_trailing_blanks() -> None:
    assert str(Event("t1", "afw", "tagged")) == "t1  afw                       tagged"
    assert str(Event("t1", "afw", "tagged", "v1")) == "t1  afw                       tagged  v1"


def test_steps_events_and_stages_record_what_happened() -> None:
    journal = a_run()
    assert journal.events == (
        Event("t0", OPERATION, "planned", "2 packages"),
        Event("t1", "afw", "tagged", ""),
        Event("t2", "base", "failed", "push refused"),
        Event("t3", OPERATION, "tagged", ""),
        Event("t4", OPERATION, "built", "b8466"),
    )
    assert journal.stages == ("tagged", "built")


def test_advancing_one_package_clears_only_its_failure() -> None:
    journal = a_run().fail("afw", "tag refused", "t5").advance("afw", Step.PUSHED, "t6")
    assert journal.errors == {"base": "push refused"}


def test_an_unknown_package_is_a_key_error_that_says_which_journal() -> None:
    with pytest.raises(KeyError) as caught:
        a_run().advance("geom", Step.TAGGED, "t9")
    assert caught.value.args == (f"geom is not in the journal of {OPERATION}",)


def test_a_journal_with_stages_round_trips() -> None:
    journal = a_run()
    assert parse_journal(journal.to_json()) == journal


def test_the_journal_file_is_indented_json() -> None:
    lines = a_run().to_json().splitlines()
    assert lines[:4] == [
        "{",
        ' "format": "dm-release-journal/1",',
        f' "operation": "{OPERATION}",',
        ' "plan_checksum": "sha256:0123456789abcdef0123456789",',
    ]
    assert lines[lines.index(' "stages": [') :][:4] == [
        ' "stages": [',
        '  "tagged",',
        '  "built"',
        " ],",
    ]


def test_a_journal_without_the_optional_lists_reads_as_empty() -> None:
    text = json.dumps(
        {"format": "dm-release-journal/1", "operation": "x", "plan_checksum": "y",
         "packages": {"afw": "pushed"}}
    )  # fmt: skip
    journal = parse_journal(text)
    assert (journal.errors, journal.stages, journal.events) == ({}, (), ())
    assert journal.complete()


def _refusal(reader, text: str, *path: str) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError) as caught:
        reader(text, *path)
    return str(caught.value.diagnostic)


def test_broken_json_is_reported_at_its_line() -> None:
    assert _refusal(parse_journal, '{\n "format": }\n', "j.json") == (
        "j.json:2:12: journal-format: not JSON: Expecting value"
    )


def test_a_file_of_another_format_is_refused_whole() -> None:
    text = json.dumps({"format": "dm-release-journal/9"})
    assert _refusal(parse_journal, text) == (
        "<journal>:1: journal-format: not a dm-release-journal/1 file"
        " (move the file aside and rerun)"
    )
    assert _refusal(parse_lock, "[]", "lock.json") == (
        "lock.json:1: journal-format: not a dm-release-lock/1 file (move the file aside and rerun)"
    )


def test_a_malformed_journal_names_what_is_missing() -> None:
    text = json.dumps({"format": "dm-release-journal/1", "operation": "x"})
    assert _refusal(parse_journal, text, "j.json") == (
        "j.json:1: journal-format: malformed journal: KeyError('plan_checksum')"
        " (move the file aside and rerun)"
    )


def test_the_lock_file_is_indented_json_naming_the_holder() -> None:
    lock = Lock("demo", "weekly", "w.2025.25", "jenkins pid 7", "t0")
    assert lock.to_json().splitlines()[:7] == [
        "{",
        ' "format": "dm-release-lock/1",',
        ' "product": "demo",',
        ' "session": "weekly",',
        ' "release": "w.2025.25",',
        ' "holder": "jenkins pid 7",',
        ' "taken_at": "t0"' + ("," if len(lock.to_json().splitlines()) > 8 else ""),
    ]
    assert lock.to_json().endswith("\n}\n")


def test_a_lock_without_a_field_is_refused_naming_it() -> None:
    body = json.loads(Lock("demo", "weekly", "w.2025.25", "pid 7", "t0").to_json())
    del body["holder"]
    assert _refusal(parse_lock, json.dumps(body), "lock.json") == (
        "lock.json:1: journal-format: lock file without 'holder' (move the file aside and rerun)"
    )
    assert _refusal(parse_lock, json.dumps(body)).startswith("<lock>:1: journal-format: ")
    assert _refusal(parse_lock, "{", "lock.json").startswith("lock.json:1:2: journal-format: ")


def test_a_lock_names_its_process_and_reads_back_whole() -> None:
    lock = Lock("demo", "weekly", "w.2025.25", "pid 7", "t0", "host1", 42, "s0", "boot:ns")
    assert parse_lock(lock.to_json()) == lock
    body = json.loads(lock.to_json())
    for name in ("host", "pid", "started", "pid_space"):
        del body[name]
    assert parse_lock(json.dumps(body)) == Lock("demo", "weekly", "w.2025.25", "pid 7", "t0")


@pytest.mark.parametrize("pid", [-1, True, "7", 1.5], ids=["negative", "bool", "text", "float"])
def test_a_lock_with_a_pid_that_is_no_process_number_is_refused(pid: object) -> None:
    body = json.loads(Lock("demo", "weekly", "w.2025.25", "pid 7", "t0", pid=1).to_json())
    body["pid"] = pid
    assert _refusal(parse_lock, json.dumps(body), "lock.json") == (
        f"lock.json:1: journal-format: lock file with a bad pid {pid!r}"
        " (move the file aside and rerun)"
    )
