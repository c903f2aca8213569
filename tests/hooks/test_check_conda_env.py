"""check-conda-env on the real environment files of scipipe_conda_env and seeded mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.hooks.check_conda_env import main

CONDA = Path(__file__).resolve().parents[1] / "data" / "conda"
PINNED = CONDA / "conda3_packages-linux-64.yml"
BLEED = CONDA / "conda3_bleed-linux-64.yml"


@pytest.mark.parametrize("path", [PINNED, BLEED], ids=lambda p: p.name)
def test_the_real_environments_pass(call, path: Path) -> None:
    assert call(main)([str(path)]) == (0, [])


def test_the_released_environment_is_fully_pinned(call) -> None:
    assert call(main)(["--pinned", str(PINNED)]) == (0, [])


def test_the_bleeding_edge_environment_is_not_pinned(call) -> None:
    code, lines = call(main)(["--pinned", str(BLEED)])
    assert code == 1
    deps = BLEED.read_text().split("dependencies:")[1].splitlines()
    assert len(lines) == len([s for s in deps if s.strip().startswith("- ")]) == 74
    assert lines[0] == (
        f"{BLEED}:9:5: conda-env-pinned: 'compilers' is not pinned to one version (any version) "
        "(write `compilers=<version>=<build>` or `compilers==<version>`)"
    )


SEEDED = """\
name: dev
channel:
  - conda-forge
dependencies:
  - numpy >>1
  - scipy
  - scipy=1.11
  - pip:
    - foo >>= 1
  - nothing: here
"""


def test_each_problem_is_reported_at_its_line(call, tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(SEEDED)
    code, lines = call(main)([str(path)])
    assert code == 1
    assert [line.split(": ")[0:2] for line in lines] == [
        [f"{path}:2:1", "conda-env-key"],
        [f"{path}:5:5", "conda-env-spec"],
        [f"{path}:7:5", "conda-env-duplicate"],
        [f"{path}:9:11", "requirements-syntax"],  # at the `>>=`
        [f"{path}:10:5", "conda-env-structure"],
    ]
    assert all(line.endswith(")") for line in lines), "each finding says how to fix it"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- just a list\n", "1: conda-env-structure"),
        ("name: x\n", "1:1: conda-env-structure: no `dependencies`"),
        ("name: x\ndependencies: [a\n", "3:1: conda-env-syntax: not valid YAML"),
        (
            "name: x\ndependencies: numpy\n",
            "2:15: conda-env-structure: `dependencies` must be a list",
        ),
    ],
)
def test_structure(call, tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(text)
    code, lines = call(main)([str(path)])
    assert code == 1
    assert lines[0].startswith(f"{path}:{expected}"), lines
