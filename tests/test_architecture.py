"""The architecture, guarded (STYLE.md habit 12).

Every hook id of ``.pre-commit-hooks.yaml`` has a console script, a module with
``main(argv=None) -> int``, a README entry and a test; ``core`` imports no adapter, no
GitPython, requests or subprocess; hook modules load nothing heavy when imported.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
HOOK_IDS = [hook["id"] for hook in HOOKS]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
README = (ROOT / "pre-commit-hooks" / "README.md").read_text()
CORE = sorted((ROOT / "src" / "dmrelease" / "core").glob("*.py"))
FORBIDDEN_IN_CORE = ("dmrelease.adapters", "dmrelease.stages", "git", "requests", "subprocess")
HEAVY = ("yaml", "requests", "git", "jenkins", "dmrelease.adapters")


def module_of(hook_id: str) -> str:
    return "dmrelease.hooks." + hook_id.replace("-", "_")


def test_the_issue_hook_ids_are_all_there() -> None:
    assert HOOK_IDS == [
        "check-branch-name",
        "check-pushed-tags",
        "check-table-file",
        "check-repos-yaml",
        "check-requirements",
        "check-conda-env",
        "check-product-membership",
        "check-version-strings",
    ]
    assert all(hook["language"] == "python" and hook["entry"] == hook["id"] for hook in HOOKS)


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_each_hook_has_a_console_script_of_its_module(hook_id: str) -> None:
    assert SCRIPTS[hook_id] == f"{module_of(hook_id)}:main"


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_each_hook_module_has_main_argv_none_and_a_script_guard(hook_id: str) -> None:
    module = importlib.import_module(module_of(hook_id))
    parameters = list(inspect.signature(module.main).parameters.values())
    assert [(p.name, p.default) for p in parameters] == [("argv", None)]
    assert inspect.getsource(module).rstrip().endswith("raise SystemExit(main())")


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_each_hook_is_documented_in_the_readme(hook_id: str) -> None:
    assert f"### `{hook_id}`" in README
    assert f"- id: {hook_id}" in README  # in an example configuration


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_each_hook_has_a_unit_test_and_an_integration_test(hook_id: str) -> None:
    unit = ROOT / "tests" / "hooks" / f"test_{hook_id.replace('-', '_')}.py"
    assert unit.is_file()
    assert f"from {module_of(hook_id)} import" in unit.read_text()
    integration = (ROOT / "tests" / "integration" / "test_precommit_hooks.py").read_text()
    assert "HOOK_IDS" in integration  # every id runs through real pre-commit there


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_a_hook_loads_nothing_heavy_when_imported(hook_id: str) -> None:
    code = (
        f"import sys, {module_of(hook_id)}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_imports_no_adapter_git_requests_or_subprocess(path: Path) -> None:
    bad = {
        name
        for name in imported_modules(path)
        for forbidden in FORBIDDEN_IN_CORE
        if name == forbidden or name.startswith(forbidden + ".")
    }
    assert bad == set()
