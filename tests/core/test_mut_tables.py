"""Table files, exactly: every diagnostic whole, and no dependency lost after a skipped line.

Written against mutation testing (issue 8) of core/tables.py, table_syntax.py and
table_statements.py. The blind spot the issue names: ``continue``→``break`` in
``TableFile.dependencies`` dropped every dependency after the first ``setupRequired(eups …)``
or ``--external`` line and no test noticed; the real files below put those lines first.
Every seeded mistake is asserted as the complete ``PATH:LINE:COL: rule: message (hint)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dmrelease.core.table_statements import build_statements
from dmrelease.core.table_syntax import scan
from dmrelease.core.tables import (
    ExclusionMap,
    TableFile,
    TableParseError,
    check_duplicate_dependencies,
    check_exclusion_map,
    check_self_dependency,
    check_table,
    parse_table,
)

DATA = Path(__file__).parent.parent / "data" / "tables"


def ident(value: object) -> str | None:
    """A test id of plain characters for a text (mutmut hands ids back to pytest, and ids
    with escapes such as a tab or a newline are not found again); None: pytest's own."""
    return re.sub(r"[^A-Za-z0-9 .,:;=(){}<>!&|+-]", "_", value) if isinstance(value, str) else None


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# the version check and the external products first, then the 32 packages of lsst_distrib
SKIPPED_FIRST = (
    read("eups-grammar/eupsVersion.table")
    + read("eups-grammar/externalProducts.table")
    + read("lsst_distrib.table")
)
DISTRIB = [d.name for d in parse_table(read("lsst_distrib.table")).dependencies()]


def test_dependencies_after_a_version_check_and_external_products_are_all_kept() -> None:
    table = parse_table(SKIPPED_FIRST, "ups/lsst_distrib.table")
    assert [d.name for d in table.dependencies()] == DISTRIB
    assert len(DISTRIB) == 32
    with_external = [d.name for d in table.dependencies(include_external=True)]
    assert with_external == ["someExternalProduct", "anotherExternalProduct", *DISTRIB]


def test_the_version_check_is_the_only_version_check() -> None:
    (check,) = parse_table(SKIPPED_FIRST).version_checks()
    assert (check.name, check.constraint, check.line) == ("eups", "[> 2.0.2]", 1)


BLOCKS = """\
if (flavor == Linux64) {
    setupRequired(eups [> 2.0])
    setupRequired(linux_only)
    envSet(X, 1)
}
if (flavor == DarwinX86 && type == build) {
    setupRequired(eups [> 3.0])
    setupRequired(darwin_build)
}
"""


def test_without_a_flavor_the_tables_of_linux64_apply() -> None:
    table = parse_table(BLOCKS)
    assert [str(a) for a in table.actions()] == [
        "setupRequired(eups [> 2.0])",
        "setupRequired(linux_only)",
        "envSet(X, 1)",
    ]
    assert [d.name for d in table.dependencies()] == ["linux_only"]
    assert [c.constraint for c in table.version_checks()] == ["[> 2.0]"]


def test_version_checks_follow_the_flavor_and_the_build_type() -> None:
    table = parse_table(BLOCKS)
    assert [c.constraint for c in table.version_checks("DarwinX86", "build")] == ["[> 3.0]"]
    assert table.version_checks("DarwinX86") == []


AFW_TEXT = read("lsst/afw.table")
EIGEN = "setupRequired(eigen >= 3.0.0)"  # line 9 of afw.table
NO_PRODUCT = "table-empty-product: `setupRequired` names no product"
NO_PRODUCT_HINT = "(write the product first, e.g. `setupRequired(afw >= 1.0)`)"
COMMENT = "EUPS ends the line at `#`, even inside quotes and parentheses"
NO_ELSE = "table-else-without-if: `else` without an open `if (…) {`"
UNMATCHED = (
    "table-unmatched-brace: `}` without an open `if (…) {`"
    " (remove it, or open the block with `if (…) {`)"
)
UNCLOSED = "9:1: table-unclosed-block: this `if` block is never closed: add `}`"

