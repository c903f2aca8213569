"""``dm-release demo``: build the embedded demo product and run dm-release on it, as a tour."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import reads_environment
from dmrelease.commands.machine import add_json_flag, emit, human, wants_json
from dmrelease.core.errors import UsageError


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "demo",
        help="a guided tour: the release flow run on a demo product in a fresh directory",
        description=(
            "Create a demo product (a metapackage and a dozen packages, each a real git "
            "repository with history and a bare remote standing for GitHub) and run the "
            "release process on it as a guided tour: nightly builds, a weekly, the first "
            "release candidate, its validation, a backport onto the release branch, the "
            "next candidate, the final and a patch release, each release published to a "
            "source and a binary server in the demo's directory, and a library product "
            "released and used by another product; then the last final's distribution "
            "image is built (with --eups-source, on a machine with buildah or a docker "
            "engine; pushed to a docker-registry started on 127.0.0.1 when that program is "
            "installed), or the demo says what it skipped and why; then the last final is "
            "installed into a fresh stack from the binary server, served over HTTP on "
            "127.0.0.1 (every package fetched, none built). The change control runs against "
            "a local Jira the demo starts on 127.0.0.1: the first candidate waives its open "
            "blocker and records the product owner's approval, the patch names its RFC, each "
            "final sets its Fix Version on the issues of the release. The tour ends with the "
            "last candidate validated (installed, inspected, its demo run: with the real EUPS "
            "built from --eups-source, else with dm-release's binary fetch), the status page "
            "of the last final and its release notes. No network is needed, except "
            "for the Debian mirror the first time an image's base is made. Each step says "
            "what it is, what it made and where to look; a summary table and the commands "
            "to try on your own product close the tour. Reproducible: every commit and tag (those "
            "dm-release makes too) has a fixed date and author, so the SHAs, versions and "
            "manifests are the same on every run. The temporary directory is removed at "
            "the end (also when interrupted) unless --keep or --dir is given; when the "
            "demo fails it is kept, with the commands' output in demo.log, and its place "
            "is printed."
        ),
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="where to create it, kept afterwards (must not exist or be empty; default: a "
        "new temporary directory, removed at the end)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory and print where it is",
    )
    parser.add_argument(
        "--eups-source",
        type=Path,
        metavar="TARBALL",
        help="the source tarball of EUPS (eups-2.2.15.tar.gz) to make the image's base "
        "image from and to build the EUPS the validation installs with; without it the "
        "image is skipped and the validation uses dm-release's binary fetch (nox -s demo "
        "gives the one in ../shared/vendor when it is there)",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("--quiet", "-q", action="store_true", help="print only the summary table")
    loud.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also print every command's own output (clone, resolve, build, tag, push)",
    )
    add_json_flag(parser, "the summary table and the final manifest")
    reads_environment(parser, "git")  # its runs clone and fetch: --help lists git's
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.demo.rebuild import run_demo
    from dmrelease.demo.tour import LOG_NAME, Verbosity

    verbosity = (
        Verbosity.QUIET if args.quiet else Verbosity.VERBOSE if args.verbose else Verbosity.NORMAL
    )
    if args.eups_source is not None and not args.eups_source.is_file():
        raise UsageError(f"{args.eups_source}: no such EUPS source tarball (--eups-source)")
    if args.dir is not None:
        root: Path = args.dir
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"{root}: demo directory is not empty; give a new --dir")
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="dm-release-demo-"))
    root = root.resolve()
    kept = args.dir is not None or args.keep
    eups_source = args.eups_source.resolve() if args.eups_source is not None else None
    out = human(args)  # the tour; stdout has only the document under --json
    rows: list[Any] = []
    try:
        manifest = run_demo(
            root, out, sys.stderr, verbosity, kept=kept, rows=rows, eups_source=eups_source
        )
    except KeyboardInterrupt:  # Ctrl-C: not a failure to look into; cli.main exits 130
        print(f"dm-release demo: interrupted; {_interrupted(root, kept)}", file=sys.stderr)
        raise
    except BaseException:
        log = (
            ""
            if verbosity is Verbosity.VERBOSE
            else f"; what the commands printed: {root / LOG_NAME}"
        )
        print(f"dm-release demo: failed; its directory is kept: {root}{log}", file=sys.stderr)
        raise
    if kept:
        print(f"\nthe demo's directory is kept: {root}", file=out)
    else:
        shutil.rmtree(root)
        if verbosity is not Verbosity.QUIET:
            print(f"\nremoved the demo's directory {root} (give --keep to keep it)", file=out)
    if wants_json(args):
        emit(args, _document(root if kept else None, rows, manifest))
    return 0


def _interrupted(root: Path, kept: bool) -> str:
    """Remove an interrupted demo's temporary directory (one given by --dir, or with
    --keep, stays); what became of it."""
    if kept:
        return f"its directory is kept: {root}"
    shutil.rmtree(root, ignore_errors=True)
    if root.exists():
        return f"could not remove all of its directory {root}"
    return f"removed its directory {root} (give --keep to keep it)"


def _document(root: Path | None, rows: list[Any], manifest: Any) -> dict[str, Any]:
    """The demo's data under --json: where it is (null: removed), the summary table (null
    for a count that does not apply), the last build's manifest."""
    import dataclasses

    return {
        "directory": None if root is None else str(root),
        "steps": [  # "-" in the table: null, as for a count that does not apply
            {k: None if v == "-" else v for k, v in dataclasses.asdict(row).items()} for row in rows
        ],
        "manifest": {
            "build": manifest.build_id,
            "packages": [
                {"name": e.name, "sha": e.sha, "version": e.version, "dependencies": list(e.deps)}
                for e in manifest.entries
            ],
        },
    }
