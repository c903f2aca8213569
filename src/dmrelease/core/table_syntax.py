"""Lines of an EUPS table file: comments, legacy UPS forms, directive arguments (DESIGN.md §4).

This is the lexical half of :mod:`dmrelease.core.tables`; it follows EUPS's ``Table._rewrite``
and ``Table._read`` (RobertLuptonTheGood/eups, ``python/eups/table.py``):

- everything from the first ``#`` is a comment, even inside quotes; leading and trailing
  blanks do not matter; a directive may end with ``;``; keywords are case-insensitive;
- ``if (cond) {``, ``} else if (cond) {``, ``} else {`` and ``}`` each take a whole line;
- ``name(arguments)``: the arguments are split at commas and blanks outside double quotes;
  double quotes around one argument, or around the whole argument list
  (``setupOptional("swig")``), are removed, ``\\"`` is a quote. Single quotes are ordinary
  characters in arguments (EUPS strips them only in conditions). EUPS does not split at
  tabs: a tab outside quotes would be part of an argument, and is reported (``table-tab``);
- legacy UPS forms are rewritten to ``if`` blocks as EUPS does: ``File = Table`` (any other
  file type is an error), ``Product = X`` after it, ``Action = setup`` (other actions are
  errors), ``Qualifiers = "…"``, ``Group:`` … ``Flavor = X`` … ``Common:`` … ``End:`` and
  runs of bare ``Flavor = X`` lines that open a block lasting to the next ``Flavor =`` line.

Problems become :class:`~dmrelease.core.errors.Diagnostic` values with 1-based columns.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from dmrelease.core.errors import Diagnostic
from dmrelease.core.limits import MAX_CONDITION_DEPTH, split_lines
from dmrelease.core.table_conditions import (
    Condition,
    ConditionError,
    any_of_flavors,
    parse_condition,
)

__all__ = [
    "Argument",
    "Kind",
    "Line",
    "explain_unreadable",
    "scan",
    "split_arguments",
]

_I = re.IGNORECASE
_IF = re.compile(r"if\s*\((.*)\)\s*\{\s*$", _I)
_ELSE_IF = re.compile(r"\}\s*else\s*if\s*\((.*)\)\s*\{\s*$", _I)
_ELSE = re.compile(r"\}\s*else\s*\{\s*$", _I)
_CLOSE = re.compile(r"\}\s*$")
_DIRECTIVE = re.compile(r"(\w+)\s*\(")
_FILE = re.compile(r"File\s*=\s*(\w+)", _I)
_PRODUCT = re.compile(r"Product\s*=\s*(\w+)", _I)
_ACTION = re.compile(r"Action\s*=\s*([\w+.]+)", _I)
_QUALIFIERS = re.compile(r'Qualifiers\s*=\s*"([^"]*)"', _I)
_FLAVOR = re.compile(r"Flavor\s*=\s*([\w+.]+)", _I)
_GROUP_WORD = re.compile(r"(Group|Common|End):\s*$", _I)
_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')
_COMMENT_HINT = "EUPS ends the line at `#`, even inside quotes and parentheses"


class Kind(enum.Enum):
    IF = "if"
    ELSE_IF = "else if"
    ELSE = "else"
    CLOSE = "}"
    DIRECTIVE = "directive"


@dataclass(frozen=True)
class Argument:
    """One directive argument, quotes removed; ``column`` is where it starts."""

    value: str
    column: int
    quoted: bool = False


@dataclass(frozen=True)
class Line:
    """One statement line; ``condition`` for IF/ELSE_IF, ``name``/``arguments`` for
    directives. ``list_quoted``: the whole argument list was in double quotes."""

    kind: Kind
    line: int
    column: int
    condition: Condition | None = None
    name: str = ""
    arguments: tuple[Argument, ...] = ()
    list_quoted: bool = False


@dataclass
class _Legacy:
    """State of EUPS's ``_rewrite``: ``Group:`` blocks and bare ``Flavor =`` runs."""

    old: bool = False
    group_line: int = 0
    in_group: bool = False
    common_seen: bool = False
    flavors: list[str] = field(default_factory=list)
    run: str = ""  # "" | "flavors" (reading Flavor lines) | "body"
    run_line: int = 0
    run_column: int = 0


