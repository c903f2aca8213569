"""The architecture, guarded (STYLE.md habit 12).

Every hook id of ``.pre-commit-hooks.yaml`` has a console script, a module with
``main(argv=None) -> int``, a README entry and a test; ``core`` imports no adapter, no
GitPython, requests or subprocess; hook modules load nothing heavy when imported; only the
config adapter reads the environment (hooks aside); every Jenkinsfile step calls a nox
session or script that exists, with arguments that dm-release accepts; every module imports
only its own layer or lower (core < adapters < stages < demo < commands / hooks / cli), the
modules import one another without a cycle, and a stage takes from another stage family
only the public names of its front (issue 9 §5).
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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
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
        "check-distribution-contents",
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
_PASSED = re.compile(r",\s*value:")


class RecordingSession:
    """A nox session that records what it would run, with Jenkins' ``-- posargs``."""

    def __init__(self, posargs: Sequence[str]) -> None:
        self.posargs = list(posargs)
        self.runs: list[tuple[str, ...]] = []
        self.invoked_from = "/where/jenkins/runs/nox"
        self.cwd = "."

    def install(self, *args: str, **kwargs: Any) -> None:
        assert self.cwd == ".", "install from the noxfile's directory (the checkout)"

    def chdir(self, directory: str) -> None:
        self.cwd = directory

    def run(self, *args: str, **kwargs: Any) -> None:
        if args[0] == "dm-release":  # where the user invoked nox: dm-release finds its file
            assert self.cwd == self.invoked_from, f"{args}: run from {self.cwd}"
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
    """Each parameter and the values to try: a choice's choices, else one sample value
    (the parameters a ``build job:`` step gives another job, ``name: ..., value: ...``, are
    that job's, not declared here)."""
    found = {}
    for match in _PARAMETER.finditer(text):
        kind, name = match.groups()
        if _PASSED.match(text, match.end()):
            continue
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
    # the set-up steps: nox into a venv (Debian's python3 refuses a bare pip install, PEP 668)
    setup = [c for c in sh_commands(path.read_text()) if "pip install" in c or "-m venv " in c]
    commands = [c for c in sh_commands(path.read_text()) if c not in setup]
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


#: the Jenkins parameters that act in some verbs only, and those verbs (every other
#: parameter, e.g. PRODUCTS or RELEASE_GIT_TAG, is read by every verb that runs)
ACTS_IN = {
    "EXCLUDE_FROM_BUILDS": {"rebuild", "release", "publish"},
    "EXCLUDE_FROM_TARBALLS": {"tarball", "docker"},
    "O_LATEST": {"publish", "tarball", "docker", "release"},
    "NO_PUSH": {"docker"},
    "DOCKER_TAGS": {"docker"},
    "MANIFEST_ID": {"publish", "tarball", "docker"},
    "EUPSPKG_SOURCE": {"publish"},
    "PREP_ONLY": {"rebuild"},
    "NO_BINARY_FETCH": {"rebuild"},
    "BUILD_DOCS": {"rebuild"},
}


def job_verbs(text: str) -> set[str]:
    """The dm-release verbs a Jenkinsfile's ``sh`` steps run, through nox or scripts/."""
    sessions, verbs = nox_sessions(), set()
    for command in sh_commands(text):
        for name, posargs in nox_calls(command):
            session = RecordingSession(posargs)
            sessions[name](session)
            verbs |= {run[1] for run in session.runs if run[0] == "dm-release"}
        words = shlex.split(command)
        verbs |= {script_verb(w.removeprefix("./")) for w in words if "scripts/" in w}
    return verbs


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_every_parameter_acts_in_a_verb_the_job_runs_or_is_passed_on(path: Path) -> None:
    """A parameter only some verbs act on is declared by a job whose own steps run one of
    them, or that gives it to a job it starts: never one that no step of the job uses."""
    text = path.read_text()
    verbs = job_verbs(text)
    passed = {source for _, given, _ in started_jobs(text) for _, _, source in given}
    for name in set(jenkins_parameters(text)) & set(ACTS_IN):
        assert verbs & ACTS_IN[name] or name in passed, f"{name}: no step of {sorted(verbs)}"


