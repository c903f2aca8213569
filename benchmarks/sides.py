"""The two sides of issue 10's benchmark, as processes: dm-release of one source tree
(``python -m dmrelease`` with ``PYTHONPATH=<src>``, so the same script measures an old tree
and a new one) and the real ``lsst-build`` with EUPS 2.2.15, built by
``tests/integration/vendor.py`` from ``../shared/vendor``; with what each side needs: a
config, a versiondb, an EUPS stack whose products are all installed.

Both run with the same environment: this one's, less the Jenkins parameters and dm-release's
own variables (they would change the config), with a git identity for versiondb commits and
tags.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.measure import BenchFailed
from dmrelease.demo.rebuild import BUILD_COMMAND as BUILD  # installs at once

if TYPE_CHECKING:
    from tests.integration.vendor import Vendor

#: the product every repos.yaml of the benchmark describes (its metapackage)
PRODUCT = "synth_distrib"
_JENKINS = ("GIT_REFS", "REFS", "SOURCE_GIT_REFS", "PRODUCTS", "GIT_TAG", "RELEASE_GIT_TAG",
            "EUPS_TAG", "PREP_ONLY", "NO_BINARY_FETCH", "BUILD_DOCS", "PYTHONPATH")  # fmt: skip
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
}  # fmt: skip


def clean_environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _JENKINS and not key.startswith("DM_RELEASE_")
    }
    return {**env, **_IDENTITY}


@dataclass(frozen=True)
class DmRelease:
    src: Path
    env: dict[str, str]

    @classmethod
    def of(cls, src: Path) -> DmRelease:
        return cls(src, {**clean_environment(), "PYTHONPATH": str(src)})

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dmrelease", *args]

    def config(self, where: Path, repos: Path, exclusions: Path | None = None) -> Path:
        """``where/dm-release.toml``: work dir, versiondb and stack under ``where``."""
        where.mkdir(parents=True, exist_ok=True)
        excluded = f'exclusions = "{exclusions}"\n' if exclusions else ""
        path = where / "dm-release.toml"
        path.write_text(
            f'[products.{PRODUCT}]\nrepos = "{repos}"\n\n'
            f"[build]\ncommand = '{BUILD}'\n{excluded}\n"
            f'[paths]\nwork_dir = "{where / "work"}"\nversiondb = "{where / "versiondb"}"\n'
            f'stack = "{where / "stack"}"\n'
        )
        return path


@dataclass(frozen=True)
class LsstBuild:
    """``lsst-build`` and ``eups`` of the vendor build."""

    vendor: Vendor

    def env(self, stack: Path) -> dict[str, str]:
        return self.vendor.env(stack, clean_environment())

    def prepare(
        self,
        build_dir: Path,
        repos: Path,
        exclusions: Path,
        versiondb: Path,
        refs: list[str],
        build_id: str | None = None,
    ) -> list[str]:
        """``lsst-build prepare``; ``build_id`` where dm-release reuses a recorded one:
        lsst-build never does (it reads content_sha.db.txt from its end, opened "a+", and
        skips every bN that EUPS has), so a re-run of it is told the id to stay byte-identical;
        it then also skips its versiondb commit and, after it, tagging every product anew."""
        return [
            *self.vendor.lsst_build_cmd(), "prepare", f"--repos={repos}",
            f"--exclusion-map={exclusions}", f"--version-git-repo={versiondb}",
            *(f"--ref={ref}" for ref in refs), *([f"--build-id={build_id}"] if build_id else []),
            str(build_dir), PRODUCT,
        ]  # fmt: skip

    def build(self, build_dir: Path) -> list[str]:
        return [*self.vendor.lsst_build_cmd(), "build", str(build_dir)]

    def workspace(self, where: Path) -> tuple[Path, Path]:
        """An empty build dir and a new versiondb (a repository with ``manifests/`` and one
        commit, as lsst-build expects) under ``where``."""
        build_dir, versiondb = where / "build", where / "versiondb"
        build_dir.mkdir(parents=True)
        (versiondb / "manifests").mkdir(parents=True)
        for args in (("init", "--quiet", "--initial-branch=main"),
                     ("commit", "--quiet", "--allow-empty", "-m", "versiondb")):  # fmt: skip
            subprocess.run(["git", *args], cwd=versiondb, env=clean_environment(), check=True)
        return build_dir, versiondb


def load_lsst_build() -> tuple[LsstBuild | None, str]:
    """The real lsst-build, or None and why not."""
    try:
        from tests.integration.vendor import VendorMissing, build_vendor
    except ImportError as missing:
        return None, f"no tests/integration/vendor.py ({missing})"
    try:
        return LsstBuild(build_vendor()), ""
    except VendorMissing as missing:
        return None, f"real lsst-build unavailable: {missing}".replace("\n", " ")


def same_manifest(ours: Path, theirs: Path) -> None:
    """Byte-identical manifests, the hard constraint of issue 10; BenchFailed otherwise."""
    mine, baseline = ours.read_bytes(), theirs.read_bytes()
    if mine != baseline:
        diff = difflib.unified_diff(
            baseline.decode().splitlines(), mine.decode().splitlines(),
            str(theirs), str(ours), lineterm="", n=0,
        )  # fmt: skip
        raise BenchFailed("manifests differ:\n" + "\n".join(list(diff)[:20]))
