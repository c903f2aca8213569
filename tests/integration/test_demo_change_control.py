"""The demo's change control, against its local Jira (demo/jira_server, the REST v2 shapes):
rc1 records its release issue's blockers, the waiver of the open one and the approval; the
patch its adopted RFC; after each final every Jira issue of the release has the Fix
Version, and a second fix-version run writes nothing; the release notes of each final
list each ticket its backports carry once, in its section; the last candidate's validation
summary and the last final's status page are written."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from release_helpers import JENKINS_VARIABLES

from dmrelease.adapters.config import load_config
from dmrelease.core.requests import FixVersionRequest
from dmrelease.demo.jira import PATCH_ISSUE, RELEASE_ISSUE, TICKETS, demo_jira, environment
from dmrelease.demo.jira_server import LocalJira
from dmrelease.demo.rebuild import PACKAGES, run_demo
from dmrelease.demo.tour import Verbosity
from dmrelease.stages.jira_fix import fix_versions


@dataclass(frozen=True)
class Demo:
    root: Path
    out: str
    jira: LocalJira


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo run whose Jira stays up after it, to be looked at."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch, demo_jira() as jira:
        for name in JENKINS_VARIABLES:
            patch.delenv(name, raising=False)
        out = io.StringIO()
        run_demo(root, out, io.StringIO(), Verbosity.NORMAL, kept=True, jira=jira)
        yield Demo(root, out.getvalue(), jira)


def _plan_record(root: Path, name: str) -> dict[str, object]:
    path = root / "work" / "state" / "journal" / "demo_distrib" / f"{name}.plan.json"
    return json.loads(path.read_text(encoding="utf-8"))["plan"]["change_control"]


def _fix_versions(jira: LocalJira, key: str) -> list[str]:
    return [v["name"] for v in jira.issue_fields(key)["fixVersions"]]


def test_rc1_records_the_blockers_the_waiver_and_the_approval(demo: Demo) -> None:
    assert _plan_record(demo.root, "release_candidate-v29.1.0.rc1") == {
        "release_issue": "DM-40000",
        "blockers": [
            {"key": "DM-40050", "status": "Done"},
            {"key": "DM-40100", "status": "In Progress"},
        ],
        "waivers": [{"key": "DM-40100", "why": "the fix is backported into rc2"}],
        "approved_by": "Demo Product Owner",
        "weekly": "w.2025.24 b2",
        "rfc": None,
        "rfc_status": None,
        "approvals": [],
    }
    start = demo.out.index("  v29.1.0.rc1: build b2, 0 built, 14 reused\n")
    assert demo.out[start:].splitlines()[1:5] == [
        "  release issue DM-40000, blocked by: DM-40050 Done, DM-40100 In Progress",
        "  waived: DM-40100 (the fix is backported into rc2)",
        "  approved by: Demo Product Owner",
        "  source weekly: w.2025.24 b2 (green)",
    ]


def test_each_patch_session_records_its_adopted_rfc(demo: Demo) -> None:
    for name in (
        "patch_release-29.1.1", "release_candidate-v29.1.1.rc1", "final_release-29.1.1"
    ):  # fmt: skip
        record = _plan_record(demo.root, name)
        assert (record["rfc"], record["rfc_status"]) == ("RFC-800", "Adopted"), name


#: the issues of each final: the tickets its commits carry since the previous final (the
#: first build for 29.1.0) and its release issue's blockers
RELEASED = {"29.1.0": ["DM-40050", "DM-40100"], "29.1.1": ["DM-40200"]}


def test_after_each_final_every_issue_of_the_release_has_its_fix_version(demo: Demo) -> None:
    for ticket in TICKETS:
        wanted = [release for release, keys in RELEASED.items() if ticket.key in keys]
        assert _fix_versions(demo.jira, ticket.key) == wanted, ticket.key
    assert demo.jira.versions("DM") == ["29.1.0", "29.1.1"]
    assert demo.jira.versions("RFC") == []
    puts = sorted(p for m, p in demo.jira.writes() if m == "PUT")
    assert puts == [f"/rest/api/2/issue/{k}" for k in ("DM-40050", "DM-40100", "DM-40200")]
    assert [line for line in demo.out.splitlines() if "run again" in line] == [
        "  dm-release jira fix-version 29.1.0, run again: jira: nothing to change: every issue "
        "of 29.1.0 has it",
        "  dm-release jira fix-version 29.1.1, run again: jira: nothing to change: every issue "
        "of 29.1.1 has it",
    ]


def test_a_second_fix_version_run_changes_nothing(demo: Demo) -> None:
    config = load_config(demo.root / "dm-release.toml", environ=environment())
    assert config.jira_url is None  # commented out when the demo's own Jira stopped
    config = dataclasses.replace(config, jira_url=demo.jira.url)
    before = list(demo.jira.writes())
    for release, issue in (("29.1.0", RELEASE_ISSUE), ("29.1.1", PATCH_ISSUE)):
        done = fix_versions(config, FixVersionRequest(release, release_issue=issue), io.StringIO())
        assert (done.created, done.written, list(done.present)) == (
            False, (), RELEASED[release],
        ), release  # fmt: skip
    assert demo.jira.writes() == before


def _sections(text: str) -> dict[str, list[str]]:
    """Each ``## heading`` of a Markdown text with its list items."""
    found: dict[str, list[str]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:]
            found[heading] = []
        elif line.startswith("- ") and heading:
            found[heading].append(line)
    return found


