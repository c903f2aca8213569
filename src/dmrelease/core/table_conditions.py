"""Conditions of EUPS table ``if (…) {`` blocks: parse, evaluate, print (DESIGN.md §4).

The grammar and the evaluation follow EUPS's ``VersionParser`` (RobertLuptonTheGood/eups,
``python/eups/VersionParser.py``), which ``Table.actions`` runs with ``flavor`` and ``type``
defined:

- names are looked up case-insensitively: ``FLAVOR``/``flavor`` is the build flavor and
  ``TYPE``/``type`` the build type; any other word is a literal value, as is ``type`` when
  no build type is given (so ``type == build`` is false and ``type != build`` true);
- quotes (``'…'`` or ``"…"``) around a value are dropped before tokenising, so a quoted
  value is one word of letters, digits, ``_``, ``.``, ``+`` like a bare one;
- operators ``==``, ``!=``, ``=~``, ``!~`` (the right side, itself one such word, is a
  regular expression searched in the left), ``<``, ``<=``, ``>``, ``>=``; ``||``/``or`` and
  ``&&``/``and`` share one precedence and EUPS's short-circuit loop makes them associate to
  the right (``a && b || c`` is ``a && (b || c)``); ``!``/``not`` negates everything after
  it; ``True``/``False``.

EUPS silently evaluates nonsense (``flavor = Linux`` is always true, ``Linux-64`` is read as
``Linux``, ``flavor =~ ^Linux`` searches ``^`` and matches every flavor); dm-release rejects
it with rule ``table-bad-condition`` (or ``table-unbalanced-paren``) and says how to write
the condition. It also rejects ``${VAR}``, which EUPS reads from the environment: the
dependencies of a table must not depend on who computes them. A condition nested deeper
than :data:`~dmrelease.core.limits.MAX_CONDITION_DEPTH` levels (``(``, ``!``, each
``||``/``&&``) is ``file-too-deep``; so is a legacy block with more ``Flavor =`` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmrelease.core.limits import MAX_CONDITION_DEPTH
from dmrelease.core.user_regex import BadRegex, compile_user_regex

__all__ = [
    "Comparison",
    "Condition",
    "ConditionError",
    "Constant",
    "Group",
    "Junction",
    "Not",
    "any_of_flavors",
    "evaluate",
    "parse_condition",
]

_WORD = re.compile(r"[\w.+]+")
_COMPARISONS = ("==", "!=", "=~", "!~", "<=", ">=", "<", ">")
_JUNCTIONS = {"||": "||", "or": "||", "&&": "&&", "and": "&&"}
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<op>\|\||&&|==|!=|=~|!~|<=|>=|[()<>!])
      | (?P<env>\$\??\{[^}]*\}?)
      | (?P<quoted>"[^"]*"?|'[^']*'?)
      | (?P<word>[\w.+]+)""",
    re.VERBOSE,
)
_STRAY = {
    "=": "`=` is not a comparison: write `==`",
    "|": "`|` is not an operator: write `||`",
    "&": "`&` is not an operator: write `&&`",
}


class ConditionError(Exception):
    """A bad condition; ``offset`` is the 0-based position in the condition text."""

    def __init__(self, message: str, offset: int, rule: str = "table-bad-condition") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.rule = rule


@dataclass(frozen=True)
class Constant:
    """``True`` or ``False``."""

    value: bool

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Comparison:
    """``left op right``; either side may name ``flavor`` or ``type``."""

    left: str
    op: str
    right: str

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class Group:
    """A parenthesised condition."""

    inner: Condition

    def __str__(self) -> str:
        return f"({self.inner})"


@dataclass(frozen=True)
class Not:
    """``! condition``: negates the whole rest of the condition, as in EUPS."""

    operand: Condition

    def __str__(self) -> str:
        return f"! {self.operand}"


@dataclass(frozen=True)
class Junction:
    """``left || right`` or ``left && right`` (right-associative, see module docstring)."""

    op: str
    left: Condition
    right: Condition

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


Condition = Constant | Comparison | Group | Not | Junction


