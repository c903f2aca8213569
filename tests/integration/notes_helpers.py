"""Two releases of a small product for the notes tests, made by the real release sessions
(weekly, candidate, final, with builds recorded in versiondb): ticket branches merged with
``--no-ff`` as GitHub does, tickets in subjects, a package new to the second release and
one removed from it, the product's contents file and conda environment."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rebuild_helpers import BUILD, PATHS
from release_helpers import DEVELOPER, Setup, ok

from dmrelease import cli
from dmrelease.adapters.git import Git
from dmrelease.core.manifest import parse_manifest
from dmrelease.demo.synthetic import PackageSpec, create_product, create_remote

#: meta -> afw -> utils -> base, meta -> oldpkg -> base; the second release drops oldpkg
#: and brings newpkg (-> base)
GRAPH: dict[str, tuple[str, ...]] = {
    "base": (),
    "utils": ("base",),
    "afw": ("utils",),
    "oldpkg": ("base",),
    "meta": ("afw", "utils", "oldpkg"),
}
_WHEN = 1_760_000_000


def _developer(root: Path, setup: Setup, package: str, step: int) -> Git:
    """A developer clone of ``package`` at main, whose commits have fixed dates (the same
    test gives the same SHAs)."""
    dev = root / "dev" / package
    if not dev.exists():
        Git(root).run("clone", "--quiet", str(setup.product.remote(package)), str(dev))
    stamp = f"{_WHEN + step * 60} +0000"
    git = Git(dev, env={**DEVELOPER, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    git.run("checkout", "--quiet", "main")
    git.run("pull", "--quiet", "--ff-only")
    return git


def _commit(git: Git, files: dict[str, str], message: str) -> str:
    for path, text in files.items():
        target = git.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git.run("add", "--", *files)
    git.run("commit", "--quiet", "-m", message)
    return git.rev_parse("HEAD")


def _merge_ticket(
    root: Path, setup: Setup, package: str, ticket: str, subject: str, merge: str, step: int
) -> None:
    """``tickets/<ticket>`` with one commit, merged into main with ``--no-ff``, pushed."""
    git = _developer(root, setup, package, step)
    git.run("checkout", "--quiet", "-b", f"tickets/{ticket}")
    _commit(git, {f"{ticket}.txt": f"{ticket}\n"}, subject)
    git.run("checkout", "--quiet", "main")
    git.run("merge", "--quiet", "--no-ff", "-m", merge, f"tickets/{ticket}")
    git.run("push", "--quiet", "origin", "main", f"tickets/{ticket}")


def _push_commit(
    root: Path, setup: Setup, package: str, files: dict[str, str], subject: str, step: int
) -> None:
    git = _developer(root, setup, package, step)
    _commit(git, files, subject)
    git.run("push", "--quiet", "origin", "main")


#: the product's distribution contents file in 29.1: base is a third-party EUPS product,
#: numpy and scipy conda packages; newpkg's approval into the product
CONTENTS = """\
third_party:
  - name: base
    type: 1
    delivery: eups
    license: BSD-3-Clause
    support: full
    rfc: RFC-11
  - name: numpy
    type: 1
    delivery: conda
    license: BSD-3-Clause
    support: full
    rfc: RFC-12
  - name: scipy
    type: 2
    delivery: conda
    license: BSD-3-Clause
    support: best-effort
    rfc: RFC-13
packages:
  - name: newpkg
    rfc: RFC-14
"""
ENVIRONMENT = "name: meta\ndependencies:\n  - numpy=1.26.4=py311h64a7726_0\n  - scipy >=1.11\n"


def make_releases(root: Path) -> Setup:
    """29.0.0 (w.2025.24 → rc1 → final, build b1), then the work of the next release and
    v29.1.0.rc1 from w.2025.30 (build b2)."""
    specs = {name: PackageSpec(deps=deps, history=2) for name, deps in GRAPH.items()}
    product = create_product(root / "upstream", specs)
    config = root / "dm-release.toml"
    config.write_text(
        f'[products.meta]\nrepos = "{product.repos_yaml}"\n\n'
        f"[build]\ncommand = '{BUILD}'\n\n{PATHS}"
    )
    setup = Setup(root, product, config)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.0.0.rc1", "--refs", "w.2025.24")
    ok(setup, "final", "29.0.0")
    # the work of 29.1: ticket merges (GitHub's two forms), tickets in subjects, no ticket
    _merge_ticket(root, setup, "afw", "DM-101", "DM-101: Add the warper",
                  "Merge branch 'tickets/DM-101'", 1)  # fmt: skip
    pull = "Merge pull request #7 from lsst/tickets/DM-104\n\nDM-104: Read FITS v4"
    _merge_ticket(root, setup, "utils", "DM-104", "Read the new format", pull, 2)
    _push_commit(root, setup, "utils", {"fast.txt": "fast\n"}, "DM-102: Speed up the parser", 3)
    _push_commit(root, setup, "utils", {"typo.txt": "typo\n"}, "Fix a typo", 4)
    _push_commit(root, setup, "afw", {"more.txt": "more\n"}, "DM-102 and DM-99: the warper too", 5)
    create_remote(product.remote("newpkg"), "newpkg", PackageSpec(deps=("base",), history=2))
    product.repos_yaml.write_text(
        product.repos_yaml.read_text() + f"newpkg: {product.url('newpkg')}\n"
    )
    table = "# table of meta\nsetupRequired(afw)\nsetupRequired(utils)\nsetupRequired(newpkg)\n"
    files = {"ups/meta.table": table, "ups/meta.contents.yaml": CONTENTS,
             "environment.yaml": ENVIRONMENT}  # fmt: skip
    _push_commit(root, setup, "meta", files, "DM-103: newpkg replaces oldpkg", 6)
    ok(setup, "weekly", "w.2025.30")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.30")
    return setup


def releases_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    saved = {k: os.environ.pop(k) for k in ("GIT_REFS", "REFS", "GIT_TAG", "RELEASE_GIT_TAG",
                                             "PRODUCTS", "EUPS_TAG", "SOURCE_GIT_REFS",
                                             "DM_RELEASE_JIRA_URL", "RELEASE_ISSUE")
             if k in os.environ}  # fmt: skip
    try:
        yield make_releases(tmp_path_factory.mktemp("notes"))
    finally:
        os.environ.update(saved)


def notes(setup: Setup, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["notes", "--config", str(setup.config), *args])
    return code, out.getvalue(), err.getvalue()


def versions(setup: Setup, build: str) -> dict[str, str]:
    path = setup.root / "versiondb" / "manifests" / f"{build}.txt"
    return {e.name: e.version for e in parse_manifest(path.read_text(), str(path)).entries}


def checksum(setup: Setup, tag: str) -> str:
    message = Git(setup.clone("meta")).run("for-each-ref", "--format=%(contents)",
                                           f"refs/tags/{tag}")  # fmt: skip
    return message.split("manifest: ")[1].split("\n")[0]
