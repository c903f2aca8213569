"""Tagging through a real git server: ``git daemon`` on 127.0.0.1, remotes over git://."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    make_setup,
    ok,
    refuse_pushes,
    run,
    tags,
)

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"git daemon exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("git daemon did not start listening")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Setup]:
    """The test product with every remote served by ``git daemon`` (push enabled)."""
    port = _free_port()
    urls = {name: f"git://127.0.0.1:{port}/{name}.git" for name in PACKAGES}
    setup = make_setup(tmp_path, urls=urls)
    remotes = setup.product.remotes
    daemon = subprocess.Popen(
        ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
         "--listen=127.0.0.1", f"--port={port}", f"--base-path={remotes}", str(remotes)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_until_listening(port, daemon)
        yield setup
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)


def test_release_through_git_daemon_with_a_refused_push_then_a_rerun(served: Setup) -> None:
    ok(served, "weekly", "w.2025.24")
    assert all("w.2025.24" in tags(served.remote(name)) for name in PACKAGES)
    hook = refuse_pushes(served, "afw")
    code, _out, err = run(served, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    assert code == 1 and "afw: remote: refused by policy" in err
    assert "v29.1.0.rc1" not in tags(served.remote("afw"))
    assert "v29.1.0.rc1" in tags(served.remote("utils"))
    hook.unlink()
    ok(served, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    for name in PACKAGES:
        found = tags(served.remote(name))
        assert found["v29.1.0.rc1"] == found["w.2025.24"]
