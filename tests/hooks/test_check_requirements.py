"""check-requirements: pip requirement files and pyproject.toml, read with packaging."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.hooks.check_requirements import main

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
# tools
numpy >=1.24  # a comment
astropy[all]==6.0.0 ; python_version >= "3.10"
-r other.txt
--extra-index-url https://example.org/simple
pkg==1.0 \\
    --hash=sha256:0123
git+https://github.com/lsst/utils.git@main#egg=utils
lsst-utils @ https://example.org/lsst_utils-1.0-py3-none-any.whl
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_good_requirements_file_passes(call, tmp_path: Path) -> None:
    assert call(main)([write(tmp_path, "requirements.txt", GOOD)]) == (0, [])


def test_this_repositorys_pyproject_passes(call) -> None:
    assert call(main)([str(ROOT / "pyproject.toml")]) == (0, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("numpy\nscipy >>= 1.0\n", "2:7: requirements-syntax: 'scipy >>= 1.0': Expected"),
        ("foo[bar\n", "1:8: requirements-syntax"),
        ("--frobnicate x\n", "1:1: requirements-option: unknown pip option '--frobnicate'"),
        ("numpy ; python_version <\n", "1:25: requirements-syntax"),
    ],
)
def test_a_bad_line_is_reported_where_it_is(call, tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "requirements-dev.txt", text)
    code, lines = call(main)([path])
    assert code == 1
    assert lines[0].startswith(f"{path}:{expected}"), lines


def test_pinned_demands_one_exact_version(call, tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", GOOD)
    code, lines = call(main)(["--pinned", path])
    assert code == 1
    assert [line.split(": ")[0] for line in lines] == [f"{path}:2:1", f"{path}:8:1"]
    assert "'numpy' is not pinned (>=1.24)" in lines[0]
    assert "is a URL or path" in lines[1]


@pytest.mark.parametrize(
    "spec", ["numpy==1.26.4", "numpy===1.26.4", "numpy == 1.26.4 ; os_name == 'posix'"]
)
def test_pinned_accepts_exact_pins(call, tmp_path: Path, spec: str) -> None:
    assert call(main)(["--pinned", write(tmp_path, "requirements.txt", spec + "\n")]) == (0, [])


@pytest.mark.parametrize("spec", ["numpy==1.26.*", "numpy>=1,<2", "numpy"])
def test_pinned_refuses_ranges(call, tmp_path: Path, spec: str) -> None:
    assert call(main)(["--pinned", write(tmp_path, "requirements.txt", spec + "\n")])[0] == 1


PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]

[project]
name = "x"
dependencies = [
    "numpy>=1.24",
    "scipy >>= 1",
]

[project.optional-dependencies]
test = ["pytest>=7", "hypothesis["]

[dependency-groups]
dev = [{include-group = "test"}, "ruff"]
"""


def test_pyproject_dependency_lists_are_checked_where_they_are(call, tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", PYPROJECT)
    code, lines = call(main)([path])
    assert code == 1
    assert [line.split(": ")[0:2] for line in lines] == [
        [f"{path}:8:12", "requirements-syntax"],  # at the `>>=`
        [f"{path}:12:34", "requirements-syntax"],  # where `]` is missing
    ]


def test_pyproject_syntax_errors_name_the_line(call, tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = [\n"a"\n')
    code, lines = call(main)([path])
    assert code == 1
    assert lines == [f"{path}:4: toml-syntax: not valid TOML: Unclosed array"]


def test_a_byte_order_mark_is_read_through_as_pip_does(call, tmp_path: Path) -> None:
    """pip decodes a BOM away, so a BOM'd requirements file is valid: no false finding."""
    path = write(tmp_path, "requirements.txt", "\ufeff" + GOOD)
    assert call(main)([path]) == (0, [])
    code, lines = call(main)(["--pinned", path])
    assert code == 1 and lines[0].startswith(f"{path}:2:1: requirements-pinned: 'numpy")


def test_a_byte_order_mark_in_pyproject_is_named(call, tmp_path: Path) -> None:
    """tomllib (and so pip) refuses a BOM: say that is the cause."""
    path = write(tmp_path, "pyproject.toml", '\ufeff[project]\nname = "x"\n')
    code, lines = call(main)([path])
    assert code == 1
    assert lines[0].startswith(f"{path}:1:1: toml-syntax: ")
    assert lines[0].endswith("(TOML allows no byte order mark: save the file without it)")


def test_a_list_that_is_not_a_list_is_reported(call, tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = "numpy"\n')
    assert call(main)([path]) == (
        1,
        [
            f"{path}:3: requirements-structure: "
            "`dependencies` in [project] must be a list of requirement strings"
        ],
    )
