"""A final's Fix Version in Jira: ``dm-release jira fix-version`` and the final session's
``jira`` step, on releases made by the real release sessions (weekly, candidate, final;
builds recorded in versiondb) of a product whose commits carry tickets, against the local
Jira (demo/jira_server). The issues of 29.1.0 are the tickets of its commits since 29.0.0
and the issues blocking its release issue; the version is made once, each issue written
once, and a second run writes nothing and says so."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from release_helpers import Setup, journal_json, make_setup, merge_ticket, ok

from dmrelease import cli
from dmrelease.demo.jira_server import LocalJira, serve_jira

TOKEN = "pat-fix-version-0123456789"
ISSUE = "/rest/api/2/issue/"
VARIABLES = ("GIT_REFS", "REFS", "GIT_TAG", "RELEASE_GIT_TAG", "PRODUCTS", "EUPS_TAG",
             "SOURCE_GIT_REFS", "DM_RELEASE_JIRA_URL", "DM_RELEASE_JIRA_TOKEN",
             "RELEASE_ISSUE")  # fmt: skip


@dataclass
class Released:
    setup: Setup
    jira: LocalJira
    final_out: str


def _seed(jira: LocalJira) -> None:
    jira.add_issue("DM-40000", "Release 29.1.0", "Task", "In Progress")
    jira.add_issue("DM-40011", "The afw Python package", "Epic", blocks=["DM-40000"])
    jira.add_issue("DM-40017", "Make utils faster", blocks=["DM-40000"])
    jira.add_issue("DM-40020", "Document the warper", fix_versions=["29.0.1"])
    jira.add_issue("DM-40030", "Release tooling", blocks=["DM-40000"])  # no commit carries it
    # open, no commit carries it: waived at rc1 or moved on, not in the release
    jira.add_issue("DM-40040", "Moved to 29.2", status="In Progress", blocks=["DM-40000"])
    jira.add_issue("SP-7", "A sprint task", blocks=["DM-40000"])  # of another project


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Released]:
    saved = {k: os.environ.pop(k) for k in VARIABLES if k in os.environ}
    root = tmp_path_factory.mktemp("jira-fix")
    try:
        with serve_jira(TOKEN) as jira:
            _seed(jira)
            setup = make_setup(root)
            ok(setup, "weekly", "w.2025.24")
            ok(setup, "candidate", "v29.0.0.rc1", "--refs", "w.2025.24")
            ok(setup, "final", "29.0.0")
            merge_ticket(setup, "afw", "DM-40011", "warp.txt", "warp\n")
            merge_ticket(setup, "utils", "DM-40017", "fast.txt", "fast\n")
            merge_ticket(setup, "afw", "DM-40020", "doc.txt", "doc\n")
            merge_ticket(setup, "utils", "DM-49999", "typo.txt", "typo\n")  # Jira lacks it
            ok(setup, "weekly", "w.2025.30")
            ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.30")
            with setup.config.open("a") as config:
                config.write(f'\n[jira]\nurl = "{jira.url}"\nrelease_issue = "DM-40000"\n')
            os.environ["DM_RELEASE_JIRA_TOKEN"] = TOKEN
            final_out = ok(setup, "final", "29.1.0")
            yield Released(setup, jira, final_out)
    finally:
        os.environ.pop("DM_RELEASE_JIRA_TOKEN", None)
        os.environ.update(saved)


def fix_version(setup: Setup, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["jira", "fix-version", "--config", str(setup.config), *args])
    return code, out.getvalue(), err.getvalue()


def fix_versions_of(jira: LocalJira, key: str) -> list[str]:
    return [v["name"] for v in jira.issue_fields(key)["fixVersions"]]


FIRST_RUN = [
    "jira: create the version DM 29.1.0",
    "jira: added the Fix Version 29.1.0 to 4 issues: DM-40011, DM-40017, DM-40020, DM-40030",
    "jira: not in Jira, skipped: DM-49999",
    "jira: not of project DM, skipped: SP-7",
    "jira: blockers not done that no commit carries, skipped: DM-40040",
]
SECOND_RUN = [
    "jira: the version DM 29.1.0 exists",
    "jira: 4 already had it: DM-40011, DM-40017, DM-40020, DM-40030",
    "jira: not in Jira, skipped: DM-49999",
    "jira: not of project DM, skipped: SP-7",
    "jira: blockers not done that no commit carries, skipped: DM-40040",
    "jira: nothing to change: every issue of 29.1.0 has it",
]


def test_the_final_sets_its_fix_version_on_every_issue_of_the_release(released: Released) -> None:
    jira = released.jira
    for key in ("DM-40011", "DM-40017", "DM-40030"):
        assert fix_versions_of(jira, key) == ["29.1.0"], key
    assert fix_versions_of(jira, "DM-40020") == ["29.0.1", "29.1.0"]
    assert fix_versions_of(jira, "DM-40000") == []  # the release issue is not of its commits
    assert fix_versions_of(jira, "SP-7") == []
    assert jira.versions("DM") == ["29.0.1", "29.1.0"]
    assert sorted(jira.writes()) == [
        ("POST", "/rest/api/2/version"),
        ("PUT", ISSUE + "DM-40011"), ("PUT", ISSUE + "DM-40017"), ("PUT", ISSUE + "DM-40020"),
        ("PUT", ISSUE + "DM-40030"),
    ]  # fmt: skip
    lines = released.final_out.splitlines()
    assert [line for line in lines if line.startswith("jira: ")] == FIRST_RUN
    journal = released.setup.journal("final_release", "29.1.0")
    events = [list(e)[2:] for e in journal_json(journal)["events"]]
    assert [e for e in events if e[0] in ("step jira", "jira")] == [
        ["step jira", "started"],
        ["jira", "Fix Version 29.1.0: 4 written, 0 had it"],
        ["step jira", "finished"],
    ]


def test_fix_version_after_the_final_writes_nothing_and_says_so(released: Released) -> None:
    jira, before = released.jira, list(released.jira.writes())
    code, out, _ = fix_version(released.setup, "29.1.0")
    assert (code, out.splitlines()) == (0, SECOND_RUN)
    assert jira.writes() == before
    code, out, _ = fix_version(released.setup, "29.1.0", "--json")
    document = json.loads(out)
    assert (code, document["ok"], document["verb"]) == (0, True, "jira fix-version")
    assert {k: document[k] for k in ("version", "project", "created", "written", "present",
                                     "unknown", "elsewhere", "unfinished", "changed",
                                     "dry_run")} == {
        "version": "29.1.0", "project": "DM", "created": False, "written": [],
        "present": ["DM-40011", "DM-40017", "DM-40020", "DM-40030"],
        "unknown": ["DM-49999"], "elsewhere": ["SP-7"], "unfinished": ["DM-40040"],
        "changed": False, "dry_run": False,
    }  # fmt: skip
    assert jira.writes() == before


def test_a_rerun_of_the_final_asks_jira_nothing(released: Released) -> None:
    jira = released.jira
    before = len(jira.requests)
    out = ok(released.setup, "final", "29.1.0")
    assert "jira: 29.1.0: Fix Versions already set (journal)" in out.splitlines()
    assert len(jira.requests) == before


def test_a_dry_run_of_another_final_names_what_it_would_write(released: Released) -> None:
    jira = released.jira
    jira.add_issue("DM-40040", "Late fix")
    before = list(jira.writes())
    code, out, err = fix_version(released.setup, "29.0.0", "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0] == "jira: would create the version DM 29.0.0"
    assert jira.writes() == before and jira.versions("DM") == ["29.0.1", "29.1.0"]


def test_fix_version_refuses_what_is_not_a_final(released: Released) -> None:
    code, out, err = fix_version(released.setup, "v29.1.0.rc1")
    assert (code, out) == (2, "")
    assert err.endswith(
        "'v29.1.0.rc1' is not a final release (M.n.p, as 29.1.0): a Fix Version is set after "
        "a final\n"
    )


def test_without_jira_url_fix_version_says_what_to_set(tmp_path: Path) -> None:
    config = tmp_path / "dm-release.toml"
    config.write_text('[paths]\nwork_dir = "work"\n')
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["jira", "fix-version", "--config", str(config), "29.1.0"])
    assert (code, out.getvalue()) == (2, "")
    assert err.getvalue().endswith(
        "no Jira to ask: set jira.url in dm-release.toml, or DM_RELEASE_JIRA_URL\n"
    )


@pytest.mark.parametrize("project", ["../../x", "DM/x", "dm", "DM 1"])
def test_a_project_that_is_not_a_project_key_is_exit_2_and_asks_jira_nothing(
    released: Released, monkeypatch: pytest.MonkeyPatch, project: str
) -> None:
    jira = released.jira
    before = len(jira.requests)
    monkeypatch.setenv("DM_RELEASE_JIRA_PROJECT", project)
    code, out, err = fix_version(released.setup, "29.1.0", "--dry-run")
    assert (code, out) == (2, "")
    assert err == f"dm-release: error: jira.project {project!r} is not a Jira project key (as DM)\n"
    assert len(jira.requests) == before
