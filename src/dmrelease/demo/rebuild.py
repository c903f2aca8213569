"""The embedded demo product: a metapackage and a dozen packages as real git repositories.

``dm-release demo`` (and ``nox -s demo``) builds it in a fresh directory, each package a git
repository with history and a bare "remote", then runs the rebuild stage on it: prepare
(clone, resolve, manifest, versiondb) and build into a stack, then a change to one leaf
package and a second rebuild that builds only that package and what depends on it.
Commit dates are fixed, so every run produces the same SHAs, versions and manifest.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.config import load_config
from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import Git
from dmrelease.core.manifest import Manifest, render_manifest
from dmrelease.core.requests import BuildRequest
from dmrelease.demo.release import run_release_demo
from dmrelease.stages.rebuild import Built, rebuild

PRODUCT = "demo_distrib"

#: package -> (required deps, optional deps), shaped like a slice of lsst_distrib
PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sconsUtils": ((), ()),
    "base": (("sconsUtils",), ()),
    "utils": (("base", "sconsUtils"), ()),
    "pex_exceptions": (("base", "sconsUtils"), ()),
    "daf_base": (("utils", "pex_exceptions"), ()),
    "log": (("utils",), ()),
    "geom": (("utils", "pex_exceptions"), ()),
    "pex_config": (("pex_exceptions",), ()),
    "afw": (("daf_base", "geom", "log", "pex_config"), ("afwdata",)),
    "afwdata": ((), ()),
    "meas_base": (("afw", "pex_config"), ()),
    "pipe_base": (("daf_base", "log", "pex_config"), ()),
    "pipe_tasks": (("afw", "meas_base", "pipe_base"), ()),
    PRODUCT: (("pipe_tasks",), ("afwdata",)),
}

#: a few packages get a merged ticket branch, as real history has
TICKETS: dict[str, int] = {"afw": 40011, "utils": 40002, "pipe_tasks": 40017, "log": 40005}

#: the leaf package (no dependencies) changed between the two builds of the demo
CHANGED = "afwdata"

#: the demo's "build": installs a file naming the package into $PREFIX
BUILD_COMMAND = 'mkdir -p "$PREFIX/lib" && echo "$PRODUCT $VERSION" > "$PREFIX/lib/$PRODUCT.txt"'

CONFIG = """# dm-release configuration of the demo product
[products.{product}]
repos = "repos.yaml"

[build]
command = '{command}'

