"""The Python API surface: every public module declares its names (``__all__``), the
modules take from one another only those names, ``import dmrelease`` stays cheap, and the
wheel carries ``py.typed`` (so type checkers read the package's annotations)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dmrelease"
CORE = sorted(p.stem for p in (SRC / "core").glob("*.py") if p.stem != "__init__")
FRONTS = ("publish", "rebuild", "release", "release_state", "tarball", "verify", "workspace")
#: the modules docs/api.md names as the supported API
PUBLIC = [f"dmrelease.core.{name}" for name in CORE] + [f"dmrelease.stages.{f}" for f in FRONTS]


@pytest.mark.parametrize("module", PUBLIC)
def test_each_public_module_declares_names_that_it_has(module: str) -> None:
    loaded = importlib.import_module(module)
    names = loaded.__all__
    assert names, f"{module} has no __all__"
    assert len(names) == len(set(names))
    assert [name for name in names if not hasattr(loaded, name)] == []
    assert [name for name in names if name.startswith("_")] == []


def _imports_from_core(path: Path) -> list[tuple[int, str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dmrelease.core.")
        for alias in node.names
    ]


def test_the_package_takes_from_a_core_module_only_its_public_names() -> None:
    """A name another module of dmrelease imports from core is API: it is in ``__all__``
    (tests may reach further in)."""
    outside = []
    for path in sorted(SRC.rglob("*.py")):
        for line, module, name in _imports_from_core(path):
            if name not in importlib.import_module(module).__all__:
                outside.append(f"{path.relative_to(ROOT)}:{line}: {module}.{name}")
    assert outside == []


def test_the_check_sees_an_import_of_a_name_outside_all(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from dmrelease.core.tables import _private, TableFile\n")
    found = _imports_from_core(probe)
    assert found == [
        (1, "dmrelease.core.tables", "_private"),
        (1, "dmrelease.core.tables", "TableFile"),
    ]
    tables = importlib.import_module("dmrelease.core.tables").__all__
    assert [name for _line, _module, name in found if name not in tables] == ["_private"]


def test_import_dmrelease_loads_nothing_else() -> None:
    probe = (
        "import sys; before = set(sys.modules); import dmrelease; "
        "print(sorted(set(sys.modules) - before)); print(dmrelease.__all__)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["['dmrelease']", "['__version__']"]


def test_the_wheel_carries_py_typed(tmp_path: Path) -> None:
    """Built as pip builds it for an install from the git URL (hatchling, offline)."""
    assert (SRC / "py.typed").read_bytes() == b""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("dm_release-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dmrelease/py.typed" in names
    assert "dmrelease/core/errors.py" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA")))
    assert b"Requires-Dist: shtab>=1.7" in metadata.splitlines()
