"""The workspace stage: the one discovery of every command (DESIGN.md §2, §7; issue 9 §1).

:func:`open_workspace` is the only code that clones, fetches, resolves refs and reads table
files: it clones or fetches each package of the products once, in parallel, resolves the
ref list first-match per package, checks each clone out at its winning commit (with its LFS
content for ``lfs: true`` packages) and returns a :class:`Workspace`: the sources, their
resolutions with the reason each ref won, the dependency graph and the manifest (with a
placeholder build id until versiondb gives one). Rebuild, release and every later stage
take a workspace as input. :func:`reresolve` resolves the same clones against another ref
list without fetching (a tag just made in a clone counts); it clones only packages new to
the graph. A ref of the list that no package has is data (:attr:`Workspace.unmatched`),
so a caller may drop a default ref; :meth:`Workspace.problems` reports it as
``ref-unmatched`` for a caller that refuses such a list. :func:`work_dir_lock` is held by
the command using a work dir.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.config import auto_git_jobs
from dmrelease.adapters.progress import Progress, progress_for
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.libraries import (
    Library,
    library_packages,
    overlap_problems,
    version_problems,
    with_libraries,
)
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import Manifest, make_manifest
from dmrelease.core.redact import redact
from dmrelease.core.refs import Resolution, unmatched_problems, unmatched_refs
from dmrelease.core.repos import RepoEntry, parse_repos
from dmrelease.core.requests import RefList
from dmrelease.core.tables import ExclusionMap
from dmrelease.stages.workspace_lock import WorkDirBusy, work_dir_lock
from dmrelease.stages.workspace_sources import (
    Discovery,
    LfsMissing,
    PackageSource,
    Remotes,
    discover,
)

__all__ = [
    "LfsMissing",
    "PackageSource",
    "WorkDirBusy",
    "Workspace",
    "load_repos",
    "open_workspace",
    "reresolve",
    "work_dir_lock",
]

PLACEHOLDER_BUILD = "b0"  # until versiondb gives the build id


@dataclass(frozen=True)
class Workspace:
    """The clones of the products' packages under ``root``, resolved against ``refs``.

    ``remotes``: where each package comes from (repos.yaml, the exclusion map), read once
    per command; ``synced``: the packages cloned or fetched by this command so far (a
    re-resolution reads and fetches none of them again). ``libraries``: the library
    products of the products, at their tags; the library packages the products depend on
    are in the graph and the manifest, not in ``sources`` (never cloned nor built).
    """

    remotes: Remotes
    products: tuple[ProductConfig, ...]
    refs: RefList
    sources: Mapping[str, PackageSource]
    graph: DependencyGraph
    manifest: Manifest
    unmatched: tuple[str, ...]
    notes: tuple[str, ...]
    synced: frozenset[str] = frozenset()
    libraries: tuple[Library, ...] = ()

    @property
    def root(self) -> Path:
        return self.remotes.root

    def library_packages(self) -> dict[str, Library]:
        """The manifest's packages that come from a library: name → the library."""
        return library_packages(self.manifest, self.libraries)

    def resolutions(self) -> dict[str, Resolution]:
        return {name: source.resolution for name, source in self.sources.items()}

    def clones(self) -> dict[str, Path]:
        return {name: source.clone for name, source in self.sources.items()}

    def problems(self) -> list[Diagnostic]:
        """``ref-unmatched`` for each ref of the list that no package has, its column the
        ref's position in the list (empty when every ref matched somewhere)."""
        return unmatched_problems(self.refs.refs, {n: s.refs for n, s in self.sources.items()})

    def refuse_unmatched(self) -> None:
        """Raise CheckFailed with :meth:`problems` when there are any (DESIGN.md §2)."""
        problems = self.problems()
        if problems:
            raise CheckFailed(problems)


def products_of(config: Config, names: Sequence[str]) -> tuple[ProductConfig, ...]:
    """The configured products named (every configured one when ``names`` is empty)."""
    if not config.products:
        raise UsageError("no product configured: add [products.<name>] to dm-release.toml")
    known = [p.name for p in config.products]
    unknown = [n for n in names if n not in known]
    if unknown:
        shown = ", ".join(known)
        raise UsageError(f"product {', '.join(unknown)} is not configured (configured: {shown})")
    return config.products_named(names)


def load_repos(
    products: Sequence[ProductConfig],
) -> tuple[dict[str, RepoEntry], dict[str, str]]:
    """The repos.yaml entries of ``products``, merged; where each was read."""
    entries: dict[str, RepoEntry] = {}
    origin: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for product in products:
        if not product.repos.is_file():
            raise UsageError(f"{product.repos}: no such repos.yaml (product {product.name})")
        path = str(product.repos)
        for name, entry in parse_repos(decode_text(product.repos.read_bytes(), path), path).items():
            if name in entries and entries[name].url != entry.url:
                here, there = redact(entry.url), redact(entries[name].url)  # may hold a password
                message = f"{name}: {here} here, {there} in {origin[name]}"
                problems.append(Diagnostic(path, entry.line, "repos-conflict", message))
            entries.setdefault(name, entry)
            origin.setdefault(name, path)
    if problems:
        raise CheckFailed(problems)
    return entries, origin


