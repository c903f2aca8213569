"""Tagging and pushing a release over 300 repositories (issue 5): serial vs the pool.

300 bare remotes written by ``git fast-import`` and a clone of each; a weekly plan over all
of them is applied once with a pool of 1 (serial) and once with the parallel pool, each
run doing the whole apply: fetch, ``ls-remote`` and the rules, annotated tags, local
verification, one atomic push per repository and the remote verification. Both figures,
the ratio, and a check that every remote has every tag at the planned commit.
"""

from __future__ import annotations

import io
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dmrelease.adapters.config import load_config
from dmrelease.adapters.git import Git
from dmrelease.adapters.journal import JournalFile
from dmrelease.core.config import Config
from dmrelease.core.plan import ReleasePlan, Session, make_plan
from dmrelease.core.refs import RefKind, RefSource, Resolution
from dmrelease.demo.synthetic import PackageSpec, create_product
from dmrelease.stages.release_apply import apply_plan

REPOSITORIES = 300
POOL = 8


def _setup(root: Path) -> tuple[Config, dict[str, Path], dict[str, str]]:
    names = [f"pkg_{i:03d}" for i in range(REPOSITORIES)]
    product = create_product(root / "upstream", {n: PackageSpec(history=2) for n in names})
    clones = {name: root / "work" / "clones" / name for name in names}
    clones[names[0]].parent.mkdir(parents=True)

    def clone(name: str) -> str:
        Git(root).run("clone", "--quiet", product.url(name), str(clones[name]))
        return Git(clones[name]).rev_parse("HEAD")

    with ThreadPoolExecutor(max_workers=POOL) as pool:
        shas = dict(zip(names, pool.map(clone, names), strict=True))
    path = root / "dm-release.toml"
    path.write_text(
        f'[products.synth]\nrepos = "{product.repos_yaml}"\n\n[paths]\nwork_dir = "work"\n'
    )
    return load_config(path, environ={}), clones, shas


def _plan(tag: str, shas: dict[str, str]) -> ReleasePlan:
    resolutions = {
        name: Resolution(name, "main", RefKind.BRANCH, sha, RefSource.DEFAULT, "default branch")
        for name, sha in shas.items()
    }
    return make_plan("synth", Session.WEEKLY, tag, (), resolutions, build_id="b1")


def _apply(
    config: Config, root: Path, clones: dict[str, Path], plan: ReleasePlan, jobs: int
) -> float:
    journal = JournalFile(root / "state" / f"{plan.release}.json")
    started = time.perf_counter()
    apply_plan(config, plan, clones, journal=journal, lock=None, jobs=jobs,
               out=io.StringIO(), log=io.StringIO())  # fmt: skip
    return time.perf_counter() - started


def _check(config: Config, root: Path, plan: ReleasePlan) -> None:
    for package in plan.packages:
        remote = root / "upstream" / "remotes" / f"{package.name}.git"
        peeled = Git(remote).rev_parse(f"refs/tags/{plan.release}")
        assert peeled == package.sha, (package.name, peeled)


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-release-") as scratch:
        root = Path(scratch)
        config, clones, shas = _setup(root)
        serial_plan, pool_plan = _plan("w.2025.24", shas), _plan("w.2025.25", shas)
        serial = _apply(config, root, clones, serial_plan, jobs=1)
        parallel = _apply(config, root, clones, pool_plan, jobs=POOL)
        _check(config, root, serial_plan)
        _check(config, root, pool_plan)
    what = f"tag + push a release, {REPOSITORIES} repos"
    return [
        (
            f"{what}, serial (pool of 1)",
            f"{serial:.1f} s ({serial / REPOSITORIES * 1000:.0f} ms/repo)",
        ),
        (
            f"{what}, pool of {POOL}",
            f"{parallel:.1f} s ({parallel / REPOSITORIES * 1000:.0f} ms/repo)",
        ),
        ("serial / pool", f"{serial / parallel:.2f}x faster with the pool"),
    ]
