"""core.errors: the diagnostic's rendered form, CheckFailed's text, decode_utf8's line."""

from __future__ import annotations

import pytest

from dmrelease.core.errors import CheckFailed, Diagnostic, ParseError, decode_utf8


@pytest.mark.parametrize(
    ("diagnostic", "text"),
    [
        (Diagnostic("a.table", 3, "rule-id", "what"), "a.table:3: rule-id: what"),
        (Diagnostic("a.table", 3, "rule-id", "what", 7), "a.table:3:7: rule-id: what"),
        (Diagnostic("a.table", 3, "rule-id", "what", 0), "a.table:3:0: rule-id: what"),
        (
            Diagnostic("a.table", 3, "rule-id", "what", 7, "do this"),
            "a.table:3:7: rule-id: what (do this)",
        ),
        (Diagnostic("a.table", 3, "rule-id", "what", hint=""), "a.table:3: rule-id: what"),
    ],
)
def test_a_diagnostic_renders_file_line_column_rule_message_hint(
    diagnostic: Diagnostic, text: str
) -> None:
    assert str(diagnostic) == text


def test_check_failed_carries_every_diagnostic_one_per_line() -> None:
    first = Diagnostic("a", 1, "r1", "m1")
    second = Diagnostic("b", 2, "r2", "m2", 3)
    error = CheckFailed([first, second])
    assert error.diagnostics == [first, second]
    assert str(error) == "a:1: r1: m1\nb:2:3: r2: m2"
    assert error.exit_code == 1


def test_parse_error_is_its_diagnostic() -> None:
    problem = Diagnostic("a", 4, "r", "m", 2)
    error = ParseError(problem)
    assert error.diagnostic is problem
    assert str(error) == "a:4:2: r: m"


def test_decode_utf8_returns_the_text() -> None:
    assert decode_utf8("é\n".encode(), "f") == "é\n"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"\xff", 1),
        (b"ok\n\xff", 2),
        # a newline in the first byte counts too
        (b"\n\xff", 2),
        (b"\n\nx\xe9y\n\xff", 3),
    ],
)
def test_decode_utf8_reports_the_line_of_the_first_bad_byte(data: bytes, line: int) -> None:
    with pytest.raises(ParseError) as info:
        decode_utf8(data, "dir/f.txt")
    assert info.value.diagnostic == Diagnostic(
        "dir/f.txt",
        line,
        "file-encoding",
        info.value.diagnostic.message,
        hint="save it as UTF-8",
    )
    assert info.value.diagnostic.message.startswith("not UTF-8 text (")


def test_decode_utf8_message_names_the_reason() -> None:
    with pytest.raises(ParseError) as info:
        decode_utf8(b"ab\xff", "f")
    assert (
        str(info.value)
        == "f:1: file-encoding: not UTF-8 text (invalid start byte) (save it as UTF-8)"
    )
