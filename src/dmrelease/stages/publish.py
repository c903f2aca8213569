"""The publish stage (Jenkins ``run-publish``; DMTN-106 §2.4, §4.4): a build onto the
source (eupspkg) server under an EUPS tag.

:func:`publish` reads build ``bNNNN`` from versiondb (the last one by default), makes every
file of the source server tree for its packages (DESIGN.md §6): ``products/<p>-<v>.eupspkg``
(the package as EUPS's eupspkg distrib makes it, from the workspace's clone at the build's
commit), ``manifests/<p>-<v>.manifest`` (the package's whole dependency closure, deepest
first), ``tables/<p>-<v>.table``, ``tags/<TAG>.list`` (with ``#BUILD=`` and
``#CONDA_ENV=``) for the tag and each floating tag, ``env/<TAG>.env`` for the tag only
(as tarball writes it: a floating tag's environment is its tag list's ``#CONDA_ENV=``),
``config.txt``,
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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TextIO

from dmrelease.adapters.config import auto_git_jobs, child_environment
from dmrelease.adapters.eupspkg import (
    SOURCES,
    PackageFailed,
    SourcePackage,
    make_package,
    pkginfo_in,
    table_at,
)
from dmrelease.adapters.progress import Progress, progress_for
from dmrelease.adapters.server_tree import Destination, open_destination, publish_tree
from dmrelease.adapters.versiondb import read_build
from dmrelease.core.config import Config
from dmrelease.core.distrib import (
    SOURCE_CONFIG,
    FileAction,
    ServerConflict,
    closure_rows,
    eups_tag_problem,
    package_identity_problem,
    parse_pkginfo,
    render_env_file,
    render_server_manifest,
    render_tag_list,
)
from dmrelease.core.errors import DmReleaseError, UsageError
from dmrelease.core.libraries import Library, library_packages
from dmrelease.core.manifest import Manifest
from dmrelease.core.redact import storage_userinfo_problem, url_secrets
from dmrelease.core.requests import PublishRequest
from dmrelease.stages.workspace import Workspace

__all__ = [
    "LibraryNotPublished",
    "Published",
    "check_request",
    "default_source",
    "publish",
    "source_tree_files",
]

_FINAL_RE = re.compile(r"^v[0-9]+_[0-9]+_[0-9]+$")


def default_source(eups_tag: str) -> str:
    """How packages get their source unless asked: embedded (``package``) for a final
    ``vM_n_p``, so that it installs without git access; cloned (``git``) otherwise."""
    return "package" if _FINAL_RE.match(eups_tag) else "git"


class LibraryNotPublished(DmReleaseError):
    """Packages of a library the build uses are not on the destination (exit 1): a
    product's publish never makes a library's packages, its own release does."""


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
    kept_sources: tuple[tuple[str, int], ...] = ()
    libraries: tuple[str, ...] = ()

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
            "kept_sources": dict(self.kept_sources),
            "libraries": list(self.libraries),
            "files": files,
            "counts": {
                "packages": len(self.packages),
                "on_server": len(self.on_server),
                **{k: len(v) for k, v in files.items()},
            },
        }


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
    if problem := storage_userinfo_problem(where):  # before the fetch, never repeating it
        raise UsageError(problem)
    return where, read_build(config.versiondb, request.build_id)


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


def source_tree_files(
    manifest: Manifest,
    packages: Sequence[SourcePackage],
    tags: Sequence[str],
    conda_env: str | None,
    libraries: frozenset[str] = frozenset(),
) -> dict[str, bytes]:
    """Every file of the source server tree for ``packages`` of ``manifest`` under
    ``tags`` (the index.json files are the server tree's). The packages of ``libraries``
    are named by the tag lists and the manifests only: their files are their library's."""
    build_id = manifest.build_id
    files: dict[str, bytes] = {"config.txt": SOURCE_CONFIG.encode()}
    for package in packages:
        if package.name in libraries:
            continue
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
    if tags:  # the tag's own only, as tarball's: a floating tag's would have to be replaced
        files[f"env/{tags[0]}.env"] = render_env_file(tags[0], conda_env).encode()
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
    libraries: frozenset[str] = frozenset(),
) -> list[SourcePackage]:
    """The packages ``names``, made from their clones; those ``on_server`` are not made
    again (only their table file is read, unless it is there too: ``tables_kept``), nor
    are the ``libraries``' (on the server, published by their library's release)."""
    clones = workspace.clones()
    absent = [n for n in names if n not in clones and n not in libraries]
    if absent:
        raise UsageError(
            f"{', '.join(absent)}: in build {manifest.build_id} but not among the packages "
            "of the products (give --products, or the configuration the build was made with)"
        )
    entries = manifest.packages
    repositories = {n: _repository(workspace, n) for n in names if n not in libraries}
    timeout = float(config.git_timeout)

    def make(name: str) -> SourcePackage:
        entry = entries[name]
        if name in libraries:
            phase.advance(name)
            return SourcePackage(name, entry.version, entry.sha, None, None)
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


