"""Size and depth limits of every file dm-release reads (issue 8: bounded time, no traceback).

Each reader refuses input beyond these limits with a diagnostic instead of running out of
memory, time or stack:

- ``file-too-large``: a file over :data:`MAX_FILE_BYTES` (32 MiB; the largest real input,
  versiondb's ``content_sha.db.txt`` of 8,000 builds, is under 1 MiB);
- ``file-too-deep``: JSON (plans, journals, locks), TOML (``dm-release.toml``,
  ``pyproject.toml``) or YAML (repos.yaml, conda environments, products files) nested
  deeper than :data:`MAX_DEPTH` (64) arrays/tables/mappings; table ``if`` conditions
  nested deeper than :data:`MAX_CONDITION_DEPTH` (32) parentheses, ``!`` or junctions.

Every reader is linear in its input: a line is split only at ``\\n`` (``\\r\\n`` and a
lone ``\\r`` too, as Python's text files and so EUPS read them), see :func:`split_lines`.
"""

from __future__ import annotations

import re

from dmrelease.core.errors import Diagnostic, ParseError, decode_utf8

#: typing.TYPE_CHECKING without importing typing; json and tomllib load in the readers that
#: use them: a hook over a table file or a repos.yaml loads none of them (issue 10)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MAX_CONDITION_DEPTH",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "bracket_depth_error",
    "check_size",
    "decode_text",
    "load_json",
    "load_toml",
    "position",
    "split_lines",
    "too_deep",
]

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 64
MAX_CONDITION_DEPTH = 32
_LONG_NUMBER = re.compile(r"(?<![0-9_])[0-9_]{4300,}")
_TOML_POSITION = re.compile(r"\(at line ([0-9]+), column ([0-9]+)\)|\(at end of document\)")


def decode_text(data: bytes, path: str) -> str:
    """``data`` as UTF-8 text, refusing files over :data:`MAX_FILE_BYTES` (``file-too-large``)
    and bytes that are not UTF-8 (``file-encoding``)."""
    check_size(len(data), path)
    return decode_utf8(data, path)


def check_size(size: int, path: str) -> None:
    """Raise ``file-too-large`` when ``size`` (bytes or characters) passes the limit."""
    if size > MAX_FILE_BYTES:
        message = f"{size} bytes: larger than dm-release reads ({MAX_FILE_BYTES} bytes)"
        raise ParseError(Diagnostic(path, 1, "file-too-large", message, 1))


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as a text file has them: ends are ``\\n``, ``\\r\\n`` or a lone
    ``\\r`` (Python's universal newlines, which EUPS's ``open(tableFile).readlines()`` uses),
    never U+0085, U+2028, form feed or the other breaks of :meth:`str.splitlines`."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``text[offset]``, lines as :func:`split_lines` counts them."""
    offset = max(0, min(offset, len(text)))
    head = text[:offset].replace("\r\n", "\n").replace("\r", "\n")
    return head.count("\n") + 1, len(head) - head.rfind("\n")


def too_deep(path: str, line: int, column: int | None, what: str, limit: int) -> ParseError:
    """The ``file-too-deep`` error at a place."""
    message = f"{what} nested deeper than {limit} levels: dm-release reads no deeper"
    return ParseError(Diagnostic(path, line, "file-too-deep", message, column))


def bracket_depth_error(text: str, path: str, what: str, strings: str = '"') -> None:
    """Raise ``file-too-deep`` where ``[``/``{`` nesting outside strings passes
    :data:`MAX_DEPTH`. ``strings`` are the quote characters (a backslash escapes inside
    ``"``); for TOML ``#`` comments are skipped too. Linear, checked before a recursive
    parser (``json``, ``tomllib``) could overflow the stack."""
    depth, quote, index, toml = 0, "", 0, "'" in strings
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in strings:
            quote = char
        elif toml and char == "#":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise too_deep(path, *position(text, index), what, MAX_DEPTH)
        elif char in "]}":
            depth -= 1
        index += 1


def load_json(text: str, path: str, rule: str) -> Any:
    """``json.loads(text)`` within the limits; a syntax error is ``rule`` at its line and
    column, too much nesting ``file-too-deep``."""
    import json

    check_size(len(text), path)
    bracket_depth_error(text, path, "JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line, column = position(text, exc.pos)
        raise ParseError(Diagnostic(path, line, rule, f"not JSON: {exc.msg}", column)) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise too_deep(path, 1, None, "JSON", MAX_DEPTH) from None


def load_toml(text: str, path: str, rule: str) -> dict[str, Any]:
    """``tomllib.loads(text)`` within the limits; a syntax error is ``rule`` at the line and
    column tomllib names (the last line at the end of the document)."""
    import tomllib

    check_size(len(text), path)
    bracket_depth_error(text, path, "TOML", strings="\"'")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_POSITION.search(str(exc))
        if where and where[1]:
            line, column = int(where[1]), int(where[2])
        else:
            line, column = max(len(split_lines(text)), 1), None
        message = f"not valid TOML: {_TOML_POSITION.sub('', str(exc)).strip()}"
        raise ParseError(Diagnostic(path, line, rule, message, column)) from None
    except ValueError as exc:  # an integer of more than 4300 digits (int_max_str_digits)
        digits = _LONG_NUMBER.search(text)
        line, column = position(text, digits.start()) if digits else (1, None)
        raise ParseError(Diagnostic(path, line, rule, f"not valid TOML: {exc}", column)) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise too_deep(path, 1, None, "TOML", MAX_DEPTH) from None
