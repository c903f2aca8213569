"""Whole diagnostics of the manifest and content-db readers: path, line, rule and message."""

from __future__ import annotations

import pytest

from dmrelease.core.errors import DmReleaseError, ParseError
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.manifest import (
    HEADER,
    ContentDb,
    ManifestEntry,
    layout_problems,
    make_manifest,
    parse_manifest,
)

SHA = "0" * 40
LINE = str(ManifestEntry("a", SHA, "g0000000000"))
GOOD = f"{HEADER}\nBUILD=b1\n{LINE}\n"
SPACING = (
    "spacing differs from the versiondb layout: name padded to 25, SHA-1 to 40 and two spaces,"
    " version to 40, one space, the deps"
)


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        (f"{HEADER}\nBUILD=b1\na 1\n",
         "m.txt:3: manifest-syntax: expected `name sha1 version [deps]`, found 2 fields"),
        (f"{HEADER}\nBUILD=b1\n\n", "m.txt:3: manifest-syntax: blank line; a manifest has one"
                                    " line per package"),
        (f"{HEADER}\n#\nBUILD=b1\nBUILD=b2\n",
         "m.txt:4: manifest-syntax: second `BUILD=` line (first on line 3)"),
        (f"{HEADER}\nBUILD=b1\na {SHA} g0 b,,c\n",
         "m.txt:3: manifest-syntax: empty name in the deps column; separate names by one `,`"),
        ("\n", "m.txt:1: manifest-syntax: empty file: a manifest is the header, `BUILD=bNNNN`,"
               " the packages"),
    ],
)  # fmt: skip
def test_parse_error_diagnostic(text: str, rendered: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_manifest(text, "m.txt")
    assert str(caught.value.diagnostic) == rendered


def test_the_default_path_is_manifest() -> None:
    with pytest.raises(ParseError) as caught:
        parse_manifest("")
    assert caught.value.diagnostic.path == "<manifest>"


def test_build_line_is_where_build_was_read_and_0_without_one() -> None:
    assert parse_manifest(GOOD).build_line == 2
    assert parse_manifest(f"{HEADER}\n# note\nBUILD=b1\n{LINE}\n").build_line == 3
    assert parse_manifest(f"{HEADER}\n{LINE}\n").build_line == 0


def test_a_canonical_file_has_no_layout_problem() -> None:
    assert layout_problems(GOOD, parse_manifest(GOOD), "m.txt") == []


def test_every_line_off_the_writer_layout_is_reported_with_its_message() -> None:
    text = f"# product\n# extra\nBUILD=b1 \n{LINE}\na {SHA} g0000000000"
    problems = layout_problems(text, parse_manifest(text), "m.txt")
    assert [str(d) for d in problems] == [
        "m.txt:1: manifest-format: not the versiondb header `# product  SHA1  Version`"
        " (98 characters)",
        "m.txt:2: manifest-format: a line the versiondb writer never writes; remove it",
        f"m.txt:3: manifest-format: {SPACING}",
        f"m.txt:5: manifest-format: {SPACING}",
        "m.txt:5: manifest-format: no newline at the end",
    ]


def test_a_build_line_moved_down_is_checked_where_it_is() -> None:
    text = f"{HEADER}\n# note\nBUILD=b1\n{LINE}\n"
    problems = layout_problems(text, parse_manifest(text), "m.txt")
    assert [str(d) for d in problems] == [
        "m.txt:2: manifest-format: a line the versiondb writer never writes; remove it"
    ]


def test_a_bom_and_crlf_are_reported_once_each() -> None:
    text = "\ufeff" + GOOD.replace("\n", "\r\n")
    assert [str(d) for d in layout_problems(text, parse_manifest(text), "m.txt")] == [
        "m.txt:1: manifest-format: the file starts with a UTF-8 byte order mark; versiondb"
        " writes none: remove it",
        "m.txt:1: manifest-format: CRLF line ends; versiondb writes LF only: convert the file"
        " (`dos2unix`)",
    ]


@pytest.mark.parametrize(
    ("shas", "message"),
    [
        ({}, "no 40-hex SHA-1 for package a: None"),
        ({"a": "abc"}, "no 40-hex SHA-1 for package a: 'abc'"),
    ],
)
def test_make_manifest_names_the_bad_sha(shas: dict[str, str], message: str) -> None:
    with pytest.raises(DmReleaseError) as caught:
        make_manifest("b1", DependencyGraph({"a": []}), shas)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "bad",
    [
        f"{SHA}\tx1",  # a good hash, a bad build id
        f"{SHA[:39]}\tb1",  # a bad hash, a good build id
        f"{SHA}\tb1\textra",  # a third field
        f"{SHA}",  # one field
    ],
)
def test_a_content_db_line_off_the_format_is_a_diagnostic_at_its_line(bad: str) -> None:
    with pytest.raises(ParseError) as caught:
        ContentDb.parse(f"{SHA}\tb1\n{bad}\n")
    assert str(caught.value.diagnostic) == (
        "content_sha.db.txt:2: content-db-syntax: expected `<40-hex content sha1><TAB>b<N>`"
    )
    with pytest.raises(ParseError) as caught:
        ContentDb.parse(f"{bad}\n", "db.txt")
    assert (caught.value.diagnostic.path, caught.value.diagnostic.line) == ("db.txt", 1)


def test_content_db_lookups_of_unknown_keys_are_empty() -> None:
    db = ContentDb.parse(f"{SHA}\tb1\n")
    assert db.hashes_for("b1") == (SHA,)
    assert db.hashes_for("b2") == ()
    assert db.builds_for("f" * 40) == ()
    assert db.build_for("f" * 40) is None


def test_the_last_line_is_checked_too() -> None:
    text = f"{HEADER}\nBUILD=b1\na {SHA} g0000000000\n"
    problems = layout_problems(text, parse_manifest(text), "m.txt")
    assert [str(d) for d in problems] == [f"m.txt:3: manifest-format: {SPACING}"]
