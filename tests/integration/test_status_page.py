"""``dm-release status RELEASE`` on the demo's real release flow (bare remotes, journals,
servers, versiondb), made once for the module with ``dm-release demo --dir``: the table, the
JSON document, the validation result, graphviz present, missing and failing, and the page
opened in headless Chromium (Debian's package), whose DOM must hold the graph's nodes and
the table's rows. Without chromium the browser test skips, saying so, unless
DM_RELEASE_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from release_helpers import JENKINS_VARIABLES

from dmrelease import cli
from dmrelease.adapters.config import load_config
from dmrelease.adapters.git import Git
from dmrelease.adapters.graphviz import DOT_MISSING
from dmrelease.core.journal import parse_journal
from dmrelease.demo.jira_server import serve_jira

PRODUCT = "demo_distrib"
REQUIRE_BROWSER = "DM_RELEASE_REQUIRE_BROWSER"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's directory after its whole flow (two finals, 29.1.0 and 29.1.1)."""
    root = tmp_path_factory.mktemp("status") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        for name in (*JENKINS_VARIABLES, "DM_RELEASE_CONFIG", "RELEASE_ISSUE"):
            patch.delenv(name, raising=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(["demo", "--dir", str(root), "--quiet"])
        assert code == 0, out.getvalue()
    yield root


def status(demo: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["status", *args, "--config", str(demo / "dm-release.toml")])
    return code, out.getvalue(), err.getvalue()


def plan_of(demo: Path, name: str) -> dict[str, object]:
    path = demo / "work" / "state" / "journal" / PRODUCT / f"{name}.plan.json"
    plan: dict[str, object] = json.loads(path.read_text())["plan"]
    return plan


def packages_of(demo: Path, name: str) -> list[tuple[str, str]]:
    plan = plan_of(demo, name)
    return [(p["name"], p["sha"]) for p in plan["packages"]]  # type: ignore[attr-defined]


def test_the_table_of_the_demo_final(demo: Path) -> None:
    code, out, err = status(demo, "29.1.0")
    assert (code, err) == (0, "")
    packages = packages_of(demo, "final_release-29.1.0")
    assert len(packages) == 14
    state = demo / "work" / "state"
    plan = json.loads((state / "journal" / PRODUCT / "final_release-29.1.0.plan.json").read_text())
    journal = parse_journal((state / "journal" / PRODUCT / "final_release-29.1.0.json").read_text())
    width = max(len(n) for n, _ in packages)
    rows = [f"  {n.ljust(width)}  {sha[:10]}  29.1.0 at plan  pushed" for n, sha in packages]
    header = f"  {'package'.ljust(width)}  planned     tags            step"
    source, binary = demo / "servers" / "source", demo / "servers" / "binary"
    validation = state / "validation" / PRODUCT / "29.1.0.json"
    said = {
        "tagged": "14 packages",
        "pushed": "done",
        "built": "build b3 from 29.1.0",
        "published": f"b3 as v29_1_0, o_latest to {source}",
        "packed": f"b3 as v29_1_0, o_latest for Linux64 to {binary}",
    }
    assert set(said) <= set(journal.stages)
    # in the journal's order; a stage beside the five (the final's Jira step): its words
    stages = [
        f"{name:<13}  {said.get(name) or [e.detail for e in journal.events if e.step == name][-1]}"
        for name in journal.stages
    ]
    count = len(journal.stages)
    # the demo's Jira is the local one of its run: its URL stays in the file, or not
    jira = (
        "no release issue given (--release-issue, jira.release_issue)"
        if load_config(demo / "dm-release.toml").jira_url
        else "not configured (jira.url)"
    )
    assert out == "\n".join([
        f"status of final_release {PRODUCT} 29.1.0: plan {plan['checksum'][:19]}, build b3, "
        "EUPS tag v29_1_0",
        header,
        *rows,
        f"journal        {count} of {count} stages done",
        *stages,
        "tarballs       Linux64",
        "image          none recorded",
        f"validation     absent (no {validation})",
        f"release issue  {jira}",
        "0 problems",
        "",
    ])  # fmt: skip


def test_json_document_and_a_failed_validation_exit_1(demo: Path) -> None:
    validation = demo / "work" / "state" / "validation" / PRODUCT / "29.1.1.json"
    validation.parent.mkdir(parents=True, exist_ok=True)
    body = {"format": "dm-release-validation/1", "release": "29.1.1", "product": PRODUCT,
            "ok": False, "checks": [{"name": "pkginfo-sha1", "ok": False},
                                    {"name": "demo", "ok": True}]}  # fmt: skip
    validation.write_text(json.dumps(body))
    try:
        code, out, err = status(demo, "29.1.1", "--json")
        failed = json.loads(out)
        body["ok"], body["checks"] = True, [{"name": "pkginfo-sha1", "ok": True}]
        validation.write_text(json.dumps(body))
        passed_code, passed_out, _ = status(demo, "29.1.1")
    finally:
        validation.unlink()
    assert code == 1
    assert (failed["verb"], failed["ok"], failed["error"]) == ("status", False, None)
    assert failed["problems"] == [
        f"validation failed (2 checks, failed: pkginfo-sha1; {validation})"
    ]
    assert failed["validation"] == {"state": "failed", "path": str(validation), "checks": 2,
                                    "failed": ["pkginfo-sha1"]}  # fmt: skip
    assert [(p["name"], p["planned_sha"]) for p in failed["packages"]] == packages_of(
        demo, "final_release-29.1.1"
    )
    assert {t["state"] for p in failed["packages"] for t in p["tags"]} == {"at plan"}
    for package in failed["packages"]:  # the SHA each remote's tag names, peeled
        remote = Git(demo / "remotes" / f"{package['name']}.git")
        assert package["tags"][0]["sha"] == remote.rev_parse("29.1.1^{commit}")
    path = demo / "work" / "state" / "journal" / PRODUCT / "final_release-29.1.1.json"
    stages = parse_journal(path.read_text()).stages
    assert [s["name"] for s in failed["stages"] if s["done"]] == list(stages)
    assert {"tagged", "pushed", "built", "published", "packed"} <= set(stages)
    assert (failed["build_id"], failed["tarballs"]) == ("b4", ["Linux64"])
    assert set(failed["graph"]) == {name for name, _ in packages_of(demo, "final_release-29.1.1")}
    assert failed["graph"]["base"] == ["sconsUtils"]
    assert "validation     failed (2 checks, failed: pkginfo-sha1;" in err
    assert passed_code == 0
    assert f"validation     ok (1 check; {validation})\n" in passed_out


def test_a_release_not_made_yet_shows_its_tags_missing(demo: Path) -> None:
    code, out, _ = status(demo, "v29.2.0.rc1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"status of release_candidate {PRODUCT} v29.2.0.rc1: plan none, build -, " \
        "EUPS tag v29_2_0_rc1"  # fmt: skip
    rows = [line for line in lines if line.endswith("v29.2.0.rc1 missing  -")]
    assert len(rows) == 14  # the packages of repos.yaml, without a plan or a manifest
    assert "journal        none" in lines
    assert "0 problems" in lines


class _Dom(HTMLParser):
    """The graph's node names (the <title> of each <g class="node">) and the package table's
    rows (the first cell of each row of #packages' body)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.rows: list[list[str]] = []
        self.loads: list[str] = []
        self._in_node = self._in_title = self._in_packages = self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.loads += [f"{tag} {k}={v}" for k, v in attrs if k in ("src", "href")]
        if tag == "g":
            self._in_node = found.get("class") == "node"
        elif tag == "title" and self._in_node:
            self._in_title = True
        elif tag == "table":
            self._in_packages = found.get("id") == "packages"
        elif tag == "tr" and self._in_packages:
            self.rows.append([])
        elif tag == "td" and self._in_packages:
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "td":
            self._in_cell = False
        elif tag == "table":
            self._in_packages = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.nodes.append(data)
        elif self._in_cell:
            self.rows[-1][-1] += data


def _needed(found: str | None, message: str) -> str:
    """``found`` (a tool's path), else a skip saying ``message``, or a failure with
    DM_RELEASE_REQUIRE_BROWSER=1 (the CI's: the browser test must run there)."""
    if found is None:
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{message}, and {REQUIRE_BROWSER}=1 requires it")
        pytest.skip(message)
    return found


def _dom(page: Path) -> str:
    """The DOM headless Chromium builds of ``page``; skipped when chromium is missing (a
    failure with DM_RELEASE_REQUIRE_BROWSER=1)."""
    browser = _needed(
        shutil.which("chromium") or shutil.which("chromium-browser"),
        "chromium is not installed: the status page is not checked in a browser",
    )
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_page_in_headless_chromium_has_the_graph_and_the_table(
    demo: Path, tmp_path: Path
) -> None:
    _needed(
        shutil.which("dot"), "graphviz's dot is not installed: the page lists the graph, draws none"
    )
    page = tmp_path / "status.html"
    code, out, _ = status(demo, "29.1.1", "--html", str(page))
    assert code == 0
    assert out.endswith(f"0 problems\nstatus page: {page}\n")
    dom = _Dom()
    dom.feed(_dom(page))
    packages = packages_of(demo, "final_release-29.1.1")
    assert sorted(dom.nodes) == sorted(name for name, _ in packages)  # one node a package
    assert [row[0] for row in dom.rows if row] == [name for name, _ in packages]
    assert [row[2:] for row in dom.rows if row] == [["29.1.1 at plan", "pushed"]] * 14
    assert dom.loads == []  # the page loads nothing from elsewhere


def _path_without_dot(tmp_path: Path, dot: str | None = None) -> str:
    """A PATH with git (and ``dot`` a script of that text), not the system's dot."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bin_dir / "git").symlink_to(git)
    if dot is not None:
        (bin_dir / "dot").write_text(dot)
        (bin_dir / "dot").chmod(0o755)
    return str(bin_dir)


def test_without_dot_the_page_says_so_and_lists_the_graph(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _path_without_dot(tmp_path))
    page = tmp_path / "status.html"
    code, _, _ = status(demo, "29.1.1", "--html", str(page))
    text = page.read_text()
    assert code == 0
    assert f"<p>{html.escape(DOT_MISSING)}</p>" in text
    assert "<svg" not in text
    assert text.count('<li class="node">') == 14
    assert '<li class="node">base<ul><li>sconsUtils</li></ul></li>' in text


def test_a_failing_dot_is_exit_2_naming_what_it_said(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _path_without_dot(tmp_path, "#!/bin/sh\necho boom >&2\nexit 3\n"))
    page = tmp_path / "status.html"
    code, _, err = status(demo, "29.1.1", "--html", str(page))
    assert (code, err) == (2, "dm-release: error: dot -Tsvg failed: boom\n")
    assert not page.exists()


TOKEN = "pat-status-0123456789"


def test_the_jira_state_of_the_release_issue_cached(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", TOKEN)
    with serve_jira(TOKEN) as server:
        server.add_issue("DM-48100", "Release 29.1.1", status="In Progress")
        server.add_issue("DM-48102", "Faster <warping>", status="In Progress", blocks=("DM-48100",))
        server.add_issue("DM-48101", "Fix the flux", blocks=("DM-48100",))
        monkeypatch.setenv("DM_RELEASE_JIRA_URL", server.url)
        code, out, err = status(demo, "29.1.1", "--release-issue", "DM-48100")
        asked = len(server.requests)
        again = status(demo, "29.1.1", "--release-issue", "DM-48100")
        cached = len(server.requests)
        page = demo / "jira.html"
        refreshed = status(demo, "29.1.1", "--release-issue", "DM-48100", "--refresh",
                           "--html", str(page))  # fmt: skip
        monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", "pat-wrong-9876543210")
        denied = status(demo, "29.1.1", "--release-issue", "DM-48100", "--refresh")
    assert (code, err) == (0, "")
    assert (
        "release issue  DM-48100 In Progress: Release 29.1.1 (2 blockers, open: DM-48102)\n"
        "  DM-48101     done  Done: Fix the flux\n"
        "  DM-48102     open  In Progress: Faster <warping>\n"
        "0 problems\n"
    ) in out
    assert asked > 0 and cached == asked  # the second run asked Jira nothing
    assert again == (0, out, "")
    assert refreshed[0] == 0 and len(server.requests) > cached
    text = page.read_text()
    page.unlink()
    assert (
        "<tr><td>DM-48102</td><td>open</td><td>In Progress</td><td>Faster &lt;warping&gt;</td></tr>"
    ) in text
    assert denied[0] == 2
    assert denied[2].startswith("dm-release: error: ") and "pat-wrong" not in denied[2]


def test_without_a_release_issue_jira_is_not_asked(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_jira(TOKEN) as server:
        monkeypatch.setenv("DM_RELEASE_JIRA_URL", server.url)
        code, out, _ = status(demo, "29.1.1")
    assert code == 0
    assert "release issue  no release issue given (--release-issue, jira.release_issue)\n" in out
    assert server.requests == []


def test_a_missing_tool_of_the_browser_test_fails_when_the_browser_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = "graphviz's dot is not installed: the page lists the graph, draws none"
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        _needed(None, message)
    assert str(failed.value) == f"{message}, and {REQUIRE_BROWSER}=1 requires it"
    monkeypatch.delenv(REQUIRE_BROWSER)
    with pytest.raises(pytest.skip.Exception) as skipped:
        _needed(None, message)
    assert str(skipped.value) == message
    assert _needed("/usr/bin/dot", message) == "/usr/bin/dot"