def scan(text: str, path: str) -> tuple[list[Line], list[Diagnostic]]:
    """Split a table file into statement lines, reporting every line it cannot read."""
    scanner = _Scanner(path)
    number = 0
    for number, raw in enumerate(split_lines(text), start=1):
        code = raw.split("#", 1)[0]
        stripped = code.strip()
        if stripped:
            column = len(code) - len(code.lstrip()) + 1
            scanner.feed(stripped, number, column, had_comment="#" in raw)
    scanner.finish(number)
    return scanner.lines, scanner.diagnostics


class _Scanner:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[Line] = []
        self.diagnostics: list[Diagnostic] = []
        self.legacy = _Legacy()
        self.brace_expected = False  # the previous line was `if (…)` without `{`

    def problem(
        self, line: int, column: int, rule: str, message: str, hint: str | None = None
    ) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, rule, message, column, hint))

    def feed(self, text: str, line: int, column: int, had_comment: bool) -> None:
        if not self._legacy(text, line, column):
            expected = self.brace_expected
            self._statement(text, line, column, had_comment)
            self.brace_expected = self.brace_expected and not expected

    def finish(self, last_line: int) -> None:
        state = self.legacy
        if state.in_group:
            self.problem(
                state.group_line, 1, "table-unclosed-block", "`Group:` is never closed: add `End:`"
            )
            if state.common_seen:
                self.lines.append(Line(Kind.CLOSE, last_line, 1))
        if state.run == "body":
            self.lines.append(Line(Kind.CLOSE, last_line, 1))

    def _legacy(self, text: str, line: int, column: int) -> bool:
        """Handle one line as EUPS's ``Table._rewrite`` does; True if it was consumed."""
        state = self.legacy
        if match := _FILE.match(text):
            state.old = True
            if match.group(1).lower() != "table":
                self.problem(
                    line, column, "table-legacy", f"`{text}`: a table file says `File = Table`"
                )
            return True
        if (state.old and _PRODUCT.match(text)) or _QUALIFIERS.match(text):
            return True
        if match := _ACTION.match(text):
            if "setup" not in match.group(1).lower():
                self.problem(
                    line,
                    column,
                    "table-legacy",
                    f"`Action = {match.group(1)}` is not supported by EUPS: only "
                    "`Action = setup` blocks are read",
                )
            return True
        if re.match(r"Group:\s*$", text, _I):
            state.in_group, state.common_seen, state.flavors = True, False, []
            state.group_line = line
            return True
        if state.in_group and self._in_group(text, line, column):
            return True
        return self._flavor_run(text, line, column)

    def _in_group(self, text: str, line: int, column: int) -> bool:
        state = self.legacy
        if re.match(r"Common:\s*$", text, _I):
            if not state.flavors:
                self.problem(
                    line, column, "table-legacy", "`Common:` without `Flavor = X` lines before it"
                )
            condition = self._flavors_condition(line, column, group=True)
            self.lines.append(Line(Kind.IF, line, column, condition))
            state.common_seen = True
            return True
        if re.match(r"End:\s*$", text, _I):
            state.in_group = False
            self.lines.append(Line(Kind.CLOSE, line, column))
            return True
        if match := _FLAVOR.match(text):
            state.flavors.append(match.group(1))
            return True
        return False

    def _flavors_condition(
        self, line: int, column: int, *, group: bool = False
    ) -> Condition | None:
        """The condition of the ``Flavor =`` lines read; None (reported) when there is none
        or too many. A ``Group:`` inside a run of bare ``Flavor =`` lines empties the list
        EUPS builds (it shares one ``conditional``), so EUPS would write ``if () {``."""
        flavors = self.legacy.flavors
        if not flavors and not group:
            message = "`Group:` inside a block of `Flavor =` lines: EUPS reads `if () {` here"
            self.problem(line, column, "table-legacy", message, "close the block before `Group:`")
            return None
        if len(flavors) > MAX_CONDITION_DEPTH:
            message = (
                f"{len(flavors)} `Flavor =` lines for one block: dm-release reads at most "
                f"{MAX_CONDITION_DEPTH}"
            )
            self.problem(line, column, "file-too-deep", message)
            return None
        return any_of_flavors(flavors, group=group) if flavors else None

    def _flavor_run(self, text: str, line: int, column: int) -> bool:
        state = self.legacy
        match = _FLAVOR.match(text)
        if state.run == "flavors" and match:
            state.flavors.append(match.group(1))
            return True
        if state.run == "flavors":
            condition = self._flavors_condition(state.run_line, state.run_column)
            self.lines.append(Line(Kind.IF, state.run_line, state.run_column, condition))
            state.run = "body"
            return False
        if match:
            if state.run == "body":
                self.lines.append(Line(Kind.CLOSE, line, column))
            state.run, state.flavors = "flavors", [match.group(1)]
            state.run_line, state.run_column = line, column
            return True
        return False

    def _statement(self, text: str, line: int, column: int, had_comment: bool) -> None:
        for pattern, kind in ((_IF, Kind.IF), (_ELSE_IF, Kind.ELSE_IF)):
            if match := pattern.match(text):
                condition = self._condition(match.group(1), line, column + match.start(1))
                self.lines.append(Line(kind, line, column, condition))
                return
        if _ELSE.match(text) or _CLOSE.match(text):
            kind = Kind.ELSE if _ELSE.match(text) else Kind.CLOSE
            self.lines.append(Line(kind, line, column))
            return
        directive = _DIRECTIVE.match(text)
        if directive and directive.group(1).lower() != "if":
            self._directive(text, line, column, directive, had_comment)
        else:
            self._unreadable(text, line, column, had_comment)

    def _condition(self, text: str, line: int, column: int) -> Condition | None:
        try:
            return parse_condition(text)
        except ConditionError as exc:
            self.problem(line, column + exc.offset, exc.rule, exc.message)
            return None

    def _directive(
        self, text: str, line: int, column: int, match: re.Match[str], had_comment: bool
    ) -> None:
        start = match.end() - 1
        close, unterminated = _matching_paren(text, start, quotes='"')
        if unterminated is not None:
            hint = _COMMENT_HINT if had_comment else 'close it with `"`'
            self.problem(line, column + unterminated, "table-syntax", 'unterminated `"`', hint)
            return
        if close is None:
            message = "`(` is never closed: add `)` at the end of the directive"
            moved = f"{_COMMENT_HINT}: move the comment after `)`" if had_comment else None
            self.problem(line, column + start, "table-unbalanced-paren", message, moved)
            return
        rest = text[close + 1 :]
        tail = rest.strip()
        if tail not in ("", ";"):
            self._stray(tail, line, column + close + 1 + rest.index(tail), match.group(1))
            return
        args_text, offset, list_quoted = text[start + 1 : close], start + 1, False
        if len(args_text) >= 2 and args_text[0] == args_text[-1] == '"':
            args_text, offset, list_quoted = args_text[1:-1], offset + 1, True
        tab = _QUOTED.sub(lambda quoted: " " * len(quoted[0]), args_text).find("\t")
        if tab >= 0:
            message = "a tab outside quotes: EUPS splits arguments at spaces and commas only"
            self.problem(line, column + offset + tab, "table-tab", message, "write a space")
        arguments = split_arguments(args_text, column + offset)
        self.lines.append(
            Line(
                Kind.DIRECTIVE,
                line,
                column,
                name=match.group(1),
                arguments=arguments,
                list_quoted=list_quoted,
            )
        )

    def _stray(self, tail: str, line: int, column: int, name: str) -> None:
        if tail.startswith(")"):
            self.problem(line, column, "table-unbalanced-paren", "unmatched `)`: remove it")
        else:
            self.problem(
                line,
                column,
                "table-syntax",
                f"unexpected `{tail}` after `{name}(…)`: one directive per line, nothing after it",
            )

    def _unreadable(self, text: str, line: int, column: int, had_comment: bool) -> None:
        rule, message, hint = explain_unreadable(text)
        if had_comment and rule == "table-unbalanced-paren":
            hint = f"{_COMMENT_HINT}: move the comment after `)`"
        if text == "{" and self.brace_expected:
            return  # `{` on the line after `if (…)`: reported with the `if`
        self.problem(line, column, rule, message, hint)
        # keep the braces balanced so that one mistake is reported once
        if re.match(r"\}\s*else\b", text, _I):
            self.lines.append(Line(Kind.ELSE, line, column))
        elif text.startswith("}"):
            self.lines.append(Line(Kind.CLOSE, line, column))
        elif re.match(r"(if|else)\b", text, _I) and (
            text.endswith("{") or re.fullmatch(r"if\s*\([^{}]*", text, _I)
        ):
            self.lines.append(Line(Kind.IF, line, column))
            self.brace_expected = not text.endswith("{")


