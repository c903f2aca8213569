"""Shared setup of the release tests: a small product as bare remotes, its config, the CLI.

``meta`` → ``afw`` → ``utils`` → ``base``, with ``base`` an external repository (its finals
also get ``vM.n.p``). Remotes are written by ``git fast-import``; a developer clone
merges ticket branches the way GitHub does (``--no-ff``).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rebuild_helpers import BUILD, PATHS

from dmrelease import cli
from dmrelease.adapters.git import Git
from dmrelease.core.journal import parse_journal
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, create_product

GRAPH: dict[str, tuple[str, ...]] = {
    "base": (),
    "utils": ("base",),
    "afw": ("utils",),
    "meta": ("afw", "utils"),
}
PACKAGES = sorted(GRAPH)


def journal_json(path: Path) -> dict[str, Any]:
    """A journal file, whatever its format (JSON Lines now, one document before), as the
    one JSON document of ``Journal.to_json``: its ``packages``, ``errors``, ``events``."""
    data: dict[str, Any] = json.loads(parse_journal(path.read_text(), str(path)).to_json())
    return data


DEVELOPER = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
}
#: Jenkins parameters that would leak into the configuration
JENKINS_VARIABLES = ("GIT_REFS", "REFS", "SOURCE_GIT_REFS", "PRODUCTS", "GIT_TAG",
                     "RELEASE_GIT_TAG", "EUPS_TAG")  # fmt: skip


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not see a GIT_REFS or GIT_TAG of the machine they run on."""
    for name in JENKINS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Setup:
    root: Path
    product: SyntheticProduct
    config: Path

    def remote(self, name: str) -> Git:
        return Git(self.product.remote(name))

    def clone(self, name: str) -> Path:
        return self.root / "work" / "clones" / name

    def journal(self, session: str, release: str) -> Path:
        return self.root / "work" / "state" / "journal" / "meta" / f"{session}-{release}.json"

    def lock(self) -> Path:
        return self.root / "work" / "state" / "locks" / "meta.json"


#: rc1 of the test product from its weekly, tagged only (the release tests' usual start)
RC1 = ("candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")


def make_setup(root: Path, *, urls: dict[str, str] | None = None) -> Setup:
    specs = {name: PackageSpec(deps=deps, history=2) for name, deps in GRAPH.items()}
    product = create_product(root / "upstream", specs)
    if urls:
        product.repos_yaml.write_text("".join(f"{n}: {u}\n" for n, u in sorted(urls.items())))
    config = root / "dm-release.toml"
    config.write_text(
        f'[products.meta]\nrepos = "{product.repos_yaml}"\n\n'
        f"[build]\ncommand = '{BUILD}'\n\n{PATHS}"
    )
    return Setup(root, product, config)


def run(setup: Setup, *args: str) -> tuple[int, str, str]:
    """``dm-release release ARGS --config <setup>``: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    command, *rest = args
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["release", command, "--config", str(setup.config), *rest])
    return code, out.getvalue(), err.getvalue()


def ok(setup: Setup, *args: str) -> str:
    code, out, err = run(setup, *args)
    assert code == 0, err
    return out + err


def tags(git: Git) -> dict[str, str]:
    """Tag → commit (peeled) in a repository."""
    return {ref.removeprefix("refs/tags/"): sha for ref, sha in git.refs("refs/tags/").items()}


def tag_objects(git: Git) -> dict[str, str]:
    """Tag → the tag object itself (changes if a tag were ever re-created)."""
    out = git.run("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags/")
    return dict(line.split(" ") for line in out.splitlines())


def snapshot(repos: Iterable[Path], *, fetched: bool = False) -> dict[str, str]:
    """``git for-each-ref`` of every repository, to prove nothing changed; with ``fetched``
    the remote-tracking branches are left out: a dry run fetches into the work clones like
    a real run (issue 9 §1), and writes no branch or tag."""
    patterns = ("refs/heads/", "refs/tags/") if fetched else ()
    return {str(repo): Git(repo).run("for-each-ref", *patterns) for repo in repos if repo.exists()}


def all_repos(setup: Setup) -> list[Path]:
    remotes = [setup.product.remote(n) for n in PACKAGES]
    return remotes + [setup.clone(n) for n in PACKAGES]


def merge_ticket(setup: Setup, package: str, ticket: str, path: str, text: str) -> str:
    """A developer fixes ``package`` on ``tickets/<ticket>`` and merges it into main with a
    merge commit; both branches are pushed. Returns the fix commit."""
    dev = setup.root / "dev" / package
    if not dev.exists():
        Git(setup.root).run("clone", "--quiet", str(setup.product.remote(package)), str(dev))
    git = Git(dev, env=DEVELOPER)
    git.run("checkout", "--quiet", "main")
    git.run("pull", "--quiet", "--ff-only")
    git.run("checkout", "--quiet", "-b", f"tickets/{ticket}")
    (dev / path).parent.mkdir(parents=True, exist_ok=True)
    (dev / path).write_text(text)
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", f"{ticket}: change {path}")
    fix = git.rev_parse("HEAD")
    git.run("checkout", "--quiet", "main")
    git.run("merge", "--quiet", "--no-ff", "-m", f"Merge branch 'tickets/{ticket}'",
            f"tickets/{ticket}")  # fmt: skip
    git.run("push", "--quiet", "origin", "main", f"tickets/{ticket}")
    return fix


def commit_on_branch(setup: Setup, package: str, branch: str, path: str, text: str) -> str:
    """A commit pushed directly to ``branch`` of ``package`` (e.g. a release branch)."""
    dev = setup.root / "dev-branch" / package
    shutil.rmtree(dev, ignore_errors=True)
    Git(setup.root).run("clone", "--quiet", "--branch", branch, str(setup.product.remote(package)),
                        str(dev))  # fmt: skip
    git = Git(dev, env=DEVELOPER)
    (dev / path).parent.mkdir(parents=True, exist_ok=True)
    (dev / path).write_text(text)
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", f"change {path} on {branch}")
    git.run("push", "--quiet", "origin", branch)
    return git.rev_parse("HEAD")


def refuse_pushes(setup: Setup, package: str, *, sleep: float = 0) -> Path:
    """A pre-receive hook on ``package``'s remote that refuses every push (or, with
    ``sleep``, waits that long and accepts). Returns the hook to delete it later."""
    hook = setup.product.remote(package) / "hooks" / "pre-receive"
    body = f"sleep {sleep}\nexit 0\n" if sleep else "echo 'refused by policy' >&2\nexit 1\n"
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(0o755)
    return hook
