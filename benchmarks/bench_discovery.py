"""Discovery per command (issue 9): how often the real CLI clones, fetches and lists each
package's remote, and how long it takes, for ``rebuild --prepare-only`` and ``release
candidate``.

The CLI runs as a subprocess (``python -m dmrelease`` from ``--src DIR``, default: the tree
this benchmark imports), so the same script measures an old tree and a new one (the
synthetic product is made by this tree's ``dmrelease.demo.synthetic``, the demo by the
tree under test's ``dm-release demo``); its git calls are counted per package by a logging
``git`` wrapper (:mod:`benchmarks.git_trace`).

Two products: a synthetic one (31 packages: 30 on 6 levels and a metapackage, bare remotes
by ``git fast-import``) and the demo product (``dm-release demo --dir``, 14 packages).
Per product and repeat: prepare on an empty work dir (cold) then again (warm); a weekly
from main in that work dir; ``candidate rc1 --refs <weekly> --dry-run`` on an empty work
dir, then in the warm one; ``candidate rc1 --refs <weekly>`` on another empty work dir (a
new agent); a release branch with one commit in a few packages; ``candidate rc2`` with its
default refs (the release branch, then rc1) in the same work dir. Times are the median of
the repeats (wall clock, with the wrapper's ~1 ms per git call); counts are those of the
first repeat, and every repeat must give the same counts. The run fails (exit 1) if a
command fails, a manifest names another SHA than the remote's main, a dry run leaves a tag,
or a remote tag is not at the commit the session must tag.

``python -m benchmarks.bench_discovery [--src DIR] [--repeats N] [--json FILE] [--trace DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dmrelease
from benchmarks.git_trace import COUNTED, Cli, CommandFailed, Run
from dmrelease.demo.rebuild import BUILD_COMMAND as BUILD
from dmrelease.demo.synthetic import create_product, layered_graph, product_specs

REPEATS = 3
SYNTHETIC = (30, 6)  # packages, levels; plus the metapackage synth_distrib
BRANCHED = {"synth_distrib": ("pkg_00_000", "pkg_03_002"), "demo_distrib": ("afw", "utils")}
Results = Mapping[str, Mapping[str, Mapping[str, float]]]  # product -> command -> figures


def _git(repo: Path, *args: str, input: str | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _peeled(remote: Path, ref: str) -> str:
    """The commit ``ref`` points at, "" when there is no such ref."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=remote, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip()


def _branch_commit(remote: Path, branch: str, base: str) -> str:
    """One commit on ``branch`` (new) from ``base`` in a bare remote; returns its SHA."""
    message = f"Fix on {branch}\n"
    stream = (
        f"commit refs/heads/{branch}\ncommitter Bench <bench@example.org> 1760000000 +0000\n"
        f"data {len(message)}\n{message}from {base}\nM 644 inline FIX.md\n"
        f"data {len(message)}\n{message}done\n"
    )
    _git(remote, "fast-import", "--quiet", "--done", input=stream)
    return _peeled(remote, f"refs/heads/{branch}")


@dataclass(frozen=True)
class Product:
    name: str
    repos_yaml: Path
    remotes: Path
    packages: frozenset[str]

    def remote(self, package: str) -> Path:
        return self.remotes / f"{package}.git"

    def config(self, root: Path, work: str) -> Path:
        """A dm-release.toml under ``root``: work dir ``work``, versiondb and stack shared."""
        path = root / f"{work}.toml"
        path.write_text(
            f'[products.{self.name}]\nrepos = "{self.repos_yaml}"\n\n'
            f"[build]\ncommand = '{BUILD}'\n\n"
            f'[paths]\nwork_dir = "{work}"\nversiondb = "versiondb"\nstack = "stack"\n'
        )
        return path


def synthetic_product(root: Path) -> Product:
    deps = layered_graph(*SYNTHETIC)
    made = create_product(root / "synthetic", product_specs(deps))
    return Product("synth_distrib", made.repos_yaml, made.remotes, frozenset(deps))


