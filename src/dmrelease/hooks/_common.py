"""What every hook shares: reading its files and printing diagnostics (STYLE.md habits 8, 9).

A hook's ``main`` parses its arguments, then hands a check to :func:`run_checks` (one call
per file) or :func:`run_check` (one call in all). Checks return diagnostics or raise a
:class:`~dmrelease.core.errors.DmReleaseError`; this module is the one place that maps
them to exit codes: 0 pass (prints nothing), 1 finding, 2 usage or environment error.
What a hook prints is redacted (core/redact.py): a repos.yaml URL with a password in it is
reported without the password.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable, Sequence

from dmrelease.core.errors import (
    CheckFailed,
    Diagnostic,
    DmReleaseError,
    ParseError,
    UsageError,
)
from dmrelease.core.limits import decode_text
from dmrelease.core.redact import redact

#: a check of one file: (path as given, its text) -> problems found
FileCheck = Callable[[str, str], list[Diagnostic]]


def report(diagnostics: Iterable[Diagnostic], secrets: Sequence[str] = ()) -> int:
    """Print each diagnostic on stderr as ``FILE:LINE[:COL]: rule: message (hint)``,
    redacted."""
    found = 0
    for diagnostic in diagnostics:
        print(redact(str(diagnostic), secrets), file=sys.stderr)
        found = 1
    return found


def read_text(path: str) -> str:
    """The text of ``path``; a file that cannot be read is an environment error (exit 2)."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from exc
    return decode_text(data, path)


def run_check(prog: str, check: Callable[[], list[Diagnostic]]) -> int:
    """Run ``check`` and map its outcome to an exit code (the hooks' one handler);
    everything printed meanwhile is redacted."""
    # imported here: the config adapter is the one reader of the environment
    from dmrelease.adapters.config import known_secrets
    from dmrelease.adapters.output import redacted_output

    with redacted_output(known_secrets()) as secrets:
        try:
            return report(check(), secrets)
        except CheckFailed as exc:
            return report(exc.diagnostics, secrets)
        except ParseError as exc:
            return report([exc.diagnostic], secrets)
        except DmReleaseError as exc:  # usage, environment, git
            print(redact(f"{prog}: error: {exc}", secrets), file=sys.stderr)
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


#: variables that make git use another repository than ./.git, or read more configuration
#: than its own
_GIT_ELSEWHERE = ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE", "GIT_CONFIG",
                  "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS")  # fmt: skip


def git_dir_is_plain() -> bool:
    """Whether ``./.git`` is plainly the repository git would use here, to be read as git
    reads it: a hook runs at the top of the work tree, the directory is this user's (git
    ignores another's) and no variable points git elsewhere; False: ask git."""
    if any(name in os.environ for name in _GIT_ELSEWHERE):
        return False
    try:
        found = os.stat(".git")
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.geteuid()