def test_the_verbs_said_to_act_on_a_parameter_read_its_option() -> None:
    """ACTS_IN is checked against the commands: each verb's module (or commands/servers.py,
    which it imports) names the option of the parameter."""
    field = {variable: name for name, spec in options().items() for variable in spec.env}
    servers = (ROOT / "src/dmrelease/commands/servers.py").read_text()
    for variable, verbs in ACTS_IN.items():
        for verb in verbs:
            text = (ROOT / f"src/dmrelease/commands/{verb}.py").read_text()
            shared = servers if "dmrelease.commands.servers import" in text else ""
            assert field[variable] in text + shared, f"{verb} does not read {variable}"


def script_verb(script: str) -> str:
    """The dm-release verb a script of scripts/ runs: ``main(["VERB", *sys.argv[1:]])``."""
    text = (ROOT / script).read_text()
    found = re.findall(r'main\(\["([\w-]+)", \*sys\.argv\[1:\]\]\)', text)
    assert len(found) == 1, f"{script}: runs no one dm-release verb with its arguments"
    return found[0]


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_scripts_jenkins_calls_get_arguments_dm_release_accepts(path: Path) -> None:
    parser = cli.build_parser()
    for command in sh_commands(path.read_text()):
        words = shlex.split(command)
        for at, word in enumerate(words):
            script = word.removeprefix("./")
            if not script.startswith("scripts/"):
                continue
            argv = [script_verb(script), *words[at + 1 :]]
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{command}: dm-release {' '.join(argv)}: refused by its parser")


def test_the_scripts_check_sees_each_script_s_verb() -> None:
    scripts = sorted(p.name for p in (ROOT / "scripts").iterdir())
    assert {script_verb(f"scripts/{name}") for name in scripts} >= {"publish", "rebuild", "tarball"}


#: what a Jenkinsfile may not hold: control flow, Groovy definitions, closures over values,
#: script blocks, conditions, interpolation (the steps decide nothing: dm-release does)
_LOGIC = re.compile(
    r"\b(?:if|else|for|while|switch|case|def|return|script|when|each|collect|find\w*)\b"
    r"|=~|==|!=|\?:|\?\.|\.split\b|\.trim\b|\+"
)
#: shell that decides or computes: command substitution, tests, expansions with operators
_SHELL_LOGIC = re.compile(r"\$\(|`|\[\[|\btest\b|\$\{\w*[^\w}]|\bif\b|\bcase\b|\bfor\b")
_QUOTED = re.compile(r"'''.*?'''|'(?:[^'\\\n]|\\.)*'", re.DOTALL)
_DOUBLE = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def jenkins_code(text: str) -> str:
    """A Jenkinsfile without its comments and single-quoted strings (what is left is code);
    a double-quoted string is code when it interpolates (``"${LABEL}"`` is the matrix
    axis, the one interpolation allowed)."""
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    text = _QUOTED.sub("''", text)
    text = text.replace('"${LABEL}"', "''")
    return _DOUBLE.sub(lambda m: "''" if "$" not in m[0] else m[0].replace("$", "+"), text)


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_a_jenkinsfile_holds_no_logic(path: Path) -> None:
    """Parameters, agents, credentials and ``sh`` of nox sessions or scripts/ only."""
    text = path.read_text()
    assert _LOGIC.findall(jenkins_code(text)) == []
    steps = ["".join(groups) for groups in _SH.findall(text)]
    assert steps and [step for step in steps if _SHELL_LOGIC.search(step)] == []


@pytest.mark.parametrize(
    "text",
    [
        "if (params.O_LATEST) { sh 'x' }",
        "def tag = params.RELEASE_GIT_TAG",
        "script { sh 'x' }",
        "stage('a') { when { expression { true } } }",
        "['a', 'b'].each { sh 'x' }",
        "string(name: 'REFS', value: \"v${params.RELEASE_GIT_TAG}\")",
        "string(name: 'REFS', value: params.REFS?.trim())",
        "string(name: 'REFS', value: 'v' + params.RELEASE_GIT_TAG)",
    ],
)
def test_the_logic_check_sees_logic(text: str) -> None:
    assert _LOGIC.findall(jenkins_code(text))


@pytest.mark.parametrize(
    "step",
    ["nox -s tarball -- --tag $(date +%Y)", 'test -n "$TAG" && nox -s x', "nox -s ${KIND:-weekly}"],
)
def test_the_shell_check_sees_logic(step: str) -> None:
    assert _SHELL_LOGIC.search(step)


_STARTS = re.compile(r"\bbuild\s+job:\s*'([\w/.-]+)',\s*parameters:\s*\[(.*?)\]", re.DOTALL)
_GIVEN = re.compile(r"\b(string|booleanParam)\(\s*name:\s*'(\w+)',\s*value:\s*params\.(\w+)\s*\)")
_DECLARED = re.compile(
    r"\b(string|booleanParam|choice)\(\s*name:\s*'(\w+)',\s*(?:defaultValue|choices):"
)


