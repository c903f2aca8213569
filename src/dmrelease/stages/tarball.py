"""The tarball stage (Jenkins ``tarball``; DMTN-106 §4.4, A.2.3; issue 12 §2): the binary
server tree of one flavor from the stack rebuild installed (DESIGN.md §6).

From a build's manifest (``--build``, default the last in versiondb), for every package of
it (or of the closures of ``--products``), all installed in the stack:

- ``<p>-<v>@<flavor>.tar.gz`` (adapters/binary_pack.py: what EUPS's tarball distrib
  unpacks) and its SHA-256 beside it, ``<p>-<v>@<flavor>.tar.gz.sha256`` (sha256sum's
  format), for each version the server does not have yet: binaries are made once (A.2.3),
  so a tarball already there is never packed again, only its checksum file written if it is
  missing (from the server's own bytes);
- ``manifests/<p>-<v>@<flavor>.manifest`` (the package's closure, deepest first),
  ``tables/<p>-<v>.table`` (the installed table file), ``env/<TAG>.env``, ``config.txt``;
- ``<TAG>.list`` at the root and the floating tags' lists (``w_latest``...), written last;
  ``index.json`` in every directory written to.

The tarballs are packed in parallel into a staging directory under the work dir (removed
at the end), then the whole tree goes through one plan (adapters/server_tree.py): a file
already there with the same bytes is skipped, with other bytes it is refused with nothing
written (exit 1); only tag lists and indexes are replaced. A dry run packs too (its plan's
digests are the real ones) and writes nothing to the server.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dmrelease.adapters.binary_pack import (
    PackedTarball,
    checksum_name,
    checksum_problem,
    checksum_text,
    pack,
    tarball_name,
    tarball_problem,
)
from dmrelease.adapters.config import auto_jobs, child_environment
from dmrelease.adapters.progress import Progress, progress_for
from dmrelease.adapters.server_tree import (
    Destination,
    TreeOutcome,
    digest_source,
    open_destination,
    publish_tree,
)
from dmrelease.adapters.stack import Stack
from dmrelease.adapters.versiondb import read_build
from dmrelease.core.config import Config
from dmrelease.core.distrib import (
    BINARY_CONFIG,
    FileAction,
    ServerConflict,
    closure_rows,
    eups_tag_problem,
    render_env_file,
    render_server_manifest,
    render_tag_list,
)
from dmrelease.core.errors import DmReleaseError, UsageError
from dmrelease.core.manifest import Manifest
from dmrelease.core.requests import TarballRequest
from dmrelease.stages.workspace import Workspace

__all__ = ["NotInstalled", "Packed", "check_request", "tarball"]


class NotInstalled(DmReleaseError):
    """Packages of the build are not installed in the stack (exit 1): nothing written."""


@dataclass(frozen=True)
class Packed:
    """What one tarball run did: the tarballs packed (name → SHA-256), the versions the
    server already had, and the server files added, skipped and replaced."""

    build_id: str
    eups_tag: str
    flavor: str
    destination: str
    tags: tuple[str, ...]
    packages: tuple[tuple[str, str], ...]
    packed: Mapping[str, str] = field(default_factory=dict)
    on_server: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "tag": self.eups_tag,
            "tags": list(self.tags),
            "flavor": self.flavor,
            "destination": self.destination,
            "dry_run": self.dry_run,
            "packages": [{"name": n, "version": v} for n, v in self.packages],
            "packed": [{"tarball": n, "sha256": d} for n, d in sorted(self.packed.items())],
            "on_server": list(self.on_server),
            "files": {
                "added": list(self.added),
                "skipped": list(self.skipped),
                "replaced": list(self.replaced),
                "written": list(self.written),
            },
            "counts": {
                "packages": len(self.packages),
                "packed": len(self.packed),
                "on_server": len(self.on_server),
                "added": len(self.added),
                "skipped": len(self.skipped),
                "replaced": len(self.replaced),
                "written": len(self.written),
            },
        }


def _selected(manifest: Manifest, products: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, version) of every package of ``products``' closures (every package of the
    manifest when empty), in manifest (build) order."""
    if not products:
        return [(e.name, e.version) for e in manifest.packages.values()]
    missing = [p for p in products if p not in manifest.packages]
    if missing:
        raise UsageError(
            f"{', '.join(missing)} not in build {manifest.build_id}: pack a build of the product"
        )
    graph = manifest.graph()
    chosen = set(products).union(*(graph.closure(p) for p in products))
    return [(e.name, e.version) for e in manifest.packages.values() if e.name in chosen]


