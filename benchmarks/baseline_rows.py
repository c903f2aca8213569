"""The workloads of ``bench_baselines``, each side as one measured process tree, with the
checks that make a figure count: identical manifests, the ticket's commits, the tags pushed,
nothing built. Row 1-3 dirs are new every round; rows 4 and 5 are set up once (untimed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks import measure
from benchmarks.measure import BenchFailed, Done, GitTracer, Row, Sample, paired
from benchmarks.sides import DmRelease, LsstBuild, same_manifest
from dmrelease.demo.synthetic import SyntheticProduct, push_branch

TICKETED = 10
TAG = "w.2025.24"
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
RAW = Path(__file__).resolve().with_name("raw_tag_push.py")
#: what pip writes for a console script (pre-commit runs the hook's script like this)
_SCRIPT = """#!{python}
import re
import sys
from dmrelease.hooks.check_table_file import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(main())
"""


@dataclass(frozen=True)
class Bench:
    root: Path
    product: SyntheticProduct
    dm: DmRelease
    lsst: LsstBuild | None
    tracer: GitTracer
    exclusions: Path
    missing: str  # why there is no lsst-build

    @property
    def repos(self) -> int:
        return len(self.product.packages)

    def run(self, argv: Sequence[str], env: dict[str, str], traced: bool) -> Done:
        return measure.run(argv, env=env, cwd=self.root, tracer=self.tracer if traced else None)

    def ticketed(self) -> list[str]:
        """TICKETED packages spread over the levels (every n-th by name)."""
        names = sorted(n for n in self.product.packages if n.startswith("pkg_"))
        return names[:: max(1, len(names) // TICKETED)][:TICKETED]


def manifest_shas(manifest: Path) -> dict[str, str]:
    words = (line.split() for line in manifest.read_text().splitlines())
    return {w[0]: w[1] for w in words if w and not w[0].startswith(("#", "BUILD="))}


def prepare_round(bench: Bench, rows: Sequence[Row | None], number: int, traced: bool) -> None:
    """Rows 1-3 of one round, in new dirs: from scratch, again (fetch only), with a ticket."""
    assert bench.lsst is not None
    lsst, repos = bench.lsst, bench.product.repos_yaml
    where = bench.root / "prepare" / f"round{number}"
    config = bench.dm.config(where / "dm", repos, bench.exclusions)
    build_dir, versiondb = lsst.workspace(where / "lsst")
    env = lsst.env(bench.root / "lsst-stack")

    def ours(*refs: str) -> Callable[[], Sample]:
        args = ["rebuild", "--prepare-only", "--config", str(config)]
        args += ["--refs", *refs] if refs else []
        return lambda: bench.run(bench.dm.argv(*args), bench.dm.env, traced).sample

    def theirs(*refs: str, build_id: str | None = None) -> Callable[[], Sample]:
        argv = lsst.prepare(build_dir, repos, bench.exclusions, versiondb, list(refs), build_id)
        return lambda: bench.run(argv, env, traced).sample

    def compare() -> None:
        same_manifest(where / "dm" / "work" / "manifest.txt", build_dir / "manifest.txt")

    for row, build_id in zip(rows[:2], (None, "b1"), strict=True):  # b1: dm-release reuses it
        pair = paired(number, ours(), theirs(build_id=build_id))
        compare()
        if row:
            row.add(pair, traced=traced)
    ticket = f"tickets/DM-{number + 1}"
    shas = {
        name: push_branch(bench.product, name, ticket, f"DM-{number + 1}: fix", when=number)
        for name in bench.ticketed()
    }
    pair = paired(number, ours(ticket), theirs(ticket))
    compare()
    found = manifest_shas(build_dir / "manifest.txt")
    if any(found[name] != sha for name, sha in shas.items()):
        raise BenchFailed(f"{ticket}: the manifest is not at the ticket's commits")
    if rows[2]:
        rows[2].add(pair, traced=traced)
    shutil.rmtree(where)


class NoChange:
    """Row 5: dm-release with every version built once; lsst-build with every product of
    its manifest declared in its EUPS stack and its build's tag declared (one build run);
    then each side's no-change run once, untimed: the rounds are steady re-runs."""

    def __init__(self, bench: Bench) -> None:
        assert bench.lsst is not None
        self.bench, self.lsst = bench, bench.lsst
        where = bench.root / "no-change"
        self.config = bench.dm.config(where / "dm", bench.product.repos_yaml, bench.exclusions)
        self.manifest = where / "dm" / "work" / "manifest.txt"
        self._built(bench.run(self._ours(), bench.dm.env, traced=False), bench.repos)
        self.stack = where / "lsst" / "stack"
        self.build_dir, self.versiondb = self.lsst.workspace(where / "lsst")
        self.env = self.lsst.env(self.stack)
        bench.run(self._prepare(), self.env, traced=False)
        declared = self.lsst.vendor.declare_installed(self.stack, self.build_dir / "manifest.txt")
        if declared != bench.repos:
            raise BenchFailed(f"eups declare: {declared} of {bench.repos} products declared")
        bench.run(self.lsst.build(self.build_dir), self.env, traced=False)
        # one no-change run each before the rounds: the first re-run after a scratch clone
        # does more (dm-release refreshes every new clone's index once), and round 0, the
        # traced one, must count what the timed rounds do
        self.ours(traced=False)
        self.theirs(traced=False)

    def _ours(self) -> list[str]:
        return self.bench.dm.argv("rebuild", "--json", "--config", str(self.config))

    def _prepare(self, build_id: str | None = None) -> list[str]:
        bench = self.bench
        return self.lsst.prepare(self.build_dir, bench.product.repos_yaml, bench.exclusions,
                                 self.versiondb, [], build_id)  # fmt: skip

    @staticmethod
    def _built(done: Done, expected: int) -> None:
        counts = json.loads(done.stdout)["build"]["counts"]
        if counts["built"] != expected or counts["failed"]:
            raise BenchFailed(f"dm-release rebuild: {counts}, expected {expected} built")

    def ours(self, traced: bool) -> Sample:
        done = self.bench.run(self._ours(), self.bench.dm.env, traced)
        self._built(done, 0)
        return done.sample

    def theirs(self, traced: bool) -> Sample:
        prepared = self.bench.run(self._prepare("b1"), self.env, traced)  # see LsstBuild.prepare
        built = self.bench.run(self.lsst.build(self.build_dir), self.env, traced)
        installed = built.stdout.count("(already installed)")
        if installed != self.bench.repos:
            raise BenchFailed(f"lsst-build build: {installed} of {self.bench.repos} installed")
        return prepared.sample + built.sample

    def check(self) -> None:
        same_manifest(self.manifest, self.build_dir / "manifest.txt")


