"""The architecture, guarded (STYLE.md habit 12).

Every hook id of ``.pre-commit-hooks.yaml`` has a console script, a module with
``main(argv=None) -> int``, a README entry and a test; ``core`` imports no adapter, no
GitPython, requests or subprocess; hook modules load nothing heavy when imported; only the
config adapter reads the environment (hooks aside); every Jenkinsfile step calls a nox
session or script that exists, with arguments that dm-release accepts.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import itertools
import os
import re
import shlex
import subprocess
import sys
import tomllib
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

from dmrelease import cli
from dmrelease.core.config import options

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


SRC = ROOT / "src" / "dmrelease"
ENVIRONMENT_READER = SRC / "adapters" / "config.py"
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb"}
NOT_HOOKS = sorted(p for p in SRC.rglob("*.py") if (SRC / "hooks") not in p.parents)


def environment_reads(path: Path) -> list[str]:
    """Where a module reads the process environment: ``os.environ``, ``os.getenv`` and
    ``from os import environ`` (docstrings may name them; code may not)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ENVIRONMENT_NAMES
        ):
            found.append(f"{node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = [alias.name for alias in node.names if alias.name in ENVIRONMENT_NAMES]
            found += [f"{node.lineno}: from os import {name}" for name in names]
    return found


def test_the_config_adapter_reads_the_environment() -> None:
    assert environment_reads(ENVIRONMENT_READER)  # the check below can see a read


@pytest.mark.parametrize(
    "path",
    [p for p in NOT_HOOKS if p != ENVIRONMENT_READER],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_only_the_config_adapter_reads_the_environment(path: Path) -> None:
    """STYLE.md habit 11; hooks read pre-commit's and git's own variables."""
    assert environment_reads(path) == []


JENKINSFILES = sorted((ROOT / "jenkins").glob("*.Jenkinsfile"))
_SH = re.compile(r"""\bsh\s+(?:'''(.*?)'''|'([^']*)'|"([^"]*)")""", re.DOTALL)
_PARAMETER = re.compile(r"\b(string|booleanParam|choice)\(\s*name:\s*'(\w+)'")
_CHOICES = re.compile(r"\s*choices:\s*\[([^\]]*)\]")
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


class RecordingSession:
    """A nox session that records what it would run, with Jenkins' ``-- posargs``."""

    def __init__(self, posargs: Sequence[str]) -> None:
        self.posargs = list(posargs)
        self.runs: list[tuple[str, ...]] = []

    def install(self, *args: str, **kwargs: Any) -> None:
        pass

    def run(self, *args: str, **kwargs: Any) -> None:
        self.runs.append(args)


def nox_sessions() -> dict[str, Callable[[RecordingSession], None]]:
    """The sessions of noxfile.py by name, as its ``@nox.session`` decorators register them
    (nox itself is not a test dependency, so a recording ``nox`` module stands in)."""
    registry: dict[str, Callable[[RecordingSession], None]] = {}

    def session(function: Any = None, /, **options: Any) -> Any:
        def register(f: Any) -> Any:
            registry[options.get("name") or f.__name__] = f
            return f

        return register(function) if function is not None else register

    nox = types.ModuleType("nox")
    vars(nox).update(session=session, Session=object, options=types.SimpleNamespace())
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    with mock.patch.dict(sys.modules, {"nox": nox}):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return registry


def jenkins_parameters(text: str) -> dict[str, list[str]]:
    """Each parameter and the values to try: a choice's choices, else one sample value."""
    found = {}
    for match in _PARAMETER.finditer(text):
        kind, name = match.groups()
        choices = _CHOICES.match(text, text.index(",", match.end()) + 1)
        found[name] = re.findall(r"'([^']*)'", choices[1]) if kind == "choice" and choices else []
        found[name] = found[name] or ["v29.1.0.rc1"]
    return found


def expand(step: str, values: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda match: values.get(match[1], match[0]), step)


def sh_commands(text: str) -> list[str]:
    """Every shell command of the ``sh`` steps, once per combination of parameter values."""
    parameters = jenkins_parameters(text)
    commands = []
    for groups in _SH.findall(text):
        step = next(group for group in groups if group)
        used = sorted({name for name in _VARIABLE.findall(step) if name in parameters})
        for values in itertools.product(*(parameters[name] for name in used)):
            expanded = expand(step, dict(zip(used, values, strict=True)))
            commands += [c.strip() for c in re.split(r"&&|\|\||;|\n", expanded) if c.strip()]
    return commands


def nox_calls(command: str) -> list[tuple[str, list[str]]]:
    """``[python3 -m] nox -s NAME... [-- POSARGS]``: each session name with the posargs."""
    words = shlex.split(command)
    at = words.index("nox") if "nox" in words else -1
    if at < 0 or (at > 0 and words[at - 1] != "-m"):  # not `pip install nox`
        return []
    flags, posargs = words[at + 1 :], []
    if "--" in flags:
        flags, posargs = flags[: flags.index("--")], flags[flags.index("--") + 1 :]
    names = []
    for flag in ("-s", "--session", "--sessions"):
        if flag in flags:
            rest = flags[flags.index(flag) + 1 :]
            names += itertools.takewhile(lambda word: not word.startswith("-"), rest)
    return [(name, posargs) for name in names]


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_every_jenkins_step_calls_a_nox_session_or_a_script_that_exists(path: Path) -> None:
    """DESIGN.md §7: the stages of a Jenkinsfile call nox sessions or scripts/."""
    sessions = nox_sessions()
    commands = [c for c in sh_commands(path.read_text()) if "pip install" not in c]
    assert commands
    for command in commands:
        calls = nox_calls(command)
        scripts = re.findall(r"(?:^|\s)(?:\./)?(scripts/[\w.-]+)", command)
        assert calls or scripts, f"neither nox nor scripts/: {command}"
        assert all(name in sessions for name, _ in calls), f"{command}: sessions {sorted(sessions)}"
        assert all(os.access(ROOT / script, os.X_OK) for script in scripts), command


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_sessions_jenkins_calls_get_arguments_dm_release_accepts(path: Path) -> None:
    sessions = nox_sessions()
    parser = cli.build_parser()
    for command in sh_commands(path.read_text()):
        for name, posargs in nox_calls(command):
            session = RecordingSession(posargs)
            sessions[name](session)
            runs = [run[1:] for run in session.runs if run[0] == "dm-release"]
            assert runs, f"{name} runs no dm-release command"
            for argv in runs:
                try:
                    parser.parse_args(argv)
                except SystemExit:
                    pytest.fail(f"{command}: dm-release {' '.join(argv)}: refused by its parser")


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_every_jenkins_parameter_is_read_by_dm_release_or_a_step(path: Path) -> None:
    text = path.read_text()
    read = {variable for spec in options().values() for variable in spec.env}
    used = {name for step in _SH.findall(text) for name in _VARIABLE.findall("".join(step))}
    assert set(jenkins_parameters(text)) - read - used == set()
