"""``dm-release tarball`` (issue 12 §2, §3): a real rebuild into a stack, the binary server
tree written from it, served over HTTP on 127.0.0.1 and installed by the real EUPS client by
tag and by version into a fresh stack; then a fresh stack's rebuild reading that server
fetches every package and builds none. A second run packs nothing and writes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eups_client import Listed, Served, distrib_install, eups_list, setup_ok, setup_run
from rebuild_helpers import GRAPH, config_for, make_product, run_build, run_prepare, write_config
from vendor import Vendor

from dmrelease.adapters.binary_pack import MTIME
from dmrelease.core.requests import TarballRequest
from dmrelease.stages.tarball import tarball as stage_tarball

TAG = "w_2025_24"
#: the server's files besides the tarballs, their checksums, manifests and tables
TREE_FILES = [
    "config.txt", "env/index.json", f"env/{TAG}.env", "index.json", "manifests/index.json",
    "tables/index.json", f"{TAG}.list", "w_latest.list",
]  # fmt: skip


def dm_release(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``dm-release ARGS`` as a process in ``cwd``, without the caller's DM_RELEASE_ and
    Jenkins variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM_RELEASE_")}
    for name in ("EUPS_TAG", "MANIFEST_ID", "PRODUCTS", "RUBINENV_VER", "SPLENV_REF"):
        env.pop(name, None)
    env["DM_RELEASE_PROGRESS"] = "off"
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def built_product(root: Path) -> tuple[Path, dict[str, str]]:
    """A product rebuilt into ``root``'s stack: its configuration and name → version."""
    product = make_product(root)
    config = write_config(root, product, extra='env = "rubin-env-9.0.0"\n')
    setup = config_for(config)
    prepared, _ = run_prepare(setup)
    built, _ = run_build(setup, prepared)
    assert built.counts["built"] == len(GRAPH)
    return config, {e.name: e.version for e in prepared.manifest.entries}


def tarball(config: Path, server: Path, *args: str) -> tuple[int, Any, str]:
    done = dm_release(
        "tarball", "--config", config, "--tag", TAG, "--server-dir", server, "--json", *args,
        cwd=config.parent,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout), done.stderr


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes (directories by their own names)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def package_files(versions: dict[str, str]) -> list[str]:
    files = []
    for name, version in versions.items():
        tarball = f"{name}-{version}@Linux64.tar.gz"
        files += [
            tarball, f"{tarball}.sha256", f"manifests/{name}-{version}@Linux64.manifest",
            f"tables/{name}-{version}.table",
        ]  # fmt: skip
    return files


