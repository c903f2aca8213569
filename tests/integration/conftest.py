"""Fixtures shared by the release integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from eups_client import Served, serve_directory
from image_fixtures import (  # noqa: F401 (fixtures)
    base_image,
    builder,
    pull_image_tree,
    registry,
    tls_registry,
    token_registry,
)
from release_helpers import Setup, make_setup, ok
from vendor import Vendor, require_vendor


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress lines in the output the tests compare: in a pipe they appear once a
    phase outlasts a second, which a loaded machine makes happen at random. The progress
    tests (test_progress) choose DM_RELEASE_PROGRESS themselves."""
    monkeypatch.setenv("DM_RELEASE_PROGRESS", "off")


@pytest.fixture
def weekly(tmp_path: Path) -> Setup:
    """The test product with its weekly w.2025.24 tagged and built: where rc1 starts."""
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    return setup


@pytest.fixture(scope="session")
def eups_vendor() -> Vendor:
    """The real EUPS client, built once per run (skipped without ../shared, failed in CI)."""
    return require_vendor()


@pytest.fixture
def serve_tree() -> Iterator[Callable[..., Served]]:
    """serve_tree(root, listings=False) -> Served: root over HTTP on 127.0.0.1 for the test."""
    with ExitStack() as stack:
        yield lambda root, **kwargs: stack.enter_context(serve_directory(root, **kwargs))
