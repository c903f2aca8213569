"""Our server texts against the real EUPS 2.2.15 (issue 12: compatible byte for byte).

A small stack (sconsUtils ← base ← utils, each a git repository, installed and declared
with the ``ups/pkginfo`` an eupspkg install leaves) is published by the real
``eups distrib create`` into a source (eupspkg, ``-f generic`` as LSST publishes) and a
binary (tarball) server directory, tagged by ``eups distrib declare``. dm-release's
config.txt, tag lists, manifests and pkginfo for the same packages must be those files'
bytes; where dm-release differs on purpose (the ``#BUILD=`` and ``#CONDA_ENV=`` lines of a
tag list, the manifest's creator line without time or EUPS version), EUPS's own readers
must read ours as they read theirs, and the real client installs from a tree written by
``publish_tree`` with our texts.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from eups_client import distrib_install, eups_list, run_eups, serve_directory, setup_ok
from vendor import Vendor, require_vendor

from dmrelease.adapters.server_tree import LocalDestination, publish_tree
from dmrelease.core.config import Config
from dmrelease.core.distrib import (
    BINARY_CONFIG,
    SOURCE_CONFIG,
    closure_rows,
    render_pkginfo,
    render_server_manifest,
    render_tag_list,
)
from dmrelease.core.manifest import Manifest, ManifestEntry
from dmrelease.core.requests import TarballRequest
from dmrelease.stages.tarball import tarball

TAG = "w_2025_24"
#: name → table text; the build order is this order
TABLES = {
    "sconsUtils": "",
    "base": "setupRequired(sconsUtils)\n",
    "utils": "setupRequired(base)\nsetupRequired(sconsUtils)\n",
}
DEPS = {"sconsUtils": (), "base": ("sconsUtils",), "utils": ("base", "sconsUtils")}

#: run by the vendor's python: what EUPS's readers make of a manifest and a tag list
_READ = """
import json, sys
from eups.distrib.server import Manifest, TaggedProductList
kind, path, *rest = sys.argv[1:]
if kind == "manifest":
    m = Manifest.fromFile(path)
    rows = [[d.product, d.flavor, d.version, d.tablefile, d.instDir, d.distId, d.isOpt]
            for d in m.getProducts()]
    print(json.dumps({"product": m.product, "version": m.version, "rows": rows}))
else:
    tag, flavor = rest
    listed = TaggedProductList.fromFile(path, tag, flavor=flavor)
    print(json.dumps({"tag": listed.tag, "products": listed.getProducts()}))
"""


@dataclass(frozen=True)
class Published:
    vendor: Vendor
    root: Path
    flavor: str
    shas: dict[str, str]
    versions: dict[str, str]
    source: Path  # the real source server
    binary: Path  # the real binary server

    def env(self) -> dict[str, str]:
        env = self.vendor.env(self.root / "stack")
        env["EUPS_STARTUP"] = str(self.root / "startup.py")
        return env

    def eups(self, *args: str) -> str:
        done = subprocess.run([*self.vendor.eups_cmd(), *args], env=self.env(),
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, f"eups {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    def read(self, kind: str, path: Path, *rest: str) -> object:
        argv = [str(self.vendor.python), "-c", _READ, kind, str(path), *rest]
        done = subprocess.run(argv, env=self.env(), capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    @property
    def manifest(self) -> Manifest:
        entries = tuple(
            ManifestEntry(name, self.shas[name], self.versions[name], DEPS[name]) for name in TABLES
        )
        return Manifest("b42", entries)


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    vendor = require_vendor()
    root = tmp_path_factory.mktemp("compat")
    (root / "startup.py").write_text(
        f"import eups.hooks\neups.hooks.config.Eups.globalTags += [{TAG!r}]\n"
    )
    shas, versions = {}, {}
    for name, table in TABLES.items():
        repo = root / "git" / name
        (repo / "ups").mkdir(parents=True)
        (repo / "ups" / f"{name}.table").write_text(table)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", ".")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "x")
        shas[name] = _git(repo, "rev-parse", "HEAD")
        versions[name] = f"g{shas[name][:10]}"
    probe = Published(vendor, root, "", shas, versions, root / "src", root / "bin")
    flavor = probe.eups("flavor").strip()
    for name, table in TABLES.items():
        where = root / "stack" / flavor / name / versions[name]
        (where / "ups").mkdir(parents=True)
        (where / "ups" / f"{name}.table").write_text(table)
        (where / "ups" / "pkginfo").write_text(render_pkginfo(
            name, versions[name], source="git", sha1=shas[name],
            repository=str(root / "git" / name), repoversion=shas[name],
        ))  # fmt: skip
        (where / "lib").mkdir()
        (where / "lib" / "data.txt").write_text(f"{name}\n")
        probe.eups("declare", "-r", str(where), name, versions[name])
        probe.eups("declare", "-t", TAG, name, versions[name])
    published = Published(vendor, root, flavor, shas, versions, root / "src", root / "bin")
    published.eups("distrib", "create", "-s", str(published.source), "-d", "eupspkg",
                   "-f", "generic", "-S", f"REPOSITORY_PATH={root}/git/$PRODUCT",
                   "utils", versions["utils"])  # fmt: skip
    published.eups("distrib", "declare", "-s", str(published.source), "-t", TAG)
    published.eups("distrib", "create", "-s", str(published.binary), "-d", "tarball",
                   "utils", versions["utils"])  # fmt: skip
    published.eups("distrib", "declare", "-s", str(published.binary), "-t", TAG)
    return published


def _without_time(text: str) -> str:
    """EUPS's manifest with the lines that change at each run gone and dm-release as the
    creator: what render_server_manifest writes on purpose."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("# Time:", "# Eups version:")):
            continue
        lines.append("# Creator:      dm-release\n" if line.startswith("# Creator:") else line)
    return "".join(lines)


