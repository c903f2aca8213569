"""The binary server path: a download that fails half way, a tarball whose paths leave
``<p>/<v>/`` (refused, nothing written outside), and a failed fetch that falls back to a build
and says so. Real HTTP on 127.0.0.1, real tarballs."""

from __future__ import annotations

import functools
import io
import json
import os
import tarfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from http_helpers import serving
from rebuild_helpers import GRAPH, config_for, make_product, run_build, run_prepare, write_config
from test_safe_tar import long_path_attack

from dmrelease.adapters.binaries import BinaryServer, BinaryServerError, http_session
from dmrelease.adapters.stack import Stack

#: a member: (name, kind, data or link target); kinds "file", "dir", "sym", "hard"
Member = tuple[str, str, str]


class _Handler(SimpleHTTPRequestHandler):
    """Serves the directory; ``/cut-len/<file>`` and ``/cut-nolen/<file>`` send half of the
    file then close, with or without a Content-Length, like a connection lost mid-way."""

    def do_GET(self) -> None:
        mode, _, name = self.path[1:].partition("/")
        if mode not in ("cut-len", "cut-nolen"):
            super().do_GET()
            return
        data = (Path(self.directory) / name).read_bytes()
        if mode == "cut-nolen":
            self.protocol_version = "HTTP/1.0"
        self.send_response(200)
        if mode == "cut-len":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "binaries"
    root.mkdir()
    with serving(functools.partial(_Handler, directory=root)) as address:
        yield f"http://{address}/", root


def _tarball(path: Path, members: list[Member]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(value.encode())
                tar.addfile(info, io.BytesIO(value.encode()))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[
                kind
            ]
            info.linkname = value
            tar.addfile(info)


def _install(url: str, product: str, tmp_path: Path) -> Path:
    stack = Stack(tmp_path / "stack", "Linux64")
    return BinaryServer(url, "Linux64", http_session(retries=0)).install(product, "1", stack)


GOOD: list[Member] = [("p/1/lib/x.txt", "file", "x\n")]


@pytest.mark.parametrize(
    "members",
    [
        GOOD,
        [("./p/1/lib/x.txt", "file", "x\n")],
        [("p", "dir", ""), ("p/1", "dir", ""), *GOOD, ("p/1/lib/y", "sym", "x.txt")],
        [*GOOD, ("p/1/lib/z", "hard", "p/1/lib/x.txt")],
    ],
)
def test_a_tarball_of_the_tree_p_v_installs(
    tmp_path: Path, server: tuple[str, Path], members: list[Member]
) -> None:
    url, root = server
    _tarball(root / "p-1@Linux64.tar.gz", members)
    installed = _install(url, "p", tmp_path)
    assert (installed / "lib" / "x.txt").read_text() == "x\n"
    assert Stack(tmp_path / "stack", "Linux64").is_installed("p", "1")


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([*GOOD, ("../../escaped.txt", "file", "evil")], "outside the destination"),
        ([*GOOD, ("p/1/../../../escaped.txt", "file", "evil")], "outside the destination"),
        ([*GOOD, (f"/{'x' * 3}/escaped.txt", "file", "evil")], "outside p/1/"),
        ([*GOOD, ("q/1/lib/q.txt", "file", "another package")], "outside p/1/"),
        ([*GOOD, ("p/2/lib/x.txt", "file", "another version")], "outside p/1/"),
        ([*GOOD, ("p/1/lib/up", "sym", "../../../q")], "outside p/1/"),
        ([*GOOD, ("p/1/lib/etc", "sym", "/etc")], "absolute"),
        ([("p/1", "sym", "..")], "outside p/1/"),
        ([("q/x.txt", "file", "x"), *GOOD, ("p/1/lib/h", "hard", "q/x.txt")], "outside p/1/"),
        # inside by their text, but e resolves through d to p/q, in either order
        (
            [*GOOD, ("p/1/d", "sym", "."), ("p/1/e", "sym", "d/../q")],
            "'p/1/e': a link to outside p/1/",
        ),
        (
            [*GOOD, ("p/1/e", "sym", "d/../q"), ("p/1/d", "sym", ".")],
            "'p/1/e': a link to outside p/1/",
        ),
    ],
)
def test_a_tarball_with_paths_leaving_p_v_is_refused(
    tmp_path: Path, server: tuple[str, Path], members: list[Member], reason: str
) -> None:
    url, root = server
    _tarball(root / "p-1@Linux64.tar.gz", members)
    with pytest.raises(BinaryServerError, match=f"p: bad tarball p-1@Linux64.tar.gz: .*{reason}"):
        _install(url, "p", tmp_path)
    stack = Stack(tmp_path / "stack", "Linux64")
    assert not stack.is_installed("p", "1") and not stack.install_dir("p", "1").exists()
    assert sorted(p.name for p in (tmp_path / "stack").iterdir()) == []  # no leftovers
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_tarball_escaping_through_a_path_past_path_max_writes_nothing_outside(
    tmp_path: Path, server: tuple[str, Path]
) -> None:
    # CVE-2025-4517 (os.path.realpath's long-path bypass), sized for the unpacking folder
    # <stack>/.p-XXXXXXXX/tree (tempfile.mkdtemp's names are 8 characters)
    url, root = server
    outside = tmp_path / "outside"
    outside.mkdir()
    os.utime(outside, (1_600_000_000, 1_600_000_000))
    into = f"{os.path.realpath(tmp_path)}/stack/.p-{'x' * 8}/tree"
    specs = long_path_attack(into, "p/1", str(outside.resolve()))
    kinds = {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "sym", tarfile.REGTYPE: "file"}
    _tarball(root / "p-1@Linux64.tar.gz", [(n, kinds[k], link) for n, k, _, link in specs])
    with pytest.raises(BinaryServerError) as refused:
        _install(url, "p", tmp_path)
    assert str(refused.value) == (
        f"p: bad tarball p-1@Linux64.tar.gz: {specs[-3][0]!r} would be extracted through "
        "the symbolic link 'p/1/a'"
    )
    assert list(outside.iterdir()) == [] and outside.stat().st_mtime == 1_600_000_000
    assert list((tmp_path / "stack").iterdir()) == []


