"""dm-release publish: a real rebuild's build b1 onto a source (eupspkg) server tree, judged
by the bytes written and by what the server tree refuses; the real EUPS client's installs
are in test_publish_eups.py."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from publish_helpers import (
    PACKAGES,
    TABLELESS,
    Built,
    CountingDestination,
    built_product,
    dm_release,
    publish_json,
    tree,
)

from dmrelease.adapters.config import load_options
from dmrelease.adapters.files import WriteFailed
from dmrelease.core.distrib import render_pkginfo
from dmrelease.core.requests import PublishRequest, RefList
from dmrelease.stages.publish import publish
from dmrelease.stages.workspace import open_workspace, work_dir_lock


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return built_product(tmp_path, extra='env = "rubin-env-9.0.0"\n')


def _server_files(built: Built, tags: tuple[str, ...]) -> list[str]:
    stems = [f"{n}-{built.versions[n]}" for n in PACKAGES]
    files = ["config.txt", "index.json"]
    files += [f"env/{tags[0]}.env", "env/index.json"]  # the tag's own only
    files += [f"manifests/{s}.manifest" for s in stems] + ["manifests/index.json"]
    files += [f"products/{s}.eupspkg" for s in stems] + ["products/index.json"]
    files += [f"tables/{s}.table" for s in stems]
    files += ["tables/index.json"]
    files += [f"tags/{t}.list" for t in tags] + ["tags/index.json"]
    return sorted(files)


def _members(package: Path) -> dict[str, tuple[int, int, int, str, str, bytes]]:
    with tarfile.open(package) as archive:
        found = {}
        for info in archive.getmembers():
            handle = archive.extractfile(info) if info.isfile() else None
            data = handle.read() if handle else b""
            found[info.name] = (info.mode, info.uid, info.gid, info.uname, info.gname, data)
        return found


def test_publish_writes_the_whole_source_tree(built: Built) -> None:
    document = publish_json(built, "--tag", "w_2025_24", "--server-dir", str(built.server))
    wanted = _server_files(built, ("w_2025_24", "w_latest"))
    assert sorted(tree(built.server)) == wanted
    assert document["verb"] == "publish" and document["ok"] is True
    assert document["build_id"] == "b1" and document["destination"] == str(built.server)
    assert document["tag"] == "w_2025_24" and document["tags"] == ["w_2025_24", "w_latest"]
    assert document["source"] == "git" and document["dry_run"] is False
    assert document["counts"] == {
        "packages": 6, "on_server": 0, "added": len(wanted), "skipped": 0, "replaced": 0,
        "written": len(wanted),
    }  # fmt: skip
    assert document["on_server"] == []
    assert sorted(document["files"]["added"]) == wanted
    assert document["files"]["written"][-4:] == [
        "tags/w_2025_24.list", "tags/w_latest.list", "tags/index.json", "index.json",
    ]  # fmt: skip
    assert document["packages"] == [
        {"name": n, "version": built.versions[n]}
        for n in ("base", "daf", "utils", "geom", "afw", "meta")
    ]
    v = built.versions
    tag_list = (built.server / "tags/w_2025_24.list").read_text()
    assert tag_list == (
        "EUPS distribution w_2025_24 version list. Version 1.0\n#BUILD=b1\n"
        "#CONDA_ENV=rubin-env-9.0.0\n#product             flavor     version\n"
        + "#" + "-" * 38 + "\n"
        + "".join(f"{n:<20} {'generic':<10} {v[n]}\n" for n in PACKAGES)
    )  # fmt: skip
    latest = (built.server / "tags/w_latest.list").read_text()
    assert latest == tag_list.replace("w_2025_24", "w_latest")
    assert (built.server / "env/w_2025_24.env").read_text() == (
        "EUPS_TAG='w_2025_24'\nCONDA_ENV='rubin-env-9.0.0'\n"
    )
    manifest = (built.server / f"manifests/afw-{v['afw']}.manifest").read_text()
    rows = [line.split() for line in manifest.splitlines() if not line.startswith(("#", "EUPS"))]
    assert rows == [
        [n, "generic", v[n], f"{n}-{v[n]}.table", f"{n}/{v[n]}", f"eupspkg:{n}-{v[n]}.eupspkg"]
        for n in ("base", "utils", "geom", "afw")
    ]
    table = (built.server / f"tables/afw-{v['afw']}.table").read_text()
    assert table == (
        "# table of afw\nsetupRequired(geom)\nsetupRequired(utils)\n"
        "envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n"
    )
    index = json.loads((built.server / "products/index.json").read_text())
    assert index == sorted(f"{n}-{v[n]}.eupspkg" for n in PACKAGES)
    assert json.loads((built.server / "index.json").read_text()) == [
        "config.txt", "env", "manifests", "products", "tables", "tags",
    ]  # fmt: skip


def test_a_git_package_holds_pkginfo_only_deterministically(built: Built) -> None:
    publish_json(built, "--tag", "w_2025_24", "--server-dir", str(built.server))
    v, sha = built.versions["afw"], built.shas["afw"]
    package = built.server / f"products/afw-{v}.eupspkg"
    data = package.read_bytes()
    assert data[4:8] == b"\0\0\0\0" and data[3] & 0x08 == 0  # gzip: mtime 0, no file name
    pkginfo = (
        f"PRODUCT='afw'\nVERSION='{v}'\nFLAVOR='generic'\nSOURCE='git'\nSHA1='{sha}'\n"
        f"REPOSITORY='{built.product.url('afw')}'\nREPOVERSION='{sha}'\n"
    ).encode()
    assert _members(package) == {
        f"afw-{v}": (0o755, 0, 0, "", "", b""),
        f"afw-{v}/ups": (0o755, 0, 0, "", "", b""),
        f"afw-{v}/ups/pkginfo": (0o644, 0, 0, "", "", pkginfo),
    }
    with tarfile.open(package) as archive:
        assert [m.name for m in archive.getmembers()] == sorted(_members(package))
        assert {m.mtime for m in archive.getmembers()} == {1_750_000_060 + 120}  # the commit's


def test_a_package_source_embeds_the_tree_at_the_commit(built: Built) -> None:
    document = publish_json(
        built, "--tag", "v1_0_0", "--server-dir", str(built.server)
    )  # a final: SOURCE=package by default, and o_latest
    assert document["source"] == "package" and document["tags"] == ["v1_0_0", "o_latest"]
    v = built.versions["geom"]
    members = _members(built.server / f"products/geom-{v}.eupspkg")
    assert sorted(members) == [
        f"geom-{v}", f"geom-{v}/README.md", f"geom-{v}/ups", f"geom-{v}/ups/geom.table",
        f"geom-{v}/ups/pkginfo",
    ]  # fmt: skip
    assert members[f"geom-{v}/README.md"][5] == b"# geom\n\nrevision 3\n"
    assert b"SOURCE='package'\n" in members[f"geom-{v}/ups/pkginfo"][5]


def test_a_rerun_writes_nothing_and_a_new_tag_only_its_own_files(built: Built) -> None:
    server = str(built.server)
    publish_json(built, "--tag", "w_2025_24", "--server-dir", server)
    first = tree(built.server)
    again = publish_json(built, "--tag", "w_2025_24", "--server-dir", server)
    kept = [p for p in first if p.endswith((".eupspkg", ".table"))]  # not even read again
    assert again["files"]["skipped"] == sorted(set(first) - set(kept))
    assert again["counts"] == {
        "packages": 6, "on_server": 6, "added": 0, "skipped": len(first) - 12, "replaced": 0,
        "written": 0,
    }  # fmt: skip
    stems = [f"{n}-{built.versions[n]}" for n in ("base", "daf", "utils", "geom", "afw", "meta")]
    assert again["on_server"] == [f"products/{s}.eupspkg" for s in stems]  # not made again
    assert tree(built.server) == first
    other = publish_json(built, "--tag", "w_2025_25", "--server-dir", server)
    assert sorted(other["files"]["added"]) == ["env/w_2025_25.env", "tags/w_2025_25.list"]
    assert other["files"]["replaced"] == ["env/index.json", "tags/index.json"]
    # w_latest of the same build is skipped, like every package file
    assert other["counts"] == {
        "packages": 6, "on_server": 6, "added": 2, "skipped": len(first) - 16, "replaced": 2,
        "written": 4,
    }  # fmt: skip


def test_a_publish_stopped_midway_finishes_on_rerun_writing_no_file_twice(
    built: Built,
) -> None:
    loaded = load_options(built.config, {})
    config = loaded.config
    request = PublishRequest("w_2025_24", floating=("w_latest",), server_dir=str(built.server))
    with work_dir_lock(config):
        workspace = open_workspace(config, (), RefList(), log=io.StringIO())
        dying = CountingDestination(built.server, fail_after=9)
        with pytest.raises(WriteFailed, match="No space left on device"):
            publish(config, request, workspace, io.StringIO(), destination=dying)
        assert len(dying.writes) == 9 and len(tree(built.server)) == 9
        assert all(p.endswith(".eupspkg") for p in dying.writes[:6])  # packages first
        assert not any(p.startswith("tags/") for p in dying.writes)  # tag lists last
        rerun = CountingDestination(built.server)
        published = publish(config, request, workspace, io.StringIO(), destination=rerun)
    wanted = _server_files(built, ("w_2025_24", "w_latest"))
    assert sorted(tree(built.server)) == wanted
    assert set(dying.writes).isdisjoint(rerun.writes)
    assert sorted(dying.writes + rerun.writes) == wanted
    made = {p for p in dying.writes if p.startswith("products/")}
    assert set(published.on_server) == made and len(made) == 6  # not made again
    assert len(published.added) == len(wanted) - 9
    assert set(published.skipped) <= set(dying.writes)  # the 3 others, but a table kept
    assert published.written == tuple(rerun.writes)
    assert rerun.writes[-4:] == [
        "tags/w_2025_24.list",
        "tags/w_latest.list",
        "tags/index.json",
        "index.json",
    ]  # fmt: skip: the indexes naming the tag lists after them


def test_a_conflicting_file_is_refused_before_anything_is_written(built: Built) -> None:
    v = built.versions["geom"]
    planted = built.server / "tables" / f"geom-{v}.table"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"setupRequired(somethingElse)\n")
    before = tree(built.server)
    code, _, err = dm_release(
        "publish", "--config", str(built.config), "--tag", "w_2025_24",
        "--server-dir", str(built.server),
    )  # fmt: skip
    assert code == 1, err
    assert err.splitlines()[-2:] == [
        f"dm-release: error: {built.server}/tables/geom-{v}.table: already there with other bytes",
        "1 server file would be rewritten; a published file is never changed: nothing was written",
    ]
    assert tree(built.server) == before


def _planted(built: Built, name: str, version: str, sha1: str, *, top: str = "") -> bytes:
    """A source package of ``name`` made by another run (its pkginfo naming ``sha1``)."""
    top = top or f"{name}-{version}"
    text = render_pkginfo(
        name, version, source="git", sha1=sha1, repository="elsewhere", repoversion=sha1
    ).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{top}/ups/pkginfo")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    return raw.getvalue()


def test_a_package_already_on_the_server_is_kept_as_published(built: Built) -> None:
    v = built.versions["geom"]
    planted = built.server / "products" / f"geom-{v}.eupspkg"
    planted.parent.mkdir(parents=True)
    data = _planted(built, "geom", v, built.shas["geom"])  # e.g. a candidate's
    planted.write_bytes(data)
    code, out, err = dm_release(
        "publish", "--config", str(built.config), "--json", "--tag", "v1_0_0",
        "--server-dir", str(built.server),
    )  # fmt: skip
    assert code == 0, err
    document = json.loads(out)
    assert document["on_server"] == [f"products/geom-{v}.eupspkg"]
    assert document["kept_sources"] == {"git": 1}
    assert err.splitlines()[0] == (
        f"publish b1 as v1_0_0, o_latest to {built.server}: 6 packages, SOURCE=package; "
        "1 already on the server as first published (1 package kept with SOURCE=git), 5 to make"
    )
    assert f"products/geom-{v}.eupspkg" not in document["files"]["added"]
    assert planted.read_bytes() == data
    assert f"tables/geom-{v}.table" in document["files"]["added"]  # read from the clone


@pytest.mark.parametrize("case", ["garbage", "other sha", "other product"])
def test_a_package_there_that_is_not_the_builds_is_refused(built: Built, case: str) -> None:
    v = built.versions["geom"]
    path = f"products/geom-{v}.eupspkg"
    planted = built.server / path
    planted.parent.mkdir(parents=True)
    if case == "garbage":
        planted.write_bytes(b"published before by another run\n")
        reason = f"not a source package of geom {v} (no geom-{v}/ups/pkginfo)"
    elif case == "other sha":
        planted.write_bytes(_planted(built, "geom", v, "0" * 40))
        reason = (
            f"another package already there: its ups/pkginfo has SHA1 {'0' * 40} there, "
            f"{built.shas['geom']} in this build"
        )
    else:  # the right top directory, another product's pkginfo in it
        planted.write_bytes(_planted(built, "afw", v, built.shas["geom"], top=f"geom-{v}"))
        reason = (
            "another package already there: its ups/pkginfo has PRODUCT afw there, geom in "
            "this build"
        )
    before = tree(built.server)
    code, _, err = dm_release(
        "publish", "--config", str(built.config), "--tag", "w_2025_24",
        "--server-dir", str(built.server),
    )  # fmt: skip
    assert code == 1, err
    assert err.splitlines()[-2:] == [
        f"dm-release: error: {built.server}/{path}: {reason}",
        "1 server file would be rewritten; a published file is never changed: nothing was written",
    ]
    assert tree(built.server) == before


def test_a_dated_tag_is_never_moved_but_may_gain_products(built: Built) -> None:
    server = str(built.server)
    publish_json(built, "--tag", "v1_0_0", "--server-dir", server)
    tagged = built.server / "tags" / "v1_0_0.list"
    listed = tagged.read_text()
    assert len(listed.splitlines()) == 5 + len(PACKAGES)  # 5 header lines (build, env)
    # the tag naming fewer products (as a publish of fewer products left it): it gains rows
    meta = f"{'meta':<20} {'generic':<10} {built.versions['meta']}\n"
    assert meta in listed
    tagged.write_text(listed.replace(meta, ""))
    gained = publish_json(built, "--tag", "v1_0_0", "--server-dir", server)
    assert gained["files"]["replaced"] == ["tags/v1_0_0.list"]
    assert tagged.read_text() == listed
    # the tag as another build published it: afw at another version, #BUILD=b9
    v = built.versions["afw"]
    row = f"{'afw':<20} {'generic':<10} "
    moved = listed.replace("#BUILD=b1", "#BUILD=b9").replace(f"{row}{v}", f"{row}29.1.0")
    assert moved.count("29.1.0") == 1
    (built.server / "tags" / "v1_0_0.list").write_text(moved)
    o_latest = built.server / "tags" / "o_latest.list"
    o_latest.write_text(moved.replace("v1_0_0", "o_latest"))  # a floating tag: it moves
    before = tree(built.server)
    code, _, err = dm_release(
        "publish", "--config", str(built.config), "--tag", "v1_0_0", "--server-dir", server,
    )  # fmt: skip
    assert code == 1, err
    assert err.splitlines()[-2:] == [
        f"dm-release: error: {server}/tags/v1_0_0.list: tag v1_0_0 is published already: "
        f"#BUILD=b9 there, #BUILD=b1 in this one; afw 29.1.0 there, {v} in this one (a dated "
        "tag is never moved; only w_latest, d_latest, o_latest are)",
        "1 server file would be rewritten; a published file is never changed: nothing was written",
    ]
    assert tree(built.server) == before
    # the dated tag as this build published it: the floating tag alone moves back
    (built.server / "tags" / "v1_0_0.list").write_text(listed)
    again = publish_json(built, "--tag", "v1_0_0", "--server-dir", server)
    assert again["files"]["replaced"] == ["tags/o_latest.list"]
    assert o_latest.read_text() == listed.replace("v1_0_0", "o_latest")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tag", "w.2025.24"), "--tag: 'w.2025.24' is not an EUPS tag name: letters, digits"),
        (("--tag", "w_2025_24", "--build", "b7"), "build b7 is not in versiondb"),
        (("--tag", "w_2025_24", "--build", "7"), "--build: '7' is not a build id: b and digits"),
        (("--tag", "w_2025_24", "--source", "svn"), "--source: 'svn' is not git or package"),
        ((), "publish needs an EUPS tag: give --tag TAG"),
        (("--tag", "w_2025_24", "--also-tag", "latest-w"), "'latest-w': an EUPS tag has"),
    ],
)
def test_bad_input_is_a_clear_usage_error_and_writes_nothing(
    built: Built, args: tuple[str, ...], message: str
) -> None:
    code, out, err = dm_release(
        "publish", "--config", str(built.config), "--server-dir", str(built.server), *args
    )
    assert code == 2, err
    assert message in err
    assert out == "" and not built.server.exists()


def test_no_server_dir_is_a_usage_error(built: Built) -> None:
    code, _, err = dm_release("publish", "--config", str(built.config), "--tag", "w_2025_24")
    assert code == 2
    assert "no source server to publish to: give --server-dir, or set paths.source_server" in err


def test_dry_run_prints_the_plan_and_writes_nothing(built: Built) -> None:
    code, _, err = dm_release(
        "publish", "--config", str(built.config), "--tag", "w_2025_24", "--also-tag",
        "--server-dir", str(built.server), "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    assert not built.server.exists()
    wanted = _server_files(built, ("w_2025_24",))
    lines = err.splitlines()
    assert (
        f"{built.server}: {len(wanted)} to add, 0 to skip, 0 to replace, 0 refused (dry "
        "run: nothing written)" in lines
    )
    assert [line.split()[1] for line in lines if line.startswith("  add ")] == wanted


def test_packages_are_the_same_bytes_from_another_work_dir(built: Built, tmp_path: Path) -> None:
    publish_json(built, "--tag", "w_2025_24", "--server-dir", str(built.server))
    text = built.config.read_text().replace('work_dir = "work"', 'work_dir = "work2"')
    other = built.config.with_name("other.toml")
    other.write_text(text)
    second = tmp_path / "second"
    code, _, err = dm_release(
        "publish", "--config", str(other), "--tag", "w_2025_24", "--server-dir", str(second)
    )
    assert code == 0, err
    assert tree(second) == tree(built.server)  # fresh clones, same bytes everywhere
    v, sha = built.versions["afw"], built.shas["afw"]
    members = _members(second / f"products/afw-{v}.eupspkg")  # a real package, not just gzip
    assert sorted(members) == [f"afw-{v}", f"afw-{v}/ups", f"afw-{v}/ups/pkginfo"]
    assert (
        members[f"afw-{v}/ups/pkginfo"][5]
        == (
            f"PRODUCT='afw'\nVERSION='{v}'\nFLAVOR='generic'\nSOURCE='git'\nSHA1='{sha}'\n"
            f"REPOSITORY='{built.product.url('afw')}'\nREPOVERSION='{sha}'\n"
        ).encode()
    )


def test_a_package_without_a_table_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    built = built_product(tmp_path, overrides=TABLELESS)
    code, _, err = dm_release(
        "publish", "--config", str(built.config), "--tag", "w_2025_24",
        "--server-dir", str(built.server),
    )  # fmt: skip
    assert code == 1, err
    assert err.splitlines()[-2:] == [
        f"dm-release: error: notes: no ups/notes.table at {built.shas['notes']}",
        "EUPS cannot install a source package without its table file (its build runs "
        "setup -r . in the package): nothing was written",
    ]
    assert not built.server.exists()


def test_a_final_of_a_candidates_versions_keeps_the_candidates_packages(built: Built) -> None:
    server = str(built.server)
    candidate = publish_json(built, "--tag", "v1_0_0_rc1", "--server-dir", server)
    assert (candidate["source"], candidate["tags"]) == ("git", ["v1_0_0_rc1"])  # no floating
    packages = tree(built.server / "products")
    final = publish_json(built, "--tag", "v1_0_0", "--server-dir", server)
    assert (final["source"], final["tags"]) == ("package", ["v1_0_0", "o_latest"])
    assert len(final["on_server"]) == 6  # the candidate's SOURCE=git packages, kept
    assert sorted(final["files"]["added"]) == [
        "env/v1_0_0.env",
        "tags/o_latest.list",
        "tags/v1_0_0.list",
    ]  # fmt: skip: no env file for the floating tag
    assert sorted(final["files"]["replaced"]) == ["env/index.json", "tags/index.json"]
    assert tree(built.server / "products") == packages


def test_a_package_whose_table_is_missing_gets_it_from_the_clone(built: Built) -> None:
    server = str(built.server)
    publish_json(built, "--tag", "w_2025_24", "--server-dir", server)
    first = tree(built.server)
    table = built.server / "tables" / f"afw-{built.versions['afw']}.table"
    table.unlink()  # as a kill between the package and its table leaves it
    again = publish_json(built, "--tag", "w_2025_24", "--server-dir", server)
    assert again["files"]["added"] == [f"tables/afw-{built.versions['afw']}.table"]
    assert tree(built.server) == first
