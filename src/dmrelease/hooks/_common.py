"""What every hook shares: reading its files and printing diagnostics (STYLE.md habits 8, 9).

A hook's ``main`` parses its arguments, then hands a check to :func:`run_checks` (one call
per file) or :func:`run_check` (one call in all). Checks return diagnostics or raise a
:class:`~dmrelease.core.errors.DmReleaseError`; this module is the one place that maps
them to exit codes: 0 pass (prints nothing), 1 finding, 2 usage or environment error.
What a hook prints is redacted (core/redact.py): a repos.yaml URL with a password in it is
reported without the password.
"""

from __future__ import annotations

import argparse
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

#: (variables, what they are), as a hook's --help lists them
Variables = Sequence[tuple[tuple[str, ...], str]]


class HookParser(argparse.ArgumentParser):
    """A hook's parser: its ``--help`` ends with the environment variables the hook reads,
    as a verb's does (adapters/config's ``environment_help``, wrapped at spaces only like
    its ``HelpParser``): ``variables`` (the hook's own, declared next to it) then, with
    ``redacts`` (every hook that reports through :func:`run_check`), the credentials whose
    values it redacts. The config adapter is loaded only when help is printed: a hook's
    start-up stays as it was (issue 10)."""

    def __init__(
        self,
        *,
        variables: Variables = (),
        redacts: bool = True,
        none_read: str = "",
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.variables = tuple(variables)
        self.redacts = redacts
        self.none_read = none_read  # said after "none" when the hook reads no variable

    def format_help(self) -> str:
        # the verbs' wrapping, at spaces only: set here, not in _get_formatter, which
        # add_argument calls too (every hook would load the config adapter at start-up)
        from dmrelease.adapters.config import _whole_words

        formatter_class = self.formatter_class
        self.formatter_class = _whole_words(formatter_class)
        try:
            return f"{super().format_help()}\n{self.environment_section()}"
        finally:
            self.formatter_class = formatter_class

    def environment_section(self) -> str:
        """The "environment variables:" section of the hook's --help."""
        from dmrelease.adapters.config import environment_help

        groups = ("credentials",) if self.redacts else ()
        if not groups and not self.variables:
            return f"environment variables:\n  none{self.none_read}\n"
        return environment_help(groups, extra=self.variables)


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
#: --help of a hook that reads ./.git itself when git would (:func:`git_dir_is_plain`)
GIT_ELSEWHERE_HELP = (
    _GIT_ELSEWHERE,
    "when any is set, git may use another repository or more configuration than ./.git, "
    "so the hook asks git instead of reading ./.git itself",
)


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
