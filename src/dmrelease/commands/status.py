"""``dm-release status RELEASE``: where a release stands, as a table, a page or JSON (read-only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import add_config_option, add_option_flags, flag_values
from dmrelease.commands.machine import add_json_flag, emit, human

FLAGS = ("release_issue",)


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "status",
        help="show where a release stands: tags, journal, validation, Jira, dependency graph",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Show where a release stands, reading only: per package the release's tags on\n"
            "its remote (at the planned SHA, elsewhere, or missing) and its step in the\n"
            "journal of the release's session (planned, tagged, pushed); the session's stages\n"
            "(tagged, pushed, built with its build id, published, packed with the flavor of\n"
            "each binary tree), the image dm-release docker recorded for the release's EUPS\n"
            "tag, the candidate validation's result (ok, failed or absent), and, when\n"
            "jira.url is set, the release issue and its blockers (cached; --refresh asks\n"
            "again). Prints a table; --html FILE also writes a self-contained page with the\n"
            "product's dependency graph drawn by graphviz (dot), each package coloured by\n"
            "its step, or listed when dot is not installed.\n"
            "Exit status 0, 1 when something is wrong (a tag at another commit than the\n"
            "plan's, a remote that cannot be listed, a failed package or validation), 2 on\n"
            "a usage or environment error (dot failing, Jira unreachable).\n\n"
            "example:\n"
            "  $ dm-release status 29.1.0 --html status.html"
        ),
    )
    add_config_option(parser)
    parser.add_argument(
        "release", help="the release's git tag, e.g. 29.1.0, v29.1.0.rc1, w.2025.24"
    )
    parser.add_argument("--product", help="the product (default: the only configured one)")
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="also write the HTML page to FILE"
    )
    parser.add_argument("--refresh", action="store_true", help="ask Jira again, not its cache")
    add_option_flags(parser, FLAGS)
    add_json_flag(parser, "the release's status")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.adapters.files import write_atomically
    from dmrelease.core.status import StatusRequest, render_table, status_to_dict
    from dmrelease.stages.status import release_status, status_page

    loaded = load_options(args.config, flag_values(args, FLAGS))
    request = StatusRequest(
        args.release, args.product, loaded.request.release_issue, refresh=args.refresh
    )
    status = release_status(loaded.config, request, log=sys.stderr)
    if args.html is not None:
        write_atomically(args.html, status_page(status), what="the status page")
    out = human(args)
    out.write(render_table(status))
    if args.html is not None:
        print(f"status page: {args.html}", file=out)
    if args.json:
        emit(args, status_to_dict(status), ok=not status.problems())
    return 1 if status.problems() else 0
