"""The nightly (issue 12 §6, DESIGN.md §1): the products rebuilt from the default branch
(``main``), the EUPS tag ``d_YYYY_MM_DD`` declared over the built versions, then the build
published under it and ``d_latest`` (and packed, when a binary server is configured). A
nightly makes no git tag: nothing is pushed to any package's remote.

The date is the request's (the command reads the clock). Each step is journaled in
``<state>/journal/<products>/nightly-d.YYYY.MM.DD.json`` (``built``, ``published``,
``packed``; ``built[<env>]`` and so on with ``build.env`` set: each environment's stack and
servers get the nightly once): a rerun the same day after a kill resumes where it stopped
(the build already made is published), and a rerun after a whole nightly does nothing. A
dry run reads the journal (and writes none), so it says what the real run would: already
done, or built and left to publish. The destinations are checked writable before
anything is built. Internal to the release family (front: :mod:`dmrelease.stages.release`).
"""

from __future__ import annotations

from typing import TextIO

from dmrelease.adapters.journal import JournalFile, journal_path, now
from dmrelease.core.config import Config
from dmrelease.core.journal import Journal
from dmrelease.core.manifest import content_hash
from dmrelease.core.requests import BuildRequest, NightlyRequest, RefList
from dmrelease.stages.rebuild import build, prepare
from dmrelease.stages.release_apply import streams
from dmrelease.stages.release_publish import (
    BUILT,
    Publication,
    built_id,
    check_destinations,
    publication_done,
    publish_build,
    publishes,
    stage_of,
)
from dmrelease.stages.release_writes import WouldRun
from dmrelease.stages.workspace import open_workspace, work_dir_lock

__all__ = ["SESSION", "nightly", "nightly_journal"]

SESSION = "nightly"


def nightly_journal(config: Config, products: tuple[str, ...], daily: str) -> JournalFile:
    """The journal of the nightly ``daily`` (``d.YYYY.MM.DD``) of ``products``."""
    return JournalFile(journal_path(config.state_dir, "+".join(products), SESSION, daily))


def nightly(
    config: Config,
    request: NightlyRequest,
    out: TextIO | None = None,
    log: TextIO | None = None,
    would: WouldRun | None = None,
) -> Journal | None:
    """Rebuild from the default branch, declare ``d_YYYY_MM_DD``, publish it and
    ``d_latest`` (see the module); the journal (None for a dry run). ``would``: where a dry
    run keeps the commands it prints."""
    _out, log = streams(out, log)
    products = tuple(p.name for p in config.products_named(request.products))
    tag, name = request.daily.eups_tag, str(request.daily)
    operation = f"{SESSION} {name}"
    asked = BuildRequest(products, RefList(), eups_tag=tag, dry_run=request.dry_run)
    built = stage_of(config, BUILT)
    with work_dir_lock(config):
        file = nightly_journal(config, products, name)
        found = file.load()  # read, not written, by a dry run too: it says what a run would
        if found is not None and found.has_stage(built) and publication_done(config, found):
            print(f"{operation}: already done (journal)", file=log)
            return None if request.dry_run else found
        if publishes(config):
            check_destinations(config, dry_run=request.dry_run, log=log)
        workspace = open_workspace(config, products, RefList(), log=log)
        if found is None or not found.has_stage(built):
            prepared = prepare(config, asked, workspace, log)
            manifest = prepared.manifest
            if not request.dry_run and found is None:
                file.save(Journal.start(operation, content_hash(manifest), (), now()))
            build(config, asked, workspace, manifest, log)
            if not request.dry_run:
                made = manifest.build_id
                detail = f"build {made} from {config.default_branch}"
                file.update(lambda j: j.finish_stage(built, now(), detail, build_id=made))
        else:
            print(f"{operation}: already built (journal)", file=log)
        build_id = built_id(config, found if request.dry_run else file.current())
        publication = Publication(products, tag, build_id)
        publish_build(
            config, publication, workspace, None if request.dry_run else file,
            dry_run=request.dry_run, log=log, would=would,
        )  # fmt: skip
        return None if request.dry_run else file.current()