class Release:
    """Row 4 on a copy of the remotes: a built weekly's plan, applied to fresh copies of the
    remotes and of the work clones every time, by dm-release or by raw git."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        where = bench.root / "release"
        self.remotes, self.template = where / "remotes", where / "template"
        _copy(bench.product.remotes, self.remotes)
        repos = where / "repos.yaml"
        repos.write_text(
            "".join(f"{n}: file://{self.remotes / n}.git\n" for n in sorted(bench.product.packages))
        )
        self.config = bench.dm.config(where / "dm", repos)
        self.work, self.plan = where / "dm" / "work", where / "plan.json"
        NoChange._built(bench.run(self._dm("rebuild", "--json"), bench.dm.env, False), bench.repos)
        bench.run(self._dm("release", "plan", TAG, "--output", str(self.plan)), bench.dm.env, False)
        packages = json.loads(self.plan.read_text())["plan"]["packages"]
        self.shas = {p["name"]: p["sha"] for p in packages}
        self.listing = where / "raw.txt"
        self.listing.write_text(
            "".join(f"{self.work / 'clones' / n} {sha}\n" for n, sha in self.shas.items())
        )
        _copy(self.remotes, self.template / "remotes")
        _copy(self.work, self.template / "work")

    def _dm(self, *args: str) -> list[str]:
        return self.bench.dm.argv(*args, "--config", str(self.config))

    def _fresh(self) -> None:
        """New copies of the remotes and the work dir; each copied clone's index is then
        refreshed (untimed): a copy has new inodes and ctimes, and dm-release would take its
        files for changed and ask ``git status``, which a work dir never copied does not."""
        for path, name in ((self.remotes, "remotes"), (self.work, "work")):
            shutil.rmtree(path)
            _copy(self.template / name, path)

        def refresh(clone: Path) -> None:
            subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=clone, check=False)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(refresh, sorted((self.work / "clones").iterdir())))

    def ours(self, traced: bool) -> Sample:
        self._fresh()
        done = self.bench.run(self._dm("release", "apply", str(self.plan)), self.bench.dm.env,
                              traced)  # fmt: skip
        self._check("dm-release release apply")
        return done.sample

    def theirs(self, traced: bool) -> Sample:
        self._fresh()
        argv = [sys.executable, str(RAW), str(self.listing), TAG]
        done = self.bench.run(argv, self.bench.dm.env, traced)
        self._check("raw git tag + push")
        return done.sample

    def _check(self, who: str) -> None:
        def peeled(name: str) -> str:
            done = subprocess.run(
                ["git", "for-each-ref", "--format=%(objecttype) %(*objectname)",
                 f"refs/tags/{TAG}"],
                cwd=self.remotes / f"{name}.git", capture_output=True, text=True, check=True,
            )  # fmt: skip
            return done.stdout.strip()

        with ThreadPoolExecutor(max_workers=8) as pool:
            found = dict(zip(self.shas, pool.map(peeled, self.shas), strict=True))
        wrong = [n for n, sha in self.shas.items() if found[n] != f"tag {sha}"]
        if wrong:
            raise BenchFailed(f"{who}: {TAG} not an annotated tag at the plan's commit in {wrong}")


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def hook_pair(bench: Bench, number: int, traced: bool) -> tuple[Sample, Sample]:
    """Row 6, one run of each: ``check-table-file`` of the tree under test, written as pip
    writes console scripts, and pre-commit-hooks' ``check-yaml`` of this interpreter."""
    script = bench.root / "hook" / "check-table-file"
    if not script.exists():
        script.parent.mkdir(parents=True)
        script.write_text(_SCRIPT.format(python=sys.executable))
        script.chmod(0o755)
    check_yaml = Path(sysconfig.get_path("scripts")) / "check-yaml"
    ours = [str(script), "--package", "afw", str(DATA / "tables" / "lsst" / "afw.table")]
    theirs = [str(check_yaml), str(DATA / "conda" / "conda3_packages-linux-64.yml")]
    return paired(
        number,
        lambda: bench.run(ours, bench.dm.env, traced).sample,
        lambda: bench.run(theirs, bench.dm.env, traced).sample,
    )


def hooks_missing() -> str:
    """Why row 6 has no baseline, or ""."""
    if (Path(sysconfig.get_path("scripts")) / "check-yaml").exists():
        return ""
    return "pre-commit-hooks' check-yaml not installed (pip install -e '.[bench]')"
