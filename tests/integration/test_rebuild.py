"""Prepare against real git remotes: first-match refs, manifest, versiondb build ids."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rebuild_helpers import GRAPH, config_for, make_product, run_prepare, write_config

from dmrelease.adapters.git import Git, GitError
from dmrelease.core.errors import CheckFailed
from dmrelease.core.manifest import parse_manifest
from dmrelease.core.manifest_verify import verify_manifest
from dmrelease.core.refs import RefKind, RefSource
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, push_change

RELEASE = "v1.0.x"
RC = "v1.0.0.rc1"


def _specs(with_branch: tuple[str, ...], with_tag: tuple[str, ...]) -> dict[str, PackageSpec]:
    return {
        name: PackageSpec(
            deps=GRAPH[name],
            branches=(RELEASE,) if name in with_branch else (),
            tags=(RC,) if name in with_tag else (),
        )
        for name in GRAPH
    }


def _sha(product: SyntheticProduct, name: str, ref: str) -> str:
    return Git(product.remote(name)).rev_parse(ref)


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        # the next rc: the release branch where it exists, else the previous rc tag
        (
            [RELEASE, RC],
            {"afw": (RELEASE, RefKind.BRANCH), "utils": (RELEASE, RefKind.BRANCH),
             "base": (RC, RefKind.TAG), "geom": (RC, RefKind.TAG), "meta": (RC, RefKind.TAG),
             "daf": ("main", RefKind.BRANCH)},
        ),
        # without the release branch in the list: every tagged package takes the tag
        (
            [RC],
            {"afw": (RC, RefKind.TAG), "utils": (RC, RefKind.TAG), "base": (RC, RefKind.TAG),
             "geom": (RC, RefKind.TAG), "meta": (RC, RefKind.TAG),
             "daf": ("main", RefKind.BRANCH)},
        ),
        # no ref list at all: main everywhere
        ([], {name: ("main", RefKind.BRANCH) for name in GRAPH}),
    ],
)  # fmt: skip
def test_first_match_resolution_across_repos(
    tmp_path: Path, refs: list[str], expected: dict[str, tuple[str, RefKind]]
) -> None:
    tagged = ("afw", "utils", "base", "geom", "meta")
    product = make_product(tmp_path, _specs(("afw", "utils"), tagged))
    config = config_for(write_config(tmp_path, product), refs=refs)
    prepared, log = run_prepare(config)
    won = {n: (s.resolution.ref, s.resolution.kind) for n, s in prepared.sources.items()}
    assert won == expected
    for name, (ref, _kind) in expected.items():
        assert prepared.manifest.packages[name].sha == _sha(product, name, ref)
        assert f"{ref} (" in log  # the report names the winner per package


def test_the_report_says_why_a_ref_won(tmp_path: Path) -> None:
    product = make_product(tmp_path, _specs(("afw",), ("afw", "base")))
    config = config_for(write_config(tmp_path, product), refs=[RELEASE, RC])
    sources = run_prepare(config)[0].sources
    assert sources["afw"].resolution.reason == "ref 1 of the list"
    assert sources["base"].resolution.reason == f"ref 2 of the list ({RELEASE} not found)"
    assert sources["daf"].resolution.source is RefSource.DEFAULT


def test_branch_and_tag_of_the_same_name_resolve_to_the_branch(tmp_path: Path) -> None:
    both = PackageSpec(deps=GRAPH["utils"], branches=("w.2025.24",), tags=("w.2025.24",))
    product = make_product(tmp_path, {"utils": both})
    config = config_for(write_config(tmp_path, product), refs=["w.2025.24"])
    prepared, log = run_prepare(config)
    utils = prepared.sources["utils"].resolution
    assert (utils.kind, utils.sha) == (
        RefKind.BRANCH,
        _sha(product, "utils", "refs/heads/w.2025.24"),
    )
    assert utils.sha != _sha(product, "utils", "refs/tags/w.2025.24")
    assert "a tag of the same name exists, the branch wins" in log


def test_repos_yaml_ref_comes_before_main(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"daf": PackageSpec(deps=("base",), branches=("stable",))})
    text = product.repos_yaml.read_text().replace(
        f"daf: {product.url('daf')}", f"daf:\n  url: {product.url('daf')}\n  ref: stable"
    )
    product.repos_yaml.write_text(text)
    prepared, _ = run_prepare(config_for(write_config(tmp_path, product)))
    daf = prepared.sources["daf"].resolution
    assert (daf.ref, daf.source) == ("stable", RefSource.REPOS_YAML)


def test_a_commit_sha_in_the_ref_list_pins_that_package(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    old = _sha(product, "geom", "main~1")
    prepared, _ = run_prepare(config_for(write_config(tmp_path, product), refs=[old[:12]]))
    assert prepared.sources["geom"].resolution.kind is RefKind.COMMIT
    assert prepared.manifest.packages["geom"].sha == old


def test_a_ref_matching_no_package_is_refused(tmp_path: Path) -> None:
    product = make_product(tmp_path, _specs((), ("base",)))
    config = config_for(write_config(tmp_path, product), refs=[RC, "v1.0.0.rc9"])
    with pytest.raises(CheckFailed) as failed:
        run_prepare(config)
    [problem] = failed.value.diagnostics
    assert problem.rule == "ref-unmatched" and "v1.0.0.rc9" in problem.message
    assert not (tmp_path / "versiondb").exists()


def test_identical_content_reuses_the_build_id(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    first, _ = run_prepare(config)
    again, log = run_prepare(config)
    assert (first.manifest.build_id, again.manifest.build_id) == ("b1", "b1")
    assert (first.build_id_reused, again.build_id_reused) == (False, True)
    assert again.versiondb_steps == () and "reused" in log
    versiondb = Git(tmp_path / "versiondb")
    assert versiondb.run("tag", "--list").split() == ["b1"]
    assert versiondb.run("cat-file", "-t", "b1") == "tag"  # annotated
    push_change(product, "geom", "Change geom")
    changed, _ = run_prepare(config)
    assert (changed.manifest.build_id, changed.build_id_reused) == ("b2", False)
    db = (tmp_path / "versiondb" / "manifests" / "content_sha.db.txt").read_text().splitlines()
    assert [line.split("\t")[1] for line in db] == ["b1", "b2"]


def test_a_run_killed_before_the_versiondb_commit_is_completed_by_the_rerun(
    tmp_path: Path,
) -> None:
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    run_prepare(config)
    push_change(product, "geom", "Change geom")
    hook = tmp_path / "versiondb" / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'disk full' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(GitError, match="disk full"):
        run_prepare(config)  # the commit of b2 fails after its files were written
    hook.unlink()
    again, _ = run_prepare(config)
    versiondb = Git(tmp_path / "versiondb")
    assert again.manifest.build_id == "b2" and "commit" in again.versiondb_steps
    assert versiondb.run("tag", "--list").split() == ["b1", "b2"]
    recorded = versiondb.show_file("b2", "manifests/b2.txt")
    assert recorded == (tmp_path / "work" / "manifest.txt").read_text().rstrip("\n")
    assert versiondb.run("status", "--porcelain") == ""
    assert run_prepare(config)[0].versiondb_steps == ()  # idempotent from now on


def test_a_build_id_named_only_in_the_content_db_is_not_given_again(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    run_prepare(config)
    db = tmp_path / "versiondb" / "manifests" / "content_sha.db.txt"
    with db.open("a") as out:  # left by a run killed before it wrote manifests/b7.txt
        out.write(f"{'0' * 40}\tb7\n")
    push_change(product, "geom", "Change geom")
    assert run_prepare(config)[0].manifest.build_id == "b8"


def test_outputs_are_a_valid_manifest_and_a_build_property(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    prepared, _ = run_prepare(config_for(write_config(tmp_path, product)))
    text = (tmp_path / "work" / "manifest.txt").read_text()
    assert text == (tmp_path / "versiondb" / "manifests" / "b1.txt").read_text()
    assert verify_manifest(parse_manifest(text, "manifest.txt"), "manifest.txt") == []
    assert (tmp_path / "work" / "build.properties").read_text() == "BUILD=b1\n"
    order = [e.name for e in prepared.manifest.entries]
    assert order == ["base", "daf", "utils", "geom", "afw", "meta"]


def test_fetch_only_when_already_cloned(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    assert {s.action for s in run_prepare(config)[0].sources.values()} == {"cloned"}
    assert {s.action for s in run_prepare(config)[0].sources.values()} == {"fetched"}


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    from dmrelease.stages.rebuild import rebuild

    product = make_product(tmp_path)
    setup = config_for(write_config(tmp_path, product)).dry()
    prepared, built = rebuild(setup.config, setup.request, io.StringIO())
    assert len(prepared.manifest.entries) == len(GRAPH)
    assert built is not None and built.counts["built"] == len(GRAPH)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dm-release.toml", "upstream", "work"]
    # the work clones, fetched like a real run's, and nothing else: no versiondb, outputs,
    # status or stack; the work-dir lock is gone with the command
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["clones"]
    assert sorted(p.name for p in (tmp_path / "work" / "clones").iterdir()) == sorted(GRAPH)
