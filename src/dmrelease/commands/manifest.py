"""``dm-release manifest``: check versiondb build manifests (DESIGN.md §5).

The report is the output, so problems and the summary line go to stdout, in that order;
under ``--json`` they go to stderr and the document to stdout.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dmrelease.commands.machine import add_json_flag, emit, human, wants_json
from dmrelease.stages.verify import verify_files


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "manifest",
        help="check versiondb build manifests",
        description=(
            "Check versiondb build manifests (manifests/bNNNN.txt): their layout, the EUPS "
            "version of every package, the build order and the content hash."
        ),
    )
    commands = parser.add_subparsers(dest="manifest_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="recompute versions, build order and content hash of manifests",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Check each versiondb manifest: BUILD line, 40-hex SHAs, one line per package,\n"
            "deps listed in the manifest, the writer's exact layout; for the current scheme\n"
            "(b5927 on) every EUPS version and the exact build order (Kahn levels sorted by\n"
            "name), for older schemes dependencies before dependents; with --content-db the\n"
            "content hash recorded for the build. Prints one 'FILE:LINE: rule: message' per\n"
            "problem, then 'verified N manifests, M packages, K problems'.\n"
            "Exit status 0 if no problem, 1 if any, 2 if a file cannot be read.\n\n"
            "example:\n"
            "  $ dm-release manifest verify --content-db content_sha.db.txt manifests/b*.txt\n"
            "  verified 51 manifests, 5290 packages, 0 problems"
        ),
    )
    verify.add_argument(
        "--content-db",
        type=Path,
        metavar="FILE",
        help="versiondb content_sha.db.txt: check each content hash is recorded for its build",
    )
    verify.add_argument("manifests", nargs="+", type=Path, metavar="MANIFEST", help="bNNNN.txt")
    add_json_flag(verify, "the problems and the counts")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    report = verify_files(args.manifests, args.content_db)
    out = human(args)  # the report, on stderr under --json as every verb's human text
    for diagnostic in report.diagnostics:
        print(diagnostic, file=out)
    print(report, file=out)
    if wants_json(args):
        counts = {"manifests": report.manifests, "packages": report.packages}
        emit(args, {**counts, "problems": len(report.diagnostics)}, diagnostics=report.diagnostics)
    return 1 if report.diagnostics else 0
