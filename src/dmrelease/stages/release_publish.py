"""Publishing a release session's build (issue 12 §6-7, DMTN-106 §4.4 "create and publish
the packages"): after a green build, when the settings name the destinations
(``paths.source_server``, ``paths.binary_server``), the build goes onto the source server
under the session's EUPS tag and its floating tag (``w_latest``, ``d_latest``, ``o_latest``
for finals only), through the publish stage, and onto the binary server through the
tarball stage. Internal to the release family (front: :mod:`dmrelease.stages.release`).

Each is journaled as a stage of the operation (``published``, ``packed``), so a rerun after
a kill between the build and the publish publishes only, and a rerun after it publishes
nothing again. With ``build.env`` set, each environment has its own stack and servers, so
the build and publish stages are the environment's (``built[9.0.0]``,
``published[9.0.0]``, ``packed[9.0.0]``): the same weekly or nightly is built and published
once per environment. Without it they are named as before (``built``, ``published``).

A dry run prints what it would run (the ``dm-release publish`` and ``dm-release tarball``
commands) and keeps it in the caller's :class:`WouldRun`. The destinations are checked
writable (:func:`check_destinations`) before a session or a nightly does anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from dmrelease.adapters.journal import JournalFile, now
from dmrelease.core.config import Config
from dmrelease.core.distrib import floating_tags
from dmrelease.core.journal import Journal
from dmrelease.core.redact import redact
from dmrelease.core.requests import PublishRequest, TarballRequest
from dmrelease.stages.release_writes import WouldRun, show_command
from dmrelease.stages.workspace import Workspace

__all__ = [
    "BUILT",
    "Publication",
    "built_id",
    "check_destinations",
    "publication_done",
    "publish_build",
    "publishes",
    "stage_of",
]

PUBLISHED = "published"
PACKED = "packed"
BUILT = "built"


@dataclass(frozen=True)
class Publication:
    """What one session publishes: its ``products`` of build ``build_id`` (None: not known
    yet, a dry run) under ``eups_tag``, the packages' sources by ``source``."""

    products: tuple[str, ...]
    eups_tag: str
    build_id: str | None
    source: str = "git"


def publishes(config: Config) -> bool:
    """Whether the settings name a destination: then a session publishes its build."""
    return bool(config.source_server_dir or config.binary_server_dir)


def stage_of(config: Config, stage: str) -> str:
    """The journal stage ``stage`` (``built``, ``published``, ``packed``) of the
    configured environment: ``stage[<env>]`` with ``build.env`` set, else ``stage``."""
    return f"{stage}[{config.env_name}]" if config.env_name else stage


def _stages(config: Config) -> tuple[str, ...]:
    """The journal stages a publish of ``config`` is made of."""
    return ((stage_of(config, PUBLISHED),) if config.source_server_dir else ()) + (
        (stage_of(config, PACKED),) if config.binary_server_dir else ()
    )


def publication_done(config: Config, journal: Journal | None) -> bool:
    """Whether the journal has every stage of the configured publish."""
    return journal is not None and all(journal.has_stage(s) for s in _stages(config))


def built_id(config: Config, journal: Journal | None) -> str | None:
    """The build id the operation's ``built`` stage of the configured environment recorded:
    a rerun publishes that build, not the last. A journal written before the id was kept
    as a field has it in the stage's event only (``build bNNNN from ...``)."""
    if journal is None:
        return None
    stage = stage_of(config, BUILT)
    if stage in journal.builds:
        return journal.builds[stage]
    for event in reversed(journal.events):
        words = event.detail.split()
        if event.step == stage and len(words) > 1 and words[0] == "build":
            return words[1]
    return None


def check_destinations(config: Config, *, dry_run: bool, log: TextIO) -> None:
    """Refuse (exit 2) a configured destination that cannot be written, before anything
    is built, tagged or pushed. Checking writes a probe file and removes it, so a dry run
    does not check: it says so."""
    wanted = [w for w in (config.source_server_dir, config.binary_server_dir) if w]
    if dry_run:
        for where in wanted:
            print(f"would publish to {redact(where)} (not checked: a dry run writes nothing)",
                  file=log)  # fmt: skip
        return
    from dmrelease.adapters.config import child_environment
    from dmrelease.adapters.server_tree import open_destination

    for where in wanted:
        open_destination(where, child_environment({})).check_writable()


def publish_build(
    config: Config,
    publication: Publication,
    workspace: Workspace | None,
    journal: JournalFile | None,
    *,
    dry_run: bool,
    log: TextIO,
    would: WouldRun | None = None,
) -> None:
    """Publish (then pack) the build unless the journal says it is done; with ``dry_run``
    print the commands it would run instead."""
    floating = floating_tags(publication.eups_tag, o_latest=config.o_latest)
    if dry_run:
        _show(config, publication, log, would)
        return
    assert journal is not None and workspace is not None  # a real run has both
    done = journal.current() or Journal("", "", {})
    products, tag, build = publication.products, publication.eups_tag, publication.build_id
    published, packed_stage = stage_of(config, PUBLISHED), stage_of(config, PACKED)
    if config.source_server_dir and not done.has_stage(published):
        from dmrelease.stages.publish import publish

        request = PublishRequest(
            tag, build, products, source=publication.source, floating=floating,
        )  # fmt: skip
        made = publish(config, request, workspace, log)
        where = redact(config.source_server_dir)
        detail = f"{made.build_id} as {', '.join((tag, *floating))} to {where}"
        journal.update(lambda j: j.finish_stage(published, now(), detail))
    if config.binary_server_dir and not done.has_stage(packed_stage):
        from dmrelease.stages.tarball import tarball

        packing = TarballRequest(tag, build, products, floating=floating)
        packed = tarball(config, packing, workspace, log)
        where = redact(config.binary_server_dir)
        tags = ", ".join((tag, *floating))
        detail = f"{packed.build_id} as {tags} for {config.flavor} to {where}"
        journal.update(lambda j: j.finish_stage(packed_stage, now(), detail))


def _show(config: Config, publication: Publication, log: TextIO, would: WouldRun | None) -> None:
    """The commands a dry run would run (the build is this session's, not made yet)."""
    product = ",".join(publication.products)
    chosen = [*(("--build", publication.build_id) if publication.build_id else ())]
    chosen += ["--tag", publication.eups_tag, "--products", *publication.products]
    commands = []
    if config.source_server_dir:
        where = redact(config.source_server_dir)
        commands.append(
            ("dm-release", "publish", *chosen, "--source", publication.source,
             "--server-dir", where)
        )  # fmt: skip
    if config.binary_server_dir:
        where = redact(config.binary_server_dir)
        commands.append(
            ("dm-release", "tarball", *chosen, "--flavor", config.flavor, "--server-dir", where)
        )
    show_command(log, product, commands, would)
