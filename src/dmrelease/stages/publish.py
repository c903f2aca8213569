"""The publish stage (Jenkins ``run-publish``; DMTN-106 §2.4, §4.4): a build onto the
source (eupspkg) server under an EUPS tag.

:func:`publish` reads build ``bNNNN`` from versiondb (the last one by default), makes every
file of the source server tree for its packages (DESIGN.md §6): ``products/<p>-<v>.eupspkg``
(the package as EUPS's eupspkg distrib makes it, from the workspace's clone at the build's
commit), ``manifests/<p>-<v>.manifest`` (the package's whole dependency closure, deepest
first), ``tables/<p>-<v>.table``, ``tags/<TAG>.list`` (with ``#BUILD=`` and
``#CONDA_ENV=``) and ``env/<TAG>.env`` for the tag and each floating tag, ``config.txt``,
and hands them to the server tree, which plans first (a file there with other bytes is
refused before anything is written, exit 1), then writes only what is missing, tag lists
last. Every file is made with the same bytes from the same build, so a rerun after a kill
skips what the first run wrote and writes the rest. Packages are made in parallel (git
archive, ``git.jobs``), except those the server already has: a version is published once,
in the form it was first published in (a final whose versions a candidate published with
SOURCE=git keeps those packages; only its new versions embed their source).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from dmrelease.adapters.config import auto_git_jobs, child_environment
from dmrelease.adapters.eupspkg import (
    SOURCES,
    PackageFailed,
    SourcePackage,
    make_package,
    table_at,
)
from dmrelease.adapters.progress import Progress, progress_for
from dmrelease.adapters.server_tree import Destination, open_destination, publish_tree
from dmrelease.core.config import Config
from dmrelease.core.distrib import (
    SOURCE_CONFIG,
    FileAction,
    closure_rows,
    eups_tag_problem,
    render_env_file,
    render_server_manifest,
    render_tag_list,
)
from dmrelease.core.errors import UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import BUILD_ID_RE, Manifest, parse_manifest
from dmrelease.core.redact import url_secrets
from dmrelease.core.requests import PublishRequest
from dmrelease.stages.workspace import Workspace

__all__ = [
    "Published",
    "check_request",
    "default_source",
    "publish",
    "read_build",
    "replaceable_for",
    "source_tree_files",
]

_FINAL_RE = re.compile(r"^v[0-9]+_[0-9]+_[0-9]+$")


def default_source(eups_tag: str) -> str:
    """How packages get their source unless asked: embedded (``package``) for a final
    ``vM_n_p``, so that it installs without git access; cloned (``git``) otherwise."""
    return "package" if _FINAL_RE.match(eups_tag) else "git"


@dataclass(frozen=True)
class Published:
    """What a publish did (or, with ``dry_run``, would do): the build, the tag and the
    floating tags (``tags``: all of them), the destination (redacted), and the server files
    by what happened to them (``written``: in write order, empty for a dry run);
    ``on_server``: the packages the server already had, not made nor written again."""

    build_id: str
    eups_tag: str
    tags: tuple[str, ...]
    source: str
    destination: str
    packages: tuple[tuple[str, str], ...]
    on_server: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    dry_run: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        files = {
            "added": list(self.added),
            "skipped": list(self.skipped),
            "replaced": list(self.replaced),
            "written": list(self.written),
        }
        return {
            "build_id": self.build_id,
            "tag": self.eups_tag,
            "tags": list(self.tags),
            "source": self.source,
            "destination": self.destination,
            "dry_run": self.dry_run,
            "packages": [{"name": n, "version": v} for n, v in self.packages],
            "on_server": list(self.on_server),
            "files": files,
            "counts": {
                "packages": len(self.packages),
                "on_server": len(self.on_server),
                **{k: len(v) for k, v in files.items()},
            },
        }


def read_build(config: Config, build_id: str | None) -> Manifest:
    """The manifest of build ``build_id`` in versiondb (``manifests/bNNNN.txt``); None:
    the last build (highest number). UsageError when versiondb has no such build."""
    folder = config.versiondb / "manifests"
    builds = sorted((int(m[1]), m[0]) for m in map(BUILD_ID_RE.match, _stems(folder)) if m)
    if not builds:
        raise UsageError(
            f"{config.versiondb}: versiondb has no build yet; run dm-release rebuild first"
        )
    if build_id is None:
        build_id = builds[-1][1]
    elif not BUILD_ID_RE.match(build_id):
        raise UsageError(f"build {build_id!r}: a build id is b followed by digits (b1234)")
    file = folder / f"{build_id}.txt"
    if not file.is_file():
        raise UsageError(
            f"build {build_id} is not in versiondb {config.versiondb} "
            f"(its builds: {builds[0][1]} to {builds[-1][1]})"
        )
    manifest = parse_manifest(decode_text(file.read_bytes(), str(file)), str(file))
    return replace(manifest, build_id=build_id) if manifest.build_id is None else manifest


def _stems(folder: Path) -> list[str]:
    try:
        return [f.stem for f in folder.glob("b*.txt")]
    except OSError:
        return []


def check_request(config: Config, request: PublishRequest) -> tuple[str, Manifest]:
    """The destination and the build's manifest, once the request is checked: EUPS tag
    names, the source, a destination, a build in versiondb (UsageError, exit 2: nothing
    is read from the clones nor written)."""
    problems = [eups_tag_problem(t) for t in (request.eups_tag, *request.floating)]
    found = [p for p in problems if p]
    if found:
        raise UsageError("; ".join(found))
    if request.source not in SOURCES:
        raise UsageError(f"source {request.source!r}: one of {', '.join(SOURCES)}")
    where = request.server_dir or config.source_server_dir
    if not where:
        raise UsageError(
            "no source server to publish to: give --server-dir, or set paths.source_server "
            "(DM_RELEASE_SOURCE_SERVER_DIR)"
        )
    return where, read_build(config, request.build_id)


def _selected(manifest: Manifest, products: Sequence[str]) -> list[str]:
    """The packages to publish in build order: the closures of ``products`` (every
    package of the build when empty)."""
    known = manifest.packages
    missing = [p for p in products if p not in known]
    if missing:
        raise UsageError(
            f"{', '.join(missing)}: not in build {manifest.build_id} "
            f"(its packages: {', '.join(known)})"
        )
    if not products:
        return list(known)
    graph = manifest.graph()
    wanted = {n for p in products for n in graph.closure(p)} | set(products)
    return [n for n in known if n in wanted]


def replaceable_for(tags: Sequence[str]) -> Callable[[str], bool]:
    """What a publish may replace: tag lists, and the env files of the floating ``tags``
    (they follow their tag list; a dated tag's env file is written once)."""
    floating_env = {f"env/{t}.env" for t in tags}
    return lambda path: path.endswith(".list") or path in floating_env


def source_tree_files(
    manifest: Manifest,
    packages: Sequence[SourcePackage],
    tags: Sequence[str],
    conda_env: str | None,
) -> dict[str, bytes]:
    """Every file of the source server tree for ``packages`` of ``manifest`` under
    ``tags`` (the index.json files are the server tree's)."""
    build_id = manifest.build_id
    files: dict[str, bytes] = {"config.txt": SOURCE_CONFIG.encode()}
    for package in packages:
        stem = f"{package.name}-{package.version}"
        if package.data is not None:  # None: on the server already, kept as it is
            files[f"products/{stem}.eupspkg"] = package.data
        if package.table is not None:
            files[f"tables/{stem}.table"] = package.table
        rows = closure_rows(manifest, package.name, flavor=None)
        text = render_server_manifest(package.name, package.version, rows)
        files[f"manifests/{stem}.manifest"] = text.encode()
    listed = [(p.name, "generic", p.version) for p in packages]
    for tag in tags:
        text = render_tag_list(tag, listed, build_id=build_id, conda_env=conda_env)
        files[f"tags/{tag}.list"] = text.encode()
        files[f"env/{tag}.env"] = render_env_file(tag, conda_env).encode()
    return files


def _repository(workspace: Workspace, name: str) -> str:
    entry = workspace.remotes.repos.get(name)
    if entry is None:
        raise UsageError(f"{name}: no repository for it in the products' repos.yaml")
    if url_secrets(entry.url):
        raise UsageError(
            f"{name}: its repository URL carries a credential, which a published package "
            "would show to every user: name it without one (git takes credentials from "
            "its credential helper)"
        )
    return entry.url


def _make_all(
    config: Config,
    request: PublishRequest,
    workspace: Workspace,
    manifest: Manifest,
    names: Sequence[str],
    on_server: frozenset[str],
    tables_kept: frozenset[str],
    progress: Progress,
) -> list[SourcePackage]:
    """The packages ``names``, made from their clones; those ``on_server`` are not made
    again (only their table file is read, unless it is there too: ``tables_kept``)."""
    clones = workspace.clones()
    absent = [n for n in names if n not in clones]
    if absent:
        raise UsageError(
            f"{', '.join(absent)}: in build {manifest.build_id} but not among the packages "
            "of the products (give --products, or the configuration the build was made with)"
        )
    entries = manifest.packages
    repositories = {n: _repository(workspace, n) for n in names}
    timeout = float(config.git_timeout)

    def make(name: str) -> SourcePackage:
        entry = entries[name]
        if name in on_server:
            table = None
            if name not in tables_kept:  # a kill between the package and its table
                table = table_at(clones[name], name, entry.sha, timeout=timeout)
            phase.advance(name)
            return SourcePackage(name, entry.version, entry.sha, None, table)
        made = make_package(
            clones[name], name, entry.version, entry.sha, source=request.source,
            repository=repositories[name], timeout=timeout,
        )  # fmt: skip
        phase.advance(name)
        return made

    jobs = auto_git_jobs(config.git_jobs)
    with progress.phase("publish", len(names)) as phase, ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(make, names))


