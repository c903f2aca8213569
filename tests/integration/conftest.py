"""Fixtures shared by the release integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from release_helpers import Setup, make_setup, ok


@pytest.fixture
def weekly(tmp_path: Path) -> Setup:
    """The test product with its weekly w.2025.24 tagged and built: where rc1 starts."""
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    return setup
