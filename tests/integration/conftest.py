"""Fixtures shared by the release integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from release_helpers import Setup, make_setup, ok


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
