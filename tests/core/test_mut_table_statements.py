"""Statements of table files, exactly: canonical text, blocks and their places, setup flags,
and what a reported line leaves out.

Written against mutation testing (issue 8) of core/table_statements.py: no test read the
canonical text of quoted arguments or of ``else`` branches, the places of blocks, the
product of ``unsetup*`` lines behind flags, or checked that a line reported as wrong adds
nothing to the table. The statements are built with the scanner and builder themselves, so
the table of a file with problems can be looked at too.
"""

from __future__ import annotations

from dmrelease.core.table_conditions import Constant
from dmrelease.core.table_statements import Dependency, Directive, IfBlock, build_statements
from dmrelease.core.table_syntax import scan
from dmrelease.core.tables import TableFile, parse_table


def build(text: str) -> tuple[TableFile, list[str]]:
    lines, problems = scan(text, "t")
    statements = build_statements(lines, "t", problems)
    return TableFile("t", statements), [str(p) for p in problems]


CANONICAL = """\
envSet(X, "a b")
envSet(Y, "")
envSet(Z, "say \\"hi\\"", :)
if (flavor == A) {
    setupRequired(a)
} else if (type == b) {
    envSet(Q, 1)
} else {
    setupOptional(c -j)
}
"""


def test_the_canonical_text_quotes_what_needs_quotes_and_keeps_every_branch() -> None:
    messy = CANONICAL.replace("    ", "\t").replace("} else if", "}  ELSE  IF")
    assert str(parse_table(messy)) == CANONICAL
    assert str(parse_table(CANONICAL)) == CANONICAL


def test_blocks_branches_and_directives_know_where_they_are() -> None:
    text = "envSet(X, 1)\n  if (flavor == A) {\n  setupRequired(a)\n} else if (type == b) {\n"
    text += "  envSet(Q, 1)\n} else {\n  setupOptional(c)\n}\n"
    first, block = parse_table(text).statements
    assert first == Directive("envSet", ("X", "1"), 1, 1)
    assert isinstance(block, IfBlock)
    assert (block.line, block.column) == (2, 3)
    assert [(b.line, b.column, b.body) for b in block.branches] == [
        (2, 3, (Dependency("a", True, "", False, 3, 17),)),
        (4, 1, (Directive("envSet", ("Q", "1"), 5, 3),)),
    ]
    assert block.otherwise == (Dependency("c", False, "", False, 7, 17),)


def test_a_block_whose_condition_is_wrong_never_applies() -> None:
    table, problems = build(
        "if (flavor = X) {\n  setupRequired(a)\n} else {\n  setupRequired(b)\n}\n"
    )
    assert problems == ["t:1:12: table-bad-condition: `=` is not a comparison: write `==`"]
    (block,) = table.statements
    assert isinstance(block, IfBlock)
    assert block.branches[0].condition == Constant(False)
    assert [d.name for d in table.dependencies("X")] == ["b"]


NESTED = """\
if (flavor == A) {
  if (flavor == B) {
    if (flavor == C) {
    }
  } else {
  }
  setupRequired(x)
}
setupRequired(z)
"""


def test_a_nested_block_is_skipped_to_its_own_closing_brace() -> None:
    table, problems = build(NESTED)
    assert problems == [
        "t:2:3: table-nested-block: `if` inside the `if` block of line 1: EUPS does not nest"
        " blocks (it would end the outer block here) (combine the conditions with `&&`, or"
        " close the outer block first)"
    ]
    assert [d.name for d in table.dependencies("Linux64")] == ["z"]
    assert [d.name for d in table.dependencies("A")] == ["x", "z"]


def test_unsetup_finds_its_product_behind_flags_and_their_values() -> None:
    text = "setupRequired(afw)\nsetupRequired(geom)\nsetupRequired(log)\n"
    text += "unsetupRequired(-f Linux afw)\nunsetupOptional(-j geom)\n"
    assert [d.name for d in parse_table(text).dependencies()] == ["log"]


def test_the_product_comes_after_every_flag_and_flag_value() -> None:
    text = "setupRequired(-f Linux64 -t current base 1.0)\nsetupRequired(-n eups >= 2.0)\n"
    table = parse_table(text)
    assert [(d.name, d.constraint, d.column) for d in table.dependencies()] == [
        ("base", "-f Linux64 -t current 1.0", 37)
    ]
    assert [(c.name, c.constraint) for c in table.version_checks()] == [("eups", "-n >= 2.0")]


def test_a_line_reported_as_wrong_adds_nothing_to_the_table() -> None:
    text = "envSet(A)\nsetupRequired('x')\nsetupRequired(>= 1)\nsetupRequired(x -n)\n"
    text += "setupRequired(x [1)\nunsetupRequired(-j)\nfrobnicate(x)\nsetupRequired(ok)\n"
    table, problems = build(text)
    assert [p.split(": ")[1] for p in problems] == [
        "table-arguments",
        "table-quoting",
        "table-bad-product-name",
        "table-bad-flag",
        "table-bad-constraint",
        "table-empty-product",
        "table-unknown-directive",
    ]
    assert [str(s) for s in table.statements] == ["setupRequired(ok)"]


def test_a_block_without_else_keeps_the_place_of_each_branch() -> None:
    text = "if (flavor == A) {\n  setupRequired(a)\n} else if (flavor == B) {\n"
    text += "  setupRequired(b)\n}\n"
    (block,) = parse_table(text).statements
    assert isinstance(block, IfBlock)
    assert [(b.line, b.column, [a.name for a in b.body]) for b in block.branches] == [
        (1, 1, ["a"]),
        (3, 1, ["b"]),
    ]
    assert block.otherwise == ()