SEEDED: list[tuple[str, list[str]]] = [
    ("setupRequired(eigen >= 3.0.0",
     ["9:14: table-unbalanced-paren: `(` is never closed: add `)` at the end of the directive"]),
    ("setupRequired(eigen # x",
     ["9:14: table-unbalanced-paren: `(` is never closed: add `)` at the end of the directive"
      f" ({COMMENT}: move the comment after `)`)"]),
    ("setupRequired(eigen >= 3.0.0))", ["9:30: table-unbalanced-paren: unmatched `)`: remove it"]),
    ("setupRequird(eigen >= 3.0.0)",
     ["9:1: table-unknown-directive: `setupRequird` is not an EUPS directive"
      " (did you mean `setupRequired`?)"]),
    ("frobnicate(x)",
     ["9:1: table-unknown-directive: `frobnicate` is not an EUPS directive"
      " (see the EUPS table syntax)"]),
    ("setupRequired()", [f"9:1: {NO_PRODUCT} {NO_PRODUCT_HINT}"]),
    ('setupRequired("")', [f"9:1: {NO_PRODUCT} {NO_PRODUCT_HINT}"]),
    ("setupRequired(-j)", [f"9:1: {NO_PRODUCT} {NO_PRODUCT_HINT}"]),
    ("setupRequired(-f Linux64)", [f"9:1: {NO_PRODUCT} {NO_PRODUCT_HINT}"]),
    ("unsetupRequired(-j)", ["9:1: table-empty-product: `unsetupRequired` names no product"]),
    ("setupRequired(>= 3.0.0)",
     ["9:15: table-bad-product-name: `>=` is not a product name: the product comes first,"
      " e.g. `setupRequired(afw >= 1.0)`"]),
    ("setupRequired(eigen >= 3.0.0) eigen2",
     ["9:31: table-syntax: unexpected `eigen2` after `setupRequired(…)`:"
      " one directive per line, nothing after it"]),
    ("    setupRequired(eigen) oops",
     ["9:26: table-syntax: unexpected `oops` after `setupRequired(…)`:"
      " one directive per line, nothing after it"]),
    ("setupRequired eigen",
     ["9:1: table-syntax: expected `directive(arguments)`, found `setupRequired eigen`"
      " (add parentheses: `setupRequired(…)`)"]),
    ("eigen", ["9:1: table-syntax: expected `directive(arguments)`, found `eigen`"]),
    ("setupRequired('eigen')",
     ["9:15: table-quoting: `'eigen'`: EUPS keeps single quotes in directive arguments, so it"
      " would look for them in the product or version; use double quotes or none"]),
    ("setupRequired(eigen -t)", ["9:21: table-bad-flag: `-t` needs a value"]),
    ("setupRequired(eigen -n)",
     ["9:15: table-bad-flag: `-n` (no action) is only allowed with eups, as in EUPS"]),
    ("setupRequired(eigen --noaction)",
     ["9:15: table-bad-flag: `-n` (no action) is only allowed with eups, as in EUPS"]),
    ("setupRequired(eigen [>= 3.0.0)",
     ["9:15: table-bad-constraint: unbalanced `[`…`]` in the version expression of `eigen`"]),
    ("setupRequired(eigen\t>= 3.0.0)",
     ["9:20: table-tab: a tab outside quotes: EUPS splits arguments at spaces and commas only"
      " (write a space)"]),
    ('setupRequired("eigen >= 3.0.0',
     ['9:15: table-syntax: unterminated `"` (close it with `"`)']),
    ('envSet(COLOR, "#fff")', [f'9:15: table-syntax: unterminated `"` ({COMMENT})']),
    ("envSet(EIGEN_DIR)",
     ["9:1: table-arguments: `envSet` takes at least 2 arguments (variable, value), found 1"]),
    ('envSet("A", "b")',
     ["9:1: table-arguments: `envSet` takes at least 2 arguments (variable, value), found 1"
      " (EUPS drops the quotes around the whole argument list first: quote single arguments)"]),
    ("envAppend(PATH, a, b, c)",
     ["9:1: table-arguments: `envAppend` takes 2 or 3 arguments"
      " (variable, value[, delimiter]), found 4"]),
    ("envPrepend(PATH)",
     ["9:1: table-arguments: `envPrepend` takes 2 or 3 arguments"
      " (variable, value[, delimiter]), found 1"]),
    ("envUnset()", ["9:1: table-arguments: `envUnset` takes 1 argument (variable), found 0"]),
    ("pathRemove(A, b)",
     ["9:1: table-arguments: `pathRemove` takes 1 argument (variable), found 2"]),
    ("} else {", [f"9:1: {NO_ELSE}"]),
    ("} else if (flavor == A) {",
     ["9:1: table-else-without-if: `else if` without an open `if (…) {`"]),
    ("else",
     ["9:1: table-else-without-if: `else` must follow the `}` of an `if` block on the same line"
      " (write `} else {` or `} else if (…) {`)"]),
    ("}", [f"9:1: {UNMATCHED}"]),
    ("} foo",
     ["9:1: table-syntax: unexpected `} foo`: after `}` only `else {` or `else if (…) {`"
      " may follow", f"9:1: {UNMATCHED}"]),
    ("{", ["9:1: table-syntax: `{` must end the `if (…)` line"]),
    ("File = Version", ["9:1: table-legacy: `File = Version`: a table file says `File = Table`"]),
    ("Action = configure",
     ["9:1: table-legacy: `Action = configure` is not supported by EUPS: only"
      " `Action = setup` blocks are read"]),
    ("End:", ["9:1: table-legacy: `End:` outside a `Group:` … `End:` block"]),
    ("Common:", ["9:1: table-legacy: `Common:` outside a `Group:` … `End:` block"]),
    ("; stray", ["9:1: table-syntax: unexpected `; stray`: not a directive, `if` or `}`"]),
    ("if x", ["9:1: table-syntax: `if` needs a condition in parentheses: `if (…) {`"]),
    ("if (a == b",
     ["9:1: table-unbalanced-paren: the `(` of the `if` condition is never closed"
      " (write `if (…) {`)", UNCLOSED]),
    ("if (flavor == Linux64 # mac too) {",
     ["9:1: table-unbalanced-paren: the `(` of the `if` condition is never closed"
      f" ({COMMENT}: move the comment after `)`)", UNCLOSED]),
    ("if (a == b)",
     ["9:1: table-syntax: end the `if (…)` line with `{` (EUPS reads `if (…) {` as one line)",
      UNCLOSED]),
    ("if (a == b) { x",
     ["9:1: table-syntax: nothing may follow `{` on an `if` line"
      " (put each directive on its own line after `{`)"]),
    ("if (a == b) x", ["9:1: table-syntax: unexpected `x` after the `if` condition", UNCLOSED]),
    ("if (a == 'b) {", [UNCLOSED, "9:10: table-bad-condition: unterminated quote `'`: close it"]),
]  # fmt: skip