def test_tarball_writes_the_binary_server_tree_and_eups_installs_it_by_tag_and_version(
    tmp_path: Path, eups_vendor: Vendor, serve_tree: Callable[..., Served]
) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    code, doc, err = tarball(config, server)
    assert code == 0, err
    expected = sorted([*package_files(versions), *TREE_FILES])
    assert sorted(snapshot(server)) == expected
    assert doc["verb"] == "tarball" and doc["ok"] is True and doc["error"] is None
    assert (doc["build_id"], doc["tag"], doc["tags"], doc["flavor"]) == (
        "b1", TAG, [TAG, "w_latest"], "Linux64",
    )  # fmt: skip
    assert doc["counts"] == {
        "packages": 6, "packed": 6, "on_server": 0, "added": 32, "skipped": 0,
        "replaced": 0, "written": 32,
    }  # fmt: skip
    assert sorted(doc["files"]["added"]) == expected
    assert err == (
        f"tarball b1 (Linux64) to {server}: 6 packages, 0 already on the server, 6 to pack\n"
        f"{server}: 32 to add, 0 to skip, 0 to replace, 0 refused\n{server}: wrote 32 files\n"
    )
    # each tarball: <p>/<v>/ with its .pwd, and its SHA-256 beside it as sha256sum writes it
    stack = tmp_path / "stack" / "Linux64"
    for packed in doc["packed"]:
        name, digest = packed["tarball"], packed["sha256"]
        data = (server / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        assert (server / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
        product, version = name.removesuffix("@Linux64.tar.gz").split("-", 1)
        with tarfile.open(server / name) as tar:
            members = {m.name: m for m in tar}
            pwd = tar.extractfile(f"{product}/{version}/.pwd")
            assert pwd is not None and pwd.read() == f"{stack / product / version}\n".encode()
        assert sorted(members) == [
            f"{product}/{version}", f"{product}/{version}/.pwd", f"{product}/{version}/lib",
            f"{product}/{version}/lib/{product}.txt", f"{product}/{version}/ups",
            f"{product}/{version}/ups/{product}.table",
        ]  # fmt: skip
        assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members.values()} == {
            (0, 0, "", "", MTIME)
        }
    tag_list = (server / f"{TAG}.list").read_text()
    assert tag_list.splitlines()[:3] == [
        f"EUPS distribution {TAG} version list. Version 1.0", "#BUILD=b1",
        "#CONDA_ENV=rubin-env-9.0.0",
    ]  # fmt: skip
    assert tag_list.splitlines()[5:] == [
        f"{name:<20} {'generic':<10} {versions[name]}" for name in sorted(versions)
    ]
    assert json.loads((server / "index.json").read_text()) == sorted(
        [*(n for n in expected if "/" not in n and n != "index.json"), "env", "manifests",
         "tables"]
    )  # fmt: skip
    # the real EUPS client, by tag then by version, each into a fresh stack
    served = serve_tree(server)
    listed = [Listed(n, versions[n], ("current", TAG, "w_latest")) for n in sorted(versions)]
    distrib_install(eups_vendor, tmp_path / "by-tag", served.url, "meta", tag=TAG)
    assert eups_list(eups_vendor, tmp_path / "by-tag") == listed
    for name in versions:
        assert setup_ok(eups_vendor, tmp_path / "by-tag", name), name
    setup = setup_run(eups_vendor, tmp_path / "by-tag", "meta").stdout
    assert f"SETUP_AFW=afw {versions['afw']} -f Linux64 -Z {tmp_path / 'by-tag'}\n" in setup
    installed = tmp_path / "by-tag" / "Linux64" / "afw" / versions["afw"] / "lib" / "afw.txt"
    assert installed.read_text() == f"afw {versions['afw']}\n"
    distrib_install(
        eups_vendor, tmp_path / "by-version", served.url, "meta", version=versions["meta"]
    )
    assert eups_list(eups_vendor, tmp_path / "by-version") == listed
    assert setup_ok(eups_vendor, tmp_path / "by-version", "meta")
    gets = [path for method, path in served.requests if method == "GET"]
    assert gets.count(f"/meta-{versions['meta']}@Linux64.tar.gz") == 2  # once per install


def test_a_fresh_stack_rebuild_fetches_every_package_from_the_server(
    tmp_path: Path, serve_tree: Callable[..., Served]
) -> None:
    config, versions = built_product(tmp_path / "builder")
    server = tmp_path / "server"
    assert tarball(config, server)[0] == 0
    served = serve_tree(server)
    fresh = tmp_path / "user"
    fresh.mkdir()
    user_config = write_config(fresh, make_product(fresh), binary=served.url)
    done = dm_release("rebuild", "--config", user_config, "--json", cwd=fresh)
    assert done.returncode == 0, done.stderr
    built = json.loads(done.stdout)["build"]
    assert built["counts"] == {"reused": 0, "fetched": 6, "built": 0, "failed": 0, "skipped": 0}
    assert {n: (p["version"], p["action"]) for n, p in built["packages"].items()} == {
        n: (v, "fetched") for n, v in versions.items()
    }
    gets = [path for method, path in served.requests if method == "GET"]
    assert sorted(gets) == sorted(f"/{n}-{v}@Linux64.tar.gz" for n, v in versions.items())
    stack = fresh / "stack" / "Linux64"
    for name, version in versions.items():
        assert (stack / name / version / "lib" / f"{name}.txt").read_text() == (
            f"{name} {version}\n"
        )
        assert (fresh / "stack" / "ups_db" / name / f"{version}.version").is_file()


def test_a_second_run_packs_nothing_and_writes_nothing(tmp_path: Path) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    assert tarball(config, server)[0] == 0
    before = snapshot(server)
    stamps = {p: p.stat().st_mtime_ns for p in server.rglob("*")}
    code, doc, err = tarball(config, server)
    assert code == 0, err
    assert doc["packed"] == [] and doc["files"]["added"] == [] and doc["files"]["written"] == []
    assert doc["counts"] == {
        "packages": 6, "packed": 0, "on_server": 6, "added": 0, "skipped": 20,
        "replaced": 0, "written": 0,
    }  # fmt: skip
    assert sorted(doc["on_server"]) == sorted(
        f"{n}-{v}@Linux64.tar.gz" for n, v in versions.items()
    )
    assert err == (
        f"tarball b1 (Linux64) to {server}: 6 packages, 6 already on the server, 0 to pack\n"
        f"{server}: 0 to add, 20 to skip, 0 to replace, 0 refused\n{server}: wrote 0 files\n"
    )
    assert snapshot(server) == before
    assert {p: p.stat().st_mtime_ns for p in server.rglob("*")} == stamps
    assert not (tmp_path / "work" / "tarball-staging" / "Linux64").exists()


def _made_elsewhere(product: str, version: str, names: tuple[str, ...] = ()) -> bytes:
    """A tarball of ``<product>/<version>/`` as another machine's pack made it (other bytes);
    ``names``: members instead of that tree's."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name in names or (f"{product}/{version}", f"{product}/{version}/ups"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
    return raw.getvalue()


def test_a_version_on_the_server_is_not_packed_again_its_checksum_comes_from_the_server(
    tmp_path: Path,
) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    server.mkdir()
    # binaries are made once: a tarball of base's tree already there (made elsewhere, no
    # checksum file yet: a kill between the two) is kept as it is
    base = f"base-{versions['base']}@Linux64.tar.gz"
    elsewhere = _made_elsewhere("base", versions["base"])
    (server / base).write_bytes(elsewhere)
    code, doc, err = tarball(config, server)
    assert code == 0, err
    assert doc["on_server"] == [base]
    assert doc["counts"]["packed"] == 5
    assert base not in {p["tarball"] for p in doc["packed"]}
    assert (server / base).read_bytes() == elsewhere
    digest = hashlib.sha256(elsewhere).hexdigest()
    assert (server / f"{base}.sha256").read_text() == f"{digest}  {base}\n"
    # again: kept, its checksum file agreeing with its bytes
    code, doc, err = tarball(config, server)
    assert (code, doc["counts"]["written"], doc["on_server"][0]) == (0, 0, base), err


@pytest.mark.parametrize("case", ["not a tarball", "another tree", "checksum differs"])
def test_a_tarball_there_that_is_not_this_version_is_refused(tmp_path: Path, case: str) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    server.mkdir()
    v = versions["base"]
    base = f"base-{v}@Linux64.tar.gz"
    if case == "not a tarball":
        (server / base).write_bytes(b"made on another machine")
        reason = f"not a tar.gz of base/{v}/"
    elif case == "another tree":
        (server / base).write_bytes(_made_elsewhere("base", v, ("base", "utils/1")))
        reason = f"not a tarball of base/{v}/ (it holds base)"
    else:
        data = _made_elsewhere("base", v)
        (server / base).write_bytes(data)
        (server / f"{base}.sha256").write_text(f"{'0' * 64}  {base}\n")
        reason = (
            f"its SHA-256 is {hashlib.sha256(data).hexdigest()}, its {base}.sha256 records "
            f"{'0' * 64}: not the tarball packed for this version"
        )
    before = snapshot(server)
    code, doc, err = tarball(config, server)
    assert code == 1, err
    assert doc["error"] == (
        f"{server}/{base}: {reason}\n"
        "1 server file would be rewritten; a published file is never changed: nothing was "
        "written"
    )
    assert snapshot(server) == before


def test_a_dated_tag_list_is_never_moved_the_floating_one_is(tmp_path: Path) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    code, _, err = tarball(config, server)
    assert code == 0, err
    listed = (server / f"{TAG}.list").read_text()
    row = f"{'geom':<20} {'generic':<10} "
    assert f"{row}{versions['geom']}\n" in listed
    # the weekly as another build published it: geom at another version
    (server / f"{TAG}.list").write_text(listed.replace(f"{row}{versions['geom']}", f"{row}g0"))
    (server / "w_latest.list").write_text("EUPS distribution w_latest version list. Version 1.0\n")
    before = snapshot(server)
    code, doc, err = tarball(config, server)
    assert code == 1, err
    assert doc["error"] == (
        f"{server}/{TAG}.list: tag {TAG} is published already: geom g0 there, "
        f"{versions['geom']} in this one (a dated tag is never moved; only w_latest, "
        "d_latest, o_latest are)\n"
        "1 server file would be rewritten; a published file is never changed: nothing was "
        "written"
    )
    assert snapshot(server) == before
    (server / f"{TAG}.list").write_text(listed)
    code, doc, err = tarball(config, server)  # the floating tag alone moves back
    assert (code, doc["files"]["replaced"]) == (0, ["w_latest.list"]), err
    assert (server / "w_latest.list").read_text() == listed.replace(TAG, "w_latest")


def test_a_conflicting_checksum_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    server.mkdir()
    afw = f"afw-{versions['afw']}@Linux64.tar.gz"
    (server / f"{afw}.sha256").write_text(f"{'0' * 64}  {afw}\n")  # another afw was there
    manifest = server / "manifests" / f"geom-{versions['geom']}@Linux64.manifest"
    manifest.parent.mkdir()
    manifest.write_text("another manifest\n")
    before = snapshot(server)
    code, doc, err = tarball(config, server)
    assert code == 1
    assert err.startswith(f"tarball b1 (Linux64) to {server}: 6 packages, 0 already on")
    assert doc["ok"] is False
    assert doc["error"] == (
        f"{server}/{afw}.sha256: already there with other bytes\n"
        f"{server}/manifests/geom-{versions['geom']}@Linux64.manifest: already there with "
        "other bytes\n"
        "2 server files would be rewritten; a published file is never changed: nothing was "
        "written"
    )
    assert snapshot(server) == before
    assert sorted(os.listdir(server)) == [f"{afw}.sha256", "manifests"]  # no temporary left
    assert not (tmp_path / "work" / "tarball-staging" / "Linux64").exists()


def test_a_package_missing_from_the_stack_is_named_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    config, versions = built_product(tmp_path)
    (tmp_path / "stack" / "ups_db" / "geom" / f"{versions['geom']}.version").unlink()
    (tmp_path / "stack" / "ups_db" / "daf" / f"{versions['daf']}.version").unlink()
    server = tmp_path / "server"
    code, doc, err = tarball(config, server)
    assert code == 1
    assert doc["error"] == (
        f"2 package(s) of b1 not installed in {tmp_path / 'stack'} (Linux64): "
        f"daf {versions['daf']}, geom {versions['geom']}; run dm-release rebuild first"
    )
    assert err == f"dm-release: error: {doc['error']}\n"
    assert not server.exists()


def test_a_tag_with_a_dot_is_refused_before_anything_is_done(tmp_path: Path) -> None:
    config, _ = built_product(tmp_path)
    server = tmp_path / "server"
    done = dm_release(
        "tarball", "--config", config, "--tag", "w.2025.24", "--server-dir", server,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "'w.2025.24'" in done.stderr and "letters, digits and '_' only" in done.stderr
    also = dm_release(
        "tarball", "--config", config, "--tag", TAG, "--also-tag", "w.latest",
        "--server-dir", server, cwd=tmp_path,
    )  # fmt: skip
    assert also.returncode == 2
    assert also.stderr == (
        "dm-release: error: 'w.latest': an EUPS tag cannot contain '.' (EUPS ignores such "
        "a tag on servers)\n"
    )
    assert not server.exists()


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    server.mkdir()
    (server / "config.txt").write_text("# another server's configuration\n")
    code, doc, err = tarball(config, server, "--dry-run")
    assert code == 1  # the plan shows the conflict a real run would stop at
    assert "  refuse   config.txt\n" in err
    (server / "config.txt").unlink()
    code, doc, err = tarball(config, server, "--dry-run")
    assert code == 0, err
    assert doc["dry_run"] is True
    assert doc["counts"]["added"] == 32 and doc["files"]["written"] == []
    expected = sorted([*package_files(versions), *TREE_FILES])
    assert err.splitlines()[1:] == [
        f"{server}: 32 to add, 0 to skip, 0 to replace, 0 refused (dry run: nothing written)",
        *(f"  add      {path}" for path in expected),
    ]
    assert os.listdir(server) == []
    assert not (tmp_path / "work" / "tarball-staging" / "Linux64").exists()


def test_bad_inputs_are_usage_errors(tmp_path: Path) -> None:
    config, _ = built_product(tmp_path)
    server = tmp_path / "server"
    cases = {
        ("--build", "b7"): f"dm-release: error: build b7 is not in versiondb "
        f"{tmp_path / 'versiondb'} (its builds: b1 to b1)\n",
        ("--products", "nosuch"): f"{config}:1: config-product: product 'nosuch' is not "
        "configured (add [products.nosuch] to dm-release.toml)\n",
    }
    for args, message in cases.items():
        done = dm_release(
            "tarball", "--config", config, "--tag", TAG, "--server-dir", server, *args,
            cwd=tmp_path,
        )  # fmt: skip
        assert (done.returncode, done.stderr) == (2, message), args
    no_tag = dm_release("tarball", "--config", config, "--server-dir", server, cwd=tmp_path)
    assert (no_tag.returncode, no_tag.stderr) == (
        2, "dm-release: error: tarball needs an EUPS tag: give --tag TAG (or set EUPS_TAG)\n",
    )  # fmt: skip
    nowhere = dm_release("tarball", "--config", config, "--tag", TAG, cwd=tmp_path)
    assert (nowhere.returncode, nowhere.stderr) == (
        2, "dm-release: error: no binary server to write to: set paths.binary_server "
        "(DM_RELEASE_BINARY_SERVER_DIR) or give --server-dir\n",
    )  # fmt: skip
    assert not server.exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory\n")
    unwritable = dm_release(
        "tarball", "--config", config, "--tag", TAG, "--server-dir", blocked / "server",
        cwd=tmp_path,
    )  # fmt: skip
    assert (unwritable.returncode, unwritable.stderr) == (
        2, f"dm-release: error: {blocked / 'server'}: {blocked} is not a directory; "
        "give a server directory\n",
    )  # fmt: skip
    assert not (tmp_path / "work" / "tarball-staging").exists()  # stopped before packing


def test_a_package_named_packs_its_closure_only(tmp_path: Path) -> None:
    """The stage given a package of the manifest packs it and its dependencies, deepest
    first in each manifest, and the tag lists name those only."""
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    setup = config_for(config)
    request = TarballRequest(TAG, products=("geom",), server_dir=str(server))
    log = io.StringIO()
    packed = stage_tarball(setup.config, request, None, log)
    assert packed.packages == tuple((n, versions[n]) for n in ("base", "utils", "geom"))
    assert sorted(packed.packed) == sorted(
        f"{n}-{versions[n]}@Linux64.tar.gz" for n in ("base", "utils", "geom")
    )
    assert packed.tags == (TAG,)  # the stage writes the floating tags it is given
    rows = (server / f"{TAG}.list").read_text().splitlines()[5:]
    assert rows == [f"{n:<20} {'generic':<10} {versions[n]}" for n in ("base", "geom", "utils")]
    manifest = (server / "manifests" / f"geom-{versions['geom']}@Linux64.manifest").read_text()
    rows = [line.split()[0] for line in manifest.splitlines()[1:] if not line.startswith("#")]
    assert rows == ["base", "utils", "geom"]
    assert sorted(os.listdir(server / "tables")) == sorted(
        ["index.json", *(f"{n}-{versions[n]}.table" for n in ("base", "utils", "geom"))]
    )


def test_a_run_killed_after_the_tarballs_is_finished_by_a_rerun_byte_for_byte(
    tmp_path: Path,
) -> None:
    """The tarballs are written first: a kill then leaves them alone on the server. The
    rerun packs none of them again, writes their checksums from the server's bytes and the
    rest, and the tree is the one an uninterrupted run writes."""
    config, versions = built_product(tmp_path)
    whole = tmp_path / "whole"
    assert tarball(config, whole)[0] == 0
    server = tmp_path / "server"
    server.mkdir()
    tarballs = sorted(f"{n}-{v}@Linux64.tar.gz" for n, v in versions.items())
    for name in tarballs:
        (server / name).write_bytes((whole / name).read_bytes())
    code, doc, err = tarball(config, server)
    assert code == 0, err
    assert doc["packed"] == [] and sorted(doc["on_server"]) == tarballs
    assert doc["counts"]["written"] == 26  # 32 less the 6 tarballs
    assert snapshot(server) == snapshot(whole)


def test_a_link_escaping_a_package_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    config, versions = built_product(tmp_path)
    afw = tmp_path / "stack" / "Linux64" / "afw" / versions["afw"]
    (afw / "lib" / "base").symlink_to(f"../../../base/{versions['base']}")
    server = tmp_path / "server"
    code, doc, err = tarball(config, server)
    assert code == 1
    assert doc["error"] == (
        f"afw {versions['afw']}: {afw} cannot be packed:\n"
        f"  'afw/{versions['afw']}/lib/base' is a link to 'base/{versions['base']}', "
        f"outside afw/{versions['afw']}/"
    )
    assert err.endswith(f"dm-release: error: {doc['error']}\n")
    assert not server.exists()
    assert not (tmp_path / "work" / "tarball-staging" / "Linux64").exists()


def test_another_flavor_packs_that_flavor_s_tree_of_the_stack(tmp_path: Path) -> None:
    """--flavor picks the stack's <flavor>/ tree and names the tarballs after it: a stack
    built for Linux64 has none of its packages for Linux."""
    config, versions = built_product(tmp_path)
    server = tmp_path / "server"
    code, doc, _ = tarball(config, server, "--flavor", "Linux")
    assert code == 1
    shown = ", ".join(f"{n} {versions[n]}" for n in ["base", "daf", "utils", "geom", "afw", "meta"])
    assert doc["error"] == (
        f"6 package(s) of b1 not installed in {tmp_path / 'stack'} (Linux): {shown}; "
        "run dm-release rebuild first"
    )
    linux = tmp_path / "stack" / "Linux"
    for name, version in versions.items():
        (linux / name).mkdir(parents=True)
        (tmp_path / "stack" / "Linux64" / name / version).rename(linux / name / version)
    code, doc, err = tarball(config, server, "--flavor", "Linux")
    assert code == 0, err
    assert sorted(p["tarball"] for p in doc["packed"]) == sorted(
        f"{n}-{v}@Linux.tar.gz" for n, v in versions.items()
    )
    assert (server / "manifests" / f"meta-{versions['meta']}@Linux.manifest").is_file()
    assert (server / f"{TAG}.list").read_text().splitlines()[5] == (
        f"{'afw':<20} {'generic':<10} {versions['afw']}"
    )
