"""The rebuild stage (Jenkins ``run-rebuild``; DMTN-106 §4.1-4.2, A.2.3; issue 4).

:func:`prepare` takes the workspace (every package of the products cloned or fetched once,
the ref list resolved, DESIGN.md §2), writes its manifest and records it in versiondb with
an annotated tag ``bNNNN``, reusing the build id of identical content. :func:`build`
reuses, fetches or builds every package of a manifest. :func:`rebuild` does both and
writes ``manifest.txt``, ``build.properties`` (``BUILD=bNNNN``) and ``status.json`` where
Jenkins archives them.
Each takes the settings, the command's :class:`~dmrelease.core.requests.BuildRequest`
and the :mod:`workspace <dmrelease.stages.workspace>` (opened once per command). A dry run
fetches into the work clones like a real run and writes nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dmrelease.adapters.buildcmd import BuildCommand
from dmrelease.adapters.config import auto_jobs
from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.stack import Stack
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.build import Action, Outcome
from dmrelease.core.config import Config
from dmrelease.core.errors import DmReleaseError, UsageError
from dmrelease.core.libraries import Library, library_packages
from dmrelease.core.manifest import Manifest, render_manifest
from dmrelease.core.requests import BuildRequest
from dmrelease.stages.rebuild_build import Builder, run_build
from dmrelease.stages.rebuild_outcome import Built, Prepared
from dmrelease.stages.rebuild_progress import ProgressLine, print_build, print_prepare
from dmrelease.stages.workspace import (
    Workspace,
    open_workspace,
    work_dir_lock,
)

if TYPE_CHECKING:
    from dmrelease.adapters.binaries import BinaryServer

__all__ = [
    "BuildFailed",
    "Built",
    "Prepared",
    "build",
    "builder_for",
    "prepare",
    "rebuild",
    "write_outputs",
]


class BuildFailed(DmReleaseError):
    """Some packages failed; their dependents were not built; the rest is installed."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        lines = [f"{o.package}: {o.message}" for o in outcomes if o.action is Action.FAILED]
        skipped = [o.package for o in outcomes if o.action is Action.SKIPPED]
        if skipped:
            lines.append(f"not built because of them: {', '.join(skipped)}")
        failed = len(lines) - bool(skipped)
        super().__init__(
            f"{failed} package(s) failed:\n  " + "\n  ".join(lines)
            + "\nwhat was installed is kept: fix the failure and rerun to resume"
        )  # fmt: skip


def prepare(
    config: Config,
    request: BuildRequest,
    workspace: Workspace,
    log: TextIO = sys.stderr,
    *,
    started: float | None = None,
) -> Prepared:
    """Check the workspace's ref list, print the plan, then write the manifest and record
    it in versiondb (issue 4 §2). A dry run writes nothing (its clones are the work clones,
    fetched like a real run's)."""
    started = time.monotonic() if started is None else started
    workspace.refuse_unmatched()  # a ref that exists in no package
    dry_run = request.dry_run
    manifest = workspace.manifest
    versiondb = None
    if not dry_run or (config.versiondb / ".git").is_dir():
        versiondb = VersionDb.of(config)
    # the plan first (STYLE.md habit 3), with the id the next record would take here
    preview = versiondb.survey(manifest) if versiondb else None
    build_id, reused = (preview.build_id, preview.reused) if preview else ("b?", False)
    manifest = dataclasses.replace(manifest, build_id=build_id)
    notes = workspace.notes
    libraries = workspace.library_packages()
    plan = Prepared(
        manifest, reused, workspace.sources, (), notes, time.monotonic() - started, libraries
    )
    print_prepare(plan, log, dry_run=dry_run)
    if dry_run or versiondb is None:
        return plan
    # recorded, and pushed when versiondb has a remote (issue 9 §4)
    manifest, reused, claimed = versiondb.claim(workspace.manifest, preview)  # one fetch
    if manifest.build_id != build_id:
        print(f"manifest {manifest.build_id}: {build_id} was taken meanwhile", file=log)
    plan = dataclasses.replace(plan, manifest=manifest, build_id_reused=reused)
    steps = tuple(claimed)
    outputs = write_outputs(config, manifest)
    print(f"versiondb: {', '.join(steps) or 'already recorded'}; wrote "
          f"{', '.join(str(p) for p in outputs)}", file=log)  # fmt: skip
    return dataclasses.replace(plan, versiondb_steps=steps)


