"""The lexical half of table files, exactly: argument splitting, quotes and parentheses,
the legacy UPS forms rewritten to blocks, and where each statement line is.

Written against mutation testing (issue 8) of core/table_syntax.py: the places (line,
column) of the lines the legacy rewrite makes, the columns of split arguments and the
escapes inside quotes were not asserted by any test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dmrelease.core.table_syntax import Line, scan, split_arguments
from dmrelease.core.tables import check_table, parse_table

DATA = Path(__file__).parent.parent / "data" / "tables"


def ident(value: object) -> str | None:
    """A test id of plain characters for a text (mutmut hands ids back to pytest, and ids
    with escapes such as a tab or a newline are not found again); None: pytest's own."""
    return re.sub(r"[^A-Za-z0-9 .,:;=(){}<>!&|+-]", "_", value) if isinstance(value, str) else None


def shape(lines: list[Line]) -> list[tuple[str, int, int, str | None, str]]:
    return [
        (line.kind.name, line.line, line.column, str(line.condition) if line.condition else None,
         line.name)
        for line in lines
    ]  # fmt: skip


def arguments(text: str) -> list[tuple[str, int, bool]]:
    (line,), problems = scan(text, "t")
    assert problems == []
    return [(a.value, a.column, a.quoted) for a in line.arguments]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'a, b c\t"d e",  "x\\"y"  ""',
            [("a", 10, False), ("b", 13, False), ("c", 15, False), ("d e", 17, True),
             ('x"y', 25, True), ("", 33, True)],
        ),
        ('a\\b "q\\\\" ,,', [("a\\b", 10, False), ("q\\\\", 14, True)]),
        ('"a" "b"', [("a", 10, True), ("b", 14, True)]),
        ('"', [('"', 10, False)]),
        ('x"', [('x"', 10, False)]),
    ],
    ids=ident,
)  # fmt: skip
def test_arguments_split_at_commas_and_blanks_outside_double_quotes(
    text: str, expected: list[tuple[str, int, bool]]
) -> None:
    assert [(a.value, a.column, a.quoted) for a in split_arguments(text, 10)] == expected


def test_parentheses_nest_and_an_escaped_quote_does_not_end_a_quoted_argument() -> None:
    assert arguments("envSet(X, f(g(y)))") == [("X", 8, False), ("f(g(y))", 11, False)]
    assert arguments('envSet(A, "a\\"b)")') == [("A", 8, False), ('a"b)', 11, True)]


def test_quotes_around_the_whole_list_are_dropped_even_around_nothing() -> None:
    assert [str(p) for p in check_table('envSet("")', "t")] == [
        "t:1:1: table-arguments: `envSet` takes at least 2 arguments (variable, value), found 0"
        " (EUPS drops the quotes around the whole argument list first: quote single arguments)"
    ]


@pytest.mark.parametrize(
    ("text", "column"),
    [("setupRequired(a\tb\tc)", 16), ('envSet(A, "x y",\tz)', 17), ('envSet(A, "x\ty"\t, z)', 16)],
    ids=ident,
)
def test_the_first_tab_outside_quotes_is_reported_at_its_column(text: str, column: int) -> None:
    assert [str(p) for p in check_table(text, "t")] == [
        f"t:1:{column}: table-tab: a tab outside quotes: EUPS splits arguments at spaces and"
        " commas only (write a space)"
    ]


LEGACY = """\
File = Table
group:
   Flavor = Linux
COMMON:
   setupRequired(a)
end:
Flavor = Darwin
Flavor = Linux64
  setupRequired(b)
Flavor = IRIX
  setupRequired(c)
"""


def test_legacy_forms_become_blocks_at_the_lines_that_open_and_close_them() -> None:
    lines, problems = scan(LEGACY, "t")
    assert problems == []
    assert shape(lines) == [
        ("IF", 4, 1, "FLAVOR == Linux", ""),
        ("DIRECTIVE", 5, 4, None, "setupRequired"),
        ("CLOSE", 6, 1, None, ""),
        ("IF", 7, 1, "FLAVOR == Darwin || FLAVOR == Linux64", ""),
        ("DIRECTIVE", 9, 3, None, "setupRequired"),
        ("CLOSE", 10, 1, None, ""),
        ("IF", 10, 1, "FLAVOR == IRIX", ""),
        ("DIRECTIVE", 11, 3, None, "setupRequired"),
        ("CLOSE", 11, 1, None, ""),
    ]


def test_the_real_legacy_table_dervish_is_three_group_blocks() -> None:
    lines, problems = scan(read("eups-grammar/dervish.table"), "dervish.table")
    assert problems == []
    blocks = [(kind, line) for kind, line, _c, _cond, _n in shape(lines) if kind != "DIRECTIVE"]
    assert blocks == [
        ("IF", 7),
        ("CLOSE", 21),
        ("IF", 36),
        ("CLOSE", 50),
        ("IF", 55),
        ("CLOSE", 69),
    ]


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


GROUP_OPEN = "1:1: table-unclosed-block: `Group:` is never closed: add `End:`"
NO_BRACE = "1:1: table-syntax: end the `if (…)` line with `{` (EUPS reads `if (…) {` as one line)"


