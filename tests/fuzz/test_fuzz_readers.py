"""Every reader takes mutated real files and answers with diagnostics, never a traceback,
in bounded time (issue 8, "Done when" 1). The profiles are in conftest.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fuzz_harness import DATA, SEEDS, mutations, read, texts
from hypothesis import given, settings
from hypothesis import strategies as st

from dmrelease.core.config_layers import build_config
from dmrelease.core.journal import Journal, Lock, Step, parse_journal, parse_lock
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import ContentDb, layout_problems, parse_manifest
from dmrelease.core.manifest_verify import verify_manifest
from dmrelease.core.names import ReleaseBranchPattern, parse_branch, parse_tag, read_tag
from dmrelease.core.plan import Session, make_plan, parse_plan, plan_to_json
from dmrelease.core.refs import RefKind, RefSource, Resolution
from dmrelease.core.repos import check_repos, parse_repos
from dmrelease.core.tables import ExclusionMap, check_table, parse_table

# warnings are errors (a FutureWarning among diagnostics is a bug), except hypothesis's own
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning"),
]
TABLES = sorted((DATA / "tables").rglob("*.table"))
MANIFESTS = sorted((DATA / "versiondb" / "manifests").glob("*.txt"))


def profile() -> settings:
    """The fuzz profile: HYPOTHESIS_PROFILE (``long``) or ``fuzz-ci``."""
    import os

    return settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci"))


def seeds(*named: tuple[str, bytes]) -> st.SearchStrategy[tuple[str, bytes]]:
    from fuzz_harness import mutated

    return st.sampled_from(list(named)).flatmap(
        lambda seed: mutated(seed[1]).map(lambda data: (seed[0], data))
    )


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _plan_json() -> bytes:
    resolved = {
        n: Resolution(n, "w.2025.24", RefKind.TAG, _sha(n), RefSource.REF_LIST, "ref 1")
        for n in ("base", "afw", "sconsUtils")
    }
    plan = make_plan(
        "lsst_distrib",
        Session.CANDIDATE,
        "v29.1.0.rc1",
        ["w.2025.24"],
        resolved,
        order=["sconsUtils", "base", "afw"],
        external=["sconsUtils"],
        build_id="b8466",
        manifest="# product ...\nBUILD=b8466\n",
        manifest_checksum=_sha("manifest"),
    )
    return plan_to_json(plan).encode()


def _journal_json() -> bytes:
    journal = Journal.start("candidate v29.1.0.rc1", _sha("plan"), ["base", "afw"], "t0")
    journal = journal.advance("base", Step.TAGGED, "t1", "pushed").fail("afw", "no", "t2")
    return journal.finish_stage("tag", "t3").to_json().encode()


def _lock_json() -> bytes:
    lock = Lock("lsst_distrib", "candidate", "v29.1.0.rc1", "jenkins@host:123", "t0")
    return lock.to_json().encode()


def _text(name: str, data: bytes) -> str:
    return decode_text(data, name)


@profile()
@given(texts(TABLES))
def test_table_files(case: tuple[str, bytes]) -> None:
    name, data = case

    def call() -> object:
        text = _text(name, data)
        problems = check_table(text, name, product="afw")
        if not problems:
            table = parse_table(text, name)
            for flavor in ("Linux64", "Darwin", "Linux"):
                table.dependencies(flavor, "build")
            parse_table(str(table), name)
        return problems

    read("table", call)


@profile()
@given(seeds(("exclusions.txt", (SEEDS / "exclusions.txt").read_bytes())))
def test_exclusion_maps(case: tuple[str, bytes]) -> None:
    name, data = case

    def call() -> object:
        exclusions = ExclusionMap.parse(_text(name, data), name)
        return exclusions.excludes("afwdata", "afw")

    read("exclusion-map", call)


@profile()
@given(mutations(MANIFESTS[::5]))
def test_manifests_and_verify(case: tuple[str, bytes]) -> None:
    name, data = case
    db = ContentDb.parse((DATA / "versiondb" / "content_sha.db.txt").read_text())

    def call() -> object:
        text = _text(name, data)
        manifest = parse_manifest(text, name)
        return layout_problems(text, manifest, name) + verify_manifest(manifest, name, db)

    read("manifest", call)


@profile()
@given(mutations([DATA / "versiondb" / "content_sha.db.txt"]))
def test_content_db(case: tuple[str, bytes]) -> None:
    name, data = case
    read("content-db", lambda: ContentDb.parse(_text(name, data), name))


@profile()
@given(mutations([DATA / "repos.yaml"]))
def test_repos_yaml(case: tuple[str, bytes]) -> None:
    name, data = case

    def call() -> object:
        text = _text(name, data)
        problems = check_repos(text, name, sorted_keys=True)
        if not problems:
            parse_repos(text, name)
        return problems

    read("repos.yaml", call)


@profile()
@given(seeds(("dm-release.toml", (SEEDS / "dm-release.toml").read_bytes())))
def test_config_toml(case: tuple[str, bytes]) -> None:
    name, data = case
    path = f"/srv/ci/{name}"
    read("config", lambda: build_config(text=_text(path, data), path=path, environ={}, cwd=Path()))


@profile()
@given(seeds(("plan.json", _plan_json())))
def test_plan_json(case: tuple[str, bytes]) -> None:
    name, data = case
    read("plan", lambda: parse_plan(_text(name, data), name))


@profile()
@given(seeds(("journal.json", _journal_json()), ("lock.json", _lock_json())))
def test_journal_and_lock_json(case: tuple[str, bytes]) -> None:
    name, data = case
    parse = parse_journal if name == "journal.json" else parse_lock
    read("journal-lock", lambda: parse(_text(name, data), name))


_NAMES = [
    line.split(b"\t")[0]
    for line in (DATA / "tags" / "lsst_distrib-tags.tsv").read_bytes().splitlines()[1::40]
]


@profile()
@given(seeds(*((f"tag{i}", n) for i, n in enumerate(_NAMES))))
def test_tag_names(case: tuple[str, bytes]) -> None:
    _name, data = case
    text = data.decode("utf-8", "replace")

    def call() -> object:
        read_tag(text)
        return parse_tag(text, external=True)

    read("tag-name", call)


_BRANCHES = [b"tickets/DM-12345", b"tickets/DM-1-v29", b"u/jdoe/topic", b"v29.1.x", b"main"]


@profile()
@given(seeds(*((f"branch{i}", n) for i, n in enumerate(_BRANCHES))))
def test_branch_names_and_patterns(case: tuple[str, bytes]) -> None:
    _name, data = case
    text = data.decode("utf-8", "replace")

    def call() -> object:
        parse_branch(text, ReleaseBranchPattern("v{major}.{minor}.x"))
        return ReleaseBranchPattern(text.replace("29", "{major}", 1).replace("1", "{minor}", 1))

    read("branch-name", call)
