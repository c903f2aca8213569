"""Positions in TOML texts found from one index (core/toml_lines): the config and
pyproject readers look up each key in it instead of scanning the file once per key."""

from __future__ import annotations

import pytest

from dmrelease.core.config_layers import build_config
from dmrelease.core.errors import CheckFailed
from dmrelease.core.requirements import check_pyproject
from dmrelease.core.toml_lines import TomlLines

TEXT = """\
top = 1
[build]
jobs = 2
"refs" = ["a"]
[ "products.x" ] # a comment
repos = "r"
[project]
dependencies = [
  "numpy\\u0020>= 1",  'scipy >= 1', "numpy >= 1",
]
"""


def test_keys_headers_and_strings_are_found_where_they_are() -> None:
    where = TomlLines(TEXT)
    assert where.key_line("", "top") == 1
    assert where.key_line("build", "jobs") == 3
    assert where.key_line("build", "refs") == 4  # quoted keys too
    assert where.key_line("products.x", "repos") == 6
    assert where.key_line("build", "repos") is None
    assert where.section_line("products.x") == 5
    assert where.section_line("project") == 7
    assert where.key_after("dependencies", 7) == 8
    assert where.key_after("jobs", 4) is None
    assert where.string_after("numpy >= 1", 8) == (9, 4)  # the escaped one comes first
    assert where.string_after("scipy >= 1", 9) == (9, 24)
    assert where.string_after("numpy >= 1", 10) is None


def test_an_unclosed_quote_ends_the_scan_of_its_line() -> None:
    where = TomlLines('a = 1 # "\\" "\\" \'x\'\nb = "y"\n')
    assert where.string_after("x", 1) is None and where.string_after("y", 1) == (2, 6)


def test_every_unknown_key_of_a_big_config_is_reported_at_its_line() -> None:
    text = "[build]\n" + "".join(f"k{i} = 1\n" for i in range(3000))
    with pytest.raises(CheckFailed) as exc:
        build_config(text=text, path="/ci/dm-release.toml", environ={})
    lines = [d.line for d in exc.value.diagnostics if d.rule == "config-unknown-key"]
    assert lines == list(range(2, 3002))


def test_a_requirement_written_with_an_escape_is_reported_at_its_line() -> None:
    text = '[project]\ndependencies = [\n  "ok",\n  "bad\\u0020~~ 1",\n]\n'
    [problem] = check_pyproject("pyproject.toml", text)
    assert (problem.line, problem.rule, problem.column) == (4, "requirements-syntax", 8)
