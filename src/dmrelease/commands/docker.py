"""``dm-release docker``: the distribution image of an EUPS tag, built and pushed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import (
    add_config_option,
    add_option_flags,
    flag_values,
)
from dmrelease.commands.machine import add_json_flag, emit
from dmrelease.commands.servers import asked_eups_tag, refuse_o_latest

#: the options of dmrelease.core.config that docker takes as flags (--tag is its own)
FLAGS = ("selected", "build_id", "no_push", "docker_tags")
#: what the shared options mean to docker
WORDING = {
    "selected": "products to install in the image, each at the tag (default: every "
    "configured product)",
    "build_id": "the build the tag list must be of (its #BUILD line; default: any)",
    "eups_tag": "the EUPS tag whose tag list the image installs (the --tag flag)",
}


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "docker",
        help="build the distribution image of an EUPS tag and push it to the registry",
        description=(
            "Build the distribution image of an EUPS tag: a Dockerfile FROM docker.base_image "
            "(an EUPS stack in /opt/lsst/software/stack with its loadLSST.bash) that runs "
            "eups distrib install of each product at the tag from the binary server "
            "(servers.binary; a directory paths.binary_server is served on 127.0.0.1 for the "
            "build), built by buildah (no daemon) or a docker engine. Tags: PREFIX-TAG and "
            "PREFIX-TAG-yyyymmddTHHMMSSZ (the UTC time of the run, 24-hour clock), which never "
            "move, and the floating tag of the release kind (w_latest for a weekly, d_latest "
            "for a daily, o_latest for a final when O_LATEST allows it) and the DOCKER_TAGS, "
            "each as given and as PREFIX-NAME, which may move. The image's labels record what "
            "it is made of (the EUPS tag, the build and the digest of the tag list, the base "
            "image, the Dockerfile): when PREFIX-TAG is in the registry with the same content "
            "nothing is built nor pushed; with other content the run is refused (exit 1) "
            "before anything is built. One platform's image is pushed once and put under each "
            "tag with one digest; several platforms are joined in one manifest list "
            "(--per-platform and --join do it across machines). results.json (in the output "
            "dir, or --results) names the image, its tags and the digest of each platform "
            "and of the list. Options come from dm-release.toml < environment (Jenkins "
            "parameters) < flags."
        ),
    )
    add_config_option(parser, git=False)
    add_json_flag(parser, "the results (what results.json holds)")
    parser.add_argument(
        "--tag", dest="eups_tag", metavar="TAG",
        help="the EUPS tag whose image to build (required unless --join): w_2025_24, "
        "d_2025_06_11, v29_1_0_rc1, v29_1_0 [env EUPS_TAG, else the EUPS tag of "
        "RELEASE_GIT_TAG]",
    )  # fmt: skip
    parser.add_argument(
        "--also-tag", nargs="*", metavar="TAG",
        help="floating tags instead of the release kind's (w_latest for a weekly, d_latest "
        "for a daily, o_latest for a final; the flag alone: none)",
    )  # fmt: skip
    parser.add_argument(
        "--platform", dest="platforms", action="append", metavar="OS/ARCH",
        help="a platform to build for, linux/amd64 or linux/arm64; repeat it for several "
        "(default: docker.platforms, else this machine's)",
    )  # fmt: skip
    parser.add_argument(
        "--per-platform", action="store_true",
        help="push only this platform's image, as PREFIX-TAG_ARCH, for a later --join of "
        "the results of every platform's run (one agent of a matrix)",
    )  # fmt: skip
    parser.add_argument(
        "--join", nargs="+", type=Path, metavar="RESULTS",
        help="join the images of these per-platform runs (their results.json) in one "
        "manifest list under the image's tags; builds nothing",
    )  # fmt: skip
    parser.add_argument(
        "--results", type=Path, metavar="FILE",
        help="where results.json goes (default: results.json in the output dir)",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="read the tag list and the registry and print what would be built and pushed; "
        "build, push and write nothing",
    )  # fmt: skip
    add_option_flags(parser, FLAGS, WORDING)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from dmrelease.adapters.config import load_options
    from dmrelease.commands.exclusions import excluded_products
    from dmrelease.core.distrib import floating_tags
    from dmrelease.core.requests import DockerRequest, JoinRequest
    from dmrelease.stages.docker import docker, join

    loaded = load_options(args.config, {**flag_values(args, FLAGS), "eups_tag": args.eups_tag})
    config, asked = loaded.config, loaded.request
    if args.join:
        request = JoinRequest(tuple(args.join), args.results, args.dry_run)
        results = join(config, request, log=sys.stderr)
    else:
        tag = asked_eups_tag("docker", loaded)
        refuse_o_latest("docker", tag, loaded)
        floating = args.also_tag
        if floating is None:  # O_LATEST=false: a final leaves o_latest where it is
            floating = floating_tags(tag, o_latest=config.o_latest)
        # not on the binary server: the tarball job left them out
        excluded = excluded_products("docker", asked.selected, config,
                                     config.exclude_from_tarballs, "EXCLUDE_FROM_TARBALLS",
                                     "install")  # fmt: skip
        if excluded.nothing_left:
            if args.json:
                emit(args, {"tag": tag, "tags": [], "excluded": list(excluded.dropped)})
            return 0
        when = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the run's time: the dated tag
        docker_request = DockerRequest(
            tag, when, excluded.kept, asked.build_id, tuple(floating),
            asked.docker_tags, tuple(args.platforms or ()), bool(asked.no_push),
            args.per_platform, args.results, args.dry_run,
        )  # fmt: skip
        results = docker(config, docker_request, log=sys.stderr)
    if args.json:
        emit(args, results.as_dict())
    return 0
