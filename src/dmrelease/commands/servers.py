"""What ``dm-release publish`` and ``dm-release tarball`` share: the ``--tag`` /
``--also-tag`` / ``--server-dir`` flags, the EUPS tag and its floating tags read from them,
and the run of a stage in the work dir's workspace (one lock, one discovery)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # annotations only: the verbs' registration loads no settings model
    from dmrelease.core.config import Config, Loaded

Result = TypeVar("Result")


def add_tag_flags(parser: argparse.ArgumentParser, tag_help: str, writes: str) -> None:
    """``--tag`` (the EUPS tag, required) and ``--also-tag`` (the floating tags ``writes``
    too: publish or write)."""
    parser.add_argument(
        "--tag", dest="eups_tag", metavar="TAG",
        help=f"{tag_help} (required): w_2025_24, d_2025_06_11, v29_1_0_rc1, v29_1_0; "
        "letters, digits and _ only [env EUPS_TAG, else the EUPS tag of RELEASE_GIT_TAG]",
    )  # fmt: skip
    parser.add_argument(
        "--also-tag", nargs="*", metavar="TAG",
        help=f"floating tags to {writes} too, replacing their tag lists (default: w_latest "
        "for a weekly, d_latest for a daily, o_latest for a final unless O_LATEST is false, "
        "none otherwise; the flag alone: none)",
    )  # fmt: skip


def add_server_dir(parser: argparse.ArgumentParser, tree: str, key: str) -> None:
    """``--server-dir``: where the ``tree`` goes instead of the setting ``key``."""
    parser.add_argument(
        "--server-dir", metavar="DIR",
        help=f"where the {tree} tree goes: a directory, s3://BUCKET/PATH or "
        f"gs://BUCKET/PATH (default: {key})",
    )  # fmt: skip


def requested_tags(
    verb: str, args: argparse.Namespace, loaded: Loaded
) -> tuple[str, tuple[str, ...]]:
    """The EUPS tag asked (:func:`asked_eups_tag`) and the floating tags: ``--also-tag``'s,
    or the tag's own (w_latest for a weekly, o_latest for a final when O_LATEST allows it)
    when it is not given."""
    from dmrelease.core.distrib import floating_tags

    tag = asked_eups_tag(verb, loaded)
    refuse_o_latest(verb, tag, loaded)
    if args.also_tag is not None:
        return tag, tuple(args.also_tag)
    return tag, floating_tags(tag, o_latest=loaded.config.o_latest)


def refuse_o_latest(verb: str, tag: str, loaded: Loaded) -> None:
    """O_LATEST=true (the parameter) for a release candidate's EUPS tag ``tag`` is a usage
    error, as the real official-release stops on it: a candidate never moves o_latest, and
    a job asked to move it would otherwise succeed having moved nothing. A weekly, a daily
    and a final accept it; the setting from dm-release.toml or its default is not judged."""
    from dmrelease.core.errors import UsageError
    from dmrelease.core.tag_kinds import InvalidName, Kind
    from dmrelease.core.tags import parse_eups_tag

    if not loaded.config.o_latest or not loaded.sources.get("o_latest", "").startswith("env"):
        return
    try:
        kind = parse_eups_tag(tag).kind
    except InvalidName:
        return
    if kind is Kind.RC:
        raise UsageError(
            f"{verb}: O_LATEST is only allowed on a final release, not on the release "
            f"candidate {tag}"
        )


def asked_eups_tag(verb: str, loaded: Loaded) -> str:
    """The EUPS tag asked: the flag or EUPS_TAG, else the EUPS tag of the release's git tag
    RELEASE_GIT_TAG (v29.1.0.rc1 is v29_1_0_rc1), as the release pipelines give it to the
    jobs they start; UsageError without either, or with a git tag that is no release."""
    from dmrelease.core.errors import UsageError
    from dmrelease.core.names import eups_tag
    from dmrelease.core.tag_kinds import InvalidName

    tag, release = loaded.request.eups_tag, loaded.request.release_tag
    if not tag and release:
        try:
            tag = eups_tag(release)
        except InvalidName as error:
            raise UsageError(f"{verb}: RELEASE_GIT_TAG {release!r}: {error.reason}") from None
    if not tag:
        raise UsageError(f"{verb} needs an EUPS tag: give --tag TAG (or set EUPS_TAG)")
    return tag


def run_in_workspace(
    config: Config, products: tuple[str, ...], stage: Callable[[Any], Result]
) -> Result:
    """``stage(workspace)`` under the work dir's lock, the workspace of ``products``
    opened once (the clones hold the build's commits once fetched)."""
    from dmrelease.core.requests import RefList
    from dmrelease.stages.workspace import open_workspace, work_dir_lock

    with work_dir_lock(config):
        workspace = open_workspace(config, products, RefList(), log=sys.stderr)
        return stage(workspace)
