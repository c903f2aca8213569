"""The rebuild stage (Jenkins ``run-rebuild``; DMTN-106 §4.1-4.2, A.2.3; issue 4).

:func:`prepare` clones or fetches every package of the products in parallel, resolves the
ref list (DESIGN.md §2), writes the manifest and records it in versiondb with an annotated
tag ``bNNNN``, reusing the build id of identical content. :func:`build` reuses, fetches or
builds every package of a manifest. :func:`rebuild` does both and writes ``manifest.txt``,
``build.properties`` (``BUILD=bNNNN``) and ``status.json`` where Jenkins archives them.
With ``dry_run`` the clones go to a temporary directory and nothing else is written.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.binaries import BinaryServer, http_session
from dmrelease.adapters.buildcmd import BuildCommand
from dmrelease.adapters.config import auto_jobs
from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.stack import Stack
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.build import Action, Outcome, count_actions
from dmrelease.core.config import Config
from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError, UsageError
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import Manifest, make_manifest, render_manifest
from dmrelease.core.redact import redact
from dmrelease.core.refs import unmatched_refs
from dmrelease.core.repos import RepoEntry, parse_repos
from dmrelease.core.tables import ExclusionMap
from dmrelease.stages.rebuild_build import Builder, run_build
from dmrelease.stages.rebuild_progress import ProgressLine, print_build, print_prepare
from dmrelease.stages.rebuild_sources import Discovery, Source, Sources, discover

PLACEHOLDER_BUILD = "b0"  # until versiondb gives the build id


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


@dataclass(frozen=True)
class Prepared:
    """The outcome of prepare: the manifest and how each package's ref was chosen."""

    manifest: Manifest
    build_id_reused: bool
    sources: Mapping[str, Source]
    versiondb_steps: tuple[str, ...]
    notes: tuple[str, ...]
    seconds: float

    def as_dict(self) -> dict[str, object]:
        versions = {e.name: e.version for e in self.manifest.entries}
        return {
            "build_id": self.manifest.build_id,
            "build_id_reused": self.build_id_reused,
            "packages": [
                {**s.resolution.as_dict(), "version": versions[n], "clone": s.action}
                for n, s in sorted(self.sources.items())
            ],
            "versiondb": list(self.versiondb_steps),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Built:
    """The outcome of build: one outcome per manifest package, in manifest order."""

    build_id: str | None
    outcomes: tuple[Outcome, ...]
    seconds: float
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return count_actions(self.outcomes)

    def as_dict(self) -> dict[str, object]:
        return {
            "build_id": self.build_id,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "packages": {o.package: o.as_dict() for o in self.outcomes},
        }


def load_repos(config: Config) -> tuple[dict[str, RepoEntry], dict[str, str]]:
    """The repos.yaml entries of the selected products, merged; where each was read."""
    entries: dict[str, RepoEntry] = {}
    origin: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for product in config.selected_products():
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


def _sources(config: Config, root: Path) -> Sources:
    repos, origin = load_repos(config)
    exclusions = None
    if config.exclusions is not None:
        if not config.exclusions.is_file():
            raise UsageError(f"{config.exclusions}: no such exclusion map (build.exclusions)")
        text = decode_text(config.exclusions.read_bytes(), str(config.exclusions))
        exclusions = ExclusionMap.parse(text, str(config.exclusions))
    return Sources(
        root, repos, origin, config.refs, config.default_branch, config.flavor,
        exclusions, float(config.git_timeout),
    )  # fmt: skip


def discover_product(config: Config, root: Path) -> Discovery:
    """Clone or fetch every package of the selected products under ``root`` and resolve
    ``config.refs`` first-match per package (DESIGN.md §2); records nothing. Raises
    CheckFailed with every problem, ``ref-unmatched`` for a ref that no package has."""
    products = config.selected_products()
    if not products:
        raise UsageError("no product configured: add [products.<name>] to dm-release.toml")
    external = frozenset(e for p in products for e in p.external)
    root.mkdir(parents=True, exist_ok=True)
    found = discover(
        [p.name for p in products], _sources(config, root), auto_jobs(config.git_jobs), external
    )
    if not found.problems:
        refs = {name: source.refs for name, source in found.sources.items()}
        found.problems.extend(
            Diagnostic(
                "<refs>",
                1,
                "ref-unmatched",
                f"ref {ref!r} exists in no package",
                hint="check the spelling, or drop it from the ref list",
            )
            for ref in unmatched_refs(config.refs, refs)
        )
    if found.problems:
        raise CheckFailed(sorted(found.problems, key=lambda d: (d.path, d.line)))
    return found


def manifest_of(found: Discovery) -> Manifest:
    """The manifest of a discovery in build order, with the placeholder build id
    ``PLACEHOLDER_BUILD`` until versiondb gives one (DMTN-106 §4.1); CycleError on a cycle."""
    graph = DependencyGraph({name: s.deps for name, s in sorted(found.sources.items())})
    shas = {name: s.resolution.sha for name, s in found.sources.items()}
    return make_manifest(PLACEHOLDER_BUILD, graph, shas)


def prepare(config: Config, *, dry_run: bool = False, log: TextIO = sys.stderr) -> Prepared:
    """Clone/fetch, resolve, print the plan, then write the manifest and record it in
    versiondb (issue 4 §2). A dry run clones to a temporary directory and writes nothing."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dm-release-dry-run-") as scratch:
        root = Path(scratch) if dry_run else config.work_dir / "clones"
        found = discover_product(config, root)
        manifest = manifest_of(found)
    versiondb = None
    if not dry_run or (config.versiondb / ".git").is_dir():
        versiondb = VersionDb.open(
            config.versiondb, config.user_name, config.user_email, config.git_timeout,
            remote=config.versiondb_remote,
        )  # fmt: skip
    claimed: list[str] = []
    if dry_run or versiondb is None:  # a preview: the id the next record would take here
        build_id, reused = versiondb.build_id_for(manifest) if versiondb else ("b?", False)
        manifest = dataclasses.replace(manifest, build_id=build_id)
    else:  # recorded, and pushed when versiondb has a remote (issue 9 §4)
        manifest, reused, claimed = versiondb.claim(manifest)
    notes = tuple(found.skipped_optional)
    plan = Prepared(manifest, reused, found.sources, (), notes, time.monotonic() - started)
    print_prepare(plan, log, dry_run=dry_run)
    if dry_run or versiondb is None:
        return plan
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


def builder_for(config: Config) -> Builder:
    server = None
    if config.binary_server and not config.no_binary_fetch:
        session = http_session(config.binary_token)
        server = BinaryServer(
            config.binary_server, config.flavor, session,
            max_bytes=config.download_max_bytes, deadline=float(config.download_deadline),
            unpack_max_bytes=config.unpack_max_bytes,
        )  # fmt: skip
    command = BuildCommand(config.build_command) if config.build_command else None
    return Builder(
        Stack(config.stack, config.flavor), config.work_dir / "clones",
        config.work_dir / "logs", command, server, config.build_docs, float(config.git_timeout),
    )  # fmt: skip


def build(
    config: Config, manifest: Manifest, *, dry_run: bool = False, log: TextIO = sys.stderr
) -> Built:
    """Reuse, fetch or build every package of ``manifest``; BuildFailed after status.json."""
    started = time.monotonic()
    builder = builder_for(config)
    jobs = auto_jobs(config.jobs)
    actions = builder.plan(manifest, jobs)
    if dry_run:
        planned = tuple(Outcome(e.name, e.version, actions[e.name]) for e in manifest.entries)
        built = Built(manifest.build_id, planned, time.monotonic() - started, dry_run=True)
        print_build(built, log)
        return built
    if builder.command is None and Action.BUILT in actions.values():
        raise UsageError("packages need building but build.command is not set")
    progress = ProgressLine(log, len(manifest.entries))
    outcomes = run_build(manifest, actions, builder, jobs, progress)
    progress.close()
    built = Built(manifest.build_id, tuple(outcomes), time.monotonic() - started)
    write_status(config, built)
    print_build(built, log)
    if built.counts["failed"]:
        raise BuildFailed(outcomes)
    if config.eups_tag:
        pairs = [(e.name, e.version) for e in manifest.entries]
        count = builder.stack.declare_tag(config.eups_tag, pairs)
        print(f"EUPS tag {config.eups_tag} declared on {count} packages", file=log)
    return built


def write_status(config: Config, built: Built) -> Path:
    status = config.work_dir / "status.json"
    write_atomically(status, json.dumps(built.as_dict(), indent=2) + "\n")
    return status


def rebuild(
    config: Config, *, dry_run: bool = False, log: TextIO = sys.stderr
) -> tuple[Prepared, Built | None]:
    """Prepare, then build unless ``config.prepare_only``."""
    prepared = prepare(config, dry_run=dry_run, log=log)
    if config.prepare_only:
        return prepared, None
    return prepared, build(config, prepared.manifest, dry_run=dry_run, log=log)
