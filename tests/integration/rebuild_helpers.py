"""Shared setup of the rebuild tests: a small product as bare remotes and its config."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmrelease.adapters.config import load_options
from dmrelease.core.config import Config
from dmrelease.core.requests import BuildRequest
from dmrelease.demo.rebuild import BUILD_COMMAND as BUILD
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, create_product
from dmrelease.stages.rebuild import Built, Prepared, build, prepare
from dmrelease.stages.workspace import open_workspace, work_dir_lock

if TYPE_CHECKING:
    from git_trace import GitTrace

#: the test build: install one file naming the package and its version into $PREFIX
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


@dataclass(frozen=True)
class Setup:
    """A loaded configuration: the settings and the request the rebuild command makes."""

    config: Config
    request: BuildRequest

    def __getattr__(self, name: str) -> Any:  # the settings read like the Config's
        return getattr(self.config, name)

    def dry(self) -> Setup:
        return dataclasses.replace(self, request=dataclasses.replace(self.request, dry_run=True))


def config_for(path: Path, environ: Mapping[str, str] | None = None, **flags: Any) -> Setup:
    """Settings and request as ``dm-release rebuild`` loads them (flags by option name)."""
    loaded = load_options(path, flags, environ=dict(environ or {}))
    return Setup(loaded.config, loaded.request.build_request())


def run_prepare(setup: Setup) -> tuple[Prepared, str]:
    """Prepare as the rebuild command does: one workspace, under the work-dir lock."""
    log = io.StringIO()
    with work_dir_lock(setup.config):
        workspace = open_workspace(
            setup.config, setup.request.products, setup.request.refs, log=log
        )
        return prepare(setup.config, setup.request, workspace, log), log.getvalue()


def run_build(setup: Setup, prepared: Prepared) -> tuple[Built, str]:
    log = io.StringIO()
    config, request = setup.config, setup.request
    workspace = None  # the build reads the work clones prepare checked out
    return build(config, request, workspace, prepared.manifest, log), log.getvalue()


def rebuild_process(
    trace: GitTrace, config: Path, *args: str, env: dict[str, str] | None = None
) -> str:
    """``dm-release rebuild --config CONFIG ARGS`` as a process under ``trace`` (reset
    first), in the config's directory; asserts it succeeded, returns its stderr."""
    trace.reset()
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "rebuild", "--config", str(config), *args],
        env=env or trace.environment(), capture_output=True, text=True, check=False,
        cwd=config.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr
