"""``release validate --install``: candidate validation after the release rules. The
flags, the call of the stage and the report (each failure on its own line; exit 1)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmrelease.core.config import Config
    from dmrelease.core.plan import ReleasePlan
    from dmrelease.core.validation import Summary

__all__ = ["Validated", "add_install_flags", "install_candidate", "report_install"]


@dataclass(frozen=True)
class Validated:
    """The summary of an install check and its JSON document."""

    summary: Summary
    document: dict[str, Any]
    kept: Path  # the JSON summary under paths.state_dir


def add_install_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--install", action="store_true",
        help="then install the release from the binary and the source server into fresh "
        "stacks (the EUPS of validate.eups, else of EUPS_DIR), check every product's "
        "version, table file and pkginfo SHA1, run the product's demo command, and write "
        "the validation summary (JSON and Markdown) under paths.state_dir/validation; "
        "exit 1 on any failure",
    )  # fmt: skip
    parser.add_argument(
        "--summary", type=Path, metavar="DIR",
        help="with --install: also write the summary to DIR/<release>.json and .md",
    )  # fmt: skip


def install_candidate(
    args: argparse.Namespace, config: Config, plan: ReleasePlan
) -> Validated | None:
    from dmrelease.core.requests import ValidationRequest
    from dmrelease.core.validation import summary_to_json
    from dmrelease.stages.candidate_check import candidate_check, summary_paths

    summary = candidate_check(config, ValidationRequest(args.summary), plan, sys.stderr)
    if summary is None:
        return None
    kept = summary_paths(config, plan.product, plan.release)[0]
    return Validated(summary, json.loads(summary_to_json(summary)), kept)


def report_install(validated: Validated) -> int:
    """Each failure on stderr; 0 when there is none, else 1."""
    summary = validated.summary
    for failure in summary.failures:
        print(f"validate --install: {failure}", file=sys.stderr)
    for install in summary.installs:
        if install.status == "skipped":
            print(f"validate --install: {install.kind} install skipped: {install.reason}",
                  file=sys.stderr)  # fmt: skip
    count = len(summary.failures)
    verdict = "passed" if summary.ok else f"{count} failure{'s' if count > 1 else ''}"
    print(f"validate --install {summary.release}: {verdict}; summary: {validated.kept}",
          file=sys.stderr)  # fmt: skip
    return 0 if summary.ok else 1