def test_config_txt_is_what_eups_writes(published: Published) -> None:
    assert (published.source / "config.txt").read_text() == SOURCE_CONFIG
    assert (published.binary / "config.txt").read_text() == BINARY_CONFIG


def test_the_tag_lists_are_what_eups_writes(published: Published) -> None:
    rows = [(name, "generic", published.versions[name]) for name in TABLES]
    ours = render_tag_list(TAG, rows)
    assert (published.source / "tags" / f"{TAG}.list").read_text() == ours
    assert (published.binary / f"{TAG}.list").read_text() == ours
    assert ours.count("\n") == 3 + 3


def test_dm_release_tarball_writes_what_eups_writes(published: Published, tmp_path: Path) -> None:
    """The tarball stage itself over the stack EUPS published from: its tag list is
    EUPS's (rows of flavor generic) but for the #BUILD line, its manifests EUPS's but for
    the time lines, its config.txt EUPS's."""
    versiondb = tmp_path / "versiondb" / "manifests"
    versiondb.mkdir(parents=True)
    (versiondb / "b42.txt").write_text(str(published.manifest))
    config = dataclasses.replace(
        Config(), versiondb=tmp_path / "versiondb", stack=published.root / "stack",
        work_dir=tmp_path / "work", flavor=published.flavor,
    )  # fmt: skip
    ours = tmp_path / "bin"
    request = TarballRequest(TAG, server_dir=str(ours), floating=())
    packed = tarball(config, request, None, io.StringIO())
    assert len(packed.packed) == len(TABLES)
    real = (published.binary / f"{TAG}.list").read_text()
    assert (ours / f"{TAG}.list").read_text() == real.replace(
        "Version 1.0\n", "Version 1.0\n#BUILD=b42\n", 1
    )
    assert (ours / "config.txt").read_text() == (published.binary / "config.txt").read_text()
    for name, version in published.versions.items():
        stem = f"manifests/{name}-{version}@{published.flavor}.manifest"
        assert (ours / stem).read_text() == _without_time((published.binary / stem).read_text())


@pytest.mark.parametrize("name", list(TABLES))
def test_the_source_manifests_are_what_eups_writes(published: Published, name: str) -> None:
    version = published.versions[name]
    real = (published.source / "manifests" / f"{name}-{version}.manifest").read_text()
    rows = closure_rows(published.manifest, name, flavor=None)
    ours = render_server_manifest(name, version, rows)
    assert ours == _without_time(real)
    assert real.count("\n") == ours.count("\n") + 2 == 8 + len(rows)


