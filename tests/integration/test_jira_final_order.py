"""A final's ``jira`` step (its Fix Versions) comes after its build and publish: Jira says
"fixed in" only for a final built and published, and a Jira outage cannot stop a final
before it is published; the rerun once Jira answers sets the Fix Versions and publishes
nothing again. Real release sessions publishing to local server directories, against the
local Jira (demo/jira_server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_helpers import journal_json, merge_ticket, ok, run
from release_publish_helpers import publishing, source

from dmrelease.demo.jira_server import serve_jira

TOKEN = "pat-final-order-0123456789"
VARIABLES = ("GIT_REFS", "REFS", "GIT_TAG", "RELEASE_GIT_TAG", "PRODUCTS", "EUPS_TAG",
             "SOURCE_GIT_REFS", "DM_RELEASE_JIRA_URL", "DM_RELEASE_JIRA_TOKEN",
             "DM_RELEASE_JIRA_RETRIES", "RELEASE_ISSUE")  # fmt: skip


@pytest.fixture
def clean_environment() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in VARIABLES if k in os.environ}
    try:
        yield
    finally:
        os.environ.pop("DM_RELEASE_JIRA_TOKEN", None)
        os.environ.update(saved)


def _steps(journal: Path) -> list[list[str]]:
    events = [list(e)[2:] for e in journal_json(journal)["events"]]
    return [e for e in events if e[0].startswith("step ")]


def test_a_jira_outage_stops_the_final_only_after_it_is_published(
    tmp_path: Path, clean_environment: None
) -> None:
    with serve_jira(TOKEN) as jira:
        jira.add_issue("DM-41000", "Release 29.1.0", "Task", "In Progress")
        setup = publishing(tmp_path)
        ok(setup, "weekly", "w.2025.24")
        merge_ticket(setup, "utils", "DM-41017", "fast.txt", "fast\n")
        jira.add_issue("DM-41017", "Make utils faster")
        ok(setup, "weekly", "w.2025.30")
        ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.30")
        with setup.config.open("a") as config:
            config.write(f'\n[jira]\nurl = "{jira.url}"\nretries = 0\n')
        os.environ["DM_RELEASE_JIRA_TOKEN"] = TOKEN
        jira.fail_next("/rest/api/2/", 503, times=1000)  # Jira down for the whole final
        code, out, err = run(setup, "final", "29.1.0")
        assert code == 2, out + err
        journal = setup.journal("final_release", "29.1.0")
        steps = _steps(journal)
        assert [s for s in steps if s[0] in ("step build", "step publish", "step jira")] == [
            ["step build", "started"],
            ["step build", "finished"],
            ["step publish", "started"],
            ["step publish", "finished"],
            ["step jira", "started"],
            ["step jira", "failed"],
        ]
        assert (source(setup) / "tags" / "v29_1_0.list").is_file()  # published
        assert jira.writes() == []  # no Fix Version for it yet
        jira._faults.clear()  # Jira answers again
        out = ok(setup, "final", "29.1.0")
        assert "publish: 29.1.0: already published (journal)" in out.splitlines()
        assert [v["name"] for v in jira.issue_fields("DM-41017")["fixVersions"]] == ["29.1.0"]
        assert _steps(journal)[-6:] == [
            ["step build", "started"],
            ["step build", "finished"],
            ["step publish", "started"],
            ["step publish", "finished"],
            ["step jira", "started"],
            ["step jira", "finished"],
        ]
