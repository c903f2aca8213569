"""The whole diagnostic of every refused name: rule, place and message, not only the rule.

``InvalidName`` and ``InvalidBranch`` render as ``<name>:1: RULE: 'TEXT': REASON`` (and
``<branch>:1: …``); hooks and commands print exactly that, so the text is part of the
contract. One row per place in core/names, core/tags and core/branches that refuses a name.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator

import pytest

from dmrelease.core.branches import backport_branch
from dmrelease.core.names import (
    BuildId,
    Candidate,
    Daily,
    InvalidBranch,
    InvalidName,
    Release,
    ReleaseBranchPattern,
    Weekly,
    branch_problem,
    classify,
    docker_tags,
    from_pep440,
    parse_branch,
    parse_eups_tag,
    parse_tag,
    weeks_in_year,
)

_EXPECTED = "expected M.n.p, vM.n.p.rcN, w.YYYY.WW, d.YYYY.MM.DD or bN"


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("v29.0.0", "<name>:1: name-v-prefix: 'v29.0.0': a DM final has no 'v' (write 29.0.0);"
                    " 'v29.0.0' is only for external repos"),
        ("016.0.0", "<name>:1: name-zero-padding: '016.0.0': zero padding in '016' (write 16)"),
        ("v016.01.0", "<name>:1: name-zero-padding: 'v016.01.0': zero padding in '016' (write 16);"
                      " zero padding in '01' (write 1); a DM final has no 'v' (write 16.1.0);"
                      " 'v16.1.0' is only for external repos"),
        ("v29.0.0.rc0", "<name>:1: name-rc: 'v29.0.0.rc0': release candidates count from rc1"),
        ("29.1.0.rc1", "<name>:1: name-rc: '29.1.0.rc1': a release candidate is spelled"
                       " v29.1.0.rc1"),
        ("w.2025.4", "<name>:1: name-week: 'w.2025.4': the week must have two digits"
                     " (write w.2025.04)"),
        ("w.25.4", "<name>:1: name-week: 'w.25.4': the year must have four digits, 1000..9999;"
                   " the week must have two digits (write w.25.04)"),
        ("w.2025.53", "<name>:1: name-week: 'w.2025.53': the week must be 01..52 in 2025"),
        ("d.2025.6.11", "<name>:1: name-date: 'd.2025.6.11': a daily is spelled d.YYYY.MM.DD"),
        ("d.2025.02.30", "<name>:1: name-date: 'd.2025.02.30': not a calendar date"
                         " (day is out of range for month)"),
        ("d.0999.01.01", "<name>:1: name-date: 'd.0999.01.01': the year must have four digits,"
                         " 1000..9999"),
        ("b01", "<name>:1: name-zero-padding: 'b01': zero padding in '01' (write 1)"),
        ("b0", "<name>:1: name-build: 'b0': build ids count from b1"),
        ("foo", f"<name>:1: name-syntax: 'foo': not a DM tag name: {_EXPECTED}"),
        ("16.0", "<name>:1: name-legacy: '16.0': historical final form, tolerated in old history"
                 f" only; {_EXPECTED}"),
        ("w_2025_24", "<name>:1: name-eups-form: 'w_2025_24': EUPS spelling; the git name is"
                      " w.2025.24"),
    ],
)  # fmt: skip
def test_parse_tag_diagnostic(text: str, rendered: str) -> None:
    with pytest.raises(InvalidName) as info:
        parse_tag(text)
    assert info.value.text == text
    assert str(info.value.diagnostic) == rendered
    assert str(info.value) == rendered
    assert (info.value.diagnostic.path, info.value.diagnostic.line) == ("<name>", 1)
    assert info.value.diagnostic.rule == info.value.rule


def test_the_length_limit_is_100_characters() -> None:
    longest = "b" + "1" * 99
    assert parse_tag(longest) == BuildId(int("1" * 99))
    with pytest.raises(InvalidName) as info:
        parse_tag(longest + "1")
    cut = longest[:100] + "…"
    assert info.value.text == cut
    assert str(info.value) == f"<name>:1: name-syntax: {cut!r}: longer than 100 characters"


def test_classify_is_not_external_unless_asked() -> None:
    with pytest.raises(InvalidName) as info:
        classify("v29.0.0")
    assert info.value.rule == "name-v-prefix"
    assert classify("v29.0.0", external=True) == "final"


def test_parse_eups_tag_diagnostic() -> None:
    with pytest.raises(InvalidName) as info:
        parse_eups_tag("x_1")
    assert (info.value.text, info.value.rule) == ("x_1", "name-eups")
    assert str(info.value) == (
        "<name>:1: name-eups: 'x_1': not the EUPS tag of a DM name"
        " (v29_1_0, v29_1_0_rc1, w_2025_24, d_2025_06_11, b1)"
    )


_NOT_DM = "a DM release is M.n.p or M.n.prcN in PEP 440"


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("nope", "<name>:1: name-pep440: 'nope': not a PEP 440 version"),
        ("29.1.0.post1", f"<name>:1: name-pep440: '29.1.0.post1': {_NOT_DM}"),
        ("1!29.1.0", f"<name>:1: name-pep440: '1!29.1.0': {_NOT_DM}"),
        ("29.1", f"<name>:1: name-pep440: '29.1': {_NOT_DM}"),
        ("29.1.0a1", f"<name>:1: name-pep440: '29.1.0a1': {_NOT_DM}"),
        ("29.1.0+local", f"<name>:1: name-pep440: '29.1.0+local': {_NOT_DM}"),
        ("29.1.0.rc1", "<name>:1: name-pep440: '29.1.0.rc1': not normalized PEP 440"
                       " (write 29.1.0rc1)"),
        ("29.1.0rc0", "<name>:1: name-rc: '29.1.0rc0': release candidates count from rc1"),
    ],
)  # fmt: skip
def test_from_pep440_diagnostic(text: str, rendered: str) -> None:
    with pytest.raises(InvalidName) as info:
        from_pep440(text)
    assert info.value.text == text
    assert str(info.value) == rendered


def test_a_pep440_number_past_the_digit_limit_is_not_a_version() -> None:
    text = "1" * 5000 + ".0.0"  # int() refuses it: packaging raised ValueError through
    with pytest.raises(InvalidName) as info:
        from_pep440(text)
    assert (info.value.diagnostic.rule, info.value.reason) == (
        "name-pep440",
        "not a PEP 440 version",
    )


# --- constructors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "rendered"),
    [
        (lambda: Release(-1, 0, 0), "<name>:1: name-syntax: '-1.0.0': negative number"),
        (lambda: Release(29, -1, 0), "<name>:1: name-syntax: '29.-1.0': negative number"),
        (lambda: Release(29, 0, -1), "<name>:1: name-syntax: '29.0.-1': negative number"),
        (lambda: Candidate(Release(29, 1, 0), 0),
         "<name>:1: name-rc: 'v29.1.0.rc0': release candidates count from rc1"),
        (lambda: Weekly(999, 1),
         "<name>:1: name-week: 'w.999.01': the year must have four digits, 1000..9999"),
        (lambda: Weekly(2025, 53), "<name>:1: name-week: 'w.2025.53': the week must be 01..52"
                                   " in 2025"),
        (lambda: Daily(dt.date(999, 1, 1)),
         "<name>:1: name-date: '0999-01-01': the year must have four digits, 1000..9999"),
        (lambda: BuildId(0), "<name>:1: name-build: 'b0': build ids count from b1"),
    ],
)  # fmt: skip
def test_constructor_diagnostic(make: Callable[[], object], rendered: str) -> None:
    with pytest.raises(InvalidName) as info:
        make()
    assert str(info.value) == rendered
    assert info.value.text == rendered.split("'")[1]


def test_zero_minor_and_patch_are_fine_and_the_first_four_digit_year_too() -> None:
    assert str(Release(29, 0, 0)) == "29.0.0"
    assert str(Daily(dt.date(1000, 1, 1))) == "d.1000.01.01"


@pytest.mark.parametrize(
    ("parse", "text", "rendered"),
    [
        (Release.parse, "w.2025.24", "'w.2025.24': this is a weekly name, not a final release"
                                     " M.n.p"),
        (Candidate.parse, "29.1.0", "'29.1.0': this is a final name, not a release candidate"
                                    " vM.n.p.rcN"),
        (Weekly.parse, "29.1.0", "'29.1.0': this is a final name, not a weekly w.YYYY.WW"),
        (Daily.parse, "29.1.0", "'29.1.0': this is a final name, not a daily d.YYYY.MM.DD"),
        (BuildId.parse, "29.1.0", "'29.1.0': this is a final name, not a build id bN"),
    ],
)  # fmt: skip
def test_class_parse_kind_diagnostic(
    parse: Callable[[str], object], text: str, rendered: str
) -> None:
    with pytest.raises(InvalidName) as info:
        parse(text)
    assert (info.value.text, str(info.value)) == (text, f"<name>:1: name-kind: {rendered}")


def test_only_release_parse_takes_external() -> None:
    assert Release.parse("v29.0.0", external=True) == Release(29, 0, 0)
    for parse in (Release.parse, Candidate.parse):
        with pytest.raises(InvalidName) as info:
            parse("v29.0.0")
        assert info.value.rule == "name-v-prefix"


def test_weeks_in_year_from_year_one() -> None:
    # 0001-01-01 is a Monday: week 1 starts the Sunday before (ordinal 0); year 2 starts on
    # Tuesday ordinal 366, so its week 1 starts on ordinal 364: 52 weeks in year 1
    assert [weeks_in_year(year) for year in (1, 2, 3)] == [52, 52, 52]


# --- docker tags ---------------------------------------------------------------------------

WHEN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("prefix", "rendered"),
    [
        ("-x", "'-x': a docker prefix is letters, digits, '_', '.', '-', starting with a letter"
               " or digit and not ending in '.' or '-'"),
        ("x" * 102, f"'{'x' * 102}': docker tags are at most 128 characters"),
    ],
)  # fmt: skip
def test_docker_prefix_diagnostic(prefix: str, rendered: str) -> None:
    with pytest.raises(InvalidName) as info:
        docker_tags(prefix, "w.2025.24", WHEN)
    assert info.value.text == prefix
    assert str(info.value) == f"<name>:1: docker-prefix: {rendered}"


def test_docker_tags_of_exactly_128_characters_are_fine() -> None:
    tags = docker_tags("x" * 101, "w.2025.24", WHEN)
    assert max(len(tag) for tag in tags) == 128


def test_docker_tags_refuse_a_naive_timestamp_saying_so() -> None:
    with pytest.raises(ValueError) as info:
        docker_tags("al9", "w.2025.24", dt.datetime(2025, 1, 1))
    assert str(info.value) == "docker_tags: timestamp must be timezone-aware"


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """Set the process's local time zone (TZ + tzset) for one test, then restore it."""
    before = os.environ.get("TZ")

    def use(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_the_docker_timestamp_is_utc_whatever_the_local_zone(
    local_zone: Callable[[str], None], zone: str
) -> None:
    local_zone(zone)
    pdt = dt.timezone(dt.timedelta(hours=-7))
    tags = docker_tags("al9", "w.2025.24", dt.datetime(2025, 6, 12, 1, 2, 3, tzinfo=pdt))
    assert tags[1] == "al9-w_2025_24-20250612T080203Z"


# --- branches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("v{major}.x", "name {major} and {minor} once each, and no other field"),
        ("v{major}.{minor:02d}.x", "no format spec or conversion in {major} / {minor}"),
        ("v{major}{minor}.x", "separate {major} and {minor} by something that is not a digit"),
        ("v{major}1.{minor}.x", "separate {major} and {minor} by something that is not a digit"),
        ("v{major}.{minor}9", "a field must not be followed by a digit"),
        ("v{major}.{minor}9x", "a field must not be followed by a digit"),
        ("v{major}.{minor}.x.lock", "no part may start with '.' or end with '.lock'"),
        ("v{major", "not a format string (expected '}' before end of string)"),
    ],
)
def test_release_branch_pattern_diagnostic(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidBranch) as info:
        ReleaseBranchPattern(pattern)
    assert (info.value.text, info.value.reason, info.value.rule) == (
        pattern,
        reason,
        "branch-pattern",
    )
    assert str(info.value) == f"<branch>:1: branch-pattern: {pattern!r}: {reason}"


