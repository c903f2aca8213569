"""``dm-release notes``: the release notes between two releases or builds.

The notes are the output: on stdout (or ``--output FILE``), their problems on stderr as
``FILE:LINE: rule: message`` lines. Under ``--json`` the document is on stdout and the
notes go to ``--output`` only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import add_config_option, add_option_flags, flag_values
from dmrelease.commands.machine import add_json_flag, emit, wants_json

FORMATS = ("md", "rst", "json")
_RANGE_HINT = (
    "give UNTIL or SINCE..UNTIL, each a release (29.0.0, v29.1.0.rc2), a weekly "
    "(w.2025.24) or a build id (b1234)"
)


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "notes",
        help="write the release notes between two releases or builds",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Write the release notes of a product between two releases or builds: the\n"
            "tickets the commits carry (merges of tickets/DM-N branches and DM-N in commit\n"
            "subjects; with jira.url set, joined with Jira: completed epics first, then the\n"
            "other issues), the new, removed and changed packages with their old and new\n"
            "EUPS versions, the technical facts (git tag, EUPS tag, build, manifest\n"
            "checksum, third-party products and conda packages of the contents file), the\n"
            "installation instructions from a template and the narrative from a file a\n"
            "person wrote (never generated). A release is read through its annotated tag in\n"
            "the product's repository (its build: line) and versiondb's manifest of that\n"
            "build. Per changed package one git log between its two SHAs, in the clones of\n"
            "the work dir (cloned or fetched first). The same input gives the same bytes.\n\n"
            "Problems (an issue blocking the release issue that no commit carries, a ticket\n"
            "Jira does not know, an override of a ticket the release lacks, a package whose\n"
            "commits cannot be read) are listed in the notes and on stderr. Exit status 0\n"
            "(1 with --strict when there is a problem), 2 for a release, build or file that\n"
            "cannot be found or a Jira that cannot be read.\n\n"
            "examples:\n"
            "  dm-release notes 29.0.0..v29.1.0.rc2 --format rst --output notes.rst\n"
            "  dm-release notes 29.1.0 --narrative narrative.md --release-issue DM-40000\n"
            "  dm-release notes --manifests b1200.txt b1234.txt --no-jira"
        ),
    )
    add_config_option(parser)
    parser.add_argument(
        "range", nargs="?", metavar="[SINCE..]UNTIL",
        help="the releases or builds (SINCE left out: the previous final release of the "
        "product, else its first build)",
    )  # fmt: skip
    parser.add_argument(
        "--manifests", nargs=2, type=Path, metavar=("OLD", "NEW"),
        help="two manifest files (bNNNN.txt) instead of releases or builds",
    )  # fmt: skip
    parser.add_argument("--product", help="the product (default: the only configured one)")
    parser.add_argument(
        "--format", choices=FORMATS, default="md",
        help="Markdown, reStructuredText or JSON (default: md)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write the notes to FILE (default: stdout)"
    )
    parser.add_argument(
        "--narrative", type=Path, metavar="FILE",
        help="the narrative a person wrote, put in as it is (without it the notes say where "
        "it goes)",
    )  # fmt: skip
    parser.add_argument(
        "--overrides", type=Path, metavar="FILE",
        help="per ticket hide, summary or section (YAML, or TOML for a .toml file) "
        "[notes.overrides]",
    )  # fmt: skip
    parser.add_argument(
        "--template", type=Path, metavar="FILE",
        help="the installation instructions with {placeholders} [notes.template]",
    )  # fmt: skip
    parser.add_argument(
        "--no-jira", action="store_true", help="do not ask Jira even when jira.url is set"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when the notes have a problem"
    )
    add_option_flags(parser, ("release_issue",))
    add_json_flag(parser, "the notes' data and their problems")
    parser.set_defaults(handler=run)


def parse_range(text: str | None, manifests: list[Path] | None) -> tuple[str | None, str]:
    """(since, until) of ``SINCE..UNTIL`` or ``UNTIL``; UsageError for anything else."""
    from dmrelease.core.errors import UsageError

    if manifests:
        if text:
            raise UsageError("give either [SINCE..]UNTIL or --manifests OLD NEW, not both")
        return None, manifests[1].name
    if not text:
        raise UsageError(f"which release? {_RANGE_HINT}")
    since, dots, until = text.rpartition("..")
    names = [n for n in (since, until) if n] if dots else [text]
    if not until or (dots and not since) or any(not _is_name(n) for n in names):
        raise UsageError(f"{text!r} is not a range of releases: {_RANGE_HINT}")
    return (since or None) if dots else None, until if dots else text


def _is_name(text: str) -> bool:
    from dmrelease.core.errors import ParseError
    from dmrelease.core.names import Candidate, Release, Weekly, parse_tag

    if text.startswith("b") and text[1:].isdigit() and not text[1:].startswith("0"):
        return True
    try:
        tag = parse_tag(text, external=True)
    except ParseError:
        return False
    return isinstance(tag, Release | Candidate | Weekly)


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.core.notes import render
    from dmrelease.core.requests import NotesRequest
    from dmrelease.stages.notes import notes_to_json, release_notes

    since, until = parse_range(args.range, args.manifests)
    loaded = load_options(args.config, flag_values(args, ("release_issue",)))
    manifests = args.manifests or [None, None]
    request = NotesRequest(
        args.product, since, until, manifests[0], manifests[1], args.narrative,
        args.overrides, loaded.request.release_issue, not args.no_jira, args.template,
    )  # fmt: skip
    form = args.format if args.format != "json" else "md"
    notes = release_notes(loaded.config, request, sys.stderr, form=form)
    text = render(notes, args.format)
    if args.output is not None:
        _write(args.output, text)
        print(f"notes: wrote {args.output} ({len(text.encode())} bytes)", file=sys.stderr)
    elif not wants_json(args):
        sys.stdout.write(text)
    for problem in notes.problems:
        print(problem, file=sys.stderr)
    failed = bool(args.strict and notes.problems)
    if wants_json(args):
        data = {**notes_to_json(notes), "output": str(args.output) if args.output else None}
        emit(args, data, diagnostics=notes.problems, ok=not failed)
    return 1 if failed else 0


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all; the same bytes are not rewritten."""
    from dmrelease.adapters.files import write_atomically
    from dmrelease.core.errors import UsageError

    data = text.encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            return
        write_atomically(path, data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the notes: {exc.strerror}") from None
