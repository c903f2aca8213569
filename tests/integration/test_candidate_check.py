"""release validate --install with the real EUPS client (2.2.15, ../shared/vendor): the
release tests' candidate published to both servers (once for the module), installed from
each into a fresh stack; a good candidate passes with its summary; a source package
published from another commit than the tag's (its ups/pkginfo SHA1), a binary package
without its table file and a failing demo exit 1 naming each; without EUPS the binary
install is dm-release's own fetch and the source install is said to be skipped. A product
at another version than the manifest's is judged in tests/core/test_candidate_validation.py
(EUPS installs what the server's manifests name, which publish writes from the same
build)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from release_helpers import PACKAGES, clean_environment, ok, run
from release_publish_helpers import publishing, versions
from vendor import Vendor

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

RC1 = "v29.1.0.rc1"
VALIDATE = ("validate", RC1, "--refs", "w.2025.24", "--install")
DEMO = 'cat "$AFW_DIR/lib/afw.txt"'


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The weekly and its candidate, published to srv/src and srv/bin (made once)."""
    setup = publishing(tmp_path_factory.mktemp("published") / "product")
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", RC1, "--refs", "w.2025.24", "--no-build")
    return setup.root


def _copy(published: Path, into: Path, extra: str) -> object:
    """A copy of the published product (servers, versiondb, config) with ``extra`` TOML
    added to [products.meta]; the remotes are the original's."""
    from release_helpers import Setup

    shutil.copytree(published, into, ignore=shutil.ignore_patterns("work", "upstream"),
                    symlinks=True)  # fmt: skip
    config = into / "dm-release.toml"
    text = config.read_text().replace("[build]", f"{extra}\n[build]", 1)
    config.write_text(text)
    return Setup(into, None, config)  # type: ignore[arg-type]


def _eups(vendor: Vendor) -> str:
    return f'\n[validate]\neups = "{vendor.eups_dir / "bin" / "setups.sh"}"\n'


def _timeless(data: dict) -> dict:
    for install in data["installs"]:
        assert install["seconds"] >= 0
        install["seconds"] = 0
    data["demo"]["seconds"] = 0
    return data


def _size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_a_good_candidate_passes_and_its_summary_says_what_was_installed(
    published: Path, tmp_path: Path, eups_vendor: Vendor
) -> None:
    setup = _copy(published, tmp_path / "p", f"demo = '{DEMO}'\n" + _eups(eups_vendor))
    code, _out, err = run(setup, *VALIDATE, "--summary", str(tmp_path / "summary"))
    assert code == 0, err
    v = versions(setup, "b1")
    kept = tmp_path / "p" / "work" / "state" / "validation" / "meta"
    assert sorted(p.name for p in kept.iterdir()) == [f"{RC1}.json", f"{RC1}.md"]
    assert (tmp_path / "summary" / f"{RC1}.json").read_bytes() == (
        kept / f"{RC1}.json"
    ).read_bytes()
    data = _timeless(json.loads((kept / f"{RC1}.json").read_text()))
    stacks = tmp_path / "p" / "work" / "validate" / "meta" / RC1
    manifest = (tmp_path / "p" / "versiondb" / "manifests" / "b1.txt").read_text()
    sha = {line.split()[0]: line.split()[1] for line in manifest.splitlines()[2:]}

    def products(kind: str) -> list[dict]:
        root = stacks / kind / "stack" / "Linux64"
        return [
            {"name": n, "version": v[n], "bytes": _size(root / n / v[n]), "table": True,
             "pkginfo_sha1": sha[n] if kind == "source" else None}
            for n in PACKAGES
        ]  # fmt: skip

    binary, source = products("binary"), products("source")
    server = str(tmp_path / "p" / "srv")
    checks = [
        ("binary", "product-version"),
        ("binary", "table-file"),
        ("source", "product-version"),
        ("source", "table-file"),
        ("source", "pkginfo-sha"),
    ]
    assert data == {
        "format": "dm-release-validation/1", "release": RC1, "product": "meta",
        "eups_tag": "v29_1_0_rc1", "build": "b1", "ok": True, "failures": [],
        "checks": [{"install": k, "rule": r, "ok": True, "problems": []} for k, r in checks],
        "installs": [
            {"kind": "binary", "client": "eups", "server": f"{server}/bin", "status": "ok",
             "reason": None, "seconds": 0, "bytes": sum(p["bytes"] for p in binary),
             "products": binary},
            {"kind": "source", "client": "eups", "server": f"{server}/src", "status": "ok",
             "reason": None, "seconds": 0, "bytes": sum(p["bytes"] for p in source),
             "products": source},
        ],
        "demo": {"command": DEMO, "install": "binary", "ok": True, "exit_code": 0,
                 "seconds": 0, "reason": None, "output": [f"afw {v['afw']}"]},
        "changes": {"previous": None, "added": {}, "removed": {}, "changed": {}},
    }  # fmt: skip
    markdown = re.sub(r"\| [0-9.]+ \|$", "| S |", (kept / f"{RC1}.md").read_text(), flags=re.M)
    markdown = re.sub(r"in [0-9.]+ s\.", "in S s.", markdown)
    assert markdown.splitlines()[:17] == [
        f"# Validation of meta {RC1}: passed", "",
        "EUPS tag v29_1_0_rc1, build b1.", "",
        "## Installs", "",
        "| install | client | server | result | products | size | seconds |",
        "|---|---|---|---|---|---|---|",
        f"| binary | eups | {server}/bin | ok | 4 | {sum(p['bytes'] for p in binary)} B | S |",
        markdown.splitlines()[9],
        "", "## Checks", "",
        "- binary product-version: ok", "- binary table-file: ok",
        "- source product-version: ok", "- source table-file: ok",
    ]  # fmt: skip
    assert markdown.splitlines()[9].startswith(f"| source | eups | {server}/src | ok | 4 | ")
    assert markdown.splitlines()[17:27] == [
        "- source pkginfo-sha: ok", "", "## Demo", "",
        f"`{DEMO}` in the binary install: exit 0 (ok) in S s.", "", "```",
        f"afw {v['afw']}", "```", "",
    ]  # fmt: skip
    assert markdown.endswith("## Changes\n\nNo previous release to compare with.\n")
    assert err.endswith(f"validate --install {RC1}: passed; summary: {kept / f'{RC1}.json'}\n")


