"""``dm-release demo``: build the embedded demo product and run dm-release on it."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from dmrelease.core.errors import UsageError


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "demo",
        help="create the demo product in a fresh directory and run the flow on it",
        description=(
            "Create a demo product (a metapackage and a dozen packages, each a real git "
            "repository with history and a bare remote) and show what dm-release computes: "
            "the build order and the manifest with EUPS versions. Reproducible: commit dates "
            "are fixed, so SHAs and versions are the same on every run."
        ),
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="where to create it (must not exist or be empty; default: a new temporary dir)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.demo.rebuild import run_demo

    root: Path = args.dir or Path(tempfile.mkdtemp(prefix="dm-release-demo-"))
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root}: demo directory is not empty; give a new --dir")
    root.mkdir(parents=True, exist_ok=True)
    run_demo(root.resolve(), sys.stdout, sys.stderr)  # the live streams
    return 0
