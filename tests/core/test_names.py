"""Names of DESIGN.md §3: tags, EUPS tags, PEP 440, ordering, history, branches, docker."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.names import (
    BranchKind,
    BuildId,
    Candidate,
    Daily,
    InvalidBranch,
    InvalidName,
    Kind,
    Legacy,
    Release,
    ReleaseBranchPattern,
    Weekly,
    branch_problem,
    classify,
    classify_branch,
    docker_tags,
    eups_tag,
    from_pep440,
    parse_branch,
    parse_eups_tag,
    parse_tag,
    read_tag,
    release_key,
    ticket_of,
    weeks_in_year,
)

TAGS_TSV = Path(__file__).parents[1] / "data" / "tags" / "lsst_distrib-tags.tsv"

# --- canonical names ---------------------------------------------------------------------

VALID = [
    ("29.1.0", Release(29, 1, 0)),
    ("0.0.0", Release(0, 0, 0)),
    ("16.10.0", Release(16, 10, 0)),
    ("24.0.0", Release(24, 0, 0)),
    ("v29.1.0.rc4", Candidate(Release(29, 1, 0), 4)),
    ("v29.1.0.rc10", Candidate(Release(29, 1, 0), 10)),
    ("v17.0.1.rc1", Candidate(Release(17, 0, 1), 1)),
    ("w.2025.24", Weekly(2025, 24)),
    ("w.2025.01", Weekly(2025, 1)),
    ("w.2021.01", Weekly(2021, 1)),
    ("w.2022.53", Weekly(2022, 53)),
    ("w.2016.53", Weekly(2016, 53)),
    ("d.2025.06.11", Daily(dt.date(2025, 6, 11))),
    ("d.2024.02.29", Daily(dt.date(2024, 2, 29))),
    ("b8466", BuildId(8466)),
    ("b1", BuildId(1)),
]


@pytest.mark.parametrize(("text", "value"), VALID)
def test_parse_valid_name(text: str, value: object) -> None:
    assert parse_tag(text) == value
    assert str(value) == text  # canonical: parse, re-serialise, compare


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("29.1.0", Kind.FINAL),
        ("v29.1.0.rc4", Kind.RC),
        ("w.2025.24", Kind.WEEKLY),
        ("d.2025.06.11", Kind.DAILY),
        ("b8466", Kind.BUILD),
        ("16.0", Kind.LEGACY),
        ("6.1.0.0", Kind.LEGACY),
        ("10.1.rc3", Kind.LEGACY),
        ("v16.0.rc1", Kind.LEGACY),
        ("v13.0-rc1", Kind.LEGACY),
        ("t.2016.34", Kind.LEGACY),
        ("t.2016.44.2", Kind.LEGACY),
        ("2015_10.0", Kind.LEGACY),
        ("dax-F16-2016-11.pre1", Kind.LEGACY),
        ("release/v9_1_1", Kind.LEGACY),
        ("w.2017.1", Kind.LEGACY),
    ],
)
def test_classify(text: str, kind: Kind) -> None:
    assert classify(text) is kind


INVALID = [
    ("16.01.0", "name-zero-padding", "zero padding in '01'"),
    ("016.0.0", "name-zero-padding", "zero padding in '016' (write 16)"),
    ("29.1.00", "name-zero-padding", "zero padding in '00'"),
    ("v29.0.0", "name-v-prefix", "only for external repos"),
    ("v29.0.0.rc0", "name-rc", "count from rc1"),
    ("v29.0.0.rc01", "name-zero-padding", "zero padding in '01'"),
    ("29.1.0.rc1", "name-rc", "spelled v29.1.0.rc1"),
    ("29.1.0rc1", "name-rc", "spelled v29.1.0.rc1"),
    ("v29.1.0-rc1", "name-rc", "spelled v29.1.0.rc1"),
    ("v29.1.0rc1", "name-rc", "spelled v29.1.0.rc1"),
    ("w.2025.4", "name-week", "two digits (write w.2025.04)"),
    ("w.2025.004", "name-week", "two digits (write w.2025.04)"),
    ("w.2025.54", "name-week", "01..52 in 2025"),
    ("w.2025.53", "name-week", "01..52 in 2025"),
    ("w.2022.54", "name-week", "01..53 in 2022"),
    ("w.2025.00", "name-week", "01..52 in 2025"),
    ("w.25.24", "name-week", "four digits"),
    ("w.0999.01", "name-week", "four digits"),
    ("d.2025.02.30", "name-date", "not a calendar date"),
    ("d.2025.6.11", "name-date", "d.YYYY.MM.DD"),
    ("b0", "name-build", "count from b1"),
    ("b01", "name-zero-padding", "zero padding in '01'"),
    ("w_2025_24", "name-eups-form", "the git name is w.2025.24"),
    ("v29_1_0_rc1", "name-eups-form", "the git name is v29.1.0.rc1"),
    ("16.0", "name-legacy", "historical final form"),
    ("v16.0.rc1", "name-legacy", "historical rc form"),
    ("w.2017.1", "name-week", "two digits (write w.2017.01)"),
    ("29.1", "name-legacy", "historical final form"),
    ("", "name-syntax", "not a DM tag name"),
    ("foo", "name-syntax", "not a DM tag name"),
    (" 29.1.0", "name-syntax", "not a DM tag name"),
    ("29.1.0\n", "name-syntax", "not a DM tag name"),
    ("V29.1.0.rc1", "name-syntax", "not a DM tag name"),
    ("29.1.0.0.0", "name-syntax", "not a DM tag name"),
    ("w.2025.24.1", "name-syntax", "not a DM tag name"),
]


def test_an_overlong_name_is_refused_early() -> None:
    with pytest.raises(InvalidName, match="longer than 100"):
        parse_tag("1" * 5000 + ".0.0")


@pytest.mark.parametrize(("text", "rule", "reason"), INVALID)
def test_parse_invalid_name(text: str, rule: str, reason: str) -> None:
    with pytest.raises(InvalidName) as info:
        parse_tag(text)
    assert info.value.text == text
    assert info.value.rule == rule
    assert reason in info.value.reason
    assert info.value.diagnostic.rule == rule


def test_all_problems_of_a_name_are_reported() -> None:
    with pytest.raises(InvalidName) as info:
        parse_tag("v016.01.0")
    assert "'016'" in info.value.reason
    assert "'01'" in info.value.reason
    assert "external" in info.value.reason


@pytest.mark.parametrize("text", ["16.01.0", "w.2025.4", "v29.0.0.rc0", "w.2025.54", "foo"])
def test_classify_refuses_invalid_names(text: str) -> None:
    with pytest.raises(InvalidName):
        classify(text)


def test_v_final_is_accepted_only_on_external_repos() -> None:
    with pytest.raises(InvalidName, match="external"):
        parse_tag("v29.0.0")
    release = parse_tag("v29.0.0", external=True)
    assert release == Release(29, 0, 0)
    assert str(release) == "29.0.0"
    assert classify("v29.0.0", external=True) is Kind.FINAL
    assert Release(29, 0, 0).git_tags(external=True) == ("29.0.0", "v29.0.0")
    assert Release(29, 0, 0).git_tags() == ("29.0.0",)


@pytest.mark.parametrize(
    ("cls", "text", "value"),
    [
        (Release, "29.1.0", Release(29, 1, 0)),
        (Candidate, "v29.1.0.rc2", Candidate(Release(29, 1, 0), 2)),
        (Weekly, "w.2025.24", Weekly(2025, 24)),
        (Daily, "d.2025.06.11", Daily(dt.date(2025, 6, 11))),
        (BuildId, "b12", BuildId(12)),
    ],
)
def test_class_parse_checks_the_kind(cls: type, text: str, value: object) -> None:
    assert cls.parse(text) == value
    other = "b12" if cls is not BuildId else "29.1.0"
    with pytest.raises(InvalidName, match="not a"):
        cls.parse(other)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Release(-1, 0, 0),
        lambda: Candidate(Release(29, 1, 0), 0),
        lambda: Weekly(2025, 53),
        lambda: Weekly(2025, 0),
        lambda: Weekly(999, 1),
        lambda: Daily(dt.date(999, 1, 1)),
        lambda: BuildId(0),
    ],
)
def test_constructors_keep_the_invariants(make: object) -> None:
    with pytest.raises(InvalidName):
        make()  # type: ignore[operator]


# --- EUPS tags -----------------------------------------------------------------------------

EUPS = [
    ("29.0.0", "v29_0_0"),
    ("v29.0.0", "v29_0_0"),  # not one-to-one: hence the refusal of v finals on DM repos
    ("29.1.0", "v29_1_0"),
    ("v29.1.0.rc1", "v29_1_0_rc1"),
    ("v29.1.0.rc4", "v29_1_0_rc4"),
    ("w.2025.24", "w_2025_24"),
    ("d.2025.06.11", "d_2025_06_11"),
    ("b8466", "b8466"),
    ("16.0", "v16_0"),
    ("6.1.0.0", "v6_1_0_0"),
    ("10.1.rc3", "v10_1_rc3"),
    ("v16.0.rc1", "v16_0_rc1"),
    ("v13.0-rc1", "v13_0_rc1"),
    ("t.2016.34", "t_2016_34"),
    ("2015_10.0", "v2015_10_0"),
    ("dax-F16-2016-11.pre1", "dax_F16_2016_11_pre1"),
    ("release/v9_1_1", "v9_1_1"),
    ("w.2017.1", "w_2017_1"),
]


@pytest.mark.parametrize(("git", "eups"), EUPS)
def test_eups_tag(git: str, eups: str) -> None:
    assert eups_tag(git) == eups
    assert "." not in eups  # EUPS ignores server tag files with a '.' in the name


@pytest.mark.parametrize("text", ["016.0.0", "w.2025.54", "v29.0.0.rc0", "foo", ""])
def test_eups_tag_of_invalid_name(text: str) -> None:
    with pytest.raises(InvalidName):
        eups_tag(text)


@pytest.mark.parametrize(("git", "eups"), [(g, e) for g, e in EUPS[2:8]])
def test_parse_eups_tag_inverts(git: str, eups: str) -> None:
    assert str(parse_eups_tag(eups)) == git


@pytest.mark.parametrize("text", ["v16_0", "w_2017_1", "v29_01_0", "w_latest", "29_0_0", "x"])
def test_parse_eups_tag_refuses(text: str) -> None:
    with pytest.raises(InvalidName):
        parse_eups_tag(text)


# --- ordering ------------------------------------------------------------------------------

ORDERED_PAIRS = [
    ("v29.1.0.rc1", "v29.1.0.rc2"),
    ("v29.1.0.rc2", "v29.1.0.rc10"),  # numeric, not text order
    ("v29.1.0.rc4", "29.1.0"),  # EUPS gets this one wrong
    ("29.1.0", "v29.1.1.rc1"),
    ("29.1.0", "29.1.1"),  # final < next patch
    ("29.0.9", "v29.1.0.rc1"),
    ("16.1.0", "16.10.0"),
    ("9.0.0", "10.0.0"),
    ("29.1.1", "29.2.0"),
    ("w.2020.52", "w.2021.01"),
    ("w.2022.09", "w.2022.10"),
    ("w.2022.53", "w.2023.01"),
    ("d.2025.06.11", "d.2025.06.12"),
    ("b999", "b1000"),
]


@pytest.mark.parametrize(("low", "high"), ORDERED_PAIRS)
def test_order(low: str, high: str) -> None:
    a, b = parse_tag(low), parse_tag(high)
    assert a < b
    assert b > a
    assert not b < a
    assert a != b
    assert sorted([b, a]) == [a, b]  # type: ignore[type-var]


def test_release_key_sorts_candidates_before_their_final() -> None:
    names = ["29.1.1", "v29.1.0.rc10", "29.1.0", "v29.1.0.rc2", "v29.1.1.rc1", "29.0.0"]
    versions = [Release.parse(n) if "rc" not in n else Candidate.parse(n) for n in names]
    assert [str(v) for v in sorted(versions, key=release_key)] == [
        "29.0.0",
        "v29.1.0.rc2",
        "v29.1.0.rc10",
        "29.1.0",
        "v29.1.1.rc1",
        "29.1.1",
    ]


@pytest.mark.parametrize(("a", "b"), [("w.2025.24", "29.1.0"), ("b1", "d.2025.06.11")])
def test_different_kinds_do_not_compare(a: str, b: str) -> None:
    with pytest.raises(TypeError):
        _ = parse_tag(a) < parse_tag(b)  # type: ignore[operator]


def test_next_names() -> None:
    assert Release(29, 1, 0).next_patch() == Release(29, 1, 1)
    assert Release(29, 1, 0).candidate() == Candidate.parse("v29.1.0.rc1")
    assert Candidate.parse("v29.1.0.rc1").next_rc() == Candidate.parse("v29.1.0.rc2")
    assert BuildId(8466).next() == BuildId(8467)


# --- PEP 440 -------------------------------------------------------------------------------

PEP440 = [
    ("29.1.0", "29.1.0"),
    ("v29.1.0.rc1", "29.1.0rc1"),
    ("v29.1.0.rc12", "29.1.0rc12"),
    ("0.1.0", "0.1.0"),
]


@pytest.mark.parametrize(("git", "pep440"), PEP440)
def test_pep440_both_directions(git: str, pep440: str) -> None:
    value = parse_tag(git)
    assert isinstance(value, Release | Candidate)
    assert value.pep440 == pep440
    assert from_pep440(pep440) == value


@pytest.mark.parametrize(
    ("text", "git"),
    [("29.1.0.rc1", "v29.1.0.rc1"), ("29.1.0-rc.1", "v29.1.0.rc1"), ("v29.1.0", "29.1.0")],
)
def test_pep440_lenient_spellings(text: str, git: str) -> None:
    with pytest.raises(InvalidName, match="normalized"):
        from_pep440(text)
    assert str(from_pep440(text, strict=False)) == git


@pytest.mark.parametrize(
    "text",
    [
        "29.1",
        "29.1.0.0",
        "29.1.0a1",
        "29.1.0.post1",
        "29.1.0.dev1",
        "1!29.1.0",
        "29.1.0+x",
        "29.1.0rc0",
        "x",
    ],
)
def test_pep440_refuses(text: str) -> None:
    with pytest.raises(InvalidName):
        from_pep440(text, strict=False)


# --- the weekly calendar (DESIGN.md §3, not ISO 8601) --------------------------------------


@pytest.mark.parametrize(
    ("day", "weekly"),
    [
        (dt.date(2020, 12, 31), "w.2021.01"),
        (dt.date(2022, 12, 29), "w.2022.53"),
        (dt.date(2022, 12, 31), "w.2022.53"),
        (dt.date(2023, 1, 1), "w.2023.01"),
        (dt.date(2024, 12, 28), "w.2024.52"),
        (dt.date(2024, 12, 29), "w.2025.01"),  # the Sunday on or before 1 January 2025
        (dt.date(2025, 1, 4), "w.2025.01"),
        (dt.date(2025, 1, 5), "w.2025.02"),
        (dt.date(2025, 6, 12), "w.2025.24"),
        (dt.date(2027, 12, 31), "w.2028.01"),
    ],
)
def test_weekly_for_date(day: dt.date, weekly: str) -> None:
    assert str(Weekly.for_date(day)) == weekly


@pytest.mark.parametrize(
    ("year", "weeks"),
    [(2011, 53), (2016, 53), (2020, 52), (2021, 52), (2022, 53), (2025, 52), (2028, 53)],
)
def test_weeks_in_year(year: int, weeks: int) -> None:
    assert weeks_in_year(year) == weeks
    assert Weekly(year, weeks).first_day.weekday() == 6  # a Sunday


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9998, 12, 1)))
def test_weekly_holds_its_date(day: dt.date) -> None:
    weekly = Weekly.for_date(day)
    assert weekly.first_day <= day < weekly.first_day + dt.timedelta(days=7)
    assert Weekly.for_date(weekly.first_day) == weekly
    assert Weekly.for_date(day + dt.timedelta(days=7)) > weekly


# --- history -------------------------------------------------------------------------------


def _tsv_tags() -> list[str]:
    with TAGS_TSV.open(newline="") as stream:
        return [row["tag"] for row in csv.DictReader(stream, delimiter="\t")]


def test_every_real_tag_is_readable() -> None:
    values = [read_tag(tag) for tag in _tsv_tags()]
    kinds = [value.kind for value in values]
    assert len(values) == 436
    assert kinds.count(Kind.WEEKLY) == 342
    assert kinds.count(Kind.RC) == 32
    assert kinds.count(Kind.FINAL) == 12
    assert kinds.count(Kind.BUILD) == 1
    assert kinds.count(Kind.LEGACY) == 49
    assert all(str(value) == tag for value, tag in zip(values, _tsv_tags(), strict=True))


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("16.0", "final"),
        ("9.2", "final"),
        ("6.1.0.0", "final"),
        ("10.1.rc3", "rc"),
        ("v16.0.rc1", "rc"),
        ("v13.0-rc1", "rc"),
        ("w.2017.1", "weekly"),
        ("t.2016.34", "t"),
        ("t.2016.44.3", "t"),
        ("2016_01.0", "monthly"),
        ("dax-F16-2016-11.pre1", "milestone"),
        ("release/v9_1_1", "release"),
    ],
)
def test_read_legacy(text: str, family: str) -> None:
    assert read_tag(text) == Legacy(text, family)  # type: ignore[arg-type]


def test_read_tag_accepts_v_finals_and_refuses_the_invalid() -> None:
    assert read_tag("v29.0.0") == Release(29, 0, 0)
    for text in ["w.2025.4", "016.0.0", "w.2025.54", "foo"]:
        with pytest.raises(InvalidName):
            read_tag(text)


# --- property: parse → render → parse ------------------------------------------------------

numbers = st.integers(min_value=0, max_value=10_000)
releases = st.builds(Release, numbers, numbers, numbers)
candidates = st.builds(Candidate, releases, st.integers(min_value=1, max_value=999))
weeklies = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9998, 12, 1)).map(
    Weekly.for_date
)
dailies = st.dates(min_value=dt.date(1000, 1, 1)).map(Daily)
builds = st.builds(BuildId, st.integers(min_value=1, max_value=10**9))
tags = st.one_of(releases, candidates, weeklies, dailies, builds)


@given(tags)
def test_parse_render_parse(value: Release | Candidate | Weekly | Daily | BuildId) -> None:
    text = str(value)
    assert parse_tag(text) == value
    assert str(parse_tag(text)) == text
    assert parse_eups_tag(value.eups_tag) == value
    assert eups_tag(text) == value.eups_tag


@given(st.one_of(releases, candidates))
def test_pep440_round_trip(value: Release | Candidate) -> None:
    assert from_pep440(value.pep440) == value


@given(st.one_of(releases, candidates), st.one_of(releases, candidates))
def test_order_agrees_with_semver(a: Release | Candidate, b: Release | Candidate) -> None:
    assert (a < b) == (release_key(a) < release_key(b))
    assert (a == b) == (str(a) == str(b))


@given(st.text(alphabet="vwdb.0123456789rc_-", max_size=16))
def test_any_accepted_name_is_canonical(text: str) -> None:
    try:
        value = parse_tag(text)
    except InvalidName:
        return
    assert str(value) == text


# --- branches ------------------------------------------------------------------------------

DMTN_106 = ReleaseBranchPattern("b.{major}.{minor}.x")


@pytest.mark.parametrize(
    ("pattern", "release", "branch"),
    [
        (ReleaseBranchPattern(), Release(29, 1, 0), "v29.1.x"),
        (ReleaseBranchPattern(), Candidate(Release(29, 1, 2), 3), "v29.1.x"),
        (DMTN_106, Release(29, 1, 0), "b.29.1.x"),
        (ReleaseBranchPattern("release/{major}.{minor}"), Release(7, 0, 0), "release/7.0"),
    ],
)
def test_release_branch_pattern(
    pattern: ReleaseBranchPattern, release: Release, branch: str
) -> None:
    assert pattern.render(release) == branch
    assert pattern.match(branch) == (release.major, release.minor)


@pytest.mark.parametrize(
    ("pattern", "branch"),
    [
        (ReleaseBranchPattern(), "v29.01.x"),
        (ReleaseBranchPattern(), "v29.1"),
        (ReleaseBranchPattern(), "b.29.1.x"),
        (ReleaseBranchPattern(), "v29x1.x"),  # the '.' is literal
        (DMTN_106, "v29.1.x"),
    ],
)
def test_release_branch_pattern_does_not_match(pattern: ReleaseBranchPattern, branch: str) -> None:
    assert pattern.match(branch) is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("v{major}.x", "once each"),
        ("v{major}.{minor}.{patch}", "once each"),
        ("v{major}.{major}.{minor}", "once each"),
        ("{major}{minor}", "not a digit"),
        ("v{major}.{minor}0", "followed by a digit"),
        ("v{major:02d}.{minor}", "no format spec"),
        ("v {major}.{minor}", "not allowed"),
        ("v{major}..{minor}", "not allowed"),
        ("v{major}.{minor", "not a format string"),
    ],
)
def test_bad_release_branch_pattern(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidBranch, match=reason):
        ReleaseBranchPattern(pattern)


@pytest.mark.parametrize(
    ("name", "kind", "fields"),
    [
        ("main", BranchKind.MAIN, {}),
        ("v29.1.x", BranchKind.RELEASE, {"major": 29, "minor": 1}),
        ("tickets/DM-12345", BranchKind.TICKET, {"ticket": "DM-12345"}),
        ("tickets/DM-12345-v29", BranchKind.BACKPORT, {"ticket": "DM-12345", "major": 29}),
        ("u/jdoe/fix-this", BranchKind.USER, {"user": "jdoe", "topic": "fix-this"}),
        ("u/jdoe/a/b", BranchKind.USER, {"user": "jdoe", "topic": "a/b"}),
        ("master", BranchKind.MAIN, {}),
        ("tickets/dm-12345", BranchKind.OTHER, {}),
        ("tickets/DM-012345", BranchKind.OTHER, {}),
        ("tickets/DM-12345-29", BranchKind.OTHER, {}),
        ("u/jdoe", BranchKind.OTHER, {}),
        ("b.29.1.x", BranchKind.OTHER, {}),
    ],
)
def test_parse_branch(name: str, kind: BranchKind, fields: dict[str, object]) -> None:
    branch = parse_branch(name)
    assert branch.kind is kind
    assert classify_branch(name) is kind
    assert str(branch) == name
    for field in ("ticket", "major", "minor", "user", "topic"):
        assert getattr(branch, field) == fields.get(field)


def test_branch_kind_follows_the_configured_pattern() -> None:
    assert classify_branch("b.29.1.x", DMTN_106) is BranchKind.RELEASE
    assert classify_branch("v29.1.x", DMTN_106) is BranchKind.OTHER


@pytest.mark.parametrize(
    ("name", "ticket"),
    [
        ("tickets/DM-12345", "DM-12345"),
        ("tickets/DM-12345-v29", "DM-12345"),
        ("u/jdoe/DM-12345", None),
        ("main", None),
        ("tickets/DM-12345x", None),
    ],
)
def test_ticket_of(name: str, ticket: str | None) -> None:
    assert ticket_of(name) == ticket


@pytest.mark.parametrize(
    "name",
    [
        "",
        "@",
        "a b",
        "a..b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "/a",
        "a/",
        "a.",
        "a//b",
        "a@{1}",
        ".a",
        "a/.b",
        "a.lock",
        "a/b.lock",
    ],
)
def test_invalid_git_branch_names(name: str) -> None:
    with pytest.raises(InvalidBranch):
        parse_branch(name)
    assert branch_problem(name) is not None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("main", None),
        ("feature-x", None),
        ("tickets/DM-1", None),
        ("u/jdoe/topic", None),
        ("v29.1.x", None),
        ("tickets/DM-012", "zero padding in branch numbers (write tickets/DM-12)"),
        ("tickets/DM-12-v029", "(write tickets/DM-12-v29)"),
        ("v29.01.x", "zero padding in branch numbers (write v29.1.x)"),
        ("tickets/DM-0", "tickets/DM-<number>"),  # not padding: no ticket DM-0
        ("tickets/dm-12", "tickets/DM-<number>"),
        ("tickets/DM-12-29", "tickets/DM-<number>"),
        ("u/jdoe", "u/<user>/<topic>"),
    ],
)
def test_branch_problem(name: str, problem: str | None) -> None:
    found = branch_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# --- docker tags ---------------------------------------------------------------------------

PDT = dt.timezone(dt.timedelta(hours=-7))
WHEN = dt.datetime(2025, 6, 12, 1, 2, 3, tzinfo=PDT)


@pytest.mark.parametrize(
    ("prefix", "tag", "expected"),
    [
        ("al9", "w.2025.24", ["al9-w_2025_24", "al9-w_2025_24-20250612T080203Z", "al9-w_latest"]),
        (
            "al9",
            "d.2025.06.11",
            ["al9-d_2025_06_11", "al9-d_2025_06_11-20250612T080203Z", "al9-d_latest"],
        ),
        ("al9", "29.1.0", ["al9-v29_1_0", "al9-v29_1_0-20250612T080203Z", "al9-o_latest"]),
        ("7-stack", "v29.1.0.rc1", ["7-stack-v29_1_0_rc1", "7-stack-v29_1_0_rc1-20250612T080203Z"]),
        ("al9", "b8466", ["al9-b8466", "al9-b8466-20250612T080203Z"]),
    ],
)
def test_docker_tags(prefix: str, tag: str, expected: list[str]) -> None:
    assert docker_tags(prefix, tag, WHEN) == expected
    assert docker_tags(prefix, parse_tag(tag), WHEN.astimezone(dt.UTC)) == expected


@pytest.mark.parametrize(
    "prefix", ["", "-al9", "al9-", "al9.", "al 9", "al9/x", "al9:x", "x" * 120]
)
def test_docker_tags_refuse_a_bad_prefix(prefix: str) -> None:
    with pytest.raises(InvalidName) as info:
        docker_tags(prefix, "w.2025.24", WHEN)
    assert info.value.rule == "docker-prefix"


def test_docker_tags_need_an_aware_timestamp_and_a_canonical_tag() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        docker_tags("al9", "w.2025.24", dt.datetime(2025, 6, 12))
    with pytest.raises(InvalidName):
        docker_tags("al9", "w.2025.4", WHEN)