def write_outputs(config: Config, manifest: Manifest) -> list[Path]:
    """``manifest.txt`` and ``build.properties`` (``BUILD=bNNNN``) for Jenkins to archive."""
    manifest_file = config.outputs / "manifest.txt"
    write_atomically(manifest_file, render_manifest(manifest))
    properties = config.outputs / "build.properties"
    write_atomically(properties, f"BUILD={manifest.build_id}\n")
    return [manifest_file, properties]


def builder_for(
    config: Config, clones: Path | None = None, libraries: Mapping[str, Library] | None = None
) -> Builder:
    """The builder of ``config``; ``libraries``: the manifest's library packages (name →
    library), installed from their library's binary server."""
    server = None
    if config.binary_server and not config.no_binary_fetch:
        # the binary server's code (tarfile, tempfile…) loads only when there is a server
        from dmrelease.adapters.binaries import BinaryServer, http_session

        session = http_session(config.binary_token)
        server = BinaryServer(
            config.binary_server, config.flavor, session,
            max_bytes=config.download_max_bytes, deadline=float(config.download_deadline),
            unpack_max_bytes=config.unpack_max_bytes,
        )  # fmt: skip
    command = BuildCommand(config.build_command) if config.build_command else None
    return Builder(
        Stack(config.stack, config.flavor), clones or config.work_dir / "clones",
        config.work_dir / "logs", command, server, config.build_docs, float(config.git_timeout),
        _library_servers(config, libraries or {}),
    )  # fmt: skip


def _library_servers(
    config: Config, libraries: Mapping[str, Library]
) -> dict[str, tuple[str, BinaryServer]]:
    if not libraries:
        return {}
    from dmrelease.adapters.library_server import library_server

    configured = {library.name: library for library in config.libraries}
    servers = {
        name: library_server(config, configured[name])
        for name in sorted({lib.name for lib in libraries.values()})
    }
    return {n: (lib.shown, servers[lib.name]) for n, lib in libraries.items()}


def build(
    config: Config,
    request: BuildRequest,
    workspace: Workspace | None,
    manifest: Manifest,
    log: TextIO = sys.stderr,
) -> Built:
    """Reuse, fetch or build every package of ``manifest`` (prepare's, with its build id)
    from the clones of ``workspace`` (the work clones when None); BuildFailed after
    status.json."""
    started = time.monotonic()
    libraries = workspace.library_packages() if workspace else _libraries_of(config, manifest)
    builder = builder_for(config, workspace.root if workspace else None, libraries)
    jobs = auto_jobs(config.jobs)
    actions = builder.plan(manifest, jobs)
    if request.dry_run:
        planned = tuple(Outcome(e.name, e.version, actions[e.name]) for e in manifest.entries)
        built = Built(manifest.build_id, planned, time.monotonic() - started, dry_run=True)
        print_build(built, log)
        return built
    if builder.command is None and Action.BUILT in actions.values():
        raise UsageError("packages need building but build.command is not set")
    progress = ProgressLine(log, len(manifest.entries))
    with progress.phase:  # its final line even when the build raises (then "stopped after")
        outcomes = run_build(manifest, actions, builder, jobs, progress)
    built = Built(manifest.build_id, tuple(outcomes), time.monotonic() - started)
    write_status(config, built)
    print_build(built, log)
    if built.counts["failed"]:
        raise BuildFailed(outcomes)
    if request.eups_tag:
        pairs = [(e.name, e.version) for e in manifest.entries]
        count = builder.stack.declare_tag(request.eups_tag, pairs)
        print(f"EUPS tag {request.eups_tag} declared on {count} packages", file=log)
    return built


def _libraries_of(config: Config, manifest: Manifest) -> dict[str, Library]:
    """Without a workspace, the manifest's library packages from the libraries' releases
    (a library package is never built, whoever calls)."""
    names = [name for product in config.products for name in product.libraries]
    if not names:
        return {}
    from dmrelease.adapters.library_server import resolve_libraries

    return library_packages(manifest, resolve_libraries(config, names))


def write_status(config: Config, built: Built) -> Path:
    status = config.work_dir / "status.json"
    write_atomically(status, json.dumps(built.as_dict(), indent=2) + "\n")
    return status


def rebuild(
    config: Config, request: BuildRequest, log: TextIO = sys.stderr
) -> tuple[Prepared, Built | None]:
    """Open the workspace once (under the work-dir lock), prepare, then build unless
    ``request.prepare_only``."""
    started = time.monotonic()
    with work_dir_lock(config):
        workspace = open_workspace(config, request.products, request.refs, log=log)
        prepared = prepare(config, request, workspace, log, started=started)
        if request.prepare_only:
            return prepared, None
        return prepared, build(config, request, workspace, prepared.manifest, log)