[paths]
work_dir = "work"
versiondb = "versiondb"
stack = "stack"
"""

_EPOCH = 1_750_000_000  # 2025-06-15, fixed so that SHAs are reproducible


@dataclass(frozen=True)
class DemoProduct:
    root: Path
    remotes: Path
    clones: Path
    repos_yaml: Path


def table_text(name: str) -> str:
    required, optional = PACKAGES[name]
    lines = [f"# demo table of {name}"]
    lines += [f"setupRequired({dep})" for dep in required]
    lines += [f"setupOptional({dep})" for dep in optional]
    lines.append("envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)")
    return "\n".join(lines) + "\n"


class _Committer:
    """Commits with dates that advance one hour per commit, for reproducible SHAs."""

    def __init__(self) -> None:
        self.clock = _EPOCH

    def git(self, repo: Path) -> Git:
        self.clock += 3600
        stamp = f"@{self.clock} +0000"
        return Git(
            repo,
            env={
                "GIT_AUTHOR_NAME": "Demo Developer",
                "GIT_AUTHOR_EMAIL": "demo@example.org",
                "GIT_COMMITTER_NAME": "Demo Developer",
                "GIT_COMMITTER_EMAIL": "demo@example.org",
                "GIT_AUTHOR_DATE": stamp,
                "GIT_COMMITTER_DATE": stamp,
            },
        )


def _write(path: Path, text: str) -> None:
    write_atomically(path, text)


def _create_package(name: str, demo: DemoProduct, committer: _Committer) -> None:
    remote = demo.remotes / f"{name}.git"
    clone = demo.clones / name
    Git(demo.root).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    Git(demo.root).run("init", "--quiet", "--initial-branch=main", str(clone))
    _write(clone / "ups" / f"{name}.table", table_text(name))
    _write(clone / "README.md", f"# {name}\n\nA package of the dm-release demo product.\n")
    committer.git(clone).run("add", "-A")
    committer.git(clone).run("commit", "--quiet", "-m", f"Initial import of {name}")
    if name in TICKETS:
        branch = f"tickets/DM-{TICKETS[name]}"
        committer.git(clone).run("checkout", "--quiet", "-b", branch)
        _write(clone / "python" / name / "__init__.py", f'"""{name}."""\n')
        committer.git(clone).run("add", "-A")
        committer.git(clone).run("commit", "--quiet", "-m", f"Add the {name} Python package")
        committer.git(clone).run("checkout", "--quiet", "main")
        committer.git(clone).run(
            "merge", "--quiet", "--no-ff", "-m", f"Merge branch '{branch}'", branch
        )
    committer.git(clone).run("remote", "add", "origin", str(remote))
    committer.git(clone).run("push", "--quiet", "origin", "--all")


def create_demo_product(root: Path) -> DemoProduct:
    """Create the demo product under ``root`` (which must be empty or absent)."""
    demo = DemoProduct(root, root / "remotes", root / "clones", root / "repos.yaml")
    committer = _Committer()
    for name in sorted(PACKAGES):
        _create_package(name, demo, committer)
    _write(
        demo.repos_yaml,
        "".join(f"{name}: file://{demo.remotes / name}.git\n" for name in sorted(PACKAGES)),
    )
    return demo


def write_config(demo: DemoProduct) -> Path:
    """The demo's dm-release.toml: its repos.yaml, the demo build command, local paths."""
    path = demo.root / "dm-release.toml"
    _write(path, CONFIG.format(product=PRODUCT, command=BUILD_COMMAND))
    return path


def change_package(demo: DemoProduct, name: str = CHANGED) -> str:
    """Commit a change to ``name`` and push it to its remote; returns the new SHA."""
    committer = _Committer()
    committer.clock += 1_000_000  # after the creation commits, still reproducible
    clone = demo.clones / name
    _write(clone / "CHANGES.md", f"# {name}\n\n- A change made by the demo.\n")
    committer.git(clone).run("add", "-A")
    committer.git(clone).run("commit", "--quiet", "-m", f"Document the changes of {name}")
    committer.git(clone).run("push", "--quiet", "origin", "main")
    return Git(clone).rev_parse("HEAD")


def _show_build(title: str, built: Built | None, out: TextIO) -> None:
    if built is None:
        return
    print(f"\n{title}: {built.counts['built']} built, {built.counts['reused']} reused", file=out)
    for outcome in built.outcomes:
        print(f"  {outcome.action:<8} {outcome.package:<15} {outcome.version}", file=out)


def run_demo(root: Path, out: TextIO = sys.stdout, log: TextIO = sys.stderr) -> Manifest:
    """Create the demo product, build it, change one leaf package and rebuild, then run
    the release flow (:mod:`dmrelease.demo.release`)."""
    print(f"creating the demo product {PRODUCT} in {root}", file=log)
    demo = create_demo_product(root)
    print(f"  {len(PACKAGES)} git repositories with bare remotes in {demo.remotes}", file=log)
    config = load_config(write_config(demo), environ={})
    prepared, built = rebuild(config, BuildRequest(), log)
    graph = prepared.manifest.graph()
    print("build order (Kahn levels, each sorted by name):", file=out)
    for number, level in enumerate(graph.levels(), start=1):
        print(f"  level {number}: {' '.join(level)}", file=out)
    print(f"\nmanifest ({len(prepared.manifest.entries)} packages):", file=out)
    out.write(render_manifest(prepared.manifest))
    _show_build(f"first build {prepared.manifest.build_id}", built, out)
    sha = change_package(demo)
    print(f"\nchanged {CHANGED} (now {sha[:10]}); rebuilding", file=out)
    again, rebuilt = rebuild(config, BuildRequest(), log)
    _show_build(f"second build {again.manifest.build_id}", rebuilt, out)
    run_release_demo(config, demo.remotes, demo.clones, sorted(PACKAGES), out, log)
    return again.manifest