def explain_unreadable(text: str) -> tuple[str, str, str | None]:
    """Rule, message and hint for a line that is no statement EUPS reads."""
    lowered = text.lower()
    if re.match(r"if\b", lowered):
        return _explain_if(text)
    if re.match(r"else\b", lowered):
        return (
            "table-else-without-if",
            "`else` must follow the `}` of an `if` block on the same line",
            "write `} else {` or `} else if (…) {`",
        )
    if text.startswith("}"):
        return (
            "table-syntax",
            f"unexpected `{text}`: after `}}` only `else {{` or `else if (…) {{` may follow",
            None,
        )
    if text.startswith("{"):
        return ("table-syntax", "`{` must end the `if (…)` line", None)
    if match := _GROUP_WORD.match(text):
        return ("table-legacy", f"`{match.group(1)}:` outside a `Group:` … `End:` block", None)
    word = re.match(r"\w+", text)
    if word:
        return (
            "table-syntax",
            f"expected `directive(arguments)`, found `{text}`",
            f"add parentheses: `{word.group()}(…)`" if text != word.group() else None,
        )
    return ("table-syntax", f"unexpected `{text}`: not a directive, `if` or `}}`", None)


def _explain_if(text: str) -> tuple[str, str, str | None]:
    start = text.find("(")
    if start < 0:
        return ("table-syntax", "`if` needs a condition in parentheses: `if (…) {`", None)
    close, unterminated = _matching_paren(text, start, quotes="\"'")
    if unterminated is not None or close is None:
        return (
            "table-unbalanced-paren",
            "the `(` of the `if` condition is never closed",
            "write `if (…) {`",
        )
    rest = text[close + 1 :].strip()
    if not rest:
        return (
            "table-syntax",
            "end the `if (…)` line with `{`",
            "EUPS reads `if (…) {` as one line",
        )
    if rest.startswith("{"):
        return (
            "table-syntax",
            "nothing may follow `{` on an `if` line",
            "put each directive on its own line after `{`",
        )
    return ("table-syntax", f"unexpected `{rest}` after the `if` condition", None)


def _matching_paren(text: str, start: int, quotes: str) -> tuple[int | None, int | None]:
    """Index of the ``)`` closing ``text[start]`` (None if none) and, if a quote is left
    open, the index of that quote."""
    depth, quote, opened = 0, "", 0
    index = start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in quotes:
            quote, opened = char, index
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index, None
        index += 1
    return None, (opened if quote else None)


def split_arguments(text: str, column: int) -> tuple[Argument, ...]:
    """Split at commas and blanks outside double quotes (EUPS ``Table._read``);
    ``column`` is the column of ``text[0]``."""
    arguments: list[Argument] = []
    index = 0
    while index < len(text):
        if text[index] in ", \t":
            index += 1
            continue
        start, quote = index, False
        while index < len(text) and (quote or text[index] not in ", \t"):
            if text[index] == "\\" and quote:
                index += 1
            elif text[index] == '"':
                quote = not quote
            index += 1
        raw = text[start:index]
        arguments.append(_argument(raw, column + start))
    return tuple(arguments)


def _argument(raw: str, column: int) -> Argument:
    quoted = len(raw) >= 2 and raw[0] == raw[-1] == '"'
    value = raw[1:-1] if quoted else raw
    return Argument(value.replace('\\"', '"'), column, quoted)