def any_of_flavors(flavors: list[str], *, group: bool = False) -> Condition:
    """``FLAVOR == a || FLAVOR == b …`` as EUPS's ``Table._rewrite`` builds for legacy
    ``Flavor = X`` lines; in ``Group:`` blocks ``ANY`` matches every flavor (EUPS writes
    ``FLAVOR =~ .*``, which its tokeniser reads as ``=~ .``: true for any flavor)."""
    terms: list[Condition] = [
        Constant(True) if group and f.lower() == "any" else Comparison("FLAVOR", "==", f)
        for f in flavors
    ]
    condition = terms[-1]
    for term in reversed(terms[:-1]):
        condition = Junction("||", term, condition)
    return condition


def evaluate(condition: Condition, flavor: str, build_type: str | None) -> bool:
    """The value of ``condition`` for a build flavor and type (EUPS ``VersionParser.eval``)."""
    match condition:
        case Constant(value):
            return value
        case Group(inner):
            return evaluate(inner, flavor, build_type)
        case Not(operand):
            return not evaluate(operand, flavor, build_type)
        case Junction("||", left, right):
            return evaluate(left, flavor, build_type) or evaluate(right, flavor, build_type)
        case Junction(_, left, right):
            return evaluate(left, flavor, build_type) and evaluate(right, flavor, build_type)
        case Comparison(left, op, right):
            return _compare(_lookup(left, flavor, build_type), op, right, flavor, build_type)
    raise AssertionError(condition)  # pragma: no cover


def _lookup(name: str, flavor: str, build_type: str | None) -> str:
    key = name.lower()
    if key == "flavor":
        return flavor
    if key == "type" and build_type is not None:
        return build_type
    return name


def _compare(lhs: str, op: str, right: str, flavor: str, build_type: str | None) -> bool:
    if op in ("=~", "!~"):
        return (re.search(right, lhs) is not None) == (op == "=~")
    rhs = _lookup(right, flavor, build_type)
    if op == "==":
        return lhs == rhs
    if op == "!=":
        return lhs != rhs
    left_number, right_number = _number(lhs), _number(rhs)
    if left_number is not None and right_number is not None:  # VersionParser: ints as ints
        return _ordered(left_number, op, right_number, numbers=True)
    return _ordered(lhs, op, rhs)


def _number(text: str) -> str | None:
    """ASCII digits without their leading zeros, or None. Compared by length, then text,
    they order as integers do, without ``int()``, which refuses 4,300 digits and raises on
    ``isdigit`` characters such as ``²``."""
    if not (text.isascii() and text.isdigit()):
        return None
    return text.lstrip("0") or "0"


def _ordered(a: str, op: str, b: str, *, numbers: bool = False) -> bool:
    key_a, key_b = ((len(a), a), (len(b), b)) if numbers else ((0, a), (0, b))
    return {"<": key_a < key_b, "<=": key_a <= key_b, ">": key_a > key_b, ">=": key_a >= key_b}[op]


@dataclass(frozen=True)
class _Token:
    kind: str  # "op", "word", "quoted"
    text: str
    offset: int

    @property
    def value(self) -> str:
        return self.text[1:-1] if self.kind == "quoted" else self.text


def parse_condition(text: str) -> Condition:
    """Parse the text between ``if (`` and ``) {``; raises :class:`ConditionError`."""
    parser = _Parser(_tokenize(text), len(text))
    if not parser.tokens:
        raise ConditionError("empty condition: write e.g. `flavor == Linux64`", 0)
    condition = parser.expr()
    if parser.pos < len(parser.tokens):
        token = parser.tokens[parser.pos]
        if token.text == ")":
            raise ConditionError("unmatched `)`: remove it", token.offset, "table-unbalanced-paren")
        raise ConditionError(
            f"unexpected `{token.text}`: join comparisons with `&&` or `||`", token.offset
        )
    return condition


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ConditionError(_unexpected(text[pos], tokens), pos)
        kind = match.lastgroup or ""
        if kind == "env":
            raise ConditionError(
                f"environment variable `{match.group()}` in a condition: dm-release computes "
                "dependencies without the environment; compare `flavor` or `type` instead",
                pos,
            )
        if kind == "quoted":
            _check_quoted(match.group(), pos)
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _unexpected(char: str, tokens: list[_Token]) -> str:
    if char in _STRAY:
        return _STRAY[char]
    if tokens and tokens[-1].text in ("=~", "!~"):
        return (
            f"`{char}` in a pattern: EUPS reads `=~` patterns as one word of letters, digits, "
            "`_`, `.` and `+` and would search something else; write a word such as `Linux`"
        )
    return (
        f"unexpected `{char}`: EUPS reads values as words of letters, digits, "
        "`_`, `.` and `+` (quoting does not help)"
    )


