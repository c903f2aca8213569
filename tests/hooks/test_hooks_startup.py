"""What a hook loads (issue 10: a hook over one file starts about as fast as
pre-commit-hooks' check-yaml): each hook runs over one file in a fresh interpreter, and the
modules it has no use for are not in ``sys.modules`` afterwards. Facts, not times: a new
top-level import of a heavy module on a hook's path fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: never needed by any hook: the HTTP client, the settings model (the config adapter
#: serves the hooks its secrets without it), JSON
NO_HOOK_NEEDS = ("requests", "urllib3", "dmrelease.core.config", "dmrelease.core.config_layers")

FILES = {
    "ups/afw.table": "setupRequired(base)\nenvPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n",
    "repos.yaml": "afw: https://github.com/lsst/afw.git\nbase: https://github.com/lsst/base.git\n",
    "requirements.txt": "requests==2.31.0\n",
    "environment.yaml": "name: env\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n",
    "pyproject.toml": '[project]\nname = "afw"\nversion = "1.2.3"\n',
    ".git/config": '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://github.com/lsst/afw\n',
    ".git/HEAD": "ref: refs/heads/tickets/DM-1\n",
}

#: hook module, its arguments, and what it must not load besides NO_HOOK_NEEDS
CASES = [
    ("check_table_file", ["ups/afw.table"],
     ("yaml", "semver", "packaging", "tomllib", "json", "subprocess", "dmrelease.adapters.git")),
    ("check_branch_name", ["--branch", "tickets/DM-1"],
     ("yaml", "semver", "packaging", "tomllib", "json", "dmrelease.core.tags")),
    ("check_branch_name", [], ("semver", "packaging", "subprocess", "dmrelease.adapters.git")),
    ("check_repos_yaml", ["repos.yaml"],
     ("semver", "packaging", "tomllib", "json", "typing", "pathlib", "urllib.parse")),
    ("check_requirements", ["requirements.txt"], ("yaml", "semver", "tomllib", "json")),
    ("check_conda_env", ["environment.yaml"], ("semver", "tomllib", "json", "typing")),
    ("check_version_strings", ["pyproject.toml"], ("yaml", "semver", "json")),
    ("check_pushed_tags", [], ("yaml", "semver", "packaging", "tomllib", "json",
                               "dmrelease.core.branches")),
]  # fmt: skip

PROBE = """
import sys
from dmrelease.hooks.{module} import main
code = main({args!r})
print(code, sorted(m for m in {unwanted!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("module", "args", "unwanted"), CASES, ids=[" ".join([c[0], *c[1]]) for c in CASES]
)
def test_a_hook_over_one_file_loads_nothing_it_does_not_use(
    tmp_path: Path, module: str, args: list[str], unwanted: tuple[str, ...]
) -> None:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    probe = PROBE.format(module=module, args=args, unwanted=(*NO_HOOK_NEEDS, *unwanted))
    pushed = "refs/tags/29.1.0 " + "1" * 40 + " refs/tags/29.1.0 " + "0" * 40 + "\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, input=pushed, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    code, loaded = done.stdout.split(" ", 1)
    assert (code, json.loads(loaded.replace("'", '"'))) == ("0", []), done.stderr
