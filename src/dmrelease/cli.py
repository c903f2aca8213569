"""``dm-release``: the command-line front end (DESIGN.md §7).

Each verb group lives in :mod:`dmrelease.commands` and registers its sub-commands; this
module only builds the parser, dispatches, and maps exceptions to exit codes
(0 ok, 1 check failed, 2 usage or environment error, a configuration that does not
load too, 130 interrupted). Everything printed,
a traceback too, passes through the one redaction (core/redact.py): no credential of a
URL or of the environment reaches the terminal or a Jenkins log.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module

from dmrelease import __version__
from dmrelease.adapters.config import HelpParser, known_secrets
from dmrelease.adapters.output import redacted_output
from dmrelease.core.errors import CheckFailed, DmReleaseError, ParseError
from dmrelease.core.redact import redact

#: verb groups, each a module of :mod:`dmrelease.commands` with ``register(subparsers)``
VERB_MODULES = (
    "tag", "table", "manifest", "demo", "rebuild", "publish", "tarball", "docker", "release",
    "doctor", "config", "jenkins", "announce", "status", "notes", "jira",
)  # fmt: skip

#: the shells ``dm-release completion`` writes a script for (shtab's static scripts)
SHELLS = ("bash", "zsh", "tcsh")


def verbs_of(argv: Sequence[str]) -> tuple[str, ...]:
    """The verb modules a command line needs: the one it names, when its first word past
    ``--verbose`` is a verb (a command loads only its own: ``rebuild`` then imports no tag,
    table, release or demo code, ~15 ms of every start-up); every one otherwise (``--help``,
    ``--version``, an abbreviated option, a misspelt verb: the parser lists them all)."""
    for word in argv:
        if word != "--verbose":
            return (word,) if word in VERB_MODULES else VERB_MODULES
    return VERB_MODULES


def build_parser(verbs: Sequence[str] = VERB_MODULES) -> argparse.ArgumentParser:
    """The parser of ``verbs`` (every verb by default; :func:`main` passes the one the
    command line names, see :func:`verbs_of`)."""
    parser = HelpParser(  # its --help and each verb's end with their environment variables
        prog="dm-release",
        description="Release engineering for multi-repository EUPS products (DMTN-106).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name in verbs:
        import_module(f"dmrelease.commands.{name}").register(subparsers)
    completion = subparsers.add_parser(
        "completion",
        help="print the shell completion script for bash, zsh or tcsh",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Print a completion script of every verb, option and choice. The script is\n"
            "static: completing a word runs no Python. Load it from your shell's start-up.\n\n"
            "examples:\n"
            '  bash: eval "$(dm-release completion bash)"   (in ~/.bashrc)\n'
            "  zsh:  dm-release completion zsh > ~/.zfunc/_dm-release\n"
            "        (with fpath+=~/.zfunc before compinit in ~/.zshrc)\n"
            "  tcsh: dm-release completion tcsh > ~/.dm-release.tcsh; source it in ~/.tcshrc"
        ),
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell")
    completion.set_defaults(handler=lambda args: _print_completion(parser, args.shell))
    return parser


def _print_completion(parser: argparse.ArgumentParser, shell: str) -> int:
    """The script of ``parser``; arguments that name a file (``type=Path``) complete
    file names. shtab is imported only here: no other verb pays for it."""
    from pathlib import Path

    import shtab

    for action in _actions(parser):
        if action.type is Path and not action.choices:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    sys.stdout.write(shtab.complete(parser, shell=shell))
    return 0


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every argument of ``parser`` and of its sub-commands, at any depth."""
    found = []
    for action in parser._actions:
        found.append(action)
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _actions(sub)
    return found


#: the exit status of a command whose reader went away (``dm-release ... | head``), as a
#: shell reports a process killed by SIGPIPE
BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        with redacted_output(known_secrets()) as secrets:
            return _dispatch(build_parser(verbs_of(words)).parse_args(words), secrets)
    except BrokenPipeError:  # no traceback: the reader has all it wanted
        import contextlib
        import os

        # what is still buffered must not fail again when the interpreter flushes stdout
        # (a stdout that is no file, a test's capture, has nothing left to fail)
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE


def _dispatch(args: argparse.Namespace, secrets: Sequence[str]) -> int:
    def say(text: str) -> None:
        print(redact(text, secrets), file=sys.stderr)

    def failed(error: BaseException, code: int) -> int:
        if getattr(args, "json", False):  # the document of the failure, on stdout
            from dmrelease.commands.machine import emit_failure

            emit_failure(args, error)
        return code

    try:
        return int(args.handler(args))
    except KeyboardInterrupt as exc:
        say("dm-release: interrupted")
        return failed(exc, 130)
    except CheckFailed as exc:
        for diagnostic in exc.diagnostics:
            say(str(diagnostic))
        return failed(exc, exc.exit_code)
    except ParseError as exc:  # a diagnostic line, as a check's: no "error:" before it
        say(str(exc.diagnostic))
        return failed(exc, exc.exit_code)
    except DmReleaseError as exc:
        if args.verbose:
            say(traceback.format_exc().rstrip())
        say(f"dm-release: error: {exc}")
        return failed(exc, exc.exit_code)
    except BrokenPipeError:
        raise  # not a bug: main ends quietly
    except Exception as exc:  # a bug: its traceback, redacted (its values may hold a URL)
        say(traceback.format_exc().rstrip())
        return failed(exc, 1)
