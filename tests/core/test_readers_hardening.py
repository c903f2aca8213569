"""Regressions of the readers found by fuzzing (issue 8, classes 2 and 7): tables split as
EUPS splits them, legacy forms that crashed, nesting limits, user regexes, number ranges."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from dmrelease.adapters.config import ConfigInvalid, load_config
from dmrelease.core.config_layers import MAX_JOBS, MAX_TIMEOUT, build_config
from dmrelease.core.errors import CheckFailed, ParseError
from dmrelease.core.limits import MAX_CONDITION_DEPTH, MAX_DEPTH
from dmrelease.core.tables import check_exclusion_map, check_table, parse_table


def found(text: str) -> list[tuple[int, str, int | None]]:
    return [(d.line, d.rule, d.column) for d in check_table(text, "t.table")]


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\u2029", "\x0c", "\x0b", "\x1c", "\x1e"])
def test_a_comment_never_yields_a_dependency_eups_does_not_see(brk: str) -> None:
    """EUPS reads lines from a text file (``\\n``, ``\\r\\n``, ``\\r``); ``str.splitlines``
    also splits at these, which turned the end of a comment into a dependency."""
    table = parse_table(f"setupRequired(a)\n# no{brk}setupRequired(b)\nsetupRequired(c)\n")
    assert [(d.name, d.line, d.column) for d in table.dependencies()] == [
        ("a", 1, 15),
        ("c", 3, 15),
    ]


def test_cr_and_crlf_end_lines_as_in_eups() -> None:
    table = parse_table("setupRequired(a)\r# x\rsetupRequired(b)\r\nsetupRequired(c)")
    assert [(d.name, d.line) for d in table.dependencies()] == [("a", 1), ("b", 3), ("c", 4)]


def test_a_line_break_inside_a_directive_is_reported_not_split() -> None:
    assert found("setupRequired(a)\x85setupRequired(b)\n") == [(1, "table-syntax", 18)]


def test_group_inside_a_flavor_run_is_reported_not_an_index_error() -> None:
    """EUPS shares one ``conditional`` between the two legacy forms: ``Group:`` empties it
    and EUPS writes ``if () {``; this crashed with IndexError."""
    assert found("Flavor = Linux\nGroup:\nProduct = afw\n") == [
        (1, "table-legacy", 1),
        (2, "table-unclosed-block", 1),
        (3, "table-syntax", 1),
    ]


def test_too_many_flavor_lines_for_one_block_are_a_depth_limit() -> None:
    text = "".join(f"Flavor = F{i}\n" for i in range(MAX_CONDITION_DEPTH + 1))
    assert found(text + "setupRequired(a)\n") == [(1, "file-too-deep", 1)]
    allowed = "".join(f"Flavor = F{i}\n" for i in range(MAX_CONDITION_DEPTH))
    assert found(allowed + "setupRequired(a)\n") == []


@pytest.mark.parametrize(
    ("condition", "column"),
    [
        ("(" * (MAX_CONDITION_DEPTH + 5) + "flavor == a" + ")" * (MAX_CONDITION_DEPTH + 5), 37),
        ("!" * 1000 + "flavor == a", 37),
        (" || ".join(["flavor == a"] * 1000), 5 + 15 * MAX_CONDITION_DEPTH),
    ],
)
def test_conditions_nested_past_the_limit_are_reported(condition: str, column: int) -> None:
    """A right-deep ``||`` chain, ``!`` or ``(`` a thousand deep was a RecursionError."""
    assert found(f"if ({condition}) {{\nsetupRequired(a)\n}}\n") == [(1, "file-too-deep", column)]


def test_a_condition_at_the_limit_is_read() -> None:
    condition = " || ".join(["flavor == a"] * MAX_CONDITION_DEPTH)
    table = parse_table(f"if ({condition}) {{\nsetupRequired(b)\n}}\n")
    assert [d.name for d in table.dependencies("a")] == ["b"]


def test_ambiguous_exclusion_regexes_are_diagnostics_not_warnings() -> None:
    """``[[`` and ``--`` in a class raise FutureWarning, whose text reached the output."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems = check_exclusion_map("ok .*\n[[a] x\n  b  [a--b]\nc (\n", "ex.txt")
    assert [(p.line, p.rule, p.column) for p in problems] == [
        (2, "exclusion-bad-regex", 1),
        (3, "exclusion-bad-regex", 6),
        (4, "exclusion-bad-regex", 3),
    ]
    assert "ambiguous" in problems[0].message and "not a regular" in problems[2].message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[git]\ntimeout = 99999999999999999999\n", f"is larger than {MAX_TIMEOUT}"),
        (f"[git]\ntimeout = {MAX_TIMEOUT + 1}\n", f"is larger than {MAX_TIMEOUT}"),
        (f"[git]\njobs = {MAX_JOBS + 1}\n", f"is larger than {MAX_JOBS}"),
        ("[servers]\ndownload_max_bytes = 99999999999999999999999\n", "is larger than"),
    ],
)
def test_numbers_are_range_checked_at_their_line(text: str, message: str) -> None:
    """A huge ``git.timeout`` was an OverflowError in subprocess."""
    with pytest.raises(CheckFailed) as exc:
        build_config(text=text, path="/ci/dm-release.toml", environ={})
    [problem] = exc.value.diagnostics
    assert (problem.line, problem.rule) == (2, "config-value")
    assert message in problem.message


def test_the_environment_is_range_checked_too() -> None:
    with pytest.raises(CheckFailed) as exc:
        build_config(environ={"DM_RELEASE_GIT_TIMEOUT": "1" + "0" * 30})
    [problem] = exc.value.diagnostics
    assert (problem.path, problem.rule) == ("<environment>", "config-value")


def test_a_config_file_that_is_not_utf8_is_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "dm-release.toml"
    path.write_bytes(b'[build]\njobs = 2\ncommand = "caf\xe9"\n')
    with pytest.raises(ConfigInvalid) as exc:  # a configuration that does not load: exit 2
        load_config(path, environ={})
    (d,) = exc.value.diagnostics
    assert (d.path, d.line, d.rule) == (str(path), 3, "file-encoding")
    assert exc.value.exit_code == 2


def test_a_config_nested_too_deep_is_a_diagnostic() -> None:
    text = "[build]\nrefs = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ParseError) as exc:
        build_config(text=text, path="/ci/dm-release.toml", environ={})
    d = exc.value.diagnostic
    assert (d.line, d.rule, d.column) == (2, "file-too-deep", 8 + MAX_DEPTH)


@pytest.mark.parametrize(
    ("condition", "flavors"),
    [
        ("9" * 5000 + " < 1" + "0" * 5000, ["Linux64"]),  # int() refuses 4,300 digits
        ("\u00b2 < 3", []),  # `²` is isdigit() but no int: compared as text, as a word
        ("007 < 7", []),
        ("7 <= 007", ["Linux64"]),
        ("2 > 10", []),
        ("10 > 9", ["Linux64"]),
    ],
)
def test_numbers_in_conditions_compare_as_integers_of_any_length(
    condition: str, flavors: list[str]
) -> None:
    """Found by fuzzing: a 5,000-digit number in a condition was a ValueError traceback."""
    table = parse_table(f"if ({condition}) {{\n  setupRequired(a)\n}}\n")
    assert ["Linux64"] * len(table.dependencies("Linux64")) == flavors


def test_duplicates_across_many_blocks_are_found_from_one_index() -> None:
    """Each setup was compared with every earlier one (70 s for 20,000 blocks)."""
    block = "if (flavor == a) {\n  setupRequired(a)\n} else {\n  setupRequired(a)\n}\n"
    assert found(block * 2000) == []
    problems = check_table("setupRequired(a)\n" + block * 2000, "t.table")
    assert len(problems) == 4000
    assert [(p.line, p.column) for p in problems[:2]] == [(3, 17), (5, 17)]
    assert {p.message for p in problems} == {
        "`a` is already set up at line 1: keep one of the two lines"
    }


@pytest.mark.parametrize(
    ("data", "rule", "line", "column"),
    [
        (b"afw: https://github.com/lsst/afw\nbase: https://x/\xff\n", "file-encoding", 2, None),
        (b"afw: https://github.com/lsst/afw\nbase: https://x/\x07\n", "repos-syntax", 2, 17),
    ],
)
def test_rebuild_reads_repos_yaml_through_the_one_reader(
    tmp_path: Path, data: bytes, rule: str, line: int, column: int | None
) -> None:
    """A non-UTF-8 or control-character repos.yaml stopped rebuild/release with a traceback."""
    from dmrelease.stages.workspace import load_repos

    (tmp_path / "repos.yaml").write_bytes(data)
    text = '[products.lsst_distrib]\nrepos = "repos.yaml"\n'
    config = build_config(text=text, path=str(tmp_path / "dm-release.toml"), environ={})
    with pytest.raises((ParseError, CheckFailed)) as exc:
        load_repos(config.products)
    error = exc.value
    d = error.diagnostics[0] if isinstance(error, CheckFailed) else error.diagnostic
    assert (d.path, d.rule, d.line, d.column) == (str(tmp_path / "repos.yaml"), rule, line, column)
