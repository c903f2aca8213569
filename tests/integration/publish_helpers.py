"""Shared setup of the publish tests: a product on bare remotes, rebuilt for real (build b1
in versiondb), and dm-release publish run in-process like the command line."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rebuild_helpers import GRAPH, config_for, make_product, run_build, run_prepare, write_config

from dmrelease import cli
from dmrelease.adapters.files import WriteFailed
from dmrelease.adapters.server_tree import LocalDestination, Source
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct

#: the rebuild tests' product, and it with ``notes`` under meta: a package without a table
TABLELESS = {
    "notes": PackageSpec(table=False),
    "meta": PackageSpec(deps=(*GRAPH["meta"], "notes")),
}
PACKAGES = sorted(GRAPH)


@dataclass(frozen=True)
class Built:
    root: Path
    config: Path
    product: SyntheticProduct
    versions: dict[str, str]  # name -> version of build b1
    shas: dict[str, str]

    @property
    def server(self) -> Path:
        return self.root / "server"


def built_product(
    root: Path, extra: str = "", overrides: Mapping[str, PackageSpec] | None = None
) -> Built:
    """The product on bare remotes, prepared and built once: b1 in versiondb."""
    product = make_product(root, overrides)
    config = write_config(root, product, extra=extra)
    setup = config_for(config)
    prepared, _ = run_prepare(setup)
    run_build(setup, prepared)
    manifest = prepared.manifest
    versions = {e.name: e.version for e in manifest.entries}
    return Built(root, config, product, versions, {e.name: e.sha for e in manifest.entries})


def dm_release(*argv: str) -> tuple[int, str, str]:
    """``dm-release ARGV`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def publish_json(built: Built, *args: str) -> dict[str, Any]:
    code, out, err = dm_release("publish", "--config", str(built.config), "--json", *args)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root``: relative path -> SHA-256."""
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class CountingDestination(LocalDestination):
    """A real directory destination that records each write and, with ``fail_after``,
    fails like a full disk or a lost connection once that many files are written."""

    def __init__(self, root: Path, fail_after: int | None = None) -> None:
        super().__init__(root)
        self.writes: list[str] = []
        self.fail_after = fail_after
        self.lock = threading.Lock()  # the tree may write several files at once

    def _count(self, path: str) -> None:
        with self.lock:
            if self.fail_after is not None and len(self.writes) >= self.fail_after:
                raise WriteFailed(self.root / path, OSError(28, "No space left on device"))
            self.writes.append(path)

    def create(self, path: str, source: Source, digest: str | None = None) -> None:
        self._count(path)
        super().create(path, source, digest)

    def replace(self, path: str, source: Source, digest: str | None = None) -> None:
        self._count(path)
        super().replace(path, source, digest)
