"""Where things are in a TOML text: tomllib gives values without positions.

One pass over the lines builds an index of ``[section]`` headers, ``key =`` lines and
string literals, so that finding the line of each of N keys costs N lookups, not N scans
of the file (a config with 4,000 keys took 15 s that way; issue 8: bounded time).
Lines are those of :func:`dmrelease.core.limits.split_lines`; lines and columns are 1-based.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass, field

from dmrelease.core.limits import split_lines

__all__ = [
    "TomlLines",
]

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
_QUOTES = "\"'"
_QUOTE = re.compile(r"[\"']")
_HEADER = re.compile(r"\[([^\[\]]*)\]")


@dataclass
class TomlLines:
    """The index of one TOML text."""

    text: str
    #: normalized header (``[a.b]``, no quotes or blanks) -> first line
    headers: dict[str, int] = field(default_factory=dict)
    #: section of a ``[ section ]`` header line (quotes and blanks around it dropped) -> line
    sections: dict[str, int] = field(default_factory=dict)
    #: (section as tomllib names it, key) -> first line of ``key =`` in that section
    keys_in: dict[tuple[str, str], int] = field(default_factory=dict)
    #: key -> every line of ``key =``, ascending
    keys: dict[str, list[int]] = field(default_factory=dict)
    #: string value -> every (line, column of its opening quote + 1), ascending
    strings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        current = ""
        for number, line in enumerate(split_lines(self.text), start=1):
            stripped = line.strip()
            self.headers.setdefault(stripped.replace('"', "").replace(" ", ""), number)
            if stripped.startswith("[") and not stripped.startswith("[["):
                header = _HEADER.match(stripped)
                current = (header[1] if header else stripped.strip("[]")).strip().replace('"', "")
                self.sections.setdefault(current, number)
                continue
            for key in _keys_of(stripped):
                self.keys_in.setdefault((current, key), number)
                self.keys.setdefault(key, []).append(number)
            for start, literal in _literals(line):
                value = _string_value(literal)
                if value is not None:
                    self.strings.setdefault(value, []).append((number, start + 2))

    def key_line(self, section: str, key: str) -> int | None:
        """The line of ``key =`` (or ``"key" =``) inside ``[section]``."""
        return self.keys_in.get((section, key))

    def section_line(self, section: str) -> int | None:
        """The line of the ``[section]`` header (a comment may follow it)."""
        return self.sections.get(section)

    def key_after(self, key: str, line: int) -> int | None:
        """The first line at or after ``line`` with ``key =``."""
        lines = self.keys.get(key, [])
        index = bisect.bisect_left(lines, line)
        return lines[index] if index < len(lines) else None

    def string_after(self, value: str, line: int) -> tuple[int, int] | None:
        """(line, column) of the first string literal holding ``value`` at or after
        ``line`` (the column is that of the value, after the quote)."""
        places = self.strings.get(value, [])
        index = bisect.bisect_left(places, (line, 0))
        return places[index] if index < len(places) else None


def _literals(line: str) -> list[tuple[int, str]]:
    """(offset, text) of the one-line string literals of ``line``, left to right; the scan
    stops at a quote that is never closed (the rest is a comment or invalid), so it reads
    each character once."""
    found: list[tuple[int, str]] = []
    index = 0
    while True:
        quote = _QUOTE.search(line, index)
        if quote is None:
            return found
        match = _STRING.match(line, quote.start())
        if match is None:
            return found
        found.append((match.start(), match.group()))
        index = match.end()


def _keys_of(stripped: str) -> list[str]:
    """The keys a ``^["']?KEY["']?\\s*=`` pattern finds on a stripped line."""
    equals = stripped.find("=")
    if equals <= 0:
        return []
    head = stripped[:equals].rstrip()
    keys = {head}
    if head[:1] in _QUOTES:
        keys.add(head[1:])
    if head[-1:] in _QUOTES:
        keys.add(head[:-1])
        if head[:1] in _QUOTES:
            keys.add(head[1:-1])
    return [key for key in keys if key]


def _string_value(literal: str) -> str | None:
    """The value of a one-line TOML string literal (escapes decoded); None if invalid."""
    if literal[0] == "'" or "\\" not in literal:
        return literal[1:-1]
    try:
        value = tomllib.loads(f"v = {literal}")["v"]
    except (tomllib.TOMLDecodeError, ValueError):
        return None
    return value if isinstance(value, str) else None