def _package_name(name: str, version: str) -> str:
    return f"{name}-{version}.eupspkg"


def publish(
    config: Config,
    request: PublishRequest,
    workspace: Workspace,
    log: TextIO = sys.stderr,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    destination: Destination | None = None,
) -> Published:
    """Publish build ``request.build_id`` (the last when None) under ``request.eups_tag``
    and the floating tags to the source server; see the module. ``destination``: where
    the tree goes instead of the one named by the request or the settings."""
    started = time.monotonic()
    where, manifest = check_request(config, request)
    build_id = manifest.build_id or "b?"
    names = _selected(manifest, request.products)
    tags = tuple(dict.fromkeys((request.eups_tag, *request.floating)))
    if destination is None:
        destination = open_destination(where, child_environment({}) if environ is None else environ)
    there = set(destination.names("products"))
    entries = manifest.packages
    on_server = frozenset(n for n in names if _package_name(n, entries[n].version) in there)
    tables = set(destination.names("tables"))
    kept = frozenset(n for n in on_server if f"{n}-{entries[n].version}.table" in tables)
    print(
        f"publish {build_id} as {', '.join(tags)} to {destination.where}: {len(names)} "
        f"packages, SOURCE={request.source}, {len(on_server)} already on the server (kept "
        f"as published), {len(names) - len(on_server)} to make"
        + (" (dry run)" if request.dry_run else ""),
        file=log,
    )  # fmt: skip
    shown = progress_for(log) if progress is None else progress
    packages = _make_all(config, request, workspace, manifest, names, on_server, kept, shown)
    tableless = [
        f"{p.name}: no ups/{p.name}.table at {p.sha}"
        for p in packages
        if p.table is None and p.name not in kept
    ]
    if tableless:
        raise PackageFailed(
            "\n".join(tableless) + "\nEUPS cannot install a source package without its table "
            "file (its build runs setup -r . in the package): nothing was written"
        )
    files = source_tree_files(manifest, packages, tags, config.env_name)
    outcome = publish_tree(
        destination, files, replaceable=replaceable_for(request.floating),
        dry_run=request.dry_run, log=log, indexed=("products", "tables"),
    )  # fmt: skip
    by_action = {a: tuple(f.path for f in outcome.plan.files if f.action is a) for a in FileAction}
    return Published(
        build_id, request.eups_tag, tags, request.source, destination.where,
        tuple((p.name, p.version) for p in packages),
        tuple(f"products/{_package_name(p.name, p.version)}" for p in packages if p.data is None),
        by_action[FileAction.ADD],
        by_action[FileAction.SKIP], by_action[FileAction.REPLACE], outcome.written,
        request.dry_run, time.monotonic() - started,
    )  # fmt: skip
