"""``dm-release rebuild``: resolve refs, write the build manifest, build what changed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import add_option_flags, flag_values

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
    parser.add_argument("--config", type=Path, help="dm-release.toml (default: ./dm-release.toml)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument(
        "--dry-run", action="store_true", help="fetch into the work clones, resolve and plan; "
        "write nothing else",
    )  # fmt: skip
    add_option_flags(parser, FLAGS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.stages.rebuild import rebuild

    loaded = load_options(args.config, flag_values(args, FLAGS))
    request = loaded.request.build_request(dry_run=args.dry_run)
    prepared, built = rebuild(loaded.config, request, log=sys.stderr)  # the live stream
    if args.json:
        result = {"prepare": prepared.as_dict(), "build": built.as_dict() if built else None}
        # one write: json.dump writes each token (18,000 for 300 packages), and each write
        # of the redacting stdout runs the redaction (~20 ms); whole, it is redacted once
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0
