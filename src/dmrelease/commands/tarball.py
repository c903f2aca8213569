"""``dm-release tarball``: a build's installed packages onto the binary (tarball) server."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dmrelease.adapters.config import (
    add_config_option,
    add_option_flags,
    flag_values,
    reads_environment,
)
from dmrelease.commands.machine import add_json_flag, emit
from dmrelease.commands.servers import (
    add_server_dir,
    add_tag_flags,
    requested_tags,
    run_in_workspace,
)
from dmrelease.core.config import FLAVORS

#: the options of dmrelease.core.config that tarball takes as flags (--tag is its own)
FLAGS = ("build_id", "selected")
#: what the shared options mean to tarball (rebuild's words are about building)
WORDING = {
    "selected": "products whose packages to pack: their dependency closures in the "
    "build (default: every package of the build)",
    "eups_tag": "the EUPS tag to publish the build's binaries under (the --tag flag)",
}


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "tarball",
        help="pack a build's installed packages onto the binary server of one flavor",
        description=(
            "Write the binary (tarball) server tree of a build recorded in versiondb, from "
            "the stack the build installed: a <p>-<v>@<flavor>.tar.gz per package (the "
            "<p>/<v>/ tree with its .pwd, as eups distrib install unpacks it into "
            "<stack>/<flavor>/) with its SHA-256 beside it in <p>-<v>@<flavor>.tar.gz.sha256, "
            "manifests/<p>-<v>@<flavor>.manifest, tables/, <TAG>.list at the root with the "
            "build id and the environment, env/<TAG>.env, config.txt and an index.json in "
            "every directory; the tag lists' rows have the flavor generic, as EUPS writes "
            "them, so that the flavors sharing a server share them. Every package of the "
            "build must be installed. The server is planned first and nothing is written "
            "when a file is refused (exit 1). A tarball the server already has is not "
            "packed again: it is kept when its checksum file records its SHA-256, or, "
            "without one (a run stopped between the two), when it is a tar.gz of <p>/<v>/ "
            "only (its checksum file is then written from its bytes); refused otherwise. "
            "Other files are judged by their bytes: the same are skipped, so a run stopped "
            "half-way finishes when run again, and other bytes are refused, except that "
            "indexes and tag lists are replaced: a floating tag's list (w_latest, "
            "d_latest, o_latest) by any other, a dated tag's only by one that keeps each "
            "of its products at its version and its #BUILD and #CONDA_ENV lines (it may "
            "name more products). Tag lists are written last. Options come from "
            "dm-release.toml < environment (Jenkins parameters) < flags."
        ),
    )
    add_config_option(parser)
    reads_environment(parser, "object_storage")  # --server-dir s3://, gs://
    add_json_flag(parser, "the build, the tarballs packed and every server file's fate")
    add_tag_flags(parser, "the EUPS tag to publish the build under", "write")
    parser.add_argument(
        "--flavor", choices=FLAVORS,
        help="the EUPS flavor of the stack and of the tarballs (default: build.flavor, "
        "this machine's)",
    )  # fmt: skip
    add_server_dir(parser, "binary server", "paths.binary_server")
    parser.add_argument(
        "--dry-run", action="store_true",
        help="pack into the work dir and print the plan (each file to add, skip, replace "
        "or refuse); write nothing to the server",
    )  # fmt: skip
    add_option_flags(parser, FLAGS, WORDING)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.commands.exclusions import excluded_products
    from dmrelease.core.requests import TarballRequest
    from dmrelease.stages.tarball import check_request, tarball

    loaded = load_options(args.config, {**flag_values(args, FLAGS), "eups_tag": args.eups_tag})
    asked, config = loaded.request, loaded.config
    tag, floating = requested_tags("tarball", args, loaded)
    excluded = excluded_products("tarball", asked.selected, config,
                                 config.exclude_from_tarballs, "EXCLUDE_FROM_TARBALLS",
                                 "pack")  # fmt: skip
    if excluded.nothing_left:  # the job asked for nothing else: a success with no tarball
        if args.json:
            emit(args, {"tag": tag, "tags": [], "packed": [], "excluded": list(excluded.dropped)})
        return 0
    request = TarballRequest(
        tag, asked.build_id, excluded.kept, args.flavor, floating, args.server_dir,
        args.dry_run,
    )  # fmt: skip
    checked = check_request(config, request)  # bad input stops before any fetch
    packed = run_in_workspace(
        config,
        request.products,
        lambda workspace: tarball(config, request, workspace, log=sys.stderr, checked=checked),
    )
    if args.json:
        emit(args, packed.as_dict())
    return 0