def _destination(config: Config, request: TarballRequest) -> Destination:
    where = request.server_dir or config.binary_server_dir
    if not where:
        raise UsageError(
            "no binary server to write to: set paths.binary_server "
            "(DM_RELEASE_BINARY_SERVER_DIR) or give --server-dir"
        )
    return open_destination(where, child_environment({}))


@dataclass(frozen=True)
class _Checked:
    """A request found good: its build, packages (installed), stack and destination."""

    manifest: Manifest
    packages: list[tuple[str, str]]
    stack: Stack
    dest: Destination
    tags: tuple[str, ...]


def check_request(config: Config, request: TarballRequest) -> _Checked:
    """Everything that can be wrong before a byte is packed, each a clear error: a tag that
    is not an EUPS tag name, no destination, an unknown build or product (exit 2), a
    package of the build not installed in the stack (NotInstalled, exit 1)."""
    tags = (request.eups_tag, *request.floating)
    for tag in tags:
        problem = eups_tag_problem(tag)
        if problem:
            raise UsageError(problem)
    dest = _destination(config, request)
    manifest = read_build(config.versiondb, request.build_id)
    packages = _selected(manifest, request.products)
    flavor = request.flavor or config.flavor
    stack = Stack(config.stack, flavor)
    missing = [f"{n} {v}" for n, v in packages if not stack.is_installed(n, v)]
    if missing:
        raise NotInstalled(
            f"{len(missing)} package(s) of {manifest.build_id} not installed in "
            f"{stack.root} ({flavor}): {', '.join(missing)}; run dm-release rebuild first"
        )
    return _Checked(manifest, packages, stack, dest, tuple(dict.fromkeys(tags)))


def tarball(
    config: Config,
    request: TarballRequest,
    workspace: Workspace | None,
    log: TextIO = sys.stderr,
    *,
    progress: Progress | None = None,
    checked: _Checked | None = None,
) -> Packed:
    """Write the binary server tree of ``request``'s build (see the module's docstring).
    ``workspace``: the command's, opened under the work-dir lock (the tarball reads the
    stack and versiondb, not the clones). ``checked``: what :func:`check_request` returned
    for this request (a command checks it before the fetch); None checks it here."""
    if checked is None:
        checked = check_request(config, request)
    manifest, packages, stack, dest = (
        checked.manifest, checked.packages, checked.stack, checked.dest,
    )  # fmt: skip
    build_id, flavor = manifest.build_id or "b?", stack.flavor
    if not request.dry_run:
        dest.check_writable()
    there = set(dest.names(""))
    names = {n: tarball_name(n, v, flavor) for n, v in packages}
    to_pack = [(n, v) for n, v in packages if names[n] not in there]
    on_server = tuple(names[n] for n, _ in packages if names[n] in there)
    print(
        f"tarball {build_id} ({flavor}) to {dest.where}: {len(packages)} packages, "
        f"{len(on_server)} already on the server, {len(to_pack)} to pack",
        file=log,
    )
    kept = [(n, v) for n, v in packages if names[n] in there]
    sidecars = _kept_tarballs(dest, kept, flavor, there)
    staging = config.work_dir / "tarball-staging" / flavor
    shutil.rmtree(staging, ignore_errors=True)  # a killed run's leftovers: packed again
    try:
        made = _pack_all(stack, to_pack, staging, config.jobs, progress or progress_for(log))
        wanted = _tree(manifest, packages, flavor, stack, checked.tags, config.env_name)
        for done in made:
            wanted[done.name] = done.path
            wanted[checksum_name(done.name)] = checksum_text(done.sha256, done.name).encode()
        wanted.update(sidecars)  # made before, found whole: its checksum file if missing
        outcome = publish_tree(  # each tarball was hashed as it was packed
            dest, wanted, dry_run=request.dry_run, log=log,
            digests={done.name: done.sha256 for done in made},
        )  # fmt: skip
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _packed(
        request, build_id, flavor, dest, checked.tags, packages, made, on_server, outcome
    )