def _repack_pkginfo(path: Path, member: str, sha: str) -> None:
    """Rewrite ``member`` (a ups/pkginfo) of the eupspkg tarball ``path`` with SHA1 and
    REPOVERSION ``sha``."""
    with tarfile.open(path) as archive:
        items = [(m, archive.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
                 for m in archive.getmembers()]  # fmt: skip
    with tarfile.open(path, "w:gz") as archive:
        for info, data in items:
            if info.name == member and data is not None:
                data = re.sub(rb"SHA1='[0-9a-f]+'", f"SHA1='{sha}'".encode(), data)
                data = re.sub(rb"REPOVERSION='[0-9a-f]+'", f"REPOVERSION='{sha}'".encode(), data)
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)


def _drop_table(binary: Path, name: str, version: str) -> None:
    """The binary server's tarball of ``name`` without its table file, and every product
    manifest there naming none for it (EUPS then installs it without one)."""
    path = binary / f"{name}-{version}@Linux64.tar.gz"
    with tarfile.open(path) as archive:
        items = [(m, archive.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
                 for m in archive.getmembers()]  # fmt: skip
    with tarfile.open(path, "w:gz") as archive:
        for info, data in items:
            if info.name != f"{name}/{version}/ups/{name}.table":
                archive.addfile(info, io.BytesIO(data) if data is not None else None)
    for manifest in (binary / "manifests").glob("*.manifest"):
        text = manifest.read_text()
        manifest.write_text(text.replace(f" {name}-{version}.table ", " none "))


def test_a_pkginfo_sha_mismatch_a_missing_table_and_a_failing_demo_exit_1_naming_them(
    published: Path, tmp_path: Path, eups_vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no validate.eups: the EUPS set up in the shell ($EUPS_DIR) is the one used
    monkeypatch.setenv("EUPS_DIR", str(eups_vendor.eups_dir))
    setup = _copy(published, tmp_path / "p", "demo = 'echo broken; exit 3'\n")
    v = versions(setup, "b1")
    package = tmp_path / "p" / "srv" / "src" / "products" / f"afw-{v['afw']}.eupspkg"
    manifest = (tmp_path / "p" / "versiondb" / "manifests" / "b1.txt").read_text()
    sha = {line.split()[0]: line.split()[1] for line in manifest.splitlines()[2:]}
    remote = published / "upstream" / "remotes" / "afw.git"
    other = subprocess.run(["git", "-C", str(remote), "rev-parse", f"{sha['afw']}^"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # published from another commit: EUPS fetches and builds it (its SHA1 and REPOVERSION
    # agree), and the installed ups/pkginfo records it
    _repack_pkginfo(package, f"afw-{v['afw']}/ups/pkginfo", other)
    _drop_table(tmp_path / "p" / "srv" / "bin", "utils", v["utils"])
    code, _out, err = run(setup, *VALIDATE)
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.startswith("validate --install")]
    kept = tmp_path / "p" / "work" / "state" / "validation" / "meta" / f"{RC1}.json"
    assert lines == [  # on a mismatch, the whole run's stderr says why
        f"validate --install: binary table-file: utils {v['utils']}: no ups/utils.table",
        f"validate --install: source pkginfo-sha: afw: ups/pkginfo SHA1 {other} "
        f"(tag {RC1} points at {sha['afw']})",
        "validate --install: demo: `echo broken; exit 3` exited 3 in the binary install",
        f"validate --install {RC1}: 3 failures; summary: {kept}",
    ], err
    data = json.loads(kept.read_text())
    assert data["ok"] is False
    assert data["demo"]["output"] == ["broken"]


def test_nothing_installed_is_a_failure_and_an_unreachable_server_is_exit_2(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without EUPS and without a binary server both installs are skipped: nothing was
    inspected, so the validation fails (exit 1) instead of passing; a binary server that
    does not answer is the environment's problem (exit 2, naming it), not a release that
    is on no server yet (exit 0)."""
    monkeypatch.delenv("EUPS_DIR", raising=False)
    monkeypatch.delenv("DM_RELEASE_VALIDATE_EUPS", raising=False)
    setup = _copy(published, tmp_path / "p", "")
    config = setup.config  # type: ignore[attr-defined]
    config.write_text(config.read_text().replace('binary_server = "srv/bin"\n', ""))
    code, _out, err = run(setup, *VALIDATE)
    assert code == 1, err
    from dmrelease.stages.candidate_check import NO_EUPS

    assert err.splitlines()[-4:] == [
        "validate --install: no install: every install was skipped, so nothing was inspected",
        "validate --install: binary install skipped: no binary server: none configured",
        f"validate --install: source install skipped: {NO_EUPS}",
        f"validate --install {RC1}: 1 failure; summary: "
        f"{tmp_path / 'p' / 'work' / 'state' / 'validation' / 'meta' / f'{RC1}.json'}",
    ]
    monkeypatch.setenv("DM_RELEASE_BINARY_SERVER", "http://127.0.0.1:9")
    code, _out, err = run(setup, *VALIDATE)
    assert code == 2, err
    assert err.splitlines()[-1] == (
        "dm-release: error: http://127.0.0.1:9/v29_1_0_rc1.list: the server cannot be reached "
        "([Errno 111] Connection refused)"
    )


def test_without_eups_the_binary_install_is_dm_releases_fetch_and_the_source_is_skipped(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EUPS_DIR", raising=False)  # a machine's own EUPS must not count
    monkeypatch.delenv("DM_RELEASE_VALIDATE_EUPS", raising=False)
    setup = _copy(published, tmp_path / "p", "")
    code, out, err = run(setup, *VALIDATE, "--json")
    assert code == 0, err
    kept = tmp_path / "p" / "work" / "state" / "validation" / "meta" / f"{RC1}.json"
    data = json.loads(kept.read_text())
    document = json.loads(out)  # the plan document, with the summary as validation
    assert (document["ok"], document["plan"]["release"]) == (True, RC1)
    assert document["validation"] == data
    from dmrelease.stages.candidate_check import NO_EUPS

    assert [(i["kind"], i["client"], i["status"], i["reason"]) for i in data["installs"]] == [
        ("binary", "dm-release", "ok", None),
        ("source", "-", "skipped", NO_EUPS),
    ]
    assert [p["name"] for p in data["installs"][0]["products"]] == ["base", "utils", "afw", "meta"]
    assert f"validate --install: source install skipped: {NO_EUPS}\n" in err
    assert data["demo"]["reason"] == "no demo command configured (products.meta.demo)"
    assert data["changes"] == {"previous": None, "added": {}, "removed": {}, "changed": {}}
    # the final made from rc1 (its tags pushed to the module's remotes: this test runs last
    # of those that validate rc1) is judged against rc1, its previous release
    ok(setup, "final", "29.1.0")
    code, _out, err = run(setup, "validate", "29.1.0", "--install")
    assert code == 0, err
    kept = tmp_path / "p" / "work" / "state" / "validation" / "meta"
    data = json.loads((kept / "29.1.0.json").read_text())
    assert data["changes"] == {"previous": RC1, "added": {}, "removed": {}, "changed": {}}
    markdown = (kept / "29.1.0.md").read_text()
    assert markdown.endswith(f"## Changes\n\nAgainst {RC1}: no product changed.\n")


def test_build_eups_builds_the_client_once_per_tarball(tmp_path: Path, eups_vendor: Vendor) -> None:
    from vendor import EUPS_TARBALL, vendor_dir

    from dmrelease.adapters.eups_client import EupsClient, build_eups

    folder = vendor_dir()
    assert folder is not None  # eups_vendor skipped (or failed) otherwise
    setups = build_eups(folder / EUPS_TARBALL, tmp_path / "eups")
    assert setups.is_file()
    assert setups.is_relative_to(tmp_path / "eups")
    log = setups.parents[2] / "build.log"
    built = log.stat().st_mtime_ns
    assert build_eups(folder / EUPS_TARBALL, tmp_path / "eups") == setups
    assert log.stat().st_mtime_ns == built  # the second call built nothing
    done = EupsClient(setups).run(tmp_path / "stack", "eups", "--version")
    assert (done.exit_code, done.output.split()[-1]) == (0, "2.2.15")
