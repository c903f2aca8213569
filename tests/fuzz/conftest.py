"""Hypothesis profiles of the fuzz suite (issue 8: no traceback on any input, bounded time).

- ``fuzz-ci`` (default): derandomized, a few dozen examples per target, so that the whole
  suite costs CI well under a minute and fails the same way on every run;
- ``long`` (``HYPOTHESIS_PROFILE=long``, what ``nox -s fuzz`` runs): random, thousands of
  examples per target; ``DM_RELEASE_FUZZ_EXAMPLES`` sets the count (``nox -s fuzz -- N``).

``DM_RELEASE_FUZZ_STATS=FILE`` writes, per target, the examples run and the slowest one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import fuzz_harness as harness
import pytest
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "fuzz-ci",
    max_examples=int(os.environ.get("DM_RELEASE_FUZZ_EXAMPLES", "40")),
    derandomize=True,
    database=None,
    deadline=None,  # the bound is harness.BOUND, measured per call
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("DM_RELEASE_FUZZ_EXAMPLES", "3000")),
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=_QUIET,
)


@pytest.fixture(scope="session", autouse=True)
def _fuzz_stats() -> Iterator[None]:
    yield
    target = os.environ.get("DM_RELEASE_FUZZ_STATS")
    if target:
        with open(target, "w", encoding="utf-8") as stream:
            json.dump(harness.STATS, stream, indent=1, sort_keys=True)
