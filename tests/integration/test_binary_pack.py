"""Packing an installed package as EUPS's tarball distrib does (adapters/binary_pack.py):
the layout ``<p>/<v>/`` with ``.pwd``, the same bytes from the same tree whatever its
times, owners and umask, installable by dm-release's own binary fetch over real HTTP, and a
tree with a link or member leaving ``<p>/<v>/`` refused before a byte is written."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tarfile
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from http_helpers import serving

from dmrelease.adapters.binaries import BinaryServer, http_session
from dmrelease.adapters.binary_pack import (
    MTIME,
    PackFailed,
    PackRefused,
    checksum_name,
    checksum_text,
    pack,
    tarball_name,
)
from dmrelease.adapters.stack import Stack


def _tree(stack: Stack, product: str = "afw", version: str = "g1234567890") -> Path:
    root = stack.install_dir(product, version)
    (root / "lib").mkdir(parents=True)
    (root / "ups").mkdir()
    (root / "lib" / "libafw.so").write_text("binary\n")
    (root / "lib" / "libafw.so").chmod(0o775)
    (root / "ups" / f"{product}.table").write_text("setupRequired(base)\n")
    (root / "lib" / "current").symlink_to("libafw.so")
    (root / "empty").mkdir()
    return root


def _members(path: Path) -> list[tuple[str, str, int, int, int, str, str, str]]:
    with tarfile.open(path, "r:gz") as tar:
        return [
            (m.name, m.type.decode(), m.mode, m.uid, m.gid, m.uname, m.gname, m.linkname)
            for m in tar
        ]


def test_the_layout_is_eups_tarball_distribs_with_pwd(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    root = _tree(stack)
    packed = pack(stack, "afw", "g1234567890", tmp_path / "staging")
    assert (
        packed.name
        == "afw-g1234567890@Linux64.tar.gz"
        == tarball_name("afw", "g1234567890", "Linux64")
    )
    assert packed.path == tmp_path / "staging" / packed.name
    assert sorted(os.listdir(tmp_path / "staging")) == [packed.name]  # no .part left
    assert _members(packed.path) == [
        ("afw/g1234567890", "5", 0o755, 0, 0, "", "", ""),
        ("afw/g1234567890/.pwd", "0", 0o644, 0, 0, "", "", ""),
        ("afw/g1234567890/empty", "5", 0o755, 0, 0, "", "", ""),
        ("afw/g1234567890/lib", "5", 0o755, 0, 0, "", "", ""),
        ("afw/g1234567890/lib/current", "2", 0o777, 0, 0, "", "", "libafw.so"),
        ("afw/g1234567890/lib/libafw.so", "0", 0o755, 0, 0, "", "", ""),
        ("afw/g1234567890/ups", "5", 0o755, 0, 0, "", "", ""),
        ("afw/g1234567890/ups/afw.table", "0", 0o644, 0, 0, "", "", ""),
    ]
    assert packed.members == 8
    with tarfile.open(packed.path, "r:gz") as tar:
        assert {m.mtime for m in tar} == {MTIME}
        pwd = tar.extractfile("afw/g1234567890/.pwd")
        assert pwd is not None
        assert pwd.read() == f"{root.absolute()}\n".encode()
    data = packed.path.read_bytes()
    assert packed.size == len(data)
    assert packed.sha256 == hashlib.sha256(data).hexdigest()
    # the gzip header: no file name (FLG 0), mtime 0
    assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == b"\0\0\0\0"
    assert checksum_name(packed.name) == "afw-g1234567890@Linux64.tar.gz.sha256"
    assert checksum_text(packed.sha256, packed.name) == f"{packed.sha256}  {packed.name}\n"


def test_the_bytes_depend_on_the_tree_only(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    root = _tree(stack)
    first = pack(stack, "afw", "g1234567890", tmp_path / "one")
    for path in [root, *root.rglob("*")]:  # other times, other group/other bits
        if not path.is_symlink():
            os.utime(path, (1_700_000_000, 1_700_000_000))
    (root / "ups" / "afw.table").chmod(0o600)
    (root / "lib").chmod(0o700)
    (root / "stale.pwd").write_text("x")
    (root / "stale.pwd").unlink()
    (root / ".pwd").write_text("/elsewhere\n")  # a .pwd in the tree is replaced by ours
    again = pack(stack, "afw", "g1234567890", tmp_path / "two")
    assert again.path.read_bytes() == first.path.read_bytes()
    assert again.sha256 == first.sha256


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_binary_fetch_installs_what_pack_wrote(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    root = _tree(stack)
    packed = pack(stack, "afw", "g1234567890", tmp_path / "served")
    fresh = Stack(tmp_path / "fresh", "Linux64")
    handler = functools.partial(_Quiet, directory=str(tmp_path / "served"))
    with serving(handler) as address:
        server = BinaryServer(f"http://{address}/", "Linux64", http_session(retries=0))
        assert server.has("afw", "g1234567890")
        installed = server.install("afw", "g1234567890", fresh)
    assert installed == fresh.install_dir("afw", "g1234567890")
    assert fresh.is_installed("afw", "g1234567890")
    assert (installed / "lib" / "libafw.so").read_text() == "binary\n"
    assert os.readlink(installed / "lib" / "current") == "libafw.so"
    assert (installed / "ups" / "afw.table").read_text() == "setupRequired(base)\n"
    assert (installed / ".pwd").read_text() == f"{root.absolute()}\n"
    assert (installed / "empty").is_dir()
    assert packed.members == 8


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("lib/abs", "/etc/passwd", "'afw/1/lib/abs' is a link to an absolute path (/etc/passwd)"),
        ("lib/up", "../../other", "'afw/1/lib/up' is a link to 'afw/other', outside afw/1/"),
        ("top", "..", "'afw/1/top' is a link to 'afw', outside afw/1/"),
    ],
)
def test_a_link_leaving_the_tree_is_refused(
    tmp_path: Path, name: str, target: str, message: str
) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    root = stack.install_dir("afw", "1")
    (root / "lib").mkdir(parents=True)
    (root / name).symlink_to(target)
    with pytest.raises(PackRefused) as refused:
        pack(stack, "afw", "1", tmp_path / "staging")
    assert str(refused.value) == f"afw 1: {root.absolute()} cannot be packed:\n  {message}"
    assert refused.value.exit_code == 1
    assert not (tmp_path / "staging").exists()


def test_a_chain_of_links_leading_out_and_a_fifo_are_refused_together(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    root = stack.install_dir("afw", "1")
    (root / "d").mkdir(parents=True)
    (root / "d" / "here").symlink_to(".")  # each link's text stays inside afw/1/ ...
    (root / "d" / "e").symlink_to("here/../../x")  # ... d/here/.. is afw/1/, ../x afw/x
    (root / "d" / "self").symlink_to("here/../d")
    os.mkfifo(root / "pipe")
    with pytest.raises(PackRefused) as refused:
        pack(stack, "afw", "1", tmp_path / "staging")
    tree = root.absolute()
    assert str(refused.value) == (
        f"afw 1: {tree} cannot be packed:\n"
        f"  'afw/1/d/e' is a link leading outside afw/1/ (to {tree.parent}/x)\n"
        "  'afw/1/pipe' is a special file (a device, FIFO or socket)"
    )
    assert not (tmp_path / "staging").exists()


def test_a_package_not_installed_is_refused(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    with pytest.raises(PackRefused) as refused:
        pack(stack, "afw", "1", tmp_path / "staging")
    where = (tmp_path / "stack" / "Linux64" / "afw" / "1").absolute()
    assert str(refused.value) == f"afw 1: {where} is not an installed directory"


def test_the_archive_is_a_plain_gzip_stream(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    _tree(stack)
    packed = pack(stack, "afw", "g1234567890", tmp_path / "staging")
    with gzip.open(packed.path) as stream:
        tar_bytes = stream.read()
    assert len(tar_bytes) % 10240 == 0  # whole tar records, as tar writes them


def test_a_staging_directory_that_cannot_be_written_is_an_environment_error(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    _tree(stack)
    staging = tmp_path / "staging"
    staging.write_text("a file where the staging directory goes\n")
    with pytest.raises(PackFailed) as failed:
        pack(stack, "afw", "g1234567890", staging)
    assert failed.value.exit_code == 2
    assert str(failed.value) == (
        f"afw g1234567890: cannot pack afw-g1234567890@Linux64.tar.gz: {staging}: File exists"
    )