def _exclusions(config: Config) -> ExclusionMap | None:
    if config.exclusions is None:
        return None
    if not config.exclusions.is_file():
        raise UsageError(f"{config.exclusions}: no such exclusion map (build.exclusions)")
    text = decode_text(config.exclusions.read_bytes(), str(config.exclusions))
    return ExclusionMap.parse(text, str(config.exclusions))


def _remotes(config: Config, products: Sequence[ProductConfig], root: Path) -> Remotes:
    repos, origin = load_repos(products)
    return Remotes(
        root, repos, origin, config.default_branch, config.flavor, _exclusions(config),
        float(config.git_timeout),
    )  # fmt: skip


def open_workspace(
    config: Config,
    products: Sequence[str],
    refs: RefList,
    *,
    log: TextIO = sys.stderr,
    root: Path | None = None,
    progress: Progress | None = None,
) -> Workspace:
    """Clone or fetch every package of ``products`` (every configured one when empty) under
    ``<work_dir>/clones`` (or ``root``), once each, and resolve ``refs`` first-match per
    package (DESIGN.md §2). Raises CheckFailed with every problem of the packages (a ref
    that no package has is not one: see :meth:`Workspace.problems`), CycleError on a
    dependency cycle. ``progress``: how the fetch is shown (by default as ``log`` allows)."""
    root = config.work_dir / "clones" if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    chosen = products_of(config, products)
    remotes = _remotes(config, chosen, root)
    libraries = _libraries(config, chosen, remotes, log)
    return _walk(config, chosen, refs, remotes, frozenset(), log, progress, libraries)


def _libraries(
    config: Config, products: Sequence[ProductConfig], remotes: Remotes, log: TextIO
) -> tuple[Library, ...]:
    """The libraries of ``products`` at their tags (read from the binary server and
    versiondb), refused when one of their packages is in a product's repos.yaml too."""
    names = [name for product in products for name in product.libraries]
    if not names:
        return ()
    from dmrelease.adapters.library_server import resolve_libraries  # requests, with a library

    libraries = resolve_libraries(config, names)
    problems = []
    for product in products:
        used = [lib for lib in libraries if lib.name in product.libraries]
        mine = [n for n, where in remotes.repos_path.items() if where == str(product.repos)]
        repos = {n: remotes.repos[n].line for n in mine}
        problems += overlap_problems(product.name, used, repos, str(product.repos))
    if problems:
        raise CheckFailed(problems)
    for library in libraries:
        print(f"library {library.name} {library.tag}: build {library.build_id}, "
              f"{len(library.entries)} packages ({library.where})", file=log)  # fmt: skip
    return libraries


def reresolve(
    config: Config,
    workspace: Workspace,
    refs: RefList,
    *,
    log: TextIO = sys.stderr,
    progress: Progress | None = None,
) -> Workspace:
    """``workspace`` resolved against ``refs`` without any fetch: each clone's refs are
    re-read (remote-tracking branches and local tags, so tags made in the clone since
    count), the tables re-read at the new commits; only packages new to the graph are
    cloned (or fetched, if a clone of an earlier command is there)."""
    return _walk(
        config, workspace.products, refs, workspace.remotes, workspace.synced, log, progress,
        workspace.libraries,
    )  # fmt: skip


def _walk(
    config: Config,
    products: tuple[ProductConfig, ...],
    refs: RefList,
    remotes: Remotes,
    synced: frozenset[str],
    log: TextIO,
    progress: Progress | None,
    libraries: tuple[Library, ...] = (),
) -> Workspace:
    external = frozenset(e for p in products for e in p.external)
    external |= {name for library in libraries for name in library.packages}
    roots = [p.name for p in products]
    jobs = auto_git_jobs(config.git_jobs)
    shown = progress_for(log) if progress is None else progress
    with shown.phase("resolve" if synced else "fetch", 0) as phase:
        found = discover(roots, remotes, refs.refs, jobs, external, synced, phase)
    if found.problems:
        raise CheckFailed(sorted(found.problems, key=lambda d: (d.path, d.line)))
    _report_lfs(found, remotes, log)
    deps = {name: s.deps for name, s in sorted(found.sources.items())}
    shas = {name: s.resolution.sha for name, s in found.sources.items()}
    deps, shas = with_libraries(deps, shas, libraries)  # what the products use of them
    graph = DependencyGraph(dict(sorted(deps.items())))
    manifest = make_manifest(PLACEHOLDER_BUILD, graph, shas)
    problems = version_problems(manifest, libraries)
    if problems:
        raise CheckFailed(problems)
    unmatched = tuple(unmatched_refs(refs.refs, {n: s.refs for n, s in found.sources.items()}))
    fetched = frozenset(n for n, s in found.sources.items() if s.action != "local")
    return Workspace(
        remotes, products, refs, dict(found.sources), graph, manifest, unmatched,
        tuple(found.skipped_optional), synced | fetched, libraries,
    )  # fmt: skip


def _report_lfs(found: Discovery, remotes: Remotes, log: TextIO) -> None:
    pulled = sorted(
        n for n, s in found.sources.items() if remotes.repos[n].lfs and s.action != "local"
    )
    if pulled:
        print(f"git lfs pull: {', '.join(pulled)}", file=log)
