"""``{env}`` and the machine's flavor through the loader: ``config show`` prints the
replaced paths with where each came from, a rerun without build.env exits 2 naming the
file and line, and the default flavor is this machine's."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from dmrelease.cli import main
from dmrelease.core.config import SECRETS, options
from dmrelease.core.config_env import flavor_of


@pytest.fixture(autouse=True)
def _no_configuration_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in options().values():
        for variable in spec.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DM_RELEASE_CONFIG", *SECRETS.values()):
        monkeypatch.delenv(variable, raising=False)


FILE = '[paths]\nstack = "stacks/{env}"\nsource_server = "srv/{env}/eupspkg"\n'


def _values(capsys: pytest.CaptureFixture[str], file: Path) -> dict[str, tuple[object, str]]:
    assert main(["config", "show", "--json", "--config", str(file)]) == 0
    document = json.loads(capsys.readouterr().out)
    return {v["name"]: (v["value"], v["source"]) for v in document["values"]}


def test_show_prints_the_environment_s_paths_and_their_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "dm-release.toml"
    file.write_text(FILE)
    monkeypatch.setenv("SPLENV_REF", "9.0.0")
    values = _values(capsys, file)
    assert values["paths.stack"] == (str(tmp_path / "stacks/9.0.0"), f"{file}:2")
    assert values["paths.source_server"] == (str(tmp_path / "srv/9.0.0/eupspkg"), f"{file}:3")
    assert values["build.env"] == ("9.0.0", "environment SPLENV_REF")
    machine = flavor_of(platform.system(), platform.machine()) or "Linux64"
    assert values["build.flavor"] == (machine, "default")


def test_a_flavor_given_wins_over_the_machine_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "dm-release.toml"
    file.write_text("")
    monkeypatch.setenv("DM_RELEASE_FLAVOR", "Darwin")
    assert _values(capsys, file)["build.flavor"] == ("Darwin", "environment DM_RELEASE_FLAVOR")


def test_env_without_build_env_exits_2_naming_the_key_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "dm-release.toml"
    file.write_text(FILE)
    assert main(["config", "show", "--config", str(file)]) == 2
    captured = capsys.readouterr()
    hint = "(set build.env in the file or one of RUBINENV_VER, SPLENV_REF, DM_RELEASE_ENV)"
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{file}:2: config-env: paths.stack: {{env}} is used but build.env is unset {hint}",
        f"{file}:3: config-env: paths.source_server: {{env}} is used but build.env is unset {hint}",
    ]


def test_an_environment_name_that_would_leave_its_directory_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "dm-release.toml"
    file.write_text(FILE)
    monkeypatch.setenv("RUBINENV_VER", "..")
    assert main(["config", "show", "--config", str(file)]) == 2
    assert capsys.readouterr().err == (
        "<environment>:1: config-env: RUBINENV_VER (build.env): '..' is not an environment "
        "name: letters, digits and ._-+ only (e.g. 9.0.0)\n"
    )
