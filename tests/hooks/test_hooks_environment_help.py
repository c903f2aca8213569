"""Every hook's ``--help`` lists the environment variables it reads, as every verb's does.

Each console script of pyproject's ``[project.scripts]`` other than ``dm-release`` (the
nine hooks and the pre-push guard) runs for real, in-process, in a real git repository
with the files it checks, with ``os.environ`` replaced by a mapping that records every
variable dm-release's own code looks up (``get``, ``[]``, ``in``; passing the whole
environment on to git reads no one variable). Each variable a hook read must be in its
``--help``; a variable family such as ``GITHEAD_<sha>`` is listed by its prefix.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from dmrelease.core.redact import CREDENTIAL_VARIABLES
from environ_recording import RecordingEnviron

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
HOOKS = sorted(name for name, entry in SCRIPTS.items() if entry != "dmrelease.cli:main")
SHA = "3" * 40
ZERO = "0" * 40


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _repository(path: Path) -> Path:
    """A package repository with a commit on the release branch v29.1.x, an origin and
    every file a hook checks."""
    files = {
        "ups/afw.table": "setupRequired(base)\n",
        "repos.yaml": "afw: https://github.com/lsst/afw.git\nbase: https://github.com/lsst/base.git\n"
        "lsst_distrib: https://github.com/lsst/lsst_distrib.git\n",
        "requirements.txt": "requests==2.31.0\n",
        "environment.yaml": "name: env\nchannels: [conda-forge]\n"
        "dependencies:\n  - python=3.11=h1\n",
        "pyproject.toml": '[project]\nname = "afw"\nversion = "1.2.3"\n',
        "products.yaml": "products:\n  lsst_distrib: ups/lsst_distrib.table\nrepos: repos.yaml\n",
        "ups/lsst_distrib.table": "setupRequired(afw)\nsetupRequired(base)\n",
        "ups/lsst_distrib.contents.yaml": "third_party:\n  - {name: python, type: 1, delivery: "
        "conda, license: Python-2.0, support: full, rfc: RFC-1}\npackages: []\n",
    }
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path, "init", "-q", "-b", "v29.1.x")
    _git(path, "remote", "add", "origin", "https://github.com/lsst/afw.git")
    _git(path, "add", ".")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "start")
    return path


#: (script, arguments, variables set for the run, stdin): each hook as pre-commit runs it
RUNS: list[tuple[str, list[str], dict[str, str], str]] = [
    # a commit concluding the merge of a backport into the release branch (pre-merge-commit)
    ("check-branch-name", [], {f"GITHEAD_{SHA}": "tickets/DM-1-v29"}, ""),
    ("check-branch-name", [], {"PRE_COMMIT_REMOTE_BRANCH": "refs/heads/tickets/DM-1"}, ""),
    ("check-pushed-tags", ["origin", "https://github.com/lsst/afw.git"], {},
     f"refs/tags/29.1.0 {SHA} refs/tags/29.1.0 {ZERO}\n"),
    ("check-pushed-tags", [],
     {"DM_RELEASE_PUSHED_REFS": f"refs/tags/w.2025.24 {SHA} refs/tags/w.2025.24 {ZERO}\n"}, ""),
    ("check-pushed-tags", [],
     {"PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main", "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main"},
     ""),
    ("check-table-file", ["ups/afw.table", "--known-packages", "repos.yaml"], {}, ""),
    ("check-repos-yaml", ["repos.yaml", "--sorted"], {}, ""),
    ("check-requirements", ["--pinned", "requirements.txt"], {}, ""),
    ("check-conda-env", ["--pinned", "environment.yaml"], {}, ""),
    ("check-product-membership", ["--products", "products.yaml"], {}, ""),
    ("check-version-strings", ["pyproject.toml"], {}, ""),
    ("check-distribution-contents", ["--repos", "repos.yaml"], {}, ""),
    ("dm-release-pre-push", ["install", "--dry-run"], {}, ""),
    ("dm-release-pre-push", ["install"], {}, ""),
    ("dm-release-pre-push", ["show"], {}, ""),
    ("dm-release-pre-push", ["uninstall"], {}, ""),
]  # fmt: skip


def _main(script: str) -> Callable[[list[str]], int]:
    module, _, function = SCRIPTS[script].partition(":")
    main: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
    return main


def _help(script: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        _main(script)(["--help"])
    return out.getvalue()


def _unlisted(read: set[str], help_text: str) -> list[str]:
    """The variables of ``read`` that ``help_text`` does not name (a name ending in ``_``,
    as ``GITHEAD_<sha>`` gives, lists every variable it begins)."""
    names = set(re.findall(r"[A-Z][A-Z0-9_]+", help_text))
    prefixes = tuple(name for name in names if name.endswith("_"))
    return sorted(v for v in read if v not in names and not v.startswith(prefixes or ("\0",)))


def test_every_variable_a_hook_reads_is_in_its_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sorted({run[0] for run in RUNS}) == HOOKS, "each hook script needs a run here"
    for name in [k for k in os.environ if k.startswith(("GITHEAD_", "PRE_COMMIT_", "GIT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DM_RELEASE_PUSHED_REFS", raising=False)
    monkeypatch.chdir(_repository(tmp_path / "afw"))
    environ = RecordingEnviron(os.environ)
    monkeypatch.setattr(os, "environ", environ)
    read: dict[str, set[str]] = {script: set() for script in HOOKS}
    codes = []
    for script, argv, variables, stdin in RUNS:
        environ.real.update(variables)
        environ.read.clear()
        with (
            monkeypatch.context() as run,
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()) as err,
        ):
            run.setattr(sys, "stdin", io.StringIO(stdin))
            codes.append((script, argv, _main(script)(argv), err.getvalue()))
        read[script] |= environ.read
        for name in variables:
            del environ.real[name]
    monkeypatch.undo()
    # the runs did what they were asked (a hook that stopped early reads less)
    assert [c for c in codes if c[2] != 0] == []
    unlisted = {script: _unlisted(read[script], _help(script)) for script in HOOKS}
    assert {script: names for script, names in unlisted.items() if names} == {}, unlisted
    assert {f"GITHEAD_{SHA}", "PRE_COMMIT_REMOTE_BRANCH", "GIT_DIR"} <= read["check-branch-name"]
    pushed = {"DM_RELEASE_PUSHED_REFS", "PRE_COMMIT_REMOTE_BRANCH", "PRE_COMMIT_LOCAL_BRANCH"}
    assert pushed <= read["check-pushed-tags"]
    assert "GIT_DIR" in read["check-table-file"]  # whether ./.git is what git would read
    for script in set(HOOKS) - {"dm-release-pre-push"}:  # what they print is redacted
        assert set(CREDENTIAL_VARIABLES) <= read[script], script


@pytest.mark.parametrize("script", HOOKS)
def test_every_hook_help_ends_with_its_environment_variables(script: str) -> None:
    text = _help(script)
    _, found, section = text.partition("\nenvironment variables:\n")
    assert found, text
    assert "environment variables:" not in section
    assert section.startswith("  ") and section.endswith("\n")


def test_a_variable_family_is_listed_by_its_prefix() -> None:
    assert _unlisted({f"GITHEAD_{SHA}", "GIT_DIR"}, "  GITHEAD_<sha>  GIT_DIR, HOME") == []
    assert _unlisted({f"GITHEAD_{SHA}", "GIT_DIR"}, "  GIT_DIR") == [f"GITHEAD_{SHA}"]
    assert _unlisted({"GIT_DIR"}, "nothing here") == ["GIT_DIR"]


LAZY_PROBE = """
import sys
from dmrelease.hooks._common import HookParser
from dmrelease.hooks.check_pushed_tags import ENVIRONMENT
parser = HookParser(prog="probe", variables=ENVIRONMENT)
parser.add_argument("--flag", action="store_true")
parser.parse_args(["--flag"])
before = "dmrelease.adapters.config" in sys.modules
text = parser.format_help()
print(before, "dmrelease.adapters.config" in sys.modules, "DM_RELEASE_PUSHED_REFS" in text)
"""


def test_the_section_loads_the_config_adapter_only_when_help_is_printed() -> None:
    """A hook's start-up (issue 10) pays nothing for its --help's section."""
    done = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True", "True"], done.stderr