@pytest.mark.parametrize(("replacement", "expected"), SEEDED, ids=[ident(r) for r, _ in SEEDED])
def test_a_seeded_mistake_is_reported_whole(replacement: str, expected: list[str]) -> None:
    problems = check_table(AFW_TEXT.replace(EIGEN, replacement), "ups/afw.table")
    assert [str(p) for p in problems] == [f"ups/afw.table:{e}" for e in expected]


BLOCK_MISTAKES: list[tuple[str, list[str]]] = [
    ("if (flavor == A) {\n  if (type == b) {\n  }\n  setupRequired(x)\n}\n",
     ["2:3: table-nested-block: `if` inside the `if` block of line 1: EUPS does not nest"
      " blocks (it would end the outer block here) (combine the conditions with `&&`,"
      " or close the outer block first)"]),
    ("if (flavor == A) {\n} else {\n} else {\n}\n",
     ["3:1: table-syntax: nothing may follow the `else` branch: add `}`"]),
    ("if (flavor == A) {\n  setupRequired(x)\n",
     ["1:1: table-unclosed-block: this `if` block is never closed: add `}`"]),
    ("Group:\n  Flavor = Linux\nCommon:\n  setupRequired(x)\n",
     ["1:1: table-unclosed-block: `Group:` is never closed: add `End:`"]),
    ("Group:\nCommon:\nEnd:\n",
     ["2:1: table-legacy: `Common:` without `Flavor = X` lines before it"]),
    ("if (flavor == Linux64)\n{\n  setupRequired(x)\n}\n",
     ["1:1: table-syntax: end the `if (…)` line with `{` (EUPS reads `if (…) {` as one line)"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), BLOCK_MISTAKES, ids=[ident(t) for t, _ in BLOCK_MISTAKES]
)
def test_a_seeded_block_mistake_is_reported_whole(text: str, expected: list[str]) -> None:
    assert [str(p) for p in check_table(text, "t.table")] == [f"t.table:{e}" for e in expected]


def test_the_inner_brace_of_a_nested_block_does_not_close_the_outer_block() -> None:
    text = "if (flavor == A) {\n  if (type == b) {\n    setupRequired(y)\n  }\n"
    text += "  setupRequired(x)\n}\nsetupRequired(z)\n"
    lines, problems = scan(text, "t.table")
    table = TableFile("t.table", build_statements(lines, "t.table", problems))
    assert [p.rule for p in problems] == ["table-nested-block"]
    assert [d.name for d in table.dependencies("B")] == ["z"]


def test_check_table_with_a_product_reports_every_kind_of_problem_by_line_and_column() -> None:
    text = "setupRequired(x\t>= 1)\nsetupRequired(x)\nsetupRequired(afw)\nfoo\n"
    assert [str(p) for p in check_table(text, "ups/afw.table", product="afw")] == [
        "ups/afw.table:1:16: table-tab: a tab outside quotes: EUPS splits arguments at spaces"
        " and commas only (write a space)",
        "ups/afw.table:2:15: table-duplicate-dependency: `x` is already set up at line 1:"
        " keep one of the two lines",
        "ups/afw.table:3:15: table-self-dependency: `afw` depends on itself: remove this line",
        "ups/afw.table:4:1: table-syntax: expected `directive(arguments)`, found `foo`",
    ]


def test_problems_on_one_line_are_in_column_order() -> None:
    text = "setupRequired(x)\nsetupRequired(x\t>= 1)\n"
    assert [(p.line, p.column, p.rule) for p in check_table(text)] == [
        (2, 15, "table-duplicate-dependency"),
        (2, 16, "table-tab"),
    ]


def test_duplicate_and_self_dependency_checks_name_the_file() -> None:
    table = parse_table("setupOptional(afw)\nsetupRequired(afw)\n", "ups/afw.table")
    assert [str(p) for p in check_duplicate_dependencies(table)] == [
        "ups/afw.table:2:15: table-duplicate-dependency: `afw` is already set up at line 1:"
        " keep one of the two lines"
    ]
    assert [str(p) for p in check_self_dependency(table, "afw")] == [
        "ups/afw.table:1:15: table-self-dependency: `afw` depends on itself: remove this line",
        "ups/afw.table:2:15: table-self-dependency: `afw` depends on itself: remove this line",
    ]


def test_a_table_with_problems_raises_them_all_one_per_line() -> None:
    with pytest.raises(TableParseError) as caught:
        parse_table("foo\nsetupRequired()\n")
    assert str(caught.value) == (
        "<string>:1:1: table-syntax: expected `directive(arguments)`, found `foo`\n"
        f"<string>:2:1: {NO_PRODUCT} {NO_PRODUCT_HINT}"
    )
    assert [str(p) for p in check_table("foo")] == [
        "<string>:1:1: table-syntax: expected `directive(arguments)`, found `foo`"
    ]


def test_a_byte_order_mark_is_reported_whole() -> None:
    assert [str(p) for p in check_table("\ufeffsetupRequired(x)\n", "ups/x.table")] == [
        "ups/x.table:1:1: table-bom: the file starts with a UTF-8 byte order mark (BOM),"
        " which EUPS reads as text (save it without a BOM)"
    ]


def test_a_bad_exclusion_line_is_reported_whole() -> None:
    expected = [
        "ex.txt:2:1: exclusion-syntax: expected `<dependency regex> <product regex>`,"
        " found 3 field(s) (e.g. `cuda_toolkit .*` excludes cuda_toolkit from every product)"
    ]
    assert [str(p) for p in check_exclusion_map("a .*\na b c\n", "ex.txt")] == expected
    assert [str(p) for p in check_exclusion_map("a b c")] == [
        expected[0].replace("ex.txt:2:", "<string>:1:")
    ]
    with pytest.raises(TableParseError) as caught:
        ExclusionMap.parse("a b c")
    assert str(caught.value) == expected[0].replace("ex.txt:2:", "<string>:1:")


def test_an_exclusion_line_ends_at_its_first_hash_and_knows_its_line() -> None:
    exclusions = ExclusionMap.parse("# header\n\nscipy .*  # a # b\nhealpy afw\n")
    assert [(r.dependency.pattern, r.product.pattern, r.line) for r in exclusions.rules] == [
        ("scipy", ".*", 3),
        ("healpy", "afw", 4),
    ]


REGEX_HINT = "(write a Python regular expression; escape `[`, `-`, `&`, `~`, `|` inside `[…]`)"
UNTERMINATED = "is not a regular expression: missing ), unterminated subpattern at position 1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a( b(\n", [f"1:1: exclusion-bad-regex: `a(` {UNTERMINATED} {REGEX_HINT}",
                     f"1:4: exclusion-bad-regex: `b(` {UNTERMINATED} {REGEX_HINT}"]),
        ("a( a(\n", [f"1:1: exclusion-bad-regex: `a(` {UNTERMINATED} {REGEX_HINT}",
                     f"1:4: exclusion-bad-regex: `a(` {UNTERMINATED} {REGEX_HINT}"]),
        ("x a(\n", [f"1:3: exclusion-bad-regex: `a(` {UNTERMINATED} {REGEX_HINT}"]),
        ("a(  x\n", [f"1:1: exclusion-bad-regex: `a(` {UNTERMINATED} {REGEX_HINT}"]),
        ("x( b(  # b(\n", [f"1:1: exclusion-bad-regex: `x(` {UNTERMINATED} {REGEX_HINT}",
                           f"1:4: exclusion-bad-regex: `b(` {UNTERMINATED} {REGEX_HINT}"]),
    ],
    ids=ident,
)  # fmt: skip
def test_each_bad_regex_of_an_exclusion_line_is_reported_at_its_column(
    text: str, expected: list[str]
) -> None:
    assert [str(p) for p in check_exclusion_map(text, "ex.txt")] == [
        f"ex.txt:{e}" for e in expected
    ]
    with pytest.raises(TableParseError):
        ExclusionMap.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("if (flavor == A) {\n  setupRequired(x)\n} else {\n  setupRequired(x)\n}\n"
         "setupRequired(x)\nsetupRequired(x)\n", [(6, 2), (7, 2)]),
        ("setupRequired(x)\nif (flavor == A) {\n  setupRequired(x)\n  setupRequired(x)\n}\n",
         [(3, 1), (4, 1)]),
        ("if (flavor == A) {\n  setupRequired(x)\n} else {\n  setupRequired(y)\n}\n"
         "if (flavor == B) {\n  setupRequired(y)\n}\nsetupRequired(y)\n", [(9, 4)]),
        ("if (flavor == A) {\n  setupRequired(x)\n  setupRequired(x)\n}\n", [(3, 2)]),
    ],
    ids=["after-both-branches", "outside-then-twice-inside", "other-blocks", "one-branch"],
)  # fmt: skip
def test_a_duplicate_names_the_first_setup_it_applies_together_with(
    text: str, expected: list[tuple[int, int]]
) -> None:
    found = check_duplicate_dependencies(parse_table(text))
    assert [(d.line, int(d.message.split("line ")[1].split(":")[0])) for d in found] == expected


def test_legacy_blocks_with_no_or_too_many_flavor_lines() -> None:
    from dmrelease.core.limits import MAX_CONDITION_DEPTH

    many = "".join(f"Flavor = F{i}\n" for i in range(MAX_CONDITION_DEPTH + 1))
    assert [str(p) for p in check_table(many + "  setupRequired(x)\n", "t")] == [
        f"t:1:1: file-too-deep: {MAX_CONDITION_DEPTH + 1} `Flavor =` lines for one block:"
        f" dm-release reads at most {MAX_CONDITION_DEPTH}"
    ]
    most = "".join(f"Flavor = F{i}\n" for i in range(MAX_CONDITION_DEPTH))
    assert check_table(most + "  setupRequired(x)\n", "t") == []
    assert [str(p) for p in check_table("Flavor = A\nGroup:\nsetupRequired(x)\n", "t")] == [
        "t:1:1: table-legacy: `Group:` inside a block of `Flavor =` lines: EUPS reads"
        " `if () {` here (close the block before `Group:`)",
        "t:2:1: table-unclosed-block: `Group:` is never closed: add `End:`",
    ]
