"""``dm-release config show`` on the demo product: every option of the declaration, each
with the right source (the demo's dm-release.toml line, else the default); the file is
found from a subdirectory of the product."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from dmrelease.cli import main
from dmrelease.core.config import PRODUCT_HELP, SECRETS, options
from dmrelease.demo.rebuild import PRODUCT, create_demo_product, write_config


def _lines_of_keys(text: str) -> dict[str, int]:
    """``section.key`` -> its line in ``text``, read the plain way (a test oracle apart
    from the loader's own TOML positions)."""
    found, section = {}, ""
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            section = header.group(1)
        key = re.match(r"^(\w+)\s*=", line)
        if key and section:
            found[f"{section}.{key.group(1)}"] = number
    return found


def test_config_show_on_the_demo_gives_each_value_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for spec in options().values():
        for variable in spec.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DM_RELEASE_CONFIG", *SECRETS.values()):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "demo").mkdir()
    demo = create_demo_product(tmp_path / "demo")
    file = write_config(demo)
    monkeypatch.chdir(demo.clones)  # a directory below the product's
    assert main(["config", "show", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["file"], document["found"]) == (str(file), f"searched from {demo.clones}")
    shown = {value["name"]: value for value in document["values"]}
    lines = _lines_of_keys(file.read_text())
    data = tomllib.loads(file.read_text())  # the scan finds every key the demo sets
    keys = [f"{s}.{k}" for s, t in data.items() if s != "products" for k in t]
    keys += [f"products.{PRODUCT}.{k}" for k in data["products"][PRODUCT]]
    assert sorted(lines) == sorted(keys)
    for name, spec in options().items():
        value = shown.pop(spec.key or name)
        line = lines.get(spec.key or "")
        default = "default"
        if name == "state_dir" and "paths.work_dir" in lines:
            default = "default (<work_dir>/state)"  # derived from the file's work_dir
        assert value["source"] == (f"{file}:{line}" if line else default), spec.key or name
    product = f"products.{PRODUCT}"
    header = file.read_text().splitlines().index(f"[{product}]") + 1
    for key in PRODUCT_HELP:  # each key its own line; one left at its default, the header's
        line = lines.get(f"{product}.{key}", header)
        assert shown.pop(f"{product}.{key}")["source"] == f"{file}:{line}", key
    assert sorted(k for k in PRODUCT_HELP if f"{product}.{k}" in lines) != sorted(PRODUCT_HELP)
    assert shown.pop("binary_token") == {"name": "binary_token", "value": None,
                                         "source": "default"}  # fmt: skip
    for secret in ("registry_password",):  # dm-release docker's
        assert shown.pop(secret) == {"name": secret, "value": None, "source": "default"}
    for secret in ("jenkins_token",):  # dm-release jenkins'
        assert shown.pop(secret) == {"name": secret, "value": None, "source": "default"}
    for secret in ("discourse_api_key",):  # dm-release announce's
        assert shown.pop(secret) == {"name": secret, "value": None, "source": "default"}
    for secret in ("jira_token",):  # dm-release jira's
        assert shown.pop(secret) == {"name": secret, "value": None, "source": "default"}
    assert shown == {}
    names = [value["name"] for value in document["values"]]  # in order of declaration
    assert names[:3] == ["build.no_binary_fetch", "build.docs", "build.jobs"]
