"""core/limits in full: every diagnostic of the readers (path, line, rule, message, column),
the bracket scan's quoting and comment rules, and the fallbacks a reader reaches only when
Python's own limits are lower than dm-release's (a low recursion limit, a low
``int_max_str_digits``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dmrelease.core import limits
from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import (
    MAX_DEPTH,
    bracket_depth_error,
    load_json,
    load_toml,
    position,
    too_deep,
)

DEEP = f"nested deeper than {MAX_DEPTH} levels: dm-release reads no deeper"


def diagnostic_of(call: Callable[[], object]) -> Diagnostic:
    with pytest.raises(ParseError) as exc:
        call()
    return exc.value.diagnostic


def scan(text: str, strings: str = '"') -> Diagnostic | None:
    """bracket_depth_error's verdict on ``text``: its diagnostic, or None."""
    try:
        bracket_depth_error(text, "f.txt", "JSON", strings)
    except ParseError as exc:
        return exc.diagnostic
    return None


def deep_at(line: int, column: int, what: str = "JSON", path: str = "f.txt") -> Diagnostic:
    return Diagnostic(path, line, "file-too-deep", f"{what} {DEEP}", column)


OPEN = "[" * (MAX_DEPTH + 1)


def test_position_of_the_first_character_and_past_the_end() -> None:
    assert position("ab", 0) == (1, 1)
    assert position("ab", -5) == (1, 1)
    assert position("a\nb", 99) == (2, 2)


def test_too_deep_names_the_limit_the_place_and_the_format() -> None:
    error = too_deep("env.yml", 3, 7, "YAML", 12)
    assert error.diagnostic == Diagnostic(
        "env.yml",
        3,
        "file-too-deep",
        "YAML nested deeper than 12 levels: dm-release reads no deeper",
        7,
    )
    assert str(error) == f"env.yml:3:7: file-too-deep: {error.diagnostic.message}"


@pytest.mark.parametrize(
    ("text", "strings", "expected"),
    [
        (OPEN, '"', deep_at(1, MAX_DEPTH + 1)),
        ("{" * (MAX_DEPTH + 1), '"', deep_at(1, MAX_DEPTH + 1)),
        ("[]" * 100, '"', None),  # closing brackets bring the depth back
        ("[}" * 100, '"', None),
        ("[X" * 100, '"', deep_at(1, 2 * MAX_DEPTH + 1)),  # letters close nothing
        ("X" * 100, '"', None),  # letters open nothing
        ("X" + OPEN, '"', deep_at(1, MAX_DEPTH + 2)),  # a letter is no quote
        ('"' + OPEN + '"', '"', None),  # inside a string brackets do not count
        ('"' + OPEN, '"', None),  # nor in one that never closes
        ('"a"' + OPEN, '"', deep_at(1, MAX_DEPTH + 4)),  # after it they do
        ('"\\"' + OPEN + '"', '"', None),  # \" does not close a "string"
        ('"\\""' + OPEN, '"', deep_at(1, MAX_DEPTH + 5)),  # the next " does
        ("'" + OPEN + "'", '"', deep_at(1, MAX_DEPTH + 2)),  # ' quotes only when asked
        ("'" + OPEN + "'", "\"'", None),
        ("'\\'" + OPEN, "\"'", deep_at(1, MAX_DEPTH + 4)),  # no escape in a 'literal'
        ("# " + OPEN, '"', deep_at(1, MAX_DEPTH + 3)),  # JSON has no comments
        ("# " + OPEN, "\"'", None),  # TOML has
        ("# c\n" + OPEN, "\"'", deep_at(2, MAX_DEPTH + 1)),  # up to the end of the line
        ("# c\n" + OPEN + "\n", "\"'", deep_at(2, MAX_DEPTH + 1)),  # the first end
        ("a = 1\n# " + OPEN + "\n" + OPEN, "\"'", deep_at(3, MAX_DEPTH + 1)),
        ("a = [ # " + OPEN + "\n]" + OPEN, "\"'", deep_at(2, MAX_DEPTH + 2)),
    ],
)
def test_bracket_scan(text: str, strings: str, expected: Diagnostic | None) -> None:
    assert scan(text, strings) == expected


def test_bracket_scan_default_is_json_quoting() -> None:
    with pytest.raises(ParseError) as exc:
        bracket_depth_error("X" + OPEN, "plan.json", "JSON")
    assert exc.value.diagnostic == deep_at(1, MAX_DEPTH + 2, path="plan.json")


@pytest.fixture
def tiny_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 4)


