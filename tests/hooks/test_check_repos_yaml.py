"""check-repos-yaml on lsst/repos' real repos.yaml and on seeded mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.hooks.check_repos_yaml import main

REPOS = Path(__file__).resolve().parents[1] / "data" / "repos.yaml"


def test_the_real_repos_yaml_passes(call) -> None:
    assert call(main)([str(REPOS)]) == (0, [])


def test_sorted_reports_each_key_out_of_order(call) -> None:
    code, lines = call(main)(["--sorted", str(REPOS)])
    assert code == 1
    assert lines[0] == (
        f"{REPOS}:50:1: repos-sorted: `lsst_apps` should come before `lsst_thirdparty` "
        "(keys sorted by name)"
    )
    assert {line.split(": ")[1] for line in lines} == {"repos-sorted"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "afw: https://github.com/lsst/afw.git\nafw: https://github.com/x/afw.git\n",
            "2:1: repos-duplicate",
        ),
        ("afw-x: https://github.com/lsst/afw.git\n", "1:1: repos-key"),
        ("afw:\n  url: https://github.com/lsst/afw.git\n", "1:1: repos-ref-or-lfs"),
        ("afw:\n  url: https://github.com/lsst/afw.git\n  lfs: True\n", "3:8: repos-lfs"),
        (
            "afw:\n  url: https://github.com/lsst/afw.git\n  ref: main\n  branch: main\n",
            "4:3: repos-unknown-key",
        ),
        ("afw: [1, 2\n", "2:1: repos-syntax"),
    ],
)
def test_a_seeded_mistake_is_reported_at_its_line(
    call, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "repos.yaml"
    path.write_text(text)
    code, lines = call(main)([str(path)])
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:{expected}: "), lines