def _check_quoted(text: str, pos: int) -> None:
    if len(text) < 2 or text[-1] != text[0]:
        raise ConditionError(f"unterminated quote `{text[0]}`: close it", pos)
    if not _WORD.fullmatch(text[1:-1]):
        raise ConditionError(
            f"quoted value {text} is not one word: EUPS splits values at anything but "
            "letters, digits, `_`, `.` and `+`",
            pos,
        )


def _check_pattern(token: _Token) -> None:
    try:
        compile_user_regex(token.value)
    except BadRegex as exc:
        raise ConditionError(str(exc), token.offset) from None


class _Parser:
    """Recursive descent over tokens: ``expr := ("!"|"not") expr | term [junction expr]``,
    ``term := "(" expr ")" | value [comparison value] | True | False``."""

    def __init__(self, tokens: list[_Token], end: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end = end
        self.depth = 0

    def nested(self, token: _Token | None) -> None:
        """One level deeper: ``(``, ``!`` and each junction nest (the tree is right-deep)."""
        self.depth += 1
        if self.depth > MAX_CONDITION_DEPTH:
            raise ConditionError(
                f"the condition is nested deeper than {MAX_CONDITION_DEPTH} levels of `(`, "
                "`!` and `||`/`&&`: dm-release reads no deeper",
                token.offset if token is not None else self.end,
                "file-too-deep",
            )

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ConditionError("the condition ends too early: complete it", self.end)
        self.pos += 1
        return token

    def expr(self) -> Condition:
        token = self.peek()
        self.nested(token)
        try:
            if token is not None and token.text in ("!", "not"):
                self.pos += 1
                return Not(self.expr())
            left = self.term()
            token = self.peek()
            if token is not None and token.text in _JUNCTIONS:
                self.pos += 1
                return Junction(_JUNCTIONS[token.text], left, self.expr())
            return left
        finally:
            self.depth -= 1

    def term(self) -> Condition:
        token = self.take()
        if token.text == "(":
            inner = self.expr()
            close = self.peek()
            if close is None or close.text != ")":
                raise ConditionError(
                    "`(` is never closed: add `)`", token.offset, "table-unbalanced-paren"
                )
            self.pos += 1
            return Group(inner)
        if token.kind not in ("word", "quoted"):
            raise self._misplaced(token)
        following = self.peek()
        if following is not None and following.text in _COMPARISONS:
            self.pos += 1
            right = self.take()
            if right.kind not in ("word", "quoted"):
                raise ConditionError(f"`{following.text}` needs a value on its right", right.offset)
            if following.text in ("=~", "!~"):
                _check_pattern(right)
            return Comparison(token.value, following.text, right.value)
        if token.kind == "word" and token.text in ("True", "False"):
            return Constant(token.text == "True")
        raise ConditionError(
            f"`{token.text}` is not a condition: compare it, e.g. `flavor == Linux64`",
            token.offset,
        )

    def _misplaced(self, token: _Token) -> ConditionError:
        if token.text == ")":
            return ConditionError(
                "unmatched `)`: remove it", token.offset, "table-unbalanced-paren"
            )
        return ConditionError(
            f"expected a comparison such as `flavor == Linux64`, found `{token.text}`",
            token.offset,
        )
