"""The distribution part of the demo (issue 12 §8): what the release sessions published,
and a fresh stack installed from the binary server.

The demo's dm-release.toml names ``paths.source_server`` and ``paths.binary_server``
(``servers/source`` and ``servers/binary`` in the demo's directory), so every weekly,
candidate and final of the flow publishes its build there after its green build, as on
the real servers: source packages, manifests, tables and tag lists on the first, binary
tarballs of the stack on the second. :func:`show_servers` prints a short listing of both
(counts and tag lists); :func:`fresh_stack` serves the binary server's directory over HTTP
on 127.0.0.1 (a free port, stopped at the end) and rebuilds the final release's refs into
a new, empty stack with ``servers.binary`` set to it and no build command: rebuild's own
binary fetch installs every package from the server, and none could be built.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from dmrelease.adapters.local_http import serve_directory
from dmrelease.core.config import Config
from dmrelease.core.distrib import read_tag_list
from dmrelease.core.requests import BuildRequest, RefList
from dmrelease.demo.tour import Row, Tour
from dmrelease.stages.rebuild import Built, rebuild

FRESH_STACK = "fresh-stack"


@dataclasses.dataclass(frozen=True)
class ServerListing:
    """What one server directory holds: its packages (source packages or tarballs), its
    manifests and its tag lists (``TAG=bNNNN``, sorted)."""

    packages: int
    manifests: int
    tags: tuple[str, ...]


def _count(folder: Path, pattern: str) -> int:
    return sum(1 for _ in folder.glob(pattern)) if folder.is_dir() else 0


def _tags(folder: Path) -> tuple[str, ...]:
    """Each tag list of ``folder`` as ``TAG=bNNNN`` (the build its #BUILD= line names)."""
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.glob("*.list")):
        build = read_tag_list(path.read_text(encoding="utf-8")).headers.get("BUILD", "")
        found.append(f"{path.name.removesuffix('.list')}={build}" if build else path.stem)
    return tuple(found)


def source_listing(root: Path) -> ServerListing:
    """The source (eupspkg) server under ``root``."""
    return ServerListing(
        _count(root / "products", "*.eupspkg"),
        _count(root / "manifests", "*.manifest"),
        _tags(root / "tags"),
    )


def binary_listing(root: Path) -> ServerListing:
    """The binary (tarball) server under ``root``: tarballs and tag lists at its root."""
    return ServerListing(
        _count(root, "*.tar.gz"), _count(root / "manifests", "*.manifest"), _tags(root)
    )


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def show_servers(tour: Tour, config: Config) -> None:
    """A few lines per server: what it holds and its tag lists."""
    for label, where, listing, what in (
        ("source server", config.source_server_dir, source_listing, "source packages"),
        ("binary server", config.binary_server_dir, binary_listing, "tarballs"),
    ):
        if where is None:
            continue
        path = Path(where)
        found = listing(path)
        tour.say(
            f"  {label} {_relative(path, tour.root)}: {found.packages} {what}, "
            f"{found.manifests} manifests, {len(found.tags)} tag lists"
        )
        tour.words("tag lists (tag=build):", found.tags)
    final = Path(config.binary_server_dir or "") / "o_latest.list"
    if config.binary_server_dir and final.is_file():
        tour.detail(f"  {_relative(final, tour.root)}:")
        tour.detail(*(f"    {line}" for line in final.read_text(encoding="utf-8").splitlines()))


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on a free port of 127.0.0.1 until the block ends;
    yields its URL (with the trailing slash the demo's binary server URLs carry)."""
    with serve_directory(directory) as url:
        yield f"{url}/"


def fresh_stack(tour: Tour, config: Config, release: str, step: str) -> Built:
    """Rebuild ``release``'s refs into the empty stack ``fresh-stack`` of the demo's
    directory, every binary fetched over HTTP from the binary server (no build command:
    a package missing there would fail the build, not be built); adds its summary row."""
    assert config.binary_server_dir is not None
    tour.tick()
    with serving(Path(config.binary_server_dir)) as url:
        fresh = dataclasses.replace(
            config,
            stack=tour.root / FRESH_STACK,
            binary_server=url,
            build_command=None,
            output_dir=config.work_dir / "fresh",
        )
        tour.say(f"  serving {_relative(Path(config.binary_server_dir), tour.root)} on {url}")
        prepared, built = rebuild(fresh, BuildRequest(refs=RefList((release,))), tour.stage_log)
    assert built is not None
    counts = built.counts
    tour.say(
        f"  {release} (build {prepared.manifest.build_id}) into {FRESH_STACK}/: "
        f"{counts['fetched']} fetched, {counts['built']} built, {counts['reused']} reused"
    )
    for outcome in built.outcomes:
        tour.detail(f"    {outcome.action:<8} {outcome.package:<15} {outcome.version}")
    tour.row(
        Row(
            step, release, prepared.manifest.build_id or "-", counts["built"],
            counts["reused"], counts["fetched"],
        )
    )  # fmt: skip
    return built
