"""``dm-release table``: read EUPS table files (DESIGN.md §4).

The edge of :mod:`dmrelease.core.tables`: it reads the files, the core parses them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dmrelease.commands.machine import add_json_flag, emit, wants_json
from dmrelease.core.errors import CheckFailed, ParseError, UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.tables import ExclusionMap, TableFile, TableParseError, parse_table

_Parsed = TypeVar("_Parsed", TableFile, ExclusionMap)

_DEPS_EXAMPLE = """\
output: one line per dependency, NAME<TAB>required|optional, in table order.

examples:
  $ dm-release table deps ups/afw.table --exclusion-map etc/exclusions.txt
  daf_base\trequired
  ...
  pyfits\toptional
  afwdata\toptional
  $ dm-release table deps ups/foo.table --flavor DarwinX86 --build-type build

exit status: 0 ok, 1 the table (or exclusion map) has problems, each printed on stderr as
FILE:LINE:COL: rule: message; 2 a file cannot be read.
"""


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "table",
        help="read EUPS table files (ups/<product>.table)",
        description="Read EUPS table files as EUPS does and report what they declare.",
    )
    commands = parser.add_subparsers(dest="table_command", metavar="COMMAND", required=True)
    deps = commands.add_parser(
        "deps",
        help="list the dependencies a table file declares for a flavor and build type",
        description=(
            "List the products a table file sets up (setupRequired/setupOptional) for one\n"
            "flavor and build type, after its if/else blocks. The eups version check is never\n"
            "listed; --external products only with --include-external."
        ),
        epilog=_DEPS_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deps.add_argument("file", metavar="FILE", type=Path, help="the table file")
    deps.add_argument(
        "--flavor",
        default="Linux64",
        help="the EUPS flavor that conditions such as if (flavor == Linux64) test "
        "(default: %(default)s)",
    )
    deps.add_argument(
        "--build-type",
        metavar="TYPE",
        help="the EUPS build type that conditions such as if (type == build) test",
    )
    deps.add_argument(
        "--exclusion-map",
        metavar="FILE",
        type=Path,
        help="an lsst-build exclusion map, lines of a dependency regex and a product regex: "
        "optional dependencies it matches are left out",
    )
    deps.add_argument(
        "--product",
        help="the table's product, for --exclusion-map (default: FILE's name without .table)",
    )
    deps.add_argument(
        "--include-external", action="store_true", help="also list --external dependencies"
    )
    add_json_flag(deps, "the dependencies")
    deps.set_defaults(handler=run_deps)


def run_deps(args: argparse.Namespace) -> int:
    table = _parsed(args.file, parse_table)
    exclusions = None
    if args.exclusion_map is not None:
        exclusions = _parsed(args.exclusion_map, ExclusionMap.parse)
        if not (args.product or table.product_name):
            raise UsageError(f"{args.file}: not named <product>.table; give --product")
    dependencies = table.dependencies(
        args.flavor,
        args.build_type,
        include_external=args.include_external,
        exclusions=exclusions,
        product=args.product,
    )
    if wants_json(args):
        listed = [
            {"name": d.name, "kind": d.kind, "constraint": d.constraint or None, "line": d.line}
            for d in dependencies
        ]
        product = args.product or table.product_name
        emit(args, {
            "file": str(args.file), "product": product, "flavor": args.flavor,
            "build_type": args.build_type, "dependencies": listed,
        })  # fmt: skip
        return 0
    for dependency in dependencies:
        print(f"{dependency.name}\t{dependency.kind}")
    return 0


def _parsed(path: Path, parse: Callable[[str, str], _Parsed]) -> _Parsed:
    """Read ``path`` and parse it; unreadable files are usage errors (exit 2), problems in
    them a failed check (exit 1, one ``FILE:LINE:COL: rule: message`` line each)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return parse(decode_text(data, str(path)), str(path))
    except TableParseError as exc:
        raise CheckFailed(list(exc.diagnostics)) from None
    except ParseError as exc:
        raise CheckFailed([exc.diagnostic]) from None