def demo_product(cli: Cli, root: Path) -> Product:
    where = root / "demo"
    cli.run("demo", "--dir", str(where), cwd=root, traced=False)
    names = [line.split(":")[0] for line in (where / "repos.yaml").read_text().splitlines()]
    return Product("demo_distrib", where / "repos.yaml", where / "remotes", frozenset(names))


def _check_manifest(product: Product, work: Path) -> None:
    found = sorted(work.rglob("manifest.txt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise CommandFailed(f"{work}: no manifest.txt after prepare")
    shas = {}
    for line in found[-1].read_text().splitlines():
        words = line.split()
        if words and not line.startswith("#") and not words[0].startswith("BUILD="):
            shas[words[0]] = words[1]
    expected = {p: _peeled(product.remote(p), "refs/heads/main") for p in product.packages}
    if shas != expected:
        wrong = sorted(set(shas.items()) ^ set(expected.items()))
        raise CommandFailed(f"{found[-1]}: manifest is not the remotes' main: {wrong[:4]}")


def _check_tags(product: Product, tag: str, expected: Mapping[str, str]) -> None:
    wrong = {
        p: (got, sha)
        for p, sha in expected.items()
        if (got := _peeled(product.remote(p), f"refs/tags/{tag}")) != sha
    }
    if wrong:
        raise CommandFailed(f"{tag}: remote tags not at the planned SHAs: {wrong}")


def _one_repeat(cli: Cli, product: Product, root: Path, number: int) -> dict[str, Run]:
    """Every measured command once, on fresh work dirs under ``root``; checks each result."""
    root.mkdir(parents=True)
    runs: dict[str, Run] = {}
    prepare = str(product.config(root, "prep"))
    runs["prepare cold"] = cli.run("rebuild", "--prepare-only", "--config", prepare, cwd=root)
    _check_manifest(product, root / "prep")
    runs["prepare warm"] = cli.run("rebuild", "--prepare-only", "--config", prepare, cwd=root)
    _check_manifest(product, root / "prep")

    major = 30 + number
    weekly, rc1, rc2, branch = (
        f"w.2025.{major}", f"v{major}.0.0.rc1", f"v{major}.0.0.rc2", f"v{major}.0.x",
    )  # fmt: skip
    mains = {p: _peeled(product.remote(p), "refs/heads/main") for p in product.packages}
    runs["weekly (warm)"] = cli.run("release", "weekly", weekly, "--config", prepare, cwd=root)
    _check_tags(product, weekly, mains)
    for what, config in (("cold", str(product.config(root, "dry"))), ("warm", prepare)):
        runs[f"candidate rc1 --dry-run ({what})"] = cli.run(
            "release", "candidate", rc1, "--config", config, "--refs", weekly, "--dry-run",
            cwd=root,
        )  # fmt: skip
        if any(_peeled(product.remote(p), f"refs/tags/{rc1}") for p in product.packages):
            raise CommandFailed(f"{rc1}: the dry run pushed a tag")
    agent = str(product.config(root, "agent"))
    runs["candidate rc1 (cold)"] = cli.run(
        "release", "candidate", rc1, "--config", agent, "--refs", weekly, cwd=root
    )
    _check_tags(product, rc1, mains)
    expected = dict(mains)
    for package in BRANCHED[product.name]:
        expected[package] = _branch_commit(product.remote(package), branch, mains[package])
    runs["candidate rc2 (warm)"] = cli.run("release", "candidate", rc2, "--config", agent, cwd=root)
    _check_tags(product, rc2, expected)
    return runs


def _write_trace(trace: Path, product: Product, runs: Mapping[str, Run]) -> None:
    trace.mkdir(parents=True, exist_ok=True)
    for what, run in runs.items():
        name = re.sub(r"[^a-z0-9]+", "-", f"{product.name} {what}").strip("-")
        (trace / f"{name}.txt").write_text(run.trace())


def measure(
    cli: Cli, product: Product, root: Path, repeats: int, trace: Path | None = None
) -> dict[str, dict[str, float]]:
    """Per command: the median and spread of the times, the counts of the first repeat."""
    cli.packages = product.packages
    load = os.getloadavg()[0]
    repeated = [_one_repeat(cli, product, root / f"run{n}", n) for n in range(repeats)]
    if trace:
        _write_trace(trace, product, repeated[0])
    results: dict[str, dict[str, float]] = {}
    for what, first in repeated[0].items():
        counts = first.figures()
        for other in repeated[1:]:
            if other[what].figures() != counts:
                raise CommandFailed(f"{what}: counts differ between repeats")
        times = [r[what].seconds for r in repeated]
        results[what] = {
            "median s": statistics.median(times), "min s": min(times), "max s": max(times),
            "cpu s": statistics.median(r[what].cpu for r in repeated), **counts,
            "load before": load, "load after": os.getloadavg()[0],
        }  # fmt: skip
    return results


def measure_all(
    src: Path, repeats: int, trace: Path | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as scratch:
        root = Path(scratch)
        cli = Cli(src, root)
        products = [synthetic_product(root), demo_product(cli, root)]
        return {  # under runs/N: a directory named like a package would own every call
            f"{p.name} ({len(p.packages)} pkgs)": measure(
                cli, p, root / "runs" / str(n), repeats, trace
            )
            for n, p in enumerate(products)
        }


def rows(results: Results) -> list[tuple[str, str]]:
    out = []
    for product, commands in results.items():
        for what, f in commands.items():
            counted = ", ".join(
                f"{verb} {f[f'{verb} total']:.0f} (max {f[f'{verb}/pkg max']:.0f})"
                for verb in COUNTED
            )
            out.append((
                f"{product}: {what}",
                f"{f['median s']:.2f}s median ({f['min s']:.2f}-{f['max s']:.2f}), "
                f"cpu {f['cpu s']:.2f}s; "
                f"{f['git calls']:.0f} git calls (max {f['calls/pkg max']:.0f}/pkg); "
                f"clone+fetch max {f['clone+fetch/pkg max']:.0f}/pkg; {counted}",
            ))  # fmt: skip
    return out


_TABLE = ("git calls", "calls/pkg max", "clone+fetch/pkg max", "clone total", "fetch total",
          "ls-remote total", "ls-remote/pkg max", "median s", "cpu s")  # fmt: skip


def _ratio(old: float, new: float) -> str:
    return f"{old:.3g} → {new:.3g} ({old / new:.2f}x)" if old and new else f"{old:.3g} → {new:.3g}"


def markdown(results: Results, before: Results | None = None) -> str:
    """One table row per product and command; with ``before``: before → after (ratio)."""
    lines = ["| product | command | " + " | ".join(_TABLE) + " |", "|---" * (2 + len(_TABLE)) + "|"]
    for product, commands in results.items():
        for what, f in commands.items():
            old = before[product][what] if before and what in before.get(product, {}) else None
            cells = [_ratio(old[k], f[k]) if old else f"{f[k]:.3g}" for k in _TABLE]
            lines.append(f"| {product} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _default_src() -> Path:
    return Path(dmrelease.__file__).resolve().parents[1]


def run() -> list[tuple[str, str]]:
    try:
        return rows(measure_all(_default_src(), REPEATS))
    except CommandFailed as failed:
        print(f"bench_discovery: {failed}", file=sys.stderr)
        raise SystemExit(1) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=_default_src(), help="the tree's src dir")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--trace", type=Path, help="write each command's git calls here")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--compare", type=Path, help="a --json file of another tree: ratios")
    args = parser.parse_args(argv)
    try:
        results = measure_all(args.src.resolve(), args.repeats, args.trace)
    except CommandFailed as failed:
        print(f"bench_discovery: {failed}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps({"src": str(args.src), **results}, indent=1) + "\n")
    if args.markdown or args.compare:
        before = json.loads(args.compare.read_text()) if args.compare else None
        print(markdown(results, before), end="")
        return 0
    for what, figures in rows(results):
        print(f"{what}  {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
