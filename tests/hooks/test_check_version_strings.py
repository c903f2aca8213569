"""check-version-strings: PEP 440 in Python metadata, canonical M.n.p in ups/*.cfg."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.hooks.check_version_strings import main

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_this_repositorys_pyproject_passes(call) -> None:
    assert call(main)([str(ROOT / "pyproject.toml")]) == (0, [])


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", '[project]\nversion = "29.01.0"\n', "2:12: version-normalized"),
        ("pyproject.toml", "[project]\nversion = '29.1.0-rc1'\n", "2:12: version-normalized"),
        ("pyproject.toml", '[tool.poetry]\nversion = "latest"\n', "2:12: version-pep440"),
        ("setup.cfg", "[metadata]\nname = x\nversion = 1.0.0.0.dev\n", "3:11: version-normalized"),
        ("ups/afw.cfg", 'version = "016.0.0"\n', "1:12: name-zero-padding"),
        ("ups/afw.cfg", "__version__ = 'v29.0.0'\n", "1:16: name-v-prefix"),
        ("ups/afw.cfg", "version: w.2025.24\n", "1:10: version-release"),
    ],
)
def test_a_non_canonical_version_is_reported(
    call, tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, name, text)
    code, lines = call(main)([path])
    assert code == 1
    assert lines[0].startswith(f"{path}:{expected}: "), lines


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[project]\nname = "x"\nversion = "29.1.0rc1"\n'),
        ("pyproject.toml", '[project]\ndynamic = ["version"]\n[tool.other]\nversion = "x"\n'),
        ("setup.cfg", "[metadata]\nversion = attr: pkg.__version__\n[x]\nversion = junk\n"),
        ("ups/afw.cfg", 'import lsst.sconsUtils\ndependencies = {"required": ["utils"]}\n'),
        ("ups/afw.cfg", 'version = "29.1.0"\n'),
    ],
)
def test_canonical_or_absent_versions_pass(call, tmp_path: Path, name: str, text: str) -> None:
    assert call(main)([write(tmp_path, name, text)]) == (0, [])