def test_the_notes_of_each_final_list_its_tickets_once_in_their_section(demo: Demo) -> None:
    first = (demo.root / "work" / "notes" / "29.1.0.md").read_text(encoding="utf-8")
    second = (demo.root / "work" / "notes" / "29.1.1.md").read_text(encoding="utf-8")
    assert _sections(first)["Completed epics"] == [
        "- **DM-40050**: Document the changes of every package (afwdata)"
    ]
    assert _sections(first)["Other issues"] == [
        "- **DM-40100**: Fix fix.py in afw and utils (afw, utils)"
    ]
    assert _sections(second)["Other issues"] == [
        "- **DM-40200**: Log at level INFO by default (log)"
    ]
    assert "Completed epics" not in _sections(second)
    assert "Problems" not in _sections(first) and "Problems" not in _sections(second)
    for text, once, never in ((first, "DM-40100", "DM-40200"), (second, "DM-40200", "DM-40100")):
        assert len(re.findall(rf"\b{once}\b", text)) == 1
        assert never not in text
    assert second.splitlines()[:3] == [
        "# demo_distrib 29.1.1 release notes",
        "",
        "demo_distrib 29.1.1 is a release of the dm-release demo product. Its tickets, "
        "package changes and technical details below come from the data: the commits, Jira "
        "and versiondb.",
    ]
    # the tour ends with the last final's notes, printed whole before the summary table
    shown = demo.out[: demo.out.index("\n== Summary")].splitlines()
    notes = [
        line.removeprefix("  | ").removeprefix("  |") for line in shown if line.startswith("  |")
    ]
    assert notes[-len(second.splitlines()) :] == second.splitlines()


def test_the_last_candidate_is_validated_by_the_binary_fetch_without_eups(demo: Demo) -> None:
    folder = demo.root / "work" / "state" / "validation" / "demo_distrib"
    assert sorted(p.name for p in folder.iterdir()) == ["v29.1.1.rc1.json", "v29.1.1.rc1.md"]
    summary = json.loads((folder / "v29.1.1.rc1.json").read_text(encoding="utf-8"))
    assert (summary["format"], summary["release"], summary["ok"]) == (
        "dm-release-validation/1", "v29.1.1.rc1", True,
    )  # fmt: skip
    installs = [
        (i["kind"], i["client"], i["status"], len(i["products"])) for i in summary["installs"]
    ]
    assert installs == [
        ("binary", "dm-release", "ok", len(PACKAGES)),
        ("source", "-", "skipped", 0),
    ]
    assert (summary["demo"]["ok"], summary["demo"]["output"]) == (
        True, [f"demo_distrib {_version(demo.root, 'demo_distrib')}"],
    )  # fmt: skip
    assert "no EUPS source tarball was given (--eups-source), so the real EUPS client is not" in (
        " ".join(line.strip() for line in demo.out.splitlines())
    )


def _version(root: Path, package: str) -> str:
    """``package``'s EUPS version in the last build, b6's product aside (versiondb b4)."""
    text = (root / "versiondb" / "manifests" / "b4.txt").read_text(encoding="utf-8")
    return next(line.split()[2] for line in text.splitlines() if line.startswith(f"{package} "))


def test_the_status_page_of_the_last_final_is_written(demo: Demo) -> None:
    page = (demo.root / "work" / "status" / "29.1.1.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for name in PACKAGES:
        assert f">{name}<" in page, name
    assert page.count("<svg") == (1 if shutil.which("dot") else 0)
    assert "  29.1.1: 14 packages; page: work/status/29.1.1.html" in demo.out.splitlines()


def test_the_announcement_shows_the_release_issues_blockers_before_rc1(demo: Demo) -> None:
    text = (demo.root / "work" / "announce" / "29.1.0.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Upcoming release demo_distrib 29.1.0, from w.2025.24"
    assert lines[lines.index("## Blocking issues") + 2 :][:6] == [
        "2 issues block DM-40000; 1 of them done.",
        "",
        "| Issue | Summary | Status |",
        "| --- | --- | --- |",
        "| DM-40050 | Document the changes of every package | Done |",
        "| DM-40100 | Fix fix.py in afw and utils | In Progress |",
    ]
    shown = demo.out.index("  the announcement of 29.1.0 (work/announce/29.1.0.md;")
    assert demo.out.index("== 4. Weekly") < shown < demo.out.index("== 5. First release")
