"""``dm-release``: the command-line front end (DESIGN.md §7).

Each verb group lives in :mod:`dmrelease.commands` and registers its sub-commands; this
module only builds the parser, dispatches, and maps exceptions to exit codes
(0 ok, 1 check failed, 2 usage or environment error, 130 interrupted). Everything printed,
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
from dmrelease.core.errors import CheckFailed, DmReleaseError
from dmrelease.core.redact import redact

#: verb groups, each a module of :mod:`dmrelease.commands` with ``register(subparsers)``
VERB_MODULES = ("tag", "table", "manifest", "demo", "rebuild", "release", "config")


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    with redacted_output(known_secrets()) as secrets:
        return _dispatch(build_parser(verbs_of(words)).parse_args(words), secrets)


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
    except DmReleaseError as exc:
        if args.verbose:
            say(traceback.format_exc().rstrip())
        say(f"dm-release: error: {exc}")
        return failed(exc, exc.exit_code)
    except Exception as exc:  # a bug: its traceback, redacted (its values may hold a URL)
        say(traceback.format_exc().rstrip())
        return failed(exc, 1)