@pytest.mark.parametrize("name", list(TABLES))
def test_the_binary_manifests_are_what_eups_writes(published: Published, name: str) -> None:
    version = published.versions[name]
    flavor = published.flavor
    real = (published.binary / "manifests" / f"{name}-{version}@{flavor}.manifest").read_text()
    rows = closure_rows(published.manifest, name, flavor=flavor)
    assert render_server_manifest(name, version, rows) == _without_time(real)


def test_pkginfo_is_what_eupspkg_create_writes(published: Published) -> None:
    version = published.versions["utils"]
    with tarfile.open(published.source / "products" / f"utils-{version}.eupspkg") as package:
        member = package.extractfile(f"utils-{version}/ups/pkginfo")
        assert member is not None
        real = member.read().decode()
    sha = published.shas["utils"]
    assert real == render_pkginfo(
        "utils", version, source="git", sha1=sha,
        repository=str(published.root / "git" / "utils"), repoversion=sha,
    )  # fmt: skip


def test_eups_reads_our_manifest_as_it_reads_its_own(published: Published, tmp_path: Path) -> None:
    version = published.versions["utils"]
    real = published.source / "manifests" / f"utils-{version}.manifest"
    ours = tmp_path / "ours.manifest"
    rows = closure_rows(published.manifest, "utils", flavor=None)
    ours.write_text(render_server_manifest("utils", version, rows))
    theirs = published.read("manifest", real)
    assert published.read("manifest", ours) == theirs
    assert theirs == {
        "product": "utils", "version": version,
        "rows": [[n, "generic", published.versions[n], f"{n}-{published.versions[n]}.table",
                  f"{n}/{published.versions[n]}", f"eupspkg:{n}-{published.versions[n]}.eupspkg",
                  False] for n in TABLES],
    }  # fmt: skip


def test_eups_reads_our_tag_list_with_build_and_environment_lines(
    published: Published, tmp_path: Path
) -> None:
    ours = tmp_path / f"{TAG}.list"
    rows = [(name, "generic", published.versions[name]) for name in TABLES]
    ours.write_text(render_tag_list(TAG, rows, build_id="b42", conda_env="10.0.0"))
    real = published.source / "tags" / f"{TAG}.list"
    for flavor in ("generic", published.flavor):
        theirs = published.read("tags", real, TAG, flavor)
        assert published.read("tags", ours, TAG, flavor) == theirs
        assert theirs == {
            "tag": TAG,
            "products": [[n, flavor, published.versions[n]] for n in sorted(TABLES)],
        }


def test_the_real_client_installs_from_a_tree_we_wrote(
    published: Published, tmp_path: Path
) -> None:
    """The binary server again, written by publish_tree from our texts (and the real
    tarballs and tables): `eups distrib install` by tag, over HTTP without listings."""
    flavor, versions = published.flavor, published.versions
    wanted: dict[str, bytes | Path] = {"config.txt": BINARY_CONFIG.encode()}
    for name in TABLES:
        stem = f"{name}-{versions[name]}"
        wanted[f"{stem}@{flavor}.tar.gz"] = published.binary / f"{stem}@{flavor}.tar.gz"
        wanted[f"tables/{stem}.table"] = (
            published.binary / "tables" / f"{stem}.table"
        ).read_bytes()
        rows = closure_rows(published.manifest, name, flavor=flavor)
        wanted[f"manifests/{stem}@{flavor}.manifest"] = render_server_manifest(
            name, versions[name], rows
        ).encode()
    tagged = [(name, "generic", versions[name]) for name in TABLES]
    wanted[f"{TAG}.list"] = render_tag_list(
        TAG, tagged, build_id="b42", conda_env="10.0.0"
    ).encode()
    server = tmp_path / "server"
    publish_tree(LocalDestination(server), wanted, replaceable=lambda p: p.endswith(".list"),
                 log=io.StringIO())  # fmt: skip
    stack = tmp_path / "stack"
    with serve_directory(server) as served:
        distrib_install(published.vendor, stack, served.url, "utils", tag=TAG)
    listed = eups_list(published.vendor, stack)
    assert [(row.product, row.version) for row in listed] == sorted(
        (name, versions[name]) for name in TABLES
    )
    assert all(TAG in row.tags for row in listed)
    assert setup_ok(published.vendor, stack, "utils")
    assert run_eups(published.vendor, stack, "list", "utils").returncode == 0
