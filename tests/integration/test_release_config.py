"""The release verbs take their settings from the configuration: the tag and refs of the
Jenkins parameters (``RELEASE_GIT_TAG``, ``SOURCE_GIT_REFS``), ``paths.state_dir`` and a
product's ``external_repos``."""

from __future__ import annotations

import json

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    journal_json,
    ok,
    run,
    tags,
)

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


def test_validate_reads_the_tag_and_refs_jenkins_passes(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_GIT_TAG", "v29.1.0.rc1")
    monkeypatch.setenv("SOURCE_GIT_REFS", "w.2025.24")
    code, out, err = run(weekly, "validate", "--session", "release_candidate")
    assert code == 0, err
    assert "plan: release_candidate meta v29.1.0.rc1" in out and "source refs: w.2025.24" in out


@pytest.mark.parametrize(
    ("environ", "args"),
    [({}, ()), ({"RELEASE_GIT_TAG": "", "GIT_TAG": ""}, ("",))],  # empty Jenkins parameters
)
def test_a_session_without_a_tag_is_a_usage_error_naming_the_variables(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], args: tuple[str, ...]
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    code, _out, err = run(weekly, "candidate", *args, "--refs", "w.2025.24")
    assert code == 2 and "set RELEASE_GIT_TAG or GIT_TAG" in err


def test_the_tag_argument_wins_over_the_environment(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_GIT_TAG", "v29.1.0.rc2")
    code, out, err = run(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 0, err
    assert "plan: release_candidate meta v29.1.0.rc1" in out


def test_a_candidate_from_the_environment_journals_in_the_state_dir(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = weekly.root / "elsewhere"
    monkeypatch.setenv("RELEASE_GIT_TAG", "v29.1.0.rc1")
    monkeypatch.setenv("SOURCE_GIT_REFS", "w.2025.24")
    monkeypatch.setenv("DM_RELEASE_STATE_DIR", str(state))
    ok(weekly, "candidate", "--no-build")
    for name in PACKAGES:
        assert tags(weekly.remote(name))["v29.1.0.rc1"] == tags(weekly.remote(name))["w.2025.24"]
    journal = state / "journal" / "meta" / "release_candidate-v29.1.0.rc1.json"
    assert journal_json(journal)["stages"] == ["tagged", "pushed"]
    assert not weekly.journal("release_candidate", "v29.1.0.rc1").exists()


def test_a_final_also_tags_v_on_the_external_repos_of_the_product(weekly: Setup) -> None:
    ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    text = weekly.config.read_text()
    weekly.config.write_text(text.replace("\n\n[build]", '\nexternal_repos = ["base"]\n\n[build]'))
    _code, out, _err = run(weekly, "plan", "29.1.0", "--json")
    created = {p["name"]: p["tags"] for p in json.loads(out)["plan"]["packages"]}
    assert created == {name: ["29.1.0"] for name in PACKAGES} | {"base": ["29.1.0", "v29.1.0"]}
