"""The EUPS harness itself: a hand-written minimal tarball server (config.txt, one tarball,
its manifest, a tag list, an index.json per directory), served on 127.0.0.1 without
directory listings and installed by the real EUPS client, by tag and by version."""

from __future__ import annotations

import io
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from eups_client import (
    EupsFailed,
    Listed,
    Served,
    distrib_install,
    eups_list,
    run_eups,
    setup_ok,
    setup_run,
)
from vendor import Vendor

CONFIG = """\
# Configuration for a tarball-based server
MANIFEST_FILE_RE = ^(?P<product>[^-]+)-(?P<version>[^@]+)@(?P<flavor>.*)\\.manifest$
MANIFEST_URL = %(base)s/manifests/%(product)s-%(version)s@%(flavor)s.manifest
TARBALL_URL = %(base)s/%(path)s
DIST_URL = %(base)s/%(path)s
"""
MANIFEST = """\
EUPS distribution manifest for hello (1.0). Version 1.0
# pkg   flavor  version tablefile   installation_directory installID
hello   Linux64 1.0     hello.table hello/1.0              hello-1.0@Linux64.tar.gz
"""
TAG_LIST = """\
EUPS distribution w_2025_24 version list. Version 1.0
#product             flavor     version
#--------------------------------------
hello                Linux64    1.0
"""
TABLE = "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n"
SCRIPT = "#!/bin/sh\necho hello from the tarball\n"


def _tarball() -> bytes:
    """hello/1.0/{ups/hello.table,bin/hello}, as EUPS's tarball distrib packs a product."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text, mode in [("hello/1.0/bin/hello", SCRIPT, 0o755),
                                 ("hello/1.0/ups/hello.table", TABLE, 0o644)]:  # fmt: skip
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), mode
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _server(root: Path) -> Path:
    (root / "manifests").mkdir(parents=True)
    (root / "config.txt").write_text(CONFIG)
    (root / "hello-1.0@Linux64.tar.gz").write_bytes(_tarball())
    (root / "manifests" / "hello-1.0@Linux64.manifest").write_text(MANIFEST)
    (root / "w_2025_24.list").write_text(TAG_LIST)
    (root / "index.json").write_text(
        '["config.txt", "hello-1.0@Linux64.tar.gz", "manifests", "w_2025_24.list"]'
    )
    (root / "manifests" / "index.json").write_text('["hello-1.0@Linux64.manifest"]')
    return root


@pytest.fixture
def flavor(eups_vendor: Vendor, tmp_path: Path) -> str:
    done = run_eups(eups_vendor, tmp_path / "probe", "flavor")
    if done.stdout.strip() != "Linux64":  # the hand-written server has one flavor
        pytest.skip(f"the minimal server is for Linux64; this machine is {done.stdout.strip()}")
    return "Linux64"


HOOK = ("GET", "/distribInstallPostHook.py")  # EUPS asks for it (absent) once per phase


def test_install_by_tag(
    eups_vendor: Vendor, serve_tree: Callable[..., Served], tmp_path: Path, flavor: str
) -> None:
    served = serve_tree(_server(tmp_path / "server"))
    stack = tmp_path / "stack"
    done = distrib_install(eups_vendor, stack, served.url, "hello", tag="w_2025_24")
    assert done.stdout == "  [  1/1  ]  hello 1.0 (Linux64) ... done.\n"
    assert served.requests == [
        ("GET", "/config.txt"), ("GET", "/index.json"), ("GET", "/w_2025_24.list"),
        ("GET", "/manifests/hello-1.0@Linux64.manifest"), ("GET", "/manifests/index.json"),
        ("GET", "/hello-1.0@Linux64.tar.gz"), HOOK, HOOK, HOOK,
    ]  # fmt: skip
    assert eups_list(eups_vendor, stack) == [Listed("hello", "1.0", ("current", "w_2025_24"))]
    assert (stack / "Linux64" / "hello" / "1.0" / "bin" / "hello").read_text() == SCRIPT
    assert setup_ok(eups_vendor, stack, "hello")
    setup = setup_run(eups_vendor, stack, "hello")
    assert f"SETUP_HELLO=hello 1.0 -f Linux64 -Z {stack}\n" in setup.stdout


def test_install_by_version(
    eups_vendor: Vendor, serve_tree: Callable[..., Served], tmp_path: Path, flavor: str
) -> None:
    served = serve_tree(_server(tmp_path / "server"))
    stack = tmp_path / "stack"
    distrib_install(eups_vendor, stack, served.url, "hello", version="1.0")
    assert ("GET", "/manifests/hello-1.0@Linux64.manifest") in served.requests
    # by version too, EUPS declares the server's tags naming what it installed
    assert eups_list(eups_vendor, stack) == [Listed("hello", "1.0", ("current", "w_2025_24"))]
    assert setup_ok(eups_vendor, stack, "hello")
    assert not setup_ok(eups_vendor, stack, "absent")


def test_failure_carries_eups_output(
    eups_vendor: Vendor, serve_tree: Callable[..., Served], tmp_path: Path, flavor: str
) -> None:
    served = serve_tree(_server(tmp_path / "server"))
    stack = tmp_path / "stack"
    with pytest.raises(EupsFailed) as failed:
        distrib_install(eups_vendor, stack, served.url, "hello", tag="w_2099_01")
    message = str(failed.value)
    assert message.startswith(
        f"`eups distrib install --repository {served.url} --tag w_2099_01 hello` "
        f"(EUPS_PATH={stack}) exited 1\n"
    )
    assert "eups distrib: Product hello w_2099_01 not found in any package repository" in message
    assert eups_list(eups_vendor, stack) == []
    done = distrib_install(eups_vendor, stack, served.url, "hello", tag="w_2099_01", check=False)
    assert done.returncode == 1


def test_server_answers_like_a_bucket(serve_tree: Callable[..., Served], tmp_path: Path) -> None:
    """HEAD and GET of files; 404 for a missing file and for a directory (no listings)
    unless asked: a client that needs a listing must read index.json."""
    root = _server(tmp_path / "server")
    served = serve_tree(root)
    listed = serve_tree(root, listings=True)
    with urllib.request.urlopen(f"{served.url}/config.txt") as response:
        assert response.read() == CONFIG.encode()
    head = urllib.request.Request(f"{served.url}/hello-1.0@Linux64.tar.gz", method="HEAD")
    with urllib.request.urlopen(head) as response:
        assert response.headers["Content-Length"] == str(len(_tarball()))
        assert response.read() == b""
    for path in ["/absent.list", "/manifests/", "/"]:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{served.url}{path}")
        assert missing.value.code == 404
    with urllib.request.urlopen(f"{listed.url}/manifests/") as response:
        assert b"hello-1.0@Linux64.manifest" in response.read()
    assert served.requests == [
        ("GET", "/config.txt"), ("HEAD", "/hello-1.0@Linux64.tar.gz"),
        ("GET", "/absent.list"), ("GET", "/manifests/"), ("GET", "/"),
    ]  # fmt: skip
    assert listed.requests == [("GET", "/manifests/")]
