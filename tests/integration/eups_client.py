"""The real EUPS client against a served distribution tree: what the publish and tarball
tests judge their servers with.

    vendor = require_vendor()                               # or the `eups_vendor` fixture
    with serve_directory(tmp_path / "server") as served:    # or the `serve_tree` fixture
        done = distrib_install(vendor, tmp_path / "stack", served.url, "hello", tag="w_2025_24")
        assert eups_list(vendor, tmp_path / "stack") == [
            Listed("hello", "1.0", ("current", "w_2025_24")),
        ]
        assert setup_ok(vendor, tmp_path / "stack", "hello")
        assert served.requests == [...]                     # ("GET", "/config.txt"), ...

- `serve_directory(root, listings=False)`: a real HTTP server on a free port of 127.0.0.1
  serving the files under `root` (HEAD and GET; 404 for anything missing, and for a
  directory unless `listings`, like an object-storage bucket: the client must use
  index.json); `.requests` records every (method, path) in order.
- `distrib_install(...)` runs `eups distrib install --repository URL [--tag T] product
  [version]` into the stack `stack` (created if needed; pass a fresh one) and raises
  `EupsFailed` carrying EUPS's whole output when it fails (`check=False` returns it instead).
- `eups_list(vendor, stack)` is `eups list`, parsed: a sorted list of `Listed(product,
  version, tags)`, tags sorted, without the `setup` marker.
- `setup_ok(vendor, stack, product)` runs `setup product` in a bash that sourced setups.sh;
  `setup_run` gives the CompletedProcess (its stdout has `SETUP_<PRODUCT>=...`).

Fixtures (tests/integration/conftest.py): `eups_vendor` (require_vendor(), once per run) and
`serve_tree` (serve_tree(root, listings=False) -> Served, stopped after the test).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any, NamedTuple

from http_helpers import serving
from vendor import Vendor

__all__ = [
    "EupsFailed",
    "Listed",
    "Served",
    "distrib_install",
    "eups_list",
    "run_eups",
    "serve_directory",
    "setup_ok",
    "setup_run",
]


class EupsFailed(AssertionError):
    """An eups command failed: the command and EUPS's whole output."""


class Listed(NamedTuple):
    """One line of `eups list`."""

    product: str
    version: str
    tags: tuple[str, ...]


@dataclass
class Served:
    """A served directory: its base URL and the requests it answered, in order."""

    url: str
    root: Path
    requests: list[tuple[str, str]] = field(default_factory=list)


def _handler(served: Served, listings: bool) -> Any:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(served.root), **kwargs)

        def send_head(self) -> Any:
            served.requests.append((self.command, self.path))
            local = Path(self.translate_path(self.path))
            if local.is_dir() and not listings:
                self.send_error(404, "no directory listings")
                return None
            return super().send_head()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the requests are in served.requests; nothing on the test's stderr

    return Handler


@contextmanager
def serve_directory(root: Path, *, listings: bool = False) -> Iterator[Served]:
    """Serve the files under ``root`` over HTTP on a free port of 127.0.0.1."""
    served = Served(url="", root=Path(root).absolute())
    with serving(_handler(served, listings)) as address:
        served.url = f"http://{address}"
        yield served


def run_eups(
    vendor: Vendor, stack: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``eups ARGS`` against the stack ``stack``; EupsFailed with its output when it fails."""
    argv = [*vendor.eups_cmd(), *args]
    done = subprocess.run(
        argv, env=vendor.env(Path(stack)), capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise EupsFailed(
            f"`eups {' '.join(args)}` (EUPS_PATH={stack}) exited {done.returncode}\n"
            f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
        )
    return done


def distrib_install(
    vendor: Vendor,
    stack: Path,
    server_url: str,
    product: str,
    *,
    tag: str | None = None,
    version: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``eups distrib install --repository server_url [--tag tag] product [version]``."""
    args = ["distrib", "install", "--repository", server_url]
    if tag is not None:
        args += ["--tag", tag]
    args.append(product)
    if version is not None:
        args.append(version)
    return run_eups(vendor, stack, *args, check=check)


def eups_list(vendor: Vendor, stack: Path) -> list[Listed]:
    """What ``eups list`` shows of the stack: every (product, version, tags), sorted."""
    done = run_eups(vendor, stack, "list")
    rows = []
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        tags = tuple(sorted(t for t in fields[2:] if t != "setup"))
        rows.append(Listed(fields[0], fields[1], tags))
    return sorted(rows)


def setup_run(vendor: Vendor, stack: Path, product: str) -> subprocess.CompletedProcess[str]:
    """``setup product`` in a bash with $EUPS_DIR/bin/setups.sh sourced, then the SETUP_
    variables it set (on stdout, sorted)."""
    env = vendor.env(Path(stack))
    script = 'source "$EUPS_DIR/bin/setups.sh" && setup "$1" && env | grep "^SETUP_" | sort'
    return subprocess.run(
        ["bash", "-c", script, "setup_run", product],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def setup_ok(vendor: Vendor, stack: Path, product: str) -> bool:
    """Whether ``setup product`` works and sets SETUP_<PRODUCT>."""
    done = setup_run(vendor, stack, product)
    wanted = f"SETUP_{product.upper()}="
    return done.returncode == 0 and any(
        line.startswith(wanted) for line in done.stdout.splitlines()
    )
