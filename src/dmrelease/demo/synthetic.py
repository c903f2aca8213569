"""Synthetic products for tests and benchmarks: bare git remotes written by ``git
fast-import`` (one process per repository), each package with history and a table file.

Commit dates are fixed, so the same description gives the same SHAs. Used by the rebuild
integration tests and ``benchmarks/bench_rebuild.py`` (STYLE.md habit 5).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import Git

_EPOCH = 1_750_000_000
_WHO = "Synthetic Developer <dev@example.org>"


@dataclass(frozen=True)
class PackageSpec:
    """One package: required/optional deps, commits on main, extra branches and tags.

    ``branches`` get one commit each on top of main; ``tags`` are annotated tags of main's
    last commit, ``lightweight`` tags plain refs to it.
    """

    deps: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    history: int = 3
    branches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    lightweight: tuple[str, ...] = ()
    table: bool = True


@dataclass(frozen=True)
class SyntheticProduct:
    root: Path
    remotes: Path
    repos_yaml: Path
    packages: Mapping[str, PackageSpec] = field(default_factory=dict)

    def remote(self, name: str) -> Path:
        return self.remotes / f"{name}.git"

    def url(self, name: str) -> str:
        return f"file://{self.remote(name)}"


def table_text(name: str, spec: PackageSpec) -> str:
    lines = [f"# table of {name}"]
    lines += [f"setupRequired({dep})" for dep in spec.deps]
    lines += [f"setupOptional({dep})" for dep in spec.optional]
    lines.append("envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)")
    return "\n".join(lines) + "\n"


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


def _commit(
    ref: str, mark: int, when: int, message: str, parent: str | None, files: Mapping[str, str]
) -> str:
    stream = f"commit {ref}\nmark :{mark}\ncommitter {_WHO} {when} +0000\n{_data(message)}"
    stream += f"from {parent}\n" if parent else ""
    for path, text in files.items():
        stream += f"M 644 inline {path}\n{_data(text)}"
    return stream


def fast_import_stream(name: str, spec: PackageSpec) -> str:
    """The whole history of one package as a fast-import stream."""
    parts = []
    for number in range(1, spec.history + 1):
        files = {"README.md": f"# {name}\n\nrevision {number}\n"}
        if number == 1 and spec.table:
            files[f"ups/{name}.table"] = table_text(name, spec)
        parent = f":{number - 1}" if number > 1 else None
        when = _EPOCH + number * 60
        parts.append(_commit("refs/heads/main", number, when, f"{name} r{number}", parent, files))
    tip = spec.history
    for offset, branch in enumerate(spec.branches, start=1):
        files = {"FIX.md": f"fix on {branch}\n"}
        when = _EPOCH + 10_000 + offset
        parts.append(
            _commit(
                f"refs/heads/{branch}", tip + offset, when, f"Fix on {branch}", f":{tip}", files
            )
        )
    for tag in spec.tags:
        parts.append(f"tag {tag}\nfrom :{tip}\ntagger {_WHO} {_EPOCH + 20_000} +0000\n{_data(tag)}")
    for tag in spec.lightweight:
        parts.append(f"reset refs/tags/{tag}\nfrom :{tip}\n\n")
    return "".join(parts) + "done\n"


def create_remote(path: Path, name: str, spec: PackageSpec) -> None:
    Git(path.parent).run("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    Git(path).run("fast-import", "--quiet", "--done", input=fast_import_stream(name, spec))


def create_product(
    root: Path, packages: Mapping[str, PackageSpec], jobs: int = 4
) -> SyntheticProduct:
    """Bare remotes for every package under ``root/remotes`` and ``root/repos.yaml``."""
    product = SyntheticProduct(root, root / "remotes", root / "repos.yaml", dict(packages))
    product.remotes.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = [pool.submit(create_remote, product.remote(n), n, s) for n, s in packages.items()]
        for future in done:
            future.result()
    write_atomically(
        product.repos_yaml, "".join(f"{n}: {product.url(n)}\n" for n in sorted(packages))
    )
    return product


def _push_commit(
    product: SyntheticProduct, name: str, branch: str, path: str, message: str, stamp: int
) -> str:
    """One commit on ``branch`` of the package's remote, on top of ``main``, changing
    ``path``; returns its SHA."""
    remote = Git(product.remote(name))
    stream = (
        f"commit refs/heads/{branch}\ncommitter {_WHO} {stamp} +0000\n{_data(message)}"
        f"from refs/heads/main^0\nM 644 inline {path}\n{_data(message + chr(10))}done\n"
    )
    remote.run("fast-import", "--quiet", "--done", input=stream)
    return remote.rev_parse(f"refs/heads/{branch}")


def push_change(product: SyntheticProduct, name: str, message: str, when: int = 0) -> str:
    """A new commit on ``main`` of the package's remote; returns its SHA."""
    return _push_commit(product, name, "main", "CHANGES.md", message, _EPOCH + 100_000 + when)


def push_branch(
    product: SyntheticProduct, name: str, branch: str, message: str, when: int = 0
) -> str:
    """A new branch ``branch`` of the package's remote: one commit on top of ``main``
    (a ticket branch, issue 10); returns its SHA."""
    return _push_commit(product, name, branch, "TICKET.md", message, _EPOCH + 200_000 + when)


def layered_graph(
    count: int, levels: int, seed: int = 4, *, exact: bool = False
) -> dict[str, tuple[str, ...]]:
    """``count`` packages in ``levels`` levels, each depending on 1-4 of the levels below
    (always one of the level just below), plus a metapackage ``synth_distrib`` over the
    packages nothing depends on. Deterministic for a seed. Each level has ``count //
    levels`` packages; with ``exact``, the first ``count % levels`` levels one more, so
    that there are ``count`` in all (issue 10's product: 299 and the metapackage)."""
    rng = random.Random(seed)
    sizes = [count // levels + int(exact and level < count % levels) for level in range(levels)]
    names = [[f"pkg_{level:02d}_{i:03d}" for i in range(sizes[level])] for level in range(levels)]
    deps: dict[str, tuple[str, ...]] = {name: () for name in names[0]}
    for level in range(1, levels):
        below = [n for lower in names[:level] for n in lower]
        for name in names[level]:
            chosen = [rng.choice(names[level - 1]), *rng.sample(below, rng.randint(0, 3))]
            deps[name] = tuple(dict.fromkeys(chosen))
    used = {d for ds in deps.values() for d in ds}
    deps["synth_distrib"] = tuple(sorted(n for n in deps if n not in used))
    return deps


def product_specs(deps: Mapping[str, Sequence[str]], history: int = 3) -> dict[str, PackageSpec]:
    return {name: PackageSpec(deps=tuple(ds), history=history) for name, ds in deps.items()}