def _kept(destination: Destination, manifest: Manifest, on_server: Sequence[str]) -> dict[str, str]:
    """The SOURCE of each package ``on_server`` (name → git or package), read from the
    ``ups/pkginfo`` of the destination's package; ServerConflict (exit 1) naming each one
    whose PRODUCT, VERSION or SHA1 is not the build's: another package is never kept."""
    entries = manifest.packages
    sources: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name in on_server:
        entry = entries[name]
        path = f"products/{_package_name(name, entry.version)}"
        data = destination.read(path)
        text = None if data is None else pkginfo_in(data, name, entry.version)
        fields = None if text is None else parse_pkginfo(text)
        problem = package_identity_problem(fields, name, entry.version, entry.sha)
        if problem is not None or fields is None:
            problems[path] = problem or "unreadable"
        else:
            sources[name] = fields.get("SOURCE", "(none)")
    if problems:
        raise ServerConflict(destination.where, problems, reasons=problems)
    return sources


def _kept_text(sources: Mapping[str, str]) -> str:
    counts = _counts(sources)
    parts = [
        f"{n} package{'s' if n != 1 else ''} kept with SOURCE={source}"
        for source, n in sorted(counts.items())
    ]
    return ", ".join(parts) if parts else "none kept"


def _check_libraries(
    destination: Destination,
    manifest: Manifest,
    owners: Mapping[str, Library],
    there: set[str],
) -> None:
    """LibraryNotPublished (exit 1) naming every library package absent from the
    destination, its library and the library's tag."""
    entries = manifest.packages
    absent = [
        f"{name} {entries[name].version}: a package of {owner.shown}, not on "
        f"{destination.where} (products/{_package_name(name, entries[name].version)})"
        for name, owner in owners.items()
        if _package_name(name, entries[name].version) not in there
    ]
    if absent:
        raise LibraryNotPublished(
            "\n".join(absent) + "\na product's publish never makes its libraries' packages: "
            "publish the library to this server first (dm-release publish of its build, "
            "under its tag): nothing was written"
        )


def publish(
    config: Config,
    request: PublishRequest,
    workspace: Workspace,
    log: TextIO = sys.stderr,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    destination: Destination | None = None,
    checked: tuple[str, Manifest] | None = None,
) -> Published:
    """Publish build ``request.build_id`` (the last when None) under ``request.eups_tag``
    and the floating tags to the source server; see the module. ``destination``: where
    the tree goes instead of the one named by the request or the settings. ``checked``:
    what :func:`check_request` returned for this request (a command checks it before the
    fetch); None checks it here."""
    started = time.monotonic()
    where, manifest = check_request(config, request) if checked is None else checked
    build_id = manifest.build_id or "b?"
    names = _selected(manifest, request.products)
    tags = tuple(dict.fromkeys((request.eups_tag, *request.floating)))
    if destination is None:
        destination = open_destination(where, child_environment({}) if environ is None else environ)
    if not request.dry_run:
        destination.check_writable()  # before any package is made, as tarball does
    there = set(destination.names("products"))
    entries = manifest.packages
    owners = {n: lib for n, lib in library_packages_of(workspace, manifest).items() if n in names}
    _check_libraries(destination, manifest, owners, there)
    libraries = frozenset(owners)
    on_server = [n for n in names if _package_name(n, entries[n].version) in there]
    sources = _kept(destination, manifest, on_server)  # libraries' too: the same rule
    tables = set(destination.names("tables"))
    kept = frozenset(n for n in on_server if f"{n}-{entries[n].version}.table" in tables)
    own_kept = {n: s for n, s in sources.items() if n not in libraries}
    print(
        f"publish {build_id} as {', '.join(tags)} to {destination.where}: {len(names)} "
        f"packages, SOURCE={request.source}; {len(own_kept)} already on the server as first "
        f"published ({_kept_text(own_kept)}), "
        + (f"{len(libraries)} of libraries (there), " if libraries else "")
        + f"{len(names) - len(on_server)} to make"
        + (" (dry run)" if request.dry_run else ""),
        file=log,
    )  # fmt: skip
    shown = progress_for(log) if progress is None else progress
    packages = _make_all(
        config, request, workspace, manifest, names, frozenset(on_server), kept, shown,
        libraries,
    )  # fmt: skip
    tableless = [
        f"{p.name}: no ups/{p.name}.table at {p.sha}"
        for p in packages
        if p.table is None and p.name not in kept and p.name not in libraries
    ]
    if tableless:
        raise PackageFailed(
            "\n".join(tableless) + "\nEUPS cannot install a source package without its table "
            "file (its build runs setup -r . in the package): nothing was written"
        )
    files = source_tree_files(manifest, packages, tags, config.env_name, libraries)
    outcome = publish_tree(
        destination, files, dry_run=request.dry_run, log=log, indexed=("products", "tables"),
    )  # fmt: skip
    by_action = {a: tuple(f.path for f in outcome.plan.files if f.action is a) for a in FileAction}
    return Published(
        build_id, request.eups_tag, tags, request.source, destination.where,
        tuple((p.name, p.version) for p in packages),
        tuple(
            f"products/{_package_name(p.name, p.version)}"
            for p in packages if p.data is None and p.name not in libraries
        ),
        by_action[FileAction.ADD],
        by_action[FileAction.SKIP], by_action[FileAction.REPLACE], outcome.written,
        request.dry_run, time.monotonic() - started,
        tuple(sorted(_counts(own_kept).items())), tuple(sorted(libraries)),
    )  # fmt: skip


def _counts(sources: Mapping[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for source in sources.values():
        counts[source] = counts.get(source, 0) + 1
    return counts


def library_packages_of(workspace: Workspace, manifest: Manifest) -> dict[str, Library]:
    """The packages of ``manifest`` that come from the workspace's libraries."""
    return library_packages(manifest, workspace.libraries)
