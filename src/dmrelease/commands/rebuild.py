"""``dm-release rebuild``: resolve refs, write the build manifest, build what changed."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from dmrelease.adapters.config import add_config_option, add_option_flags, flag_values
from dmrelease.commands.machine import add_json_flag, emit

#: the options of dmrelease.core.config that rebuild takes as flags
FLAGS = (
    "prepare_only", "jobs", "refs", "selected", "eups_tag", "no_binary_fetch",
    "build_docs", "output_dir",
)  # fmt: skip


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "rebuild",
        help="resolve refs, write the build manifest and build what changed",
        description=(
            "Clone or fetch every package of the products in parallel, resolve the ref list "
            "(first match per package; branch before tag), write manifest.txt and record it "
            "in versiondb as bNNNN, then build in dependency order, reusing installed "
            "versions and fetching binaries from the binary server. Options come from "
            "dm-release.toml < environment (Jenkins parameters) < flags."
        ),
    )
    add_config_option(parser)
    add_json_flag(parser, "the prepared manifest and the build's outcome")
    parser.add_argument(
        "--dry-run", action="store_true", help="fetch into the work clones, resolve and plan; "
        "write nothing else",
    )  # fmt: skip
    add_option_flags(parser, FLAGS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.commands.exclusions import excluded_products
    from dmrelease.stages.rebuild import rebuild

    loaded = load_options(args.config, flag_values(args, FLAGS))
    request = loaded.request.build_request(dry_run=args.dry_run)
    config = loaded.config
    excluded = excluded_products("rebuild", request.products, config,
                                 config.exclude_from_builds, "EXCLUDE_FROM_BUILDS",
                                 "build")  # fmt: skip
    if excluded.nothing_left:  # the job asked for nothing else: a success with no build
        if args.json:
            emit(args, {"prepare": None, "build": None, "excluded": list(excluded.dropped)})
        return 0
    request = dataclasses.replace(request, products=excluded.kept)
    prepared, built = rebuild(loaded.config, request, log=sys.stderr)  # the live stream
    if args.json:  # emit writes it in one write: redacted once, not per token
        emit(args, {"prepare": prepared.as_dict(), "build": built.as_dict() if built else None})
    return 0
