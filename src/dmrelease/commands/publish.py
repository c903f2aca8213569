"""``dm-release publish``: a build onto the source (eupspkg) server under an EUPS tag."""

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

#: the options of dmrelease.core.config that publish takes as flags (--tag is its own)
FLAGS = ("build_id", "eupspkg_source", "selected")
#: what the shared options mean to publish (rebuild's words are about building)
WORDING = {
    "selected": "products whose packages to publish: their dependency closures in the "
    "build (default: every package of the build)",
    "eups_tag": "the EUPS tag to publish the build under (the --tag flag)",
}


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "publish",
        help="write a build's source packages, manifests and tag lists to the source server",
        description=(
            "Write the source (eupspkg) server tree of a build recorded in versiondb: a "
            "products/<p>-<v>.eupspkg package per package (its ups/pkginfo and ups/eupspkg "
            "files; with --source package its whole source at the build's commit), "
            "manifests/, tables/, tags/<TAG>.list with the build id and the environment, "
            "env/<TAG>.env, config.txt and an index.json in every directory. The server is "
            "planned first and nothing is written when a file is refused (exit 1). A "
            "package the server already has is judged by its recorded identity: kept as "
            "first published, not made again, when its ups/pkginfo names the build's "
            "PRODUCT, VERSION and SHA1 (a final keeps its candidate's SOURCE=git packages; "
            "the output counts the kept packages by SOURCE), refused otherwise. The "
            "packages of a library the build uses are never made here: they must be on the "
            "server already, published by the library's own release. Other files are "
            "judged by their bytes: the same are skipped, so a publish stopped half-way "
            "finishes when run again, and other bytes are refused, except that indexes and "
            "tag lists are replaced: a floating tag's "
            "list (w_latest, d_latest, o_latest) by any other, a dated tag's only by one "
            "that keeps each of its products at its version and its #BUILD and #CONDA_ENV "
            "lines (it may name more products). Tag lists are written last. Options come "
            "from dm-release.toml < environment (Jenkins parameters) < flags."
        ),
    )
    add_config_option(parser)
    reads_environment(parser, "object_storage")  # --server-dir s3://, gs://
    add_json_flag(parser, "the build, the tags and every server file by what was done to it")
    add_tag_flags(parser, "the EUPS tag to publish the build under", "publish")
    add_server_dir(parser, "source server", "paths.source_server")
    parser.add_argument(
        "--dry-run", action="store_true",
        help="make the packages and print the plan (each file to add, skip, replace or "
        "refuse); write nothing",
    )  # fmt: skip
    add_option_flags(parser, FLAGS, WORDING)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.commands.exclusions import excluded_products
    from dmrelease.core.requests import PublishRequest
    from dmrelease.stages.publish import check_request, default_source, publish

    loaded = load_options(args.config, {**flag_values(args, FLAGS), "eups_tag": args.eups_tag})
    asked = loaded.request
    tag, floating = requested_tags("publish", args, loaded)
    # the release left them out: not built, nothing to publish
    excluded = excluded_products("publish", asked.selected, loaded.config,
                                 loaded.config.exclude_from_builds, "EXCLUDE_FROM_BUILDS",
                                 "publish")  # fmt: skip
    if excluded.nothing_left:
        if args.json:
            emit(args, {"tag": tag, "tags": [], "excluded": list(excluded.dropped)})
        return 0
    request = PublishRequest(
        tag, asked.build_id, excluded.kept, asked.eupspkg_source or default_source(tag),
        floating, args.server_dir, args.dry_run,
    )  # fmt: skip
    config = loaded.config
    checked = check_request(config, request)  # bad input stops before any fetch
    published = run_in_workspace(
        config,
        request.products,
        lambda workspace: publish(config, request, workspace, log=sys.stderr, checked=checked),
    )
    if args.json:
        emit(args, published.as_dict())
    return 0
