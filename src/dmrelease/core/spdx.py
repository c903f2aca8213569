"""SPDX licence expressions, as the distribution contents file writes them (DMTN-106 §6).

The grammar of SPDX 2.3 Annex D, without the licence list: a licence id (``MIT``,
``BSD-3-Clause``, ``GPL-2.0-or-later``, ``GPL-2.0+``, ``LicenseRef-CFITSIO``), optionally
``WITH`` an exception id, joined by ``AND`` and ``OR`` with parentheses. Operators are
upper case (SPDX matches them case-sensitively: ``and`` would be read as a licence id).
Ids are checked for their shape only, so a licence the SPDX list does not know yet can be
written as ``LicenseRef-<name>``.
"""

from __future__ import annotations

import re

__all__ = [
    "license_problem",
]

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
_ID = re.compile(r"(?:DocumentRef-[A-Za-z0-9.\-]+:)?[A-Za-z0-9][A-Za-z0-9.\-]*\+?")
_OPERATORS = ("AND", "OR", "WITH")


def license_problem(text: str) -> str | None:
    """Why ``text`` is not an SPDX licence expression, or None when it is one."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return "empty: write an SPDX licence id such as MIT or BSD-3-Clause"
    reader = _Reader(tokens)
    problem = reader.expression()
    if problem is None and reader.position < len(tokens):
        problem = _unexpected(tokens[reader.position], "AND, OR or WITH")
    return problem


def _unexpected(token: str, expected: str) -> str:
    if token != token.upper() and token.upper() in _OPERATORS:
        return f"{token!r} where {expected} was expected (operators are upper case)"
    return f"{token!r} where {expected} was expected"


class _Reader:
    """A recursive-descent reader over the tokens: OR binds looser than AND, AND looser
    than WITH."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.position, self.depth = tokens, 0, 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def expression(self) -> str | None:
        problem = self.conjunction()
        while problem is None and self.peek() == "OR":
            self.position += 1
            problem = self.conjunction()
        return problem

    def conjunction(self) -> str | None:
        problem = self.term()
        while problem is None and self.peek() == "AND":
            self.position += 1
            problem = self.term()
        return problem

    def term(self) -> str | None:
        token = self.peek()
        if token is None:
            return "ends where a licence id was expected"
        self.position += 1
        if token == "(":
            return self.group()
        if token in _OPERATORS or token == ")" or not _ID.fullmatch(token):
            return _unexpected(token, "a licence id")
        if self.peek() == "WITH":
            self.position += 1
            exception = self.peek()
            if exception is None:
                return "ends where an exception id was expected after WITH"
            self.position += 1
            if exception in _OPERATORS or not _ID.fullmatch(exception):
                return _unexpected(exception, "an exception id")
        return None

    def group(self) -> str | None:
        self.depth += 1
        if self.depth > 32:
            return "parentheses nested deeper than 32"
        problem = self.expression()
        if problem is None:
            if self.peek() != ")":
                token = self.peek()
                return "a '(' is not closed" if token is None else _unexpected(token, "')'")
            self.position += 1
        self.depth -= 1
        return problem
