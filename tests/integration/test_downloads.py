"""Downloads have a size cap and a deadline (issue 8 §6): an oversized body, announced or
not, a server that trickles a byte at a time, and a small tarball that unpacks to far more
than it weighs are all stopped with a clear error naming the option, and leave nothing in
the stack. Real HTTP on 127.0.0.1 with small limits, so that each case takes about a second.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from http_helpers import serving
from rebuild_helpers import config_for, make_product, run_build, run_prepare, write_config

from dmrelease.adapters.binaries import BinaryServer, BinaryServerError, http_session
from dmrelease.adapters.stack import Stack

PRODUCT, VERSION = "base", "g0123456789"
NAME = f"{PRODUCT}-{VERSION}@Linux64.tar.gz"


def _tarball(size: int) -> bytes:
    """A tarball of ``base/<version>/lib/data`` holding ``size`` zero bytes (it compresses
    to almost nothing: a bomb in the small)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"{PRODUCT}/{VERSION}/lib/data")
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    return buffer.getvalue()


SMALL = _tarball(1000)


class _Handler(BaseHTTPRequestHandler):
    """``/ok/…`` the small tarball; ``/big-len/…`` 64 KiB announced in Content-Length;
    ``/big-nolen/…`` 64 KiB without a length (HTTP/1.0, read to the close); ``/trickle/…``
    a byte every 0.3 s; ``/stall/…`` headers then silence; ``/bomb/…`` 4 MB of zeros in a
    few KiB of tarball."""

    protocol_version = "HTTP/1.1"

    def _trickle_headers(self) -> None:
        """A status line, then a header a byte every 0.3 s: each read is quick, the
        headers never end."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        try:
            for _ in range(30):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def do_HEAD(self) -> None:
        if self.path.startswith("/headers/"):
            self._trickle_headers()
            return
        # the rebuild test fetches only base (the others are built): one deadline to wait
        found = not self.path.startswith("/trickle/") or "/base-" in self.path
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        if mode == "headers":
            self._trickle_headers()
            return
        body = {"ok": SMALL, "bomb": BOMB}.get(mode, bytes(64 << 10))
        if mode == "big-nolen":
            self.protocol_version = "HTTP/1.0"
        self.send_response(200)
        if mode != "big-nolen":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if mode == "trickle":
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.3)
            elif mode == "stall":
                self.wfile.flush()
                time.sleep(5)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


BOMB = _tarball(4 << 20)


@pytest.fixture
def base_url() -> Iterator[str]:
    with serving(_Handler) as address:
        yield f"http://{address}"


def _server(url: str, **limits: float) -> BinaryServer:
    return BinaryServer(url, "Linux64", http_session(retries=0), timeout=10, **limits)  # type: ignore[arg-type]


def _install(server: BinaryServer, tmp_path: Path) -> Stack:
    stack = Stack(tmp_path / "stack", "Linux64")
    server.install(PRODUCT, VERSION, stack)
    return stack


def _left_in(stack: Stack) -> list[Path]:
    return sorted(p for p in stack.root.rglob("*") if p.is_file())


def test_a_tarball_within_the_limits_installs(base_url: str, tmp_path: Path) -> None:
    stack = _install(_server(f"{base_url}/ok", max_bytes=len(SMALL)), tmp_path)
    assert (stack.install_dir(PRODUCT, VERSION) / "lib" / "data").read_bytes() == bytes(1000)


@pytest.mark.parametrize(
    ("mode", "what"),
    [("big-len", "announces 65536 bytes"), ("big-nolen", "sent more than 10000 bytes")],
)
def test_a_body_over_the_cap_is_stopped(
    base_url: str, tmp_path: Path, mode: str, what: str
) -> None:
    stack = Stack(tmp_path / "stack", "Linux64")
    with pytest.raises(BinaryServerError) as caught:
        _server(f"{base_url}/{mode}", max_bytes=10_000).install(PRODUCT, VERSION, stack)
    assert str(caught.value) == (
        f"{PRODUCT}: {NAME} {what}, over the download limit of 10000 bytes "
        "(servers.download_max_bytes, DM_RELEASE_DOWNLOAD_MAX_BYTES)"
    )
    assert _left_in(stack) == []


@pytest.mark.parametrize("mode", ["trickle", "stall", "headers"])
def test_a_slow_server_is_stopped_at_the_deadline_of_the_whole_download(
    base_url: str, tmp_path: Path, mode: str
) -> None:
    # each read is quicker than the 10 s socket timeout: only a deadline over the whole
    # download stops a byte every 0.3 s, in the body or in the headers; a silent server is
    # stopped by it too
    stack = Stack(tmp_path / "stack", "Linux64")
    started = time.monotonic()
    with pytest.raises(BinaryServerError) as caught:
        _server(f"{base_url}/{mode}", deadline=1.0).install(PRODUCT, VERSION, stack)
    took = time.monotonic() - started
    assert str(caught.value) == (
        f"{PRODUCT}: {NAME} not downloaded within 1s "
        "(servers.download_deadline, DM_RELEASE_DOWNLOAD_DEADLINE)"
    )
    assert took < 6, (
        f"stopped after {took:.1f}s, the deadline is 1 s"
    )  # without the deadline: hours
    assert _left_in(stack) == []


def test_a_presence_check_is_given_up_when_the_headers_trickle(base_url: str) -> None:
    server = BinaryServer(f"{base_url}/headers", "Linux64", http_session(retries=0), timeout=1)
    started = time.monotonic()
    with pytest.raises(BinaryServerError) as caught:
        server.has(PRODUCT, VERSION)
    took = time.monotonic() - started
    assert str(caught.value) == (f"{PRODUCT}: HEAD {base_url}/headers/{NAME}: no answer within 1s")
    assert took < 6, f"stopped after {took:.1f}s, the timeout is 1 s"


def test_a_tarball_that_unpacks_over_the_cap_is_refused(base_url: str, tmp_path: Path) -> None:
    assert len(BOMB) < 20_000  # 4 MiB of zeros in a few KiB
    stack = Stack(tmp_path / "stack", "Linux64")
    with pytest.raises(BinaryServerError) as caught:
        _server(f"{base_url}/bomb", unpack_max_bytes=1 << 20).install(PRODUCT, VERSION, stack)
    assert str(caught.value) == (
        f"{PRODUCT}: {NAME} would unpack to more than 1048576 bytes "
        "(servers.unpack_max_bytes, DM_RELEASE_UNPACK_MAX_BYTES)"
    )
    assert _left_in(stack) == []
    assert not (stack.root / PRODUCT).exists()


def test_the_limits_are_read_from_the_configuration_and_a_rebuild_builds_instead(
    base_url: str, tmp_path: Path
) -> None:
    """``servers.download_deadline`` reaches the fetch of a rebuild: the trickling server
    is given up and the package is built from source, saying why."""
    product = make_product(tmp_path)
    path = write_config(tmp_path, product, binary=f"{base_url}/trickle")
    environment = {"DM_RELEASE_DOWNLOAD_DEADLINE": "1", "DM_RELEASE_DOWNLOAD_MAX_BYTES": "90000"}
    config = config_for(path, environment)
    assert (config.download_deadline, config.download_max_bytes) == (1, 90000)
    started = time.monotonic()
    built, _log = run_build(config, run_prepare(config)[0])
    took = time.monotonic() - started
    outcome = built.outcomes[0]
    assert outcome.package == "base" and outcome.action == "built"
    assert "binary fetch failed" in outcome.message
    assert "not downloaded within 1s (servers.download_deadline" in outcome.message
    assert took < 10, f"{took:.1f}s for one fetch with a 1 s deadline and 6 builds"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DM_RELEASE_DOWNLOAD_MAX_BYTES", "0"), ("DM_RELEASE_DOWNLOAD_DEADLINE", "-1"),
     ("DM_RELEASE_UNPACK_MAX_BYTES", "0")],
)  # fmt: skip
def test_a_limit_must_be_positive(tmp_path: Path, variable: str, value: str) -> None:
    from dmrelease.core.errors import CheckFailed

    product = make_product(tmp_path)
    path = write_config(tmp_path, product)
    with pytest.raises(CheckFailed) as caught:
        config_for(path, {variable: value})
    assert [str(d) for d in caught.value.diagnostics] == [
        f"<environment>:1: config-value: {variable}: {value} is not a positive number"
    ]


def test_gzip_is_what_the_bomb_is_made_of() -> None:
    # the tarball is gzip: unpacked size is only known member by member, hence the cap
    assert len(gzip.decompress(BOMB)) > 4 << 20