def declared_kinds(text: str) -> dict[str, str]:
    """Each declared parameter and its kind (a choice is given to a job as a string)."""
    return {name: kind.replace("choice", "string") for kind, name in _DECLARED.findall(text)}


def started_jobs(text: str) -> list[tuple[str, list[tuple[str, str, str]], int]]:
    """Each ``build job:`` step: the job, the (kind, name, value's parameter) it gives, and
    how many parameters it gives in all."""
    return [
        (job, _GIVEN.findall(given), given.count("name:")) for job, given in _STARTS.findall(text)
    ]


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_every_job_a_pipeline_starts_exists_and_declares_what_it_is_given(path: Path) -> None:
    """``build job: 'release/tarball'`` starts jenkins/tarball.Jenkinsfile's job; each value
    it gives is one of this job's parameters, of the kind the other job declares."""
    text = path.read_text()
    mine = declared_kinds(text)
    assert set(mine) == set(jenkins_parameters(text))
    for job, passed, count in started_jobs(text):
        started = ROOT / "jenkins" / f"{job.rsplit('/', 1)[-1]}.Jenkinsfile"
        assert started.is_file(), f"{path.name} starts {job}: no {started.name}"
        theirs = declared_kinds(started.read_text())
        assert len(passed) == count, f"{job}: a value that is not a parameter of {path.name}"
        for kind, name, source in passed:
            assert theirs.get(name) == kind, f"{job} has no {kind} parameter {name}"
            assert mine.get(source) == kind, f"{path.name} has no {kind} parameter {source}"


def test_the_release_pipelines_start_the_tarball_and_build_stack_jobs() -> None:
    for name in ("official-release", "weekly-release"):
        text = (ROOT / "jenkins" / f"{name}.Jenkinsfile").read_text()
        jobs = [job for job, _, _ in started_jobs(text)]
        assert jobs == ["release/tarball", "release/docker/build-stack"], name


# Layers, cycles and stage families (issue 9 §5). Each rule is a checker of one module's
# text, run on every module of src/dmrelease and on fabricated bad texts that it must catch.

#: the parts of dmrelease each part may import: its own layer or lower, core < adapters <
#: stages < demo < commands / hooks / cli; hooks take core and adapters only, and nothing
#: imports upwards into cli (``dmrelease`` itself, the package's ``__init__``, is free to all)
MAY_IMPORT: dict[str, frozenset[str]] = {
    "dmrelease": frozenset(),
    "core": frozenset({"core"}),
    "adapters": frozenset({"core", "adapters"}),
    "stages": frozenset({"core", "adapters", "stages"}),
    "demo": frozenset({"core", "adapters", "stages", "demo"}),
    "commands": frozenset({"core", "adapters", "stages", "demo", "commands"}),
    "hooks": frozenset({"core", "adapters", "hooks"}),
    "cli": frozenset({"core", "adapters", "stages", "demo", "commands", "cli"}),
    "__main__": frozenset({"cli"}),
}
#: the front module of each stage family, the one module another family may import from
FRONTS = (
    "workspace", "rebuild", "release", "verify", "release_state", "publish", "tarball", "docker",
    "candidate_check",
    "status",
    "jira_fix",
    "announce",
    "notes",
)  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def part(module: str) -> str:
    """The layer part of a dmrelease module: ``dmrelease.core.names`` -> ``core``."""
    return module.split(".")[1] if "." in module else module


@dataclass(frozen=True)
class Imported:
    """One import of a dmrelease module: where, which module, the names taken from it
    (none for ``import module`` or ``from package import module``)."""

    line: int
    module: str
    names: tuple[str, ...] = ()


def _is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/")).is_dir()