@pytest.mark.parametrize(
    ("cut", "reason"),
    [("cut-len/", "download failed: .*IncompleteRead"), ("cut-nolen/", "bad tarball .*ended")],
)
def test_a_download_that_fails_half_way_installs_nothing(
    tmp_path: Path, server: tuple[str, Path], cut: str, reason: str
) -> None:
    url, root = server
    payload = "".join(f"line {n}\n" for n in range(20_000))
    _tarball(root / "p-1@Linux64.tar.gz", [("p/1/lib/big.txt", "file", payload)])
    with pytest.raises(BinaryServerError, match=f"^p: {reason}"):
        _install(url + cut, "p", tmp_path)
    stack = Stack(tmp_path / "stack", "Linux64")
    assert not stack.is_installed("p", "1") and not stack.install_dir("p", "1").exists()
    assert list((tmp_path / "stack").iterdir()) == []


def test_a_failed_fetch_is_built_instead_and_the_report_says_why(
    tmp_path: Path, server: tuple[str, Path]
) -> None:
    url, root = server
    config = config_for(write_config(tmp_path, make_product(tmp_path), binary=url))
    prepared, _ = run_prepare(config)
    base = prepared.manifest.packages["base"]
    _tarball(root / f"base-{base.version}@Linux64.tar.gz", [("../../x", "file", "evil")])
    built, log = run_build(config, prepared)
    assert built.counts["built"] == len(GRAPH)
    [outcome] = [o for o in built.outcomes if o.package == "base"]
    assert "binary fetch failed" in outcome.message and "outside the destination" in outcome.message
    assert "base: built: binary fetch failed" in log
    status = json.loads((tmp_path / "work" / "status.json").read_text())
    assert "binary fetch failed" in status["packages"]["base"]["message"]
