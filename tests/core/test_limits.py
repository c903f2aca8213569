"""Readers report, never crash (issue 8, classes 2 and 7): lines split as EUPS splits them,
one YAML reader for every YAML file, explicit size and depth limits, each a diagnostic with
its rule, line and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmrelease.core import limits
from dmrelease.core.errors import ParseError
from dmrelease.core.limits import (
    MAX_DEPTH,
    decode_text,
    load_json,
    load_toml,
    position,
    split_lines,
)
from dmrelease.core.yaml_nodes import compose


def where(exc: pytest.ExceptionInfo[ParseError]) -> tuple[str, int, int | None]:
    d = exc.value.diagnostic
    return d.rule, d.line, d.column


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb\n", ["a", "b"]),
        ("a\r\nb", ["a", "b"]),
        ("a\rb\r", ["a", "b"]),  # a lone CR ends a line in Python's text files, as EUPS reads
        ("a\x85b\u2028c\x0cd\x0be\x1cf\u2029g\n", ["a\x85b\u2028c\x0cd\x0be\x1cf\u2029g"]),
        ("", []),
        ("\n\n", ["", ""]),
    ],
)
def test_lines_end_only_at_lf_crlf_and_cr(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


def test_position_counts_lines_as_split_lines_does() -> None:
    text = "ab\r\ncd\ref\x85gh"
    assert position(text, text.index("d")) == (2, 2)
    assert position(text, text.index("g")) == (3, 4)  # U+0085 is no line end


def test_a_file_over_the_size_limit_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 10)
    with pytest.raises(ParseError) as exc:
        decode_text(b"x" * 11, "big.yaml")
    assert where(exc) == ("file-too-large", 1, 1)
    assert decode_text(b"x" * 10, "ok.yaml") == "x" * 10


def test_non_utf8_is_reported_at_its_line() -> None:
    with pytest.raises(ParseError) as exc:
        decode_text(b"a = 1\nb = '\xff'\n", "dm-release.toml")
    assert where(exc)[:2] == ("file-encoding", 2)


def test_json_nested_past_the_limit_is_reported_where_it_passes() -> None:
    text = '{"plan":\n  ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}"
    with pytest.raises(ParseError) as exc:
        load_json(text, "plan.json", "plan-format")
    assert where(exc) == ("file-too-deep", 2, 2 + MAX_DEPTH)
    deep_but_allowed = "[" * (MAX_DEPTH - 1) + '"]]]"' + "]" * (MAX_DEPTH - 1)
    assert load_json(deep_but_allowed, "plan.json", "plan-format") is not None


def test_json_a_hundred_thousand_levels_deep_is_no_recursion_error() -> None:
    with pytest.raises(ParseError) as exc:
        load_json("[" * 100_000, "journal.json", "journal-format")
    assert where(exc) == ("file-too-deep", 1, MAX_DEPTH + 1)


def test_json_syntax_errors_carry_the_line_and_column() -> None:
    with pytest.raises(ParseError) as exc:
        load_json('{"a":\n 1,}', "plan.json", "plan-format")
    assert where(exc) == ("plan-format", 2, 4)


def test_toml_nested_past_the_limit_is_reported_and_strings_do_not_count() -> None:
    with pytest.raises(ParseError) as exc:
        load_toml("a = 1\nb = " + "[" * 2000 + "]" * 2000, "dm-release.toml", "config-syntax")
    assert where(exc) == ("file-too-deep", 2, 5 + MAX_DEPTH)
    text = "a = \"[[[[\\\"[[\" # [[[[[\nb = '[[[['\nc = '''\n[[[[\n'''\n"
    assert load_toml(text, "c.toml", "config-syntax")["b"] == "[[[["


def test_a_toml_integer_python_cannot_convert_is_a_diagnostic() -> None:
    with pytest.raises(ParseError) as exc:
        load_toml("[git]\ntimeout = " + "9" * 5000 + "\n", "dm-release.toml", "config-syntax")
    assert where(exc) == ("config-syntax", 2, 11)


def test_toml_syntax_error_at_the_end_names_the_last_line() -> None:
    with pytest.raises(ParseError) as exc:
        load_toml('[project]\ndependencies = [\n"a"\n', "pyproject.toml", "toml-syntax")
    assert where(exc) == ("toml-syntax", 3, None)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("afw: https://github.com/lsst/afw\nbase: https://x/\x07y\n", 2, 17),
        ("afw: https://github.com/lsst/afw\nbasé: https://x/\x00y\n", 2, 17),  # é: 2 bytes
        ("a: b\n\x1b\n", 2, 1),
        ("a: b\x7f\n", 1, 5),
    ],
)
def test_control_characters_are_a_syntax_diagnostic(text: str, line: int, column: int) -> None:
    """libyaml's ReaderError is no MarkedYAMLError: it carries a byte offset only."""
    with pytest.raises(ParseError) as exc:
        compose(text, "repos.yaml", "repos-syntax")
    assert where(exc) == ("repos-syntax", line, column)
    assert "control characters" in exc.value.diagnostic.message


def test_yaml_nested_past_the_limit_and_recursive_anchors() -> None:
    text = "a:\n  - " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(ParseError) as exc:
        compose(text, "env.yml", "conda-env-syntax")
    assert where(exc) == ("file-too-deep", 2, 5 + MAX_DEPTH - 2)
    assert compose("a: &a [*a]\n", "env.yml", "conda-env-syntax") is not None  # ends


def test_every_yaml_error_is_one_diagnostic_with_the_callers_rule() -> None:
    with pytest.raises(ParseError) as exc:
        compose("a: [\n", "products.yaml", "products-syntax")
    assert where(exc) == ("products-syntax", 2, 1)
    with pytest.raises(ParseError) as exc:
        compose("a: 1\n---\nb: 2\n", "products.yaml", "products-syntax")
    assert where(exc)[:2] == ("products-syntax", 2)


def test_the_plan_reader_uses_the_limits(tmp_path: Path) -> None:
    from dmrelease.core.plan import parse_plan

    with pytest.raises(ParseError) as exc:
        parse_plan(json.dumps({"format": "x"})[:-1] + ',"p":' + "[" * 999, "plan.json")
    assert where(exc) == ("file-too-deep", 1, 19 + MAX_DEPTH)  # the `{` is level 1


def test_table_deps_reports_a_file_over_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The verbs read through decode_text too: the limit is a diagnostic, exit 1."""
    from dmrelease.cli import main

    table = tmp_path / "afw.table"
    table.write_text("setupRequired(base)\n" * 10)
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    assert main(["table", "deps", str(table)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{table}:1:1: file-too-large: 200 bytes: larger than dm-release reads")
