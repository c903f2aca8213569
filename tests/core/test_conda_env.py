"""core/conda_env: conda match specs, exact or not (moved from the check-conda-env hook's
tests, issue 9 §5; the bracket case is issue 8's)."""

from __future__ import annotations

import pytest

from dmrelease.core.conda_env import parse_spec


@pytest.mark.parametrize(
    ("spec", "exact"),
    [
        ("numpy=1.26.4=py311h64a7726_0", True),
        ("numpy==1.26.4", True),
        ("numpy 1.26.4", True),
        ("numpy 1.26.4 py311h64a7726_0", True),
        ("conda-forge::numpy=1.26.4=py311h64a7726_0", True),
        ("numpy=1.26", False),  # conda reads 1.26*
        ("numpy", False),
        ("numpy >=1.24,<2", False),
        ("numpy 1.26.*", False),
        ("numpy 1.11.1|1.11.3", False),
        ("boost =1.70", False),
    ],
)
def test_conda_specs(spec: str, exact: bool) -> None:
    parsed = parse_spec(spec)
    assert not isinstance(parsed, str), parsed
    assert parsed.exact is exact


@pytest.mark.parametrize(
    "spec", ["numpy >>1", "numpy 1 2 3", "numpy=1.2=bad build", "=1.0", "numpy="]
)
def test_bad_specs(spec: str) -> None:
    assert isinstance(parse_spec(spec), str)


def test_conda_brackets_are_removed_as_the_regex_did() -> None:
    spec = parse_spec("numpy >=1.2 [build_number=3]  ")
    assert not isinstance(spec, str) and (spec.name, spec.version) == ("numpy", ">=1.2")
    assert isinstance(parse_spec("numpy" + "[" * 100_000), str)