def test_a_pattern_may_end_in_a_field_or_put_minor_first() -> None:
    assert ReleaseBranchPattern("v{major}.{minor}").match("v29.1") == (29, 1)
    assert ReleaseBranchPattern("{minor}.{major}-x").match("1.29-x") == (29, 1)


def test_parse_branch_diagnostic() -> None:
    with pytest.raises(InvalidBranch) as info:
        parse_branch("a..b")
    assert (info.value.text, info.value.rule) == ("a..b", "branch-ref-format")
    assert info.value.reason == "'..', '@{' and '//' are not allowed"
    assert str(info.value) == (
        "<branch>:1: branch-ref-format: 'a..b': '..', '@{' and '//' are not allowed"
    )


def test_backport_branch() -> None:
    assert backport_branch("DM-12345", 29) == "tickets/DM-12345-v29"
    assert backport_branch("DM-1", 0) == "tickets/DM-1-v0"


@pytest.mark.parametrize(("ticket", "major"), [("DM-01", 29), ("X-1", 29), ("DM-1", -1)])
def test_backport_branch_refuses_a_bad_ticket_or_major(ticket: str, major: int) -> None:
    with pytest.raises(InvalidBranch) as info:
        backport_branch(ticket, major)
    name = f"tickets/{ticket}-v{major}"
    assert (info.value.text, info.value.rule) == (name, "branch-name")
    assert str(info.value) == (
        f"<branch>:1: branch-name: {name!r}: expected a ticket DM-<number> and a major >= 0"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("tickets/dm-1",
         "ticket branches are tickets/DM-<number>, backports tickets/DM-<number>-v<major>"),
        ("u/x", "user branches are u/<user>/<topic>"),
        ("tickets/DM-01", "no zero padding in branch numbers (write tickets/DM-1)"),
    ],
)  # fmt: skip
def test_branch_problem_text(name: str, problem: str) -> None:
    assert branch_problem(name) == problem


def test_branch_problem_follows_the_pattern_given() -> None:
    pattern = ReleaseBranchPattern("release-{major}-{minor}")
    assert branch_problem("release-29-1", pattern) is None
    assert branch_problem("release-29-01", pattern) == (
        "no zero padding in branch numbers (write release-29-1)"
    )


def test_a_pattern_is_checked_on_its_v29_1_branch_up_to_the_length_limit() -> None:
    """The ref-format check renders the sample release 29.1: 200 bytes pass, 201 do not."""
    assert ReleaseBranchPattern("v{major}.{minor}-" + "x" * 194).render(Release(29, 1, 0)) == (
        "v29.1-" + "x" * 194
    )
    pattern = "v{major}.{minor}-" + "x" * 195
    with pytest.raises(InvalidBranch) as info:
        ReleaseBranchPattern(pattern)
    assert str(info.value) == f"<branch>:1: branch-pattern: {pattern!r}: longer than 200 bytes"