def dmrelease_imports(
    module: str, text: str, known: Collection[str] = MODULES.keys()
) -> list[Imported]:
    """Every import of dmrelease in ``text``, at the top, in a function or under
    TYPE_CHECKING (ast.walk), relative ones resolved, in line order; ``from package import
    name`` imports the module ``package.name`` when that is one of ``known``."""
    found: list[Imported] = []
    package = module if module in MODULES and MODULES[module].name == "__init__.py" else None
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [Imported(node.lineno, a.name) for a in node.names if _ours(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or module).split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            if not _ours(base):
                continue
            names = tuple(alias.name for alias in node.names)
            if _is_package(base):
                subs = [n for n in names if f"{base}.{n}" in known or _is_package(f"{base}.{n}")]
                found += [Imported(node.lineno, f"{base}.{n}") for n in subs]
                names = tuple(n for n in names if n not in subs)
                if not names:
                    continue
            found.append(Imported(node.lineno, base, names))
    return sorted(found, key=lambda imported: imported.line)


def _ours(module: str) -> bool:
    return module == "dmrelease" or module.startswith("dmrelease.")


def layer_violations(module: str, text: str) -> list[str]:
    """Imports of ``module`` that reach a part above its layer (or beside it, for hooks)."""
    allowed = MAY_IMPORT[part(module)] | {"dmrelease"}
    return [
        f"{module}:{imported.line}: {part(module)} may not import {imported.module}"
        for imported in dmrelease_imports(module, text)
        if part(imported.module) not in allowed
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of an import graph: each strongly connected component of two modules or
    more, or a module importing itself (Tarjan), members sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1 or module in graph.get(module, ()):
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(cycles)


def import_graph(texts: dict[str, str]) -> dict[str, set[str]]:
    known = MODULES.keys() | texts.keys()
    return {
        module: {imported.module for imported in dmrelease_imports(module, text, known)}
        for module, text in texts.items()
    }


def family(stage: str) -> str:
    """The family of a stage module: the name before its first ``_`` (``release_plan`` ->
    ``release``)."""
    return stage.split("_")[0]


def public_names(path: Path) -> frozenset[str] | None:
    """The names of a module's ``__all__`` list, read from its text; None without one (or
    without the module)."""
    if not path.is_file():
        return None
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return frozenset(ast.literal_eval(node.value))
    return None


def family_violations(module: str, text: str, exported: dict[str, frozenset[str]]) -> list[str]:
    """Imports of another stage family's internals: anything but the names of a front's
    ``__all__`` (``exported``: front -> those names), taken with ``from front import``. A
    stage module is of the family its name starts with; demo, commands and cli of none, so
    they too reach the stages through the fronts only."""
    if module.startswith("dmrelease.stages."):
        own: str | None = family(module.rsplit(".", 1)[1])
    elif part(module) in ("demo", "commands", "cli"):
        own = None
    else:
        return []
    found = []
    for imported in dmrelease_imports(module, text):
        if not imported.module.startswith("dmrelease.stages."):
            continue
        target = imported.module.rsplit(".", 1)[1]
        where = f"{module}:{imported.line}: {imported.module}"
        if family(target) == own:
            continue
        if target not in FRONTS:
            found.append(f"{where} is internal to the {family(target)} stage: use its front")
        elif not imported.names:
            found.append(f"{where}: take its public names with `from {imported.module} import`")
        else:
            hidden = [n for n in imported.names if n not in exported.get(target, frozenset())]
            found += [f"{where}: {name} is not in its __all__" for name in hidden]
    return found


def _exported() -> dict[str, frozenset[str]]:
    return {front: public_names(SRC / "stages" / f"{front}.py") or frozenset() for front in FRONTS}


def test_every_package_of_dmrelease_has_a_layer() -> None:
    assert {part(module) for module in MODULES} == set(MAY_IMPORT)


@pytest.mark.parametrize("module", list(MODULES))
def test_each_module_imports_only_its_layer_or_lower(module: str) -> None:
    assert layer_violations(module, MODULES[module].read_text()) == []


@pytest.mark.parametrize(
    ("module", "text", "expected"),
    [
        ("dmrelease.core.x", "def f():\n    from dmrelease.adapters import git\n", "adapters"),
        (
            "dmrelease.core.x",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from dmrelease.stages.rebuild import Built\n",
            "stages",
        ),
        ("dmrelease.adapters.x", "import dmrelease.stages.release\n", "stages"),
        ("dmrelease.stages.x", "from dmrelease.demo.synthetic import create_product\n", "demo"),
        ("dmrelease.stages.x", "from dmrelease import commands\n", "commands"),
        ("dmrelease.demo.x", "from ..commands.demo import run\n", "commands"),
        ("dmrelease.hooks.x", "def f():\n    from dmrelease.stages import verify\n", "stages"),
        ("dmrelease.hooks.x", "from dmrelease.demo import synthetic\n", "demo"),
        ("dmrelease.commands.x", "from dmrelease.cli import main\n", "cli"),
    ],
)
def test_the_layer_rule_refuses_an_upward_import(module: str, text: str, expected: str) -> None:
    (violation,) = layer_violations(module, text)
    assert violation.startswith(f"{module}:{text.count(chr(10))}: {part(module)} may not import ")
    assert part(violation.rsplit(" ", 1)[1]) == expected


def test_the_layer_rule_lets_a_module_import_its_layer_and_lower() -> None:
    text = (
        "from dmrelease import __version__\nfrom dmrelease.core.names import parse_tag\n"
        "from dmrelease.adapters.git import Git\nfrom . import verify\n"
        "def f():\n    from dmrelease.stages.release import weekly\n"
    )
    assert layer_violations("dmrelease.stages.x", text) == []
    assert [i.module for i in dmrelease_imports("dmrelease.stages.x", text)] == [
        "dmrelease",
        "dmrelease.core.names",
        "dmrelease.adapters.git",
        "dmrelease.stages.verify",
        "dmrelease.stages.release",
    ]


def source_cycles() -> list[list[str]]:
    graph = import_graph({module: path.read_text() for module, path in MODULES.items()})
    assert sum(len(targets) for targets in graph.values()) > len(MODULES)  # it sees imports
    return import_cycles(graph)


def test_there_is_no_import_cycle_among_the_modules_of_dmrelease() -> None:
    assert source_cycles() == []


def test_a_cycle_through_a_late_import_is_found() -> None:
    texts = {
        "dmrelease.core.a": "from dmrelease.core.b import B\n",
        "dmrelease.core.b": "def f():\n    from dmrelease.core.c import C\n",
        "dmrelease.core.c": "from dmrelease.core import a\n",
        "dmrelease.core.d": "import dmrelease.core.d\nfrom dmrelease.core.a import A\n",
    }
    assert import_cycles(import_graph(texts)) == [
        ["dmrelease.core.a", "dmrelease.core.b", "dmrelease.core.c"],
        ["dmrelease.core.d"],
    ]


@pytest.mark.parametrize("front", FRONTS)
def test_each_stage_front_declares_its_public_names(front: str) -> None:
    assert public_names(SRC / "stages" / f"{front}.py")


@pytest.mark.parametrize("module", list(MODULES))
def test_a_stage_familys_internals_are_imported_only_inside_it(module: str) -> None:
    assert family_violations(module, MODULES[module].read_text(), _exported()) == []


FABRICATED_FRONTS = {"rebuild": frozenset({"rebuild"}), "release_state": frozenset({"resume"})}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "from dmrelease.stages.rebuild_sources import discover_product\n",
            "dmrelease.stages.rebuild_sources is internal to the rebuild stage: use its front",
        ),
        (
            "def f():\n    from dmrelease.stages.workspace_lock import work_dir_lock\n",
            "dmrelease.stages.workspace_lock is internal to the workspace stage: use its front",
        ),
        (
            "from dmrelease.stages.rebuild import rebuild, manifest_of\n",
            "dmrelease.stages.rebuild: manifest_of is not in its __all__",
        ),
        (
            "from dmrelease.stages import rebuild\n",
            "dmrelease.stages.rebuild: take its public names with "
            "`from dmrelease.stages.rebuild import`",
        ),
    ],
)
def test_the_family_rule_refuses_another_familys_internals(text: str, expected: str) -> None:
    module = "dmrelease.stages.release_plan"
    line = text.count("\n")
    assert family_violations(module, text, FABRICATED_FRONTS) == [f"{module}:{line}: {expected}"]


def test_the_family_rule_lets_a_stage_use_its_family_and_other_fronts() -> None:
    text = (
        "from dmrelease.stages.release_apply import apply_plan\n"
        "from dmrelease.stages.rebuild import rebuild\n"
        "from dmrelease.stages.release_state import resume\n"
        "from dmrelease.core.plan import Plan\n"
    )
    assert family_violations("dmrelease.stages.release_plan", text, FABRICATED_FRONTS) == []
    assert family_violations("dmrelease.adapters.git", text, {}) == []  # not a stage's user


@pytest.mark.parametrize("module", ["dmrelease.demo.release", "dmrelease.commands.release"])
def test_above_the_stages_only_the_fronts_public_names_are_imported(module: str) -> None:
    text = (
        "from dmrelease.stages.rebuild import rebuild\n"
        "def f():\n    from dmrelease.stages.release_apply import saved_plan_path\n"
    )
    assert family_violations(module, text, FABRICATED_FRONTS) == [
        f"{module}:3: dmrelease.stages.release_apply is internal to the release stage: "
        "use its front"
    ]
