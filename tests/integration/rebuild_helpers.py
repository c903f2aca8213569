"""Shared setup of the rebuild tests: a small product as bare remotes and its config."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import load_config
from dmrelease.core.config import Config
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, create_product
from dmrelease.stages.rebuild import Built, Prepared, build, prepare

#: the test build: install one file naming the package and its version into $PREFIX
BUILD = 'mkdir -p "$PREFIX/lib" && echo "$PRODUCT $VERSION" > "$PREFIX/lib/$PRODUCT.txt"'
#: the [paths] of every test configuration, relative to the configuration file
PATHS = '[paths]\nwork_dir = "work"\nversiondb = "versiondb"\nstack = "stack"\n'

#: meta -> afw -> geom -> utils -> base; meta -> daf -> base; afw -> utils
GRAPH: dict[str, tuple[str, ...]] = {
    "base": (),
    "utils": ("base",),
    "geom": ("utils",),
    "afw": ("geom", "utils"),
    "daf": ("base",),
    "meta": ("afw", "daf"),
}


def make_product(
    root: Path, overrides: Mapping[str, PackageSpec] | None = None
) -> SyntheticProduct:
    specs = {name: PackageSpec(deps=deps) for name, deps in GRAPH.items()}
    specs.update(overrides or {})
    return create_product(root / "upstream", specs)


def write_config(
    root: Path,
    product: SyntheticProduct,
    *,
    command: str = BUILD,
    binary: str | None = None,
    extra: str = "",
) -> Path:
    path = root / "dm-release.toml"
    servers = f'[servers]\nbinary = "{binary}"\n' if binary else ""
    path.write_text(
        f'[products.meta]\nrepos = "{product.repos_yaml}"\n\n'
        f"[build]\ncommand = '{command}'\njobs = 2\n{extra}\n"
        f"{PATHS}\n{servers}"
    )
    return path


def config_for(path: Path, environ: Mapping[str, str] | None = None, **flags: Any) -> Config:
    return load_config(path, flags, environ=dict(environ or {}))


def run_prepare(config: Config) -> tuple[Prepared, str]:
    log = io.StringIO()
    return prepare(config, log=log), log.getvalue()


def run_build(config: Config, prepared: Prepared) -> tuple[Built, str]:
    log = io.StringIO()
    return build(config, prepared.manifest, log=log), log.getvalue()
