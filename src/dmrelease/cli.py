"""``dm-release``: the command-line front end (DESIGN.md §7).

Each verb group lives in :mod:`dmrelease.commands` and registers its sub-commands; this
module only builds the parser, dispatches, and maps exceptions to exit codes
(0 ok, 1 check failed, 2 usage or environment error, 130 interrupted).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from dmrelease import __version__
from dmrelease.core.errors import CheckFailed, DmReleaseError

#: verb groups, each a module of :mod:`dmrelease.commands` with ``register(subparsers)``
VERB_MODULES = ("tag", "table", "manifest", "demo", "rebuild", "release")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dm-release",
        description="Release engineering for multi-repository EUPS products (DMTN-106).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks for errors")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name in VERB_MODULES:
        import_module(f"dmrelease.commands.{name}").register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("dm-release: interrupted", file=sys.stderr)
        return 130
    except CheckFailed as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return exc.exit_code
    except DmReleaseError as exc:
        if args.verbose:
            raise
        print(f"dm-release: error: {exc}", file=sys.stderr)
        return exc.exit_code
