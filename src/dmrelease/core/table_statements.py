"""Statements of an EUPS table file: directives, dependencies, ``if`` blocks (DESIGN.md §4).

Built from the lines of :mod:`dmrelease.core.table_syntax` as EUPS's ``Table._read`` builds
its actions (RobertLuptonTheGood/eups, ``python/eups/table.py``); the arguments of
``setupRequired``/``setupOptional`` are read as ``Action.processArgs`` reads them: flags
(``-f X``, ``--flavor X``, ``-r DIR``, ``-T TYPE``, ``-t TAG``, ``--tag TAG``, ``--vro X``
take a value; ``-j``, ``-k``, ``-n``, ``--external`` and unknown flags do not) are skipped,
the first other argument is the product, the rest its version expression.
See :mod:`dmrelease.core.tables` for the rules each problem reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmrelease.core.errors import Diagnostic
from dmrelease.core.table_conditions import Condition, Constant, evaluate
from dmrelease.core.table_syntax import Argument, Kind, Line

__all__ = [
    "DIRECTIVES",
    "SETUP",
    "UNSETUP",
    "Action",
    "Branch",
    "Dependency",
    "Directive",
    "IfBlock",
    "Statement",
    "build_statements",
    "setup_product",
]

#: EUPS directive names (matched case-insensitively) → canonical spelling (``Table._read``)
DIRECTIVES = {
    name.lower(): name
    for name in [
        "addAlias",
        "declareOptions",
        "envAppend",
        "envPrepend",
        "envSet",
        "envUnset",
        "pathAppend",
        "pathPrepend",
        "pathRemove",
        "pathSet",
        "print",
        "prodDir",
        "setupEnv",
        "setEnv",
        "unsetEnv",
        "setupRequired",
        "setupOptional",
        "sourceRequired",
        "unsetupRequired",
        "unsetupOptional",
    ]
}
SETUP = ("setupRequired", "setupOptional")
UNSETUP = ("unsetupRequired", "unsetupOptional")
#: argument counts EUPS enforces: (min, max or None, what the arguments are)
_ARITY = {
    **dict.fromkeys(
        ("envAppend", "envPrepend", "pathAppend", "pathPrepend"),
        (2, 3, "variable, value[, delimiter]"),
    ),
    **dict.fromkeys(("envSet", "setEnv", "pathSet"), (2, None, "variable, value")),
    **dict.fromkeys(("envUnset", "unsetEnv", "pathRemove"), (1, 1, "variable")),
}
#: flags of ``Action.processArgs`` that take a value
_VALUE_FLAGS = ("-f", "--flavor", "-r", "-T", "-t", "--tag", "--vro")
_PRODUCT_NAME = re.compile(r"[A-Za-z0-9_][\w.+-]*")
_NEEDS_QUOTES = re.compile(r'[\s,()"]')


def _render(value: str) -> str:
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Dependency:
    """A ``setupRequired``/``setupOptional`` line; ``column`` is where the product name is."""

    name: str
    required: bool
    constraint: str = ""
    external: bool = False
    line: int = 0
    column: int = 0

    @property
    def kind(self) -> str:
        return "required" if self.required else "optional"

    @property
    def is_version_check(self) -> bool:
        """``setupRequired(eups …)`` only checks the EUPS version (``processArgs``)."""
        return self.name == "eups"

    def __str__(self) -> str:
        directive = "setupRequired" if self.required else "setupOptional"
        return f"{directive}({' '.join(filter(None, (self.name, self.constraint)))})"


@dataclass(frozen=True)
class Directive:
    """Any other directive, by canonical name, with its arguments (quotes removed)."""

    name: str
    arguments: tuple[str, ...] = ()
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.name}({', '.join(_render(a) for a in self.arguments)})"


Action = Dependency | Directive


@dataclass(frozen=True)
class Branch:
    """``if (condition) {`` or ``} else if (condition) {`` and its directives."""

    condition: Condition
    body: tuple[Action, ...]
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class IfBlock:
    """``if … else if … else …``: the first branch whose condition holds, else
    ``otherwise`` (EUPS ``Table.actions``). EUPS has no nested blocks."""

    branches: tuple[Branch, ...]
    otherwise: tuple[Action, ...] = ()
    line: int = 0
    column: int = 0

    def actions(self, flavor: str, build_type: str | None) -> tuple[Action, ...]:
        for branch in self.branches:
            if evaluate(branch.condition, flavor, build_type):
                return branch.body
        return self.otherwise

    def __str__(self) -> str:
        lines: list[str] = []
        for index, branch in enumerate(self.branches):
            lines.append(f"{'} else if' if index else 'if'} ({branch.condition}) {{")
            lines += [f"    {action}" for action in branch.body]
        if self.otherwise:
            lines.append("} else {")
            lines += [f"    {action}" for action in self.otherwise]
        return "\n".join([*lines, "}"])


Statement = Action | IfBlock


def _condition(line: Line) -> Condition:
    """A bad condition was reported by the scanner; its block never applies."""
    return line.condition if line.condition is not None else Constant(False)


def build_statements(
    lines: list[Line], path: str, problems: list[Diagnostic]
) -> tuple[Statement, ...]:
    """Assemble statement lines into statements, appending every problem to ``problems``."""
    builder = _Builder(path, problems)
    for line in lines:
        builder.feed(line)
    builder.finish()
    return tuple(builder.statements)


class _Builder:
    """Assembles statement lines into :class:`IfBlock` values, reporting bad nesting."""

    def __init__(self, path: str, problems: list[Diagnostic]) -> None:
        self.path = path
        self.problems = problems
        self.statements: list[Statement] = []
        self.block: Line | None = None  # the `if` line of the open block
        self.branches: list[Branch] = []
        self.body: list[Action] = []
        self.in_else = False
        self.nested = 0  # depth inside a nested `if` already reported

    def problem(
        self,
        line: Line,
        rule: str,
        message: str,
        hint: str | None = None,
        at: Argument | None = None,
    ) -> None:
        column = at.column if at is not None else line.column
        self.problems.append(Diagnostic(self.path, line.line, rule, message, column, hint))

    def feed(self, line: Line) -> None:
        if line.kind is Kind.DIRECTIVE:
            action = _action(line, self)
            if action is not None:
                (self.body if self.block else self.statements).append(action)
        elif self.nested:  # skip the inner block of a reported nested `if`
            self.nested += {Kind.IF: 1, Kind.CLOSE: -1}.get(line.kind, 0)
        elif line.kind is Kind.IF:
            self.open(line)
        elif line.kind is Kind.CLOSE:
            if self.block is None:
                self.problem(
                    line,
                    "table-unmatched-brace",
                    "`}` without an open `if (…) {`",
                    "remove it, or open the block with `if (…) {`",
                )
            else:
                self.close()
        else:
            self.next_branch(line)

    def open(self, line: Line) -> None:
        if self.block is not None:
            self.problem(
                line,
                "table-nested-block",
                f"`if` inside the `if` block of line {self.block.line}: EUPS does not "
                "nest blocks (it would end the outer block here)",
                "combine the conditions with `&&`, or close the outer block first",
            )
            self.nested = 1
            return
        self.block, self.branches, self.body, self.in_else = line, [], [], False
        self.branches.append(Branch(_condition(line), (), line.line, line.column))

    def next_branch(self, line: Line) -> None:
        if self.block is None:
            word = "else if" if line.kind is Kind.ELSE_IF else "else"
            self.problem(line, "table-else-without-if", f"`{word}` without an open `if (…) {{`")
            return
        if self.in_else:
            self.problem(line, "table-syntax", "nothing may follow the `else` branch: add `}`")
            return
        last = self.branches[-1]
        self.branches[-1] = Branch(last.condition, tuple(self.body), last.line, last.column)
        self.body = []
        if line.kind is Kind.ELSE_IF:
            self.branches.append(Branch(_condition(line), (), line.line, line.column))
        else:
            self.in_else = True

    def close(self) -> None:
        assert self.block is not None
        if self.in_else:
            otherwise = tuple(self.body)
        else:
            last = self.branches[-1]
            self.branches[-1] = Branch(last.condition, tuple(self.body), last.line, last.column)
            otherwise = ()
        block = IfBlock(tuple(self.branches), otherwise, self.block.line, self.block.column)
        self.statements.append(block)
        self.block, self.branches, self.body, self.in_else = None, [], [], False

    def finish(self) -> None:
        if self.block is not None:
            self.problem(
                self.block, "table-unclosed-block", "this `if` block is never closed: add `}`"
            )
            self.close()


def _action(line: Line, builder: _Builder) -> Action | None:
    name = DIRECTIVES.get(line.name.lower())
    if name is None:
        import difflib  # only for an unknown directive's suggestion

        close = difflib.get_close_matches(line.name.lower(), DIRECTIVES, n=1)
        builder.problem(
            line,
            "table-unknown-directive",
            f"`{line.name}` is not an EUPS directive",
            f"did you mean `{DIRECTIVES[close[0]]}`?" if close else "see the EUPS table syntax",
        )
        return None
    if name in SETUP:
        return _dependency(line, name == "setupRequired", builder)
    if name in UNSETUP and setup_product(tuple(a.value for a in line.arguments)) is None:
        builder.problem(line, "table-empty-product", f"`{line.name}` names no product")
        return None
    if name in _ARITY and not _arity_ok(line, name, builder):
        return None
    return Directive(name, tuple(a.value for a in line.arguments), line.line, line.column)


def _arity_ok(line: Line, name: str, builder: _Builder) -> bool:
    low, high, what = _ARITY[name]
    count = len(line.arguments)
    if low <= count and (high is None or count <= high):
        return True
    wanted = f"{low}" if low == high else f"{low} or {high}" if high else f"at least {low}"
    hint = (
        "EUPS drops the quotes around the whole argument list first: quote single arguments"
        if line.list_quoted
        else None
    )
    builder.problem(
        line,
        "table-arguments",
        f"`{line.name}` takes {wanted} {'argument' if wanted == '1' else 'arguments'} ({what}),"
        f" found {count}",
        hint,
    )
    return False


def setup_product(arguments: tuple[str, ...]) -> str | None:
    """The product of setup arguments: the first that is neither a flag nor a flag's value."""
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument.startswith("-"):
            skip = argument in _VALUE_FLAGS
        else:
            return argument
    return None


def _dependency(line: Line, required: bool, builder: _Builder) -> Dependency | None:
    arguments = line.arguments
    flags: list[str] = []
    product: Argument | None = None
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if argument.value.startswith("-"):
            flags.append(argument.value)
            if argument.value in _VALUE_FLAGS:
                if index + 1 == len(arguments):
                    builder.problem(
                        line,
                        "table-bad-flag",
                        f"`{argument.value}` needs a value",
                        at=argument,
                    )
                    return None
                index += 1
        elif product is None:
            product = argument
        index += 1
    if not _setup_ok(line, product, flags, builder):
        return None
    assert product is not None
    rest = [_render(a.value) for a in arguments if a is not product]
    external = "--external" in flags
    return Dependency(product.value, required, " ".join(rest), external, line.line, product.column)


def _setup_ok(line: Line, product: Argument | None, flags: list[str], builder: _Builder) -> bool:
    if product is None or not product.value:
        builder.problem(
            line,
            "table-empty-product",
            f"`{line.name}` names no product",
            f"write the product first, e.g. `{line.name}(afw >= 1.0)`",
        )
        return False
    quoted = next((a for a in line.arguments if "'" in a.value and not a.quoted), None)
    if quoted is not None:
        builder.problem(
            line,
            "table-quoting",
            f"`{quoted.value}`: EUPS keeps single quotes in directive arguments, so it "
            "would look for them in the product or version; use double quotes or none",
            at=quoted,
        )
        return False
    if not _PRODUCT_NAME.fullmatch(product.value):
        builder.problem(
            line,
            "table-bad-product-name",
            f"`{product.value}` is not a product name: the product comes first, "
            f"e.g. `{line.name}(afw >= 1.0)`",
            at=product,
        )
        return False
    if ("-n" in flags or "--noaction" in flags) and product.value != "eups":
        builder.problem(
            line,
            "table-bad-flag",
            "`-n` (no action) is only allowed with eups, as in EUPS",
            at=product,
        )
        return False
    versions = " ".join(a.value for a in line.arguments if a is not product)
    if versions.count("[") != versions.count("]"):
        builder.problem(
            line,
            "table-bad-constraint",
            f"unbalanced `[`…`]` in the version expression of `{product.value}`",
            at=product,
        )
        return False
    return True