@pytest.mark.usefixtures("tiny_files")
@pytest.mark.parametrize("load", [load_json, load_toml])
def test_a_text_over_the_size_limit(load: Callable[[str, str, str], Any]) -> None:
    assert diagnostic_of(lambda: load("[1, 2]", "big.txt", "some-rule")) == Diagnostic(
        "big.txt",
        1,
        "file-too-large",
        "6 bytes: larger than dm-release reads (4 bytes)",
        1,
    )


def test_json_too_deep_and_syntax_diagnostics_in_full() -> None:
    assert diagnostic_of(lambda: load_json(OPEN, "plan.json", "plan-format")) == deep_at(
        1, MAX_DEPTH + 1, "JSON", "plan.json"
    )
    assert diagnostic_of(lambda: load_json('{"a":\n 1,}', "plan.json", "plan-format")) == (
        Diagnostic(
            "plan.json",
            2,
            "plan-format",
            "not JSON: Expecting property name enclosed in double quotes",
            4,
        )
    )


def test_toml_too_deep_counts_toml_strings_and_comments() -> None:
    assert diagnostic_of(lambda: load_toml("a = " + OPEN, "c.toml", "config-syntax")) == (
        deep_at(1, MAX_DEPTH + 5, "TOML", "c.toml")
    )
    assert diagnostic_of(lambda: load_toml("X = 1\nb = " + OPEN, "c.toml", "c")) == (
        deep_at(2, MAX_DEPTH + 5, "TOML", "c.toml")  # a letter is no quote
    )
    text = f"a = '{OPEN}'  # {OPEN}\nX = \"x\"\nb = [[1]]\n"
    assert load_toml(text, "c.toml", "config-syntax") == {"a": OPEN, "X": "x", "b": [[1]]}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a = 1\nb = = 2\n", 2, 5),  # tomllib names the place
        ("a = 1\nb = [1,\n", 2, None),  # at the end of the document: the last line
        ("a = ", 1, None),
    ],
)
def test_toml_syntax_diagnostics_in_full(text: str, line: int, column: int | None) -> None:
    assert diagnostic_of(lambda: load_toml(text, "c.toml", "config-syntax")) == Diagnostic(
        "c.toml", line, "config-syntax", "not valid TOML: Invalid value", column
    )


def test_a_toml_integer_over_int_max_str_digits_in_full() -> None:
    number = "9" * 4301
    assert diagnostic_of(lambda: load_toml(f"[a]\nb = {number}\n", "c.toml", "c-syntax")) == (
        Diagnostic(
            "c.toml",
            2,
            "c-syntax",
            "not valid TOML: Exceeds the limit (4300 digits) for integer string conversion:"
            " value has 4301 digits; use sys.set_int_max_str_digits() to increase the limit",
            5,
        )
    )


@pytest.fixture
def low_int_digits() -> Iterator[None]:
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


@pytest.mark.usefixtures("low_int_digits")
def test_a_long_integer_under_a_lower_interpreter_limit_is_still_a_diagnostic() -> None:
    """PYTHONINTMAXSTRDIGITS may be lower than 4300: no long run of digits is found then."""
    diagnostic = diagnostic_of(lambda: load_toml("a = " + "9" * 700, "c.toml", "c-syntax"))
    assert diagnostic == Diagnostic(
        "c.toml",
        1,
        "c-syntax",
        "not valid TOML: Exceeds the limit (640 digits) for integer string conversion:"
        " value has 700 digits; use sys.set_int_max_str_digits() to increase the limit",
        None,
    )


def near_the_recursion_limit(call: Callable[[], object], headroom: int = 40) -> Diagnostic:
    """The diagnostic of ``call`` run with only ``headroom`` frames left on the stack."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + headroom)
    try:
        return diagnostic_of(call)
    finally:
        sys.setrecursionlimit(old)


def test_toml_within_the_limit_but_past_the_stack_is_too_deep() -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    diagnostic = near_the_recursion_limit(lambda: load_toml(f"a = {nested}", "c.toml", "c-syntax"))
    assert diagnostic == Diagnostic("c.toml", 1, "file-too-deep", f"TOML {DEEP}", None)


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="json's C scanner has its own stack limit from 3.12"
)
def test_json_within_the_limit_but_past_the_stack_is_too_deep() -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    diagnostic = near_the_recursion_limit(lambda: load_json(nested, "j.json", "j-format"))
    assert diagnostic == Diagnostic("j.json", 1, "file-too-deep", f"JSON {DEEP}", None)