@pytest.mark.parametrize(
    ("text", "shaped", "diagnostics"),
    [
        ("Group:\n  Flavor = X\n", [], [GROUP_OPEN]),
        (
            "Group:\n  Flavor = X\nCommon:\n  setupRequired(a)\n",
            [("IF", 3, 1, "FLAVOR == X", ""), ("DIRECTIVE", 4, 3, None, "setupRequired"),
             ("CLOSE", 4, 1, None, "")],
            [GROUP_OPEN],
        ),
        (
            "Flavor = X\n  setupRequired(a)\n\n",
            [("IF", 1, 1, "FLAVOR == X", ""), ("DIRECTIVE", 2, 3, None, "setupRequired"),
             ("CLOSE", 3, 1, None, "")],
            [],
        ),
        (
            "Group:\nCommon:\nEnd:\n",
            [("IF", 2, 1, None, ""), ("CLOSE", 3, 1, None, "")],
            ["2:1: table-legacy: `Common:` without `Flavor = X` lines before it"],
        ),
    ],
    ids=ident,
)  # fmt: skip
def test_an_unclosed_or_empty_legacy_block(
    text: str, shaped: list[tuple[str, int, int, str | None, str]], diagnostics: list[str]
) -> None:
    lines, _ = scan(text, "t")
    assert shape(lines) == shaped
    assert [str(p) for p in check_table(text, "t")] == [f"t:{d}" for d in diagnostics]


@pytest.mark.parametrize(
    ("text", "diagnostics"),
    [
        ("{\n", ["1:1: table-syntax: `{` must end the `if (…)` line"]),
        (
            "if (flavor == A)\n{\nsetupRequired(x)\n}\n{\n",
            [NO_BRACE,
             "5:1: table-syntax: `{` must end the `if (…)` line"],
        ),
        (
            "if (flavor == A)\nfoo\n",
            [NO_BRACE,
             "1:1: table-unclosed-block: this `if` block is never closed: add `}`",
             "2:1: table-syntax: expected `directive(arguments)`, found `foo`"],
        ),
        (
            "if (flavor == DarwinX86)\n",
            [NO_BRACE,
             "1:1: table-unclosed-block: this `if` block is never closed: add `}`"],
        ),
        (
            "if ((a == b)) x\n",
            ["1:1: table-syntax: unexpected `x` after the `if` condition",
             "1:1: table-unclosed-block: this `if` block is never closed: add `}`"],
        ),
        (
            "IF (flavor == A) {\n} ELSE {\n}\n",
            [],
        ),
        (
            "if (flavor == A) {\n} ELSE foo\n",
            ["1:1: table-unclosed-block: this `if` block is never closed: add `}`",
             "2:1: table-syntax: unexpected `} ELSE foo`: after `}` only `else {` or"
             " `else if (…) {` may follow"],
        ),
        (
            "Else {\nsetupRequired(x)\n}\n",
            ["1:1: table-else-without-if: `else` must follow the `}` of an `if` block on the same"
             " line (write `} else {` or `} else if (…) {`)"],
        ),
        (
            "setupRequired(x)\nIf (flavor == A\n  setupRequired(y)\n}\n",
            ["2:1: table-unbalanced-paren: the `(` of the `if` condition is never closed"
             " (write `if (…) {`)"],
        ),
        ("x(a) )\n", ["1:6: table-unbalanced-paren: unmatched `)`: remove it"]),
        (
            "} else foo\n",
            ["1:1: table-syntax: unexpected `} else foo`: after `}` only `else {` or"
             " `else if (…) {` may follow",
             "1:1: table-else-without-if: `else` without an open `if (…) {`"],
        ),
        (
            "if (flavor == A) { x {\n{\n}\n",
            ["1:1: table-syntax: nothing may follow `{` on an `if` line"
             " (put each directive on its own line after `{`)",
             "2:1: table-syntax: `{` must end the `if (…)` line"],
        ),
        (
            "if (a == b)x\n",
            ["1:1: table-syntax: unexpected `x` after the `if` condition",
             "1:1: table-unclosed-block: this `if` block is never closed: add `}`"],
        ),
        ("Action = SETUP\nsetupRequired(x)\n", []),
    ],
    ids=ident,
)  # fmt: skip
def test_braces_on_their_own_lines_are_reported_once(text: str, diagnostics: list[str]) -> None:
    assert [str(p) for p in check_table(text, "t")] == [f"t:{d}" for d in diagnostics]


def test_a_group_with_too_many_flavor_lines_is_reported_at_its_common_line() -> None:
    from dmrelease.core.limits import MAX_CONDITION_DEPTH

    flavors = "".join(f"  Flavor = F{i}\n" for i in range(MAX_CONDITION_DEPTH + 1))
    text = f"Group:\n{flavors}  Common:\n  setupRequired(x)\nEnd:\n"
    assert [str(p) for p in check_table(text, "t")] == [
        f"t:{MAX_CONDITION_DEPTH + 3}:3: file-too-deep: {MAX_CONDITION_DEPTH + 1} `Flavor =`"
        f" lines for one block: dm-release reads at most {MAX_CONDITION_DEPTH}"
    ]


def test_any_in_a_group_block_matches_every_flavor_but_not_in_a_bare_flavor_run() -> None:
    """EUPS writes ``FLAVOR =~ .*`` for ``Flavor = ANY`` inside ``Group:`` only."""
    group = "Group:\n  Flavor = ANY\n  Flavor = Linux\nCommon:\n  setupRequired(a)\nEnd:\n"
    bare = "Flavor = ANY\n  setupRequired(a)\n\n"
    lines, _ = scan(group, "t")
    assert shape(lines)[0] == ("IF", 4, 1, "True || FLAVOR == Linux", "")
    assert [d.name for d in parse_table(group, "t").dependencies("DarwinX86")] == ["a"]
    assert [d.name for d in parse_table(bare, "t").dependencies("DarwinX86")] == []
    assert [d.name for d in parse_table(bare, "t").dependencies("ANY")] == ["a"]
