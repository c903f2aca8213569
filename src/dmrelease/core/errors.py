"""The exception hierarchy and the diagnostic every check reports (STYLE.md habits 8, 9).

Exceptions travel up to one handler per entry point, which maps them to exit codes:
:class:`CheckFailed` and :class:`ParseError` to 1, :class:`UsageError` to 2.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CheckFailed",
    "Diagnostic",
    "DmReleaseError",
    "ParseError",
    "UsageError",
    "decode_utf8",
]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place: rendered ``FILE:LINE[:COL]: rule: message (hint)``."""

    path: str
    line: int
    rule: str
    message: str
    column: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.column is not None:
            where += f":{self.column}"
        text = f"{where}: {self.rule}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class DmReleaseError(Exception):
    """Base of every error dm-release raises on purpose; ``exit_code`` is for the edge."""

    exit_code = 1


class CheckFailed(DmReleaseError):
    """A check found problems; carries all of them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class ParseError(DmReleaseError):
    """Text that does not follow its format; points at the bad text."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(str(diagnostic))


class UsageError(DmReleaseError):
    """Bad arguments or environment (missing file, missing credential): exit 2."""

    exit_code = 2


def decode_utf8(data: bytes, path: str) -> str:
    """``data`` as text; bytes that are not UTF-8 are a ``file-encoding`` problem at the
    line they are on (every file dm-release reads is UTF-8: tables, manifests, YAML)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text ({exc.reason})"
        problem = Diagnostic(path, line, "file-encoding", message, hint="save it as UTF-8")
        raise ParseError(problem) from None