def _kept_tarballs(
    dest: Destination, packages: list[tuple[str, str]], flavor: str, there: set[str]
) -> dict[str, bytes]:
    """Check each tarball already on the server before it is kept (never packed again):
    one with its checksum file must have the SHA-256 that file records (the file is
    written after the tarball, from the bytes packed); one without (a kill between the
    two) must be a tar.gz whose members are all under ``<p>/<v>/``, and gets its checksum
    file from the server's bytes (returned: path → text). ServerConflict (exit 1) naming
    each other one: a file that is not this version's tarball is never kept."""
    problems: dict[str, str] = {}
    sidecars: dict[str, bytes] = {}
    for product, version in packages:
        name = tarball_name(product, version, flavor)
        sidecar = checksum_name(name)
        if sidecar in there:
            problem = checksum_problem(dest.read(sidecar), dest.digest(name), name)
        else:
            data = dest.read(name)  # read once: checked, then hashed for its checksum file
            problem = tarball_problem(data, product, version)
            if problem is None and data is not None:
                sidecars[sidecar] = checksum_text(digest_source(data), name).encode()
        if problem is not None:
            problems[name] = problem
    if problems:
        raise ServerConflict(dest.where, problems, reasons=problems)
    return sidecars


def _pack_all(
    stack: Stack,
    packages: list[tuple[str, str]],
    staging: Path,
    jobs: int,
    progress: Progress,
) -> list[PackedTarball]:
    """Pack ``packages`` in parallel (``jobs``, 0: automatic), in their order."""
    if not packages:
        return []
    with progress.phase("pack", len(packages)) as phase, ThreadPoolExecutor(
        max_workers=min(auto_jobs(jobs), len(packages)), thread_name_prefix="pack"
    ) as pool:  # fmt: skip

        def one(package: tuple[str, str]) -> PackedTarball:
            done = pack(stack, package[0], package[1], staging)
            phase.advance(package[0])
            return done

        return list(pool.map(one, packages))


def _tree(
    manifest: Manifest,
    packages: list[tuple[str, str]],
    flavor: str,
    stack: Stack,
    tags: tuple[str, ...],
    conda_env: str | None,
) -> dict[str, bytes | Path]:
    """Every server file but the tarballs: manifests, tables, tag lists, env, config."""
    wanted: dict[str, bytes | Path] = {"config.txt": BINARY_CONFIG.encode()}
    tables: dict[str, Path] = {}
    for name, version in packages:
        table = stack.install_dir(name, version) / "ups" / f"{name}.table"
        if table.is_file():
            tables[name] = table
            wanted[f"tables/{name}-{version}.table"] = table
    for name, version in packages:
        rows = [  # a package without a table file: "none", as EUPS writes it
            row if row.product in tables else dataclasses.replace(row, table_file="none")
            for row in closure_rows(manifest, name, flavor=flavor)
        ]
        text = render_server_manifest(name, version, rows)
        wanted[f"manifests/{name}-{version}@{flavor}.manifest"] = text.encode()
    # rows of flavor generic, as EUPS writes a binary server's tag lists: one list serves
    # every flavor sharing the server (the manifests name the flavor)
    listed = [(name, "generic", version) for name, version in packages]
    for tag in tags:
        text = render_tag_list(tag, listed, build_id=manifest.build_id, conda_env=conda_env)
        wanted[f"{tag}.list"] = text.encode()
    wanted[f"env/{tags[0]}.env"] = render_env_file(tags[0], conda_env).encode()
    return wanted


def _packed(
    request: TarballRequest,
    build_id: str,
    flavor: str,
    dest: Destination,
    tags: tuple[str, ...],
    packages: list[tuple[str, str]],
    made: list[PackedTarball],
    on_server: tuple[str, ...],
    outcome: TreeOutcome,
) -> Packed:
    def paths(action: FileAction) -> tuple[str, ...]:
        return tuple(f.path for f in outcome.plan.files if f.action is action)

    return Packed(
        build_id, request.eups_tag, flavor, dest.where, tags, tuple(packages),
        {t.name: t.sha256 for t in made}, on_server, paths(FileAction.ADD),
        paths(FileAction.SKIP), paths(FileAction.REPLACE), outcome.written, request.dry_run,
    )  # fmt: skip
