"""TRANSITIONAL (issue 9): folded into :mod:`dmrelease.stages.workspace`; this name stays
only until the release stage no longer imports it."""

from __future__ import annotations

from dmrelease.stages.workspace import Workspace as Discovery

__all__ = ["Discovery"]
