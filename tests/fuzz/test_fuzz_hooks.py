"""Every hook and file-reading verb, run in-process on mutated real files: exit 0, 1 or 2,
one diagnostic per line, no traceback, bounded time (issue 8, "Done when" 1)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from fuzz_harness import DATA, SEEDS, mutations, run_hook
from hypothesis import given, settings
from hypothesis import strategies as st

from dmrelease import cli
from dmrelease.hooks import (
    check_branch_name,
    check_conda_env,
    check_distribution_contents,
    check_product_membership,
    check_pushed_tags,
    check_repos_yaml,
    check_requirements,
    check_table_file,
    check_version_strings,
)

# warnings are errors (a FutureWarning among diagnostics is a bug), except hypothesis's own
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning"),
]
PROJECT = Path(__file__).resolve().parents[2]
TABLES = sorted((DATA / "tables").rglob("*.table"))


def profile() -> settings:
    return settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci"))


def _in_file(name: str, data: bytes) -> tuple[tempfile.TemporaryDirectory[str], str]:
    directory = tempfile.TemporaryDirectory(prefix="fuzz-")
    path = os.path.join(directory.name, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(data)
    return directory, path


def _hook(target: str, main: object, name: str, data: bytes, *flags: str) -> None:
    directory, path = _in_file(name, data)
    with directory:
        run_hook(target, main, [*flags, path])  # type: ignore[arg-type]


@profile()
@given(mutations(TABLES))
def test_check_table_file(case: tuple[str, bytes]) -> None:
    name, data = case
    repos = str(DATA / "repos.yaml")
    flags = ("--known-packages", repos, "--package", name.removesuffix(".table"))
    _hook("hook:check-table-file", check_table_file.main, name, data, *flags)


@profile()
@given(mutations([DATA / "repos.yaml"]), st.booleans())
def test_check_repos_yaml(case: tuple[str, bytes], sort: bool) -> None:
    flags = ["--sorted"] if sort else []
    _hook("hook:check-repos-yaml", check_repos_yaml.main, *case, *flags)


@profile()
@given(mutations(sorted((DATA / "conda").glob("*.yml"))), st.booleans())
def test_check_conda_env(case: tuple[str, bytes], pinned: bool) -> None:
    flags = ["--pinned"] if pinned else []
    _hook("hook:check-conda-env", check_conda_env.main, *case, *flags)


@profile()
@given(mutations([SEEDS / "requirements.txt", PROJECT / "pyproject.toml"]), st.booleans())
def test_check_requirements(case: tuple[str, bytes], pinned: bool) -> None:
    flags = ["--pinned"] if pinned else []
    _hook("hook:check-requirements", check_requirements.main, *case, *flags)


@profile()
@given(mutations([SEEDS / "setup.cfg", SEEDS / "version.cfg", PROJECT / "pyproject.toml"]))
def test_check_version_strings(case: tuple[str, bytes]) -> None:
    name, data = case
    name = "ups/afw.cfg" if name == "version.cfg" else name
    _hook("hook:check-version-strings", check_version_strings.main, name, data)


def _products_seed() -> bytes:
    return (
        "products:\n"
        f"  lsst_distrib: {DATA / 'tables' / 'lsst_distrib.table'}\n"
        f"  lsst_build: {DATA / 'tables' / 'lsst_build.table'}\n"
        f"repos: {DATA / 'repos.yaml'}\n"
    ).encode()


@profile()
@given(st.sampled_from(["products.yaml", "products.toml"]).flatmap(
    lambda name: st.builds(lambda data: (name, data), _seed_for(name))
))  # fmt: skip
def test_check_product_membership(case: tuple[str, bytes]) -> None:
    name, data = case
    directory, path = _in_file(name, data)
    with directory:
        run_hook(
            "hook:check-product-membership", check_product_membership.main, ["--products", path]
        )


@profile()
@given(mutations([DATA / "contents" / "lsst_distrib.contents.yaml"]))
def test_check_distribution_contents(case: tuple[str, bytes]) -> None:
    _, data = case
    directory, path = _in_file("ups/lsst_distrib.contents.yaml", data)
    afw, distrib = DATA / "tables" / "lsst" / "afw.table", DATA / "tables" / "lsst_distrib.table"
    tables = ["--table", str(afw), "--table", str(distrib)]
    conda = ["--conda", str(DATA / "conda" / "conda3_bleed-linux-64.yml")]
    with directory:
        run_hook(
            "hook:check-distribution-contents",
            check_distribution_contents.main,
            ["--contents", path, "--repos", str(DATA / "repos.yaml"), *tables, *conda],
        )


def _seed_for(name: str) -> st.SearchStrategy[bytes]:
    from fuzz_harness import mutated

    if name.endswith(".toml"):
        seed = _products_seed().decode()
        toml = "[products]\n" + "".join(
            f'{line.split(":", 1)[0].strip()} = "{line.split(":", 1)[1].strip()}"\n'
            for line in seed.splitlines()[1:3]
        )
        return mutated((toml + f'[x]\nrepos = "{DATA / "repos.yaml"}"\n').encode())
    return mutated(_products_seed())


_BRANCHES = [b"tickets/DM-12345", b"tickets/DM-1-v29", b"u/jdoe/topic", b"v29.1.x", b"main"]


@profile()
@given(st.sampled_from(_BRANCHES).flatmap(lambda b: _seed_bytes(b)), st.booleans())
def test_check_branch_name(data: bytes, as_pattern: bool) -> None:
    text = data.decode("utf-8", "replace").replace("\x00", "")
    if as_pattern:
        argv = [f"--release-branch-pattern={text}", "--branch=v29.1.x"]
    else:
        argv = [f"--branch={text}"] if text else ["--branch=main"]
    try:
        run_hook("hook:check-branch-name", check_branch_name.main, argv)
    except SystemExit as exc:  # argparse's parser.error for a bad pattern: usage, exit 2
        assert exc.code == 2


def _seed_bytes(seed: bytes) -> st.SearchStrategy[bytes]:
    from fuzz_harness import mutated

    return mutated(seed)


@profile()
@given(mutations([SEEDS / "pushed-refs.txt"]), st.booleans())
def test_check_pushed_tags(case: tuple[str, bytes], external: bool) -> None:
    _name, data = case
    flags = ["--external"] if external else []
    stdin = data.decode("utf-8", "replace")
    run_hook("hook:check-pushed-tags", check_pushed_tags.main, [*flags, "origin"], stdin)


@profile()
@given(mutations(sorted((DATA / "versiondb" / "manifests").glob("b6*.txt"))))
def test_dm_release_manifest_verify(case: tuple[str, bytes]) -> None:
    directory, path = _in_file(*case)
    db = str(DATA / "versiondb" / "content_sha.db.txt")
    with directory:
        _verb("verb:manifest-verify", ["manifest", "verify", "--content-db", db, path])


@profile()
@given(mutations(TABLES), mutations([SEEDS / "exclusions.txt"]))
def test_dm_release_table_deps(table: tuple[str, bytes], exclusions: tuple[str, bytes]) -> None:
    directory, path = _in_file(*table)
    with directory:
        with open(os.path.join(directory.name, "exclusions.txt"), "wb") as stream:
            stream.write(exclusions[1])
        argv = ["table", "deps", path, "--exclusion-map", stream.name, "--product", "afw"]
        _verb("verb:table-deps", argv)


def _verb(target: str, argv: list[str]) -> None:
    """A dm-release verb prints its report on stdout: only exit code and stderr are judged."""
    import contextlib
    import io

    from fuzz_harness import _timed

    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return cli.main(argv)

    code = _timed(target, call)
    assert code in (0, 1, 2), (code, err.getvalue())
    assert "Traceback" not in err.getvalue() + out.getvalue()


_TAGS = [b"29.1.0", b"v29.1.0.rc1", b"w.2025.24", b"d.2025.06.11", b"b8466", b"t.2016.34"]


@profile()
@given(st.sampled_from(_TAGS).flatmap(_seed_bytes), st.sampled_from(["classify", "eups"]))
def test_dm_release_tag_verbs(data: bytes, verb: str) -> None:
    text = data.decode("utf-8", "replace").replace("\x00", "")
    _verb(f"verb:tag-{verb}", ["tag", verb, "--", text or "x"])
