"""publish and tarball at scale (issue 12): the 300-package benchmark product of
``bench_rebuild`` (``git fast-import`` remotes, 13 levels) built once into a stack, then
published to a local source server and packed to a local binary server.

Measured, wall clock, with the number of server files each run wrote: the first publish
and the first tarball (every package new: asserts one source package and one tarball per
package); a rerun of both with nothing new (asserts that nothing is written: every file,
the tag lists too, is already there with the same bytes); after changing one mid-graph
package and
rebuilding, a publish and a tarball under the next weekly's tag (asserts that exactly the
changed package and its downstream closure get a new source package and tarball, each with
its manifest and table, the rest skipped).
"""

from __future__ import annotations

import io
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from benchmarks.bench_rebuild import CHANGED_LEVEL, HISTORY, LEVELS, PACKAGES
from dmrelease.adapters.config import load_config
from dmrelease.adapters.progress import Progress, progress_for
from dmrelease.core.config import Config
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.requests import BuildRequest, PublishRequest, RefList, TarballRequest
from dmrelease.demo.rebuild import BUILD_COMMAND as BUILD
from dmrelease.demo.synthetic import create_product, layered_graph, product_specs, push_change
from dmrelease.stages.publish import Published, publish
from dmrelease.stages.rebuild import rebuild
from dmrelease.stages.tarball import Packed, tarball
from dmrelease.stages.workspace import open_workspace

T = TypeVar("T")
FLAVOR = "Linux64"


def _timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def _config(root: Path, repos: Path) -> Config:
    path = root / "dm-release.toml"
    path.write_text(
        f'[products.synth_distrib]\nrepos = "{repos}"\n\n'
        f"[build]\ncommand = '{BUILD}'\nflavor = \"{FLAVOR}\"\n\n"
        '[paths]\nwork_dir = "work"\nversiondb = "versiondb"\nstack = "stack"\n'
        'source_server = "servers/source"\nbinary_server = "servers/binary"\n'
    )
    return load_config(path, environ={})


def _kind(path: str) -> str:
    """What a server file is, for the breakdown of the files written."""
    name = path.rsplit("/", 1)[-1]
    if name == "index.json":
        return "index.json"
    if name.endswith((".eupspkg", ".tar.gz")):
        return "packages"
    if name.endswith(".sha256"):
        return "sha256"
    if name.endswith(".list"):
        return "tag lists"
    return path.split("/", 1)[0] if "/" in path else name


def _breakdown(written: Iterable[str]) -> str:
    counts = Counter(_kind(p) for p in written)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda i: -i[1]))


def _written(done: Published | Packed) -> str:
    return f"{len(done.written)} files written ({_breakdown(done.written) or 'none'})"


def _new_packages(done: Published | Packed) -> set[str]:
    """The packages (names) whose source package or tarball this run wrote."""
    names = set()
    for path in done.written:
        name = path.rsplit("/", 1)[-1]
        if name.endswith((".eupspkg", ".tar.gz")):
            names.add(name.partition("-g")[0])
    return names


def _quiet() -> Progress:
    return progress_for(io.StringIO(), "off")


def _publish_both(config: Config, tag: str, floating: tuple[str, ...]) -> list[object]:
    """Publish then tarball the last build under ``tag``: each outcome and its time."""
    log = io.StringIO()
    workspace = open_workspace(config, (), RefList(), log=log)
    request = PublishRequest(tag, floating=floating)
    published, t_publish = _timed(
        lambda: publish(config, request, workspace, log, progress=_quiet(), environ={})
    )
    pack = TarballRequest(tag, floating=floating)
    packed, t_tarball = _timed(lambda: tarball(config, pack, workspace, log, progress=_quiet()))
    return [published, t_publish, packed, t_tarball]


def run() -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as scratch:
        root = Path(scratch)
        deps = layered_graph(PACKAGES, LEVELS)
        product = create_product(root / "up", product_specs(deps, HISTORY))
        config = _config(root, product.repos_yaml)
        (_, built), t_build = _timed(lambda: rebuild(config, BuildRequest(), io.StringIO()))
        assert built is not None and built.counts["built"] == len(deps), built
        rows.append((f"setup: first build of {len(deps)} packages", f"{t_build:.1f}s"))

        published, t_pub, packed, t_tar = _publish_both(config, "w_2025_01", ("w_latest",))
        assert isinstance(published, Published) and isinstance(packed, Packed)
        assert _new_packages(published) == set(deps), len(_new_packages(published))
        assert _new_packages(packed) == set(deps), len(_new_packages(packed))
        rows.append(("first publish (source server)", f"{t_pub:.1f}s, {_written(published)}"))
        rows.append(("first tarball (binary server)", f"{t_tar:.1f}s, {_written(packed)}"))

        published, t_pub, packed, t_tar = _publish_both(config, "w_2025_01", ("w_latest",))
        assert isinstance(published, Published) and isinstance(packed, Packed)
        assert not published.written and not packed.written, (published.written, packed.written)
        rows.append(("rerun, nothing new: publish", f"{t_pub:.1f}s, {_written(published)}"))
        rows.append(("rerun, nothing new: tarball", f"{t_tar:.1f}s, {_written(packed)}"))

        graph = DependencyGraph(deps)
        level = [n for n in graph if n.startswith(f"pkg_{CHANGED_LEVEL:02d}_")]
        changed = max(level, key=lambda name: (len(graph.downstream_of([name])), name))
        push_change(product, changed, f"Change {changed}")
        expected = {changed} | graph.downstream_of([changed])
        (_, again), t_again = _timed(lambda: rebuild(config, BuildRequest(), io.StringIO()))
        assert again is not None and again.counts["built"] == len(expected), again.counts
        rows.append((f"setup: rebuild after changing {changed}",
                     f"{t_again:.1f}s, {len(expected)} built = 1 + {len(expected) - 1} "
                     "downstream"))  # fmt: skip

        published, t_pub, packed, t_tar = _publish_both(config, "w_2025_02", ("w_latest",))
        assert isinstance(published, Published) and isinstance(packed, Packed)
        assert _new_packages(published) == expected, sorted(_new_packages(published) ^ expected)
        assert _new_packages(packed) == expected, sorted(_new_packages(packed) ^ expected)
        rows.append(("publish after the change", f"{t_pub:.1f}s, {_written(published)}"))
        rows.append(("tarball after the change", f"{t_tar:.1f}s, {_written(packed)}"))
    return rows
