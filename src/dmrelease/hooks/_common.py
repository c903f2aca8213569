"""What every hook shares: reading its files and printing diagnostics (STYLE.md habits 8, 9).

A hook's ``main`` parses its arguments, then hands a check to :func:`run_checks` (one call
per file) or :func:`run_check` (one call in all). Checks return diagnostics or raise a
:class:`~dmrelease.core.errors.DmReleaseError`; this module is the one place that maps
them to exit codes: 0 pass (prints nothing), 1 finding, 2 usage or environment error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence

from dmrelease.core.errors import CheckFailed, Diagnostic, ParseError, UsageError, decode_utf8

#: a check of one file: (path as given, its text) -> problems found
FileCheck = Callable[[str, str], list[Diagnostic]]


def report(diagnostics: Iterable[Diagnostic]) -> int:
    """Print each diagnostic on stderr as ``FILE:LINE[:COL]: rule: message (hint)``."""
    found = 0
    for diagnostic in diagnostics:
        print(diagnostic, file=sys.stderr)
        found = 1
    return found


def read_text(path: str) -> str:
    """The text of ``path``; a file that cannot be read is an environment error (exit 2)."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from exc
    return decode_utf8(data, path)


def run_check(prog: str, check: Callable[[], list[Diagnostic]]) -> int:
    """Run ``check`` and map its outcome to an exit code (the hooks' one handler)."""
    try:
        return report(check())
    except CheckFailed as exc:
        return report(exc.diagnostics)
    except ParseError as exc:
        return report([exc.diagnostic])
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def run_checks(prog: str, paths: Sequence[str], check: FileCheck) -> int:
    """Check every file in ``paths``; a parse error stops only its own file."""

    def each() -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for path in paths:
            try:
                found.extend(check(path, read_text(path)))
            except CheckFailed as exc:
                found.extend(exc.diagnostics)
            except ParseError as exc:
                found.append(exc.diagnostic)
        return found

    return run_check(prog, each)
