"""``--json``: one document on stdout for every verb that reports, failures included.

The head is the same everywhere (verb, ok, diagnostics); the release verbs and rebuild are
tested on real repositories in tests/integration/test_json_release.py.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dmrelease import cli
from dmrelease.core.errors import Diagnostic

DATA = Path(__file__).parent / "data"
GRAMMAR = DATA / "tables" / "eups-grammar" / "tablesyntax.table"
MANIFESTS = sorted((DATA / "versiondb").glob("manifests/b*.txt"))
DB = DATA / "versiondb" / "content_sha.db.txt"

#: the verbs that report: each has --json
REPORTING = {
    "tag classify", "tag eups", "tag weekly", "table deps", "manifest verify", "rebuild",
    "publish", "tarball", "docker",
    "release plan", "release validate", "release apply", "release weekly",
    "release candidate", "release final", "release patch", "release backport",
    "release nightly", "doctor",
    "demo", "config show", "jenkins run", "jenkins status",
    "announce", "status", "notes", "jira show", "jira fix-version",
}  # fmt: skip
#: the verbs that report nothing: a shell script, a file written, Markdown
WITHOUT_JSON = {"completion", "config init", "config reference"}


def document(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, Any, str]:
    status = cli.main([*map(str, argv), "--json"])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def leaf_verbs(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, Any]:
    """Every verb of the command line, ``tag classify`` for a group's command."""
    found: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= leaf_verbs(sub, f"{prefix} {name}".strip())
    return found or {prefix: parser}


def test_every_verb_that_reports_has_json() -> None:
    verbs = leaf_verbs(cli.build_parser())
    with_json = {
        name
        for name, parser in verbs.items()
        if any("--json" in a.option_strings for a in parser._actions)
    }
    assert with_json >= REPORTING
    assert set(verbs) - with_json == WITHOUT_JSON


def test_docs_json_md_lists_every_verb_that_takes_json() -> None:
    """Its opening list (``tag classify|eups|weekly`` naming three) is exactly REPORTING,
    its exceptions exactly WITHOUT_JSON, and each verb has a row of data."""
    text = (Path(__file__).parents[1] / "docs" / "json.md").read_text()
    opening = text.split("With it, the verb writes")[0]
    listed, exceptions = opening.split("`--json`:", 1)[1].split("(", 1)
    named = set()
    for words in re.findall(r"`([a-z |-]+)`", listed):  # jira fix-version: a hyphen
        verb, _, commands = words.partition(" ")
        named |= {f"{verb} {c}".strip() for c in commands.split("|")}
    assert named == REPORTING
    assert set(re.findall(r"`([a-z ]+)`", exceptions.split(")")[0])) == WITHOUT_JSON
    rows = re.findall(r"^\| (`[^|]+(?:`, `[^|]+)*`) \|", text, flags=re.MULTILINE)
    assert {verb for row in rows for verb in re.findall(r"`([a-z -]+)`", row)} >= REPORTING - {
        "release weekly",
        "release candidate",
        "release final",
        "release patch",
    }


def test_every_json_flag_is_the_conventions() -> None:
    """Each verb takes --json from commands.machine (one help, one document writer), none
    makes its own: its help says where the human text goes."""
    for name, parser in leaf_verbs(cli.build_parser()).items():
        flags = [a for a in parser._actions if "--json" in a.option_strings]
        if not flags:
            continue
        assert re.fullmatch(
            r"print .+ as one JSON document on stdout; human text goes to stderr",
            flags[0].help or "",
        ), name


def test_tag_classify(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc, err = document(capsys, "tag", "classify", "29.1.0", "v29.1.0.rc2", "16.0")
    assert (status, err) == (0, "")
    assert doc == {
        "verb": "tag classify",
        "ok": True,
        "diagnostics": [],
        "error": None,
        "tags": [
            {"tag": "29.1.0", "kind": "final"},
            {"tag": "v29.1.0.rc2", "kind": "rc"},
            {"tag": "16.0", "kind": "legacy"},
        ],
    }


def test_tag_classify_invalid_names_are_diagnostics_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, doc, err = document(capsys, "tag", "classify", "016.0.0", "b8466", "w.2025.54")
    assert status == 1
    assert doc["ok"] is False
    assert doc["tags"] == [{"tag": "b8466", "kind": "build"}]
    assert [(d["file"], d["line"], d["rule"]) for d in doc["diagnostics"]] == [
        ("<command line>", 1, "name-zero-padding"),
        ("<command line>", 3, "name-week"),
    ]
    assert doc["diagnostics"][0]["message"] == "016.0.0: zero padding in '016' (write 16)"
    assert err.splitlines() == [  # the human text stays on stderr
        "016.0.0: zero padding in '016' (write 16)",
        "w.2025.54: the week must be 01..52 in 2025",
    ]


def test_tag_eups(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc, _ = document(capsys, "tag", "eups", "29.0.0", "w.2025.4", "v16.0.rc1")
    assert status == 1
    assert doc["tags"] == [
        {"tag": "29.0.0", "eups": "v29_0_0"},
        {"tag": "v16.0.rc1", "eups": "v16_0_rc1"},
    ]
    assert [(d["line"], d["message"]) for d in doc["diagnostics"]] == [
        (2, "w.2025.4: the week must have two digits (write w.2025.04)")
    ]


def test_tag_weekly(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc, _ = document(capsys, "tag", "weekly", "--date", "2020-12-31")
    assert status == 0
    assert doc == {
        "verb": "tag weekly",
        "ok": True,
        "diagnostics": [],
        "error": None,
        "date": "2020-12-31",
        "weekly": "w.2021.01",
        "eups": "w_2021_01",
    }


def test_table_deps(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc, err = document(capsys, "table", "deps", GRAMMAR, "--build-type", "build")
    assert (status, err) == (0, "")
    assert (doc["verb"], doc["ok"], doc["diagnostics"]) == ("table deps", True, [])
    assert (doc["file"], doc["product"]) == (str(GRAMMAR), "tablesyntax")
    assert (doc["flavor"], doc["build_type"]) == ("Linux64", "build")
    assert [(d["name"], d["kind"]) for d in doc["dependencies"]] == [
        ("python", "required"),
        ("cfitsio", "optional"),
        ("eigen", "optional"),
        ("doxygen", "required"),
    ]
    assert all(isinstance(d["line"], int) and d["line"] > 0 for d in doc["dependencies"])


def test_table_deps_a_broken_table_is_a_failed_check_with_diagnostics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = tmp_path / "broken.table"
    table.write_text('setupRequired(python)\nsetupRequired("afw\n')
    status, doc, err = document(capsys, "table", "deps", table)
    assert status == 1
    assert doc["ok"] is False and doc["error"] is None
    assert len(doc["diagnostics"]) == len(err.splitlines()) >= 1
    first = doc["diagnostics"][0]
    assert (first["file"], first["line"]) == (str(table), 2)
    assert isinstance(first["column"], int)
    assert err.splitlines()[0].startswith(f"{table}:2:{first['column']}: {first['rule']}: ")


def test_an_unreadable_file_is_exit_2_with_the_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.table"
    status, doc, err = document(capsys, "table", "deps", missing)
    assert status == 2
    assert doc == {
        "verb": "table deps",
        "ok": False,
        "diagnostics": [],
        "error": f"{missing}: no such file",
    }
    assert err == f"dm-release: error: {missing}: no such file\n"


def test_manifest_verify(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc, err = document(capsys, "manifest", "verify", "--content-db", DB, *MANIFESTS)
    assert (status, err) == (0, "verified 51 manifests, 5290 packages, 0 problems\n")
    assert doc == {
        "verb": "manifest verify",
        "ok": True,
        "diagnostics": [],
        "error": None,
        "manifests": 51,
        "packages": 5290,
        "problems": 0,
    }


def test_manifest_verify_problems_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / MANIFESTS[0].name  # b1.txt, the name its BUILD line agrees with
    lines = MANIFESTS[0].read_text().splitlines(keepends=True)
    bad.write_text("".join([*lines[:3], "not a manifest line\n", *lines[3:]]))
    status, doc, err = document(capsys, "manifest", "verify", MANIFESTS[1], bad)
    assert status == 1
    # the human report on stderr, as every verb's under --json: a line per problem, the counts
    assert err.splitlines() == [*(str(d) for d in _diagnostics(doc)), str_counts(doc)]
    assert doc["ok"] is False
    assert (doc["manifests"], doc["problems"]) == (2, 3)
    assert [(d["file"], d["line"], d["rule"]) for d in doc["diagnostics"]] == [
        (str(bad), 4, "manifest-sha"),
        (str(bad), 4, "manifest-dep"),
        (str(bad), 4, "manifest-format"),
    ]
    assert doc["diagnostics"][0]["message"] == "`a` is not a SHA-1 (40 lowercase hex digits)"


def _diagnostics(doc: dict[str, Any]) -> list[Diagnostic]:
    return [
        Diagnostic(d["file"], d["line"], d["rule"], d["message"], d["column"], d["hint"])
        for d in doc["diagnostics"]
    ]


def str_counts(doc: dict[str, Any]) -> str:
    return f"verified {doc['manifests']} manifests, {doc['packages']} packages, 3 problems"


def test_usage_errors_of_the_parser_exit_2_with_nothing_on_stdout() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "tag", "weekly", "--date", "soon", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert "expected a date YYYY-MM-DD" in done.stderr


def test_the_document_is_one_write_through_the_redacting_stdout() -> None:
    """The installed command: stdout is exactly one JSON document and a newline."""
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "tag", "eups", "w.2025.24", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith("}\n") and done.stdout.count("\n}\n") == 1
    assert json.loads(done.stdout)["tags"] == [{"tag": "w.2025.24", "eups": "w_2025_24"}]


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """dm-release ... | head: exit 141 as for SIGPIPE, no traceback (the output here is
    larger than a pipe's buffer, so the write meets the closed pipe)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dmrelease", "tag", "classify", *["29.1.0"] * 20000],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"29.1.0\tfinal\n"
    process.stdout.close()
    assert process.wait() == cli.BROKEN_PIPE
    assert process.stderr.read() == b""


def test_without_json_the_tag_verbs_load_no_json_module() -> None:
    """The convention costs the verbs that do not use it nothing at start-up."""
    probe = (
        "import sys, io, contextlib; from dmrelease import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = cli.main(['tag', 'eups', 'w.2025.24'])\n"
        "print(code, out.getvalue().strip(), 'json' in sys.modules, 'pathlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "0 w_2025_24 False False\n"


def test_every_document_has_the_four_keys_of_the_head(capsys: pytest.CaptureFixture[str]) -> None:
    """verb, ok, diagnostics and error, whether the verb passed, found a problem or failed."""
    for argv in (("tag", "classify", "29.1.0"), ("tag", "classify", "016.0.0"),
                 ("table", "deps", "/nonexistent.table")):  # fmt: skip
        _, doc, _ = document(capsys, *argv)
        assert list(doc)[:4] == ["verb", "ok", "diagnostics", "error"], argv


def test_publish_without_a_build_is_exit_2_with_the_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Checked before any fetch: versiondb holds no build yet (real runs are in
    tests/integration/test_publish.py)."""
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n')
    server = tmp_path / "server"
    status, doc, err = document(
        capsys, "publish", "--config", config, "--tag", "w_2025_24", "--server-dir", server
    )
    message = f"{tmp_path / 'versiondb'}: versiondb has no build yet; run dm-release rebuild first"
    assert (status, err) == (2, f"dm-release: error: {message}\n")
    assert doc == {"verb": "publish", "ok": False, "diagnostics": [], "error": message}
    assert not server.exists()


def test_tarball_without_a_build_is_exit_2_with_the_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Checked before any fetch: versiondb holds no build yet (a real run is in
    tests/integration/test_tarball.py)."""
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n')
    server = tmp_path / "server"
    status, doc, err = document(
        capsys, "tarball", "--config", config, "--tag", "w_2025_24", "--server-dir", server
    )
    message = f"{tmp_path / 'versiondb'}: versiondb has no build yet; run dm-release rebuild first"
    assert (status, err) == (2, f"dm-release: error: {message}\n")
    assert doc == {"verb": "tarball", "ok": False, "diagnostics": [], "error": message}
    assert not server.exists()


def test_docker_without_a_base_image_is_exit_2_with_the_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Checked before a builder or the registry is asked (a real run is in
    tests/integration/test_docker.py)."""
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n')
    status, doc, err = document(
        capsys, "docker", "--config", config, "--tag", "w_2025_24", "--no-push", "--dry-run"
    )
    message = "no base image: set docker.base_image (DM_RELEASE_DOCKER_BASE_IMAGE)"
    assert (status, err) == (2, f"dm-release: error: {message}\n")
    assert doc == {"verb": "docker", "ok": False, "diagnostics": [], "error": message}


def test_announce_dry_run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                          tmp_path: Path) -> None:  # fmt: skip
    """A dry run without a forum: the post in the document, nothing it would send."""
    for name in ("DM_RELEASE_CONFIG", "DM_RELEASE_DISCOURSE_URL", "DM_RELEASE_JIRA_URL",
                 "DM_RELEASE_DISCOURSE_CATEGORY", "DM_RELEASE_ANNOUNCE_FEEDBACK",
                 "RELEASE_ISSUE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    status, doc, err = document(capsys, "announce", "29.1.0", "--weekly", "w.2025.24",
                                "--start", "2025-06-16")  # fmt: skip
    assert (status, doc["verb"], doc["ok"], doc["dry_run"], doc["would"], doc["topic"]) == (
        0, "announce", True, True, None, None)  # fmt: skip
    assert doc["announcement"]["title"] == "Upcoming release 29.1.0, from w.2025.24"
    assert doc["announcement"]["blockers"] is None and doc["output"] is None
    assert doc["markdown"].splitlines()[:3] == [
        "# Upcoming release 29.1.0, from w.2025.24", "",
        "We plan to make the release 29.1.0 from the weekly w.2025.24."]  # fmt: skip
    human = [line for line in err.splitlines(True) if not line.startswith("note: ")]
    assert "".join(human) == doc["markdown"] + (  # the post and the dry run's line: on stderr
        "dry run: not posted; set discourse.url and discourse.category to see what --post "
        "would send\n")  # fmt: skip


def test_status_of_a_release_whose_remotes_cannot_be_listed_is_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No journal, no plan, no manifest: the tags repos.yaml's packages would get, each
    remote named in the problems (the release tests run it on real remotes)."""
    for name in ("DM_RELEASE_CONFIG", "DM_RELEASE_JIRA_URL", "RELEASE_ISSUE",
                 "DM_RELEASE_STATE_DIR", "DM_RELEASE_OUTPUT_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing"
    (tmp_path / "repos.yaml").write_text(f"afw: file://{missing}/afw.git\n")
    (tmp_path / "dm-release.toml").write_text(
        '[products.meta]\nrepos = "repos.yaml"\n\n[paths]\nstate_dir = "state"\n'
    )
    status, doc, err = document(capsys, "status", "29.1.0")
    why = f"fatal: '{missing}/afw.git' does not appear to be a git repository"
    assert (status, doc["verb"], doc["ok"], doc["error"]) == (1, "status", False, None)
    assert (doc["session"], doc["eups_tag"], doc["journal"], doc["graph"]) == (
        "final_release", "v29_1_0", False, {})  # fmt: skip
    assert doc["packages"] == [
        {"name": "afw", "planned_sha": None, "step": None, "error": None, "remote_error": why,
         "tags": [{"tag": "29.1.0", "sha": None, "state": "unreachable"}]}
    ]  # fmt: skip
    assert [(s["name"], s["done"]) for s in doc["stages"]] == [
        ("tagged", False), ("pushed", False), ("built", False)]  # fmt: skip
    assert doc["validation"]["state"] == "absent"
    assert doc["jira"]["note"] == "not configured (jira.url)"
    assert doc["problems"] == [f"afw: remote not listed: {why}"]
    assert err.endswith(f"1 problem\n  afw: remote not listed: {why}\n")


def test_notes_usage_errors_are_exit_2_with_the_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A range that names no release, a manifest that cannot be read: before any fetch
    (real runs are in tests/integration/test_notes_releases.py)."""
    status, doc, err = document(capsys, "notes", "29.0.0...")
    message = (
        "'29.0.0...' is not a range of releases: give UNTIL or SINCE..UNTIL, each a release "
        "(29.0.0, v29.1.0.rc2), a weekly (w.2025.24) or a build id (b1234)"
    )
    assert (status, err) == (2, f"dm-release: error: {message}\n")
    assert doc == {"verb": "notes", "ok": False, "diagnostics": [], "error": message}
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n')
    old = tmp_path / "b1.txt"
    status, doc, err = document(
        capsys, "notes", "--config", config, "--manifests", old, tmp_path / "b2.txt"
    )
    message = f"{old}: cannot read the manifest: No such file or directory"
    assert (status, err) == (2, f"dm-release: error: {message}\n")
    assert doc == {"verb": "notes", "ok": False, "diagnostics": [], "error": message}
    assert not (tmp_path / "work").exists()


def test_jira_show_and_its_failures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The issues as data; an issue Jira does not know is exit 1 naming it; without
    jira.url exit 2 (a run on a real release is in tests/integration/test_jira_fix.py)."""
    from dmrelease.demo.jira_server import serve_jira

    monkeypatch.delenv("DM_RELEASE_JIRA_URL", raising=False)
    config = tmp_path / "dm-release.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    status, doc, err = document(capsys, "jira", "show", "DM-1", "--config", config)
    message = "no Jira to ask: set jira.url in dm-release.toml, or DM_RELEASE_JIRA_URL"
    assert (status, err) == (2, f"dm-release: error: {message}\n")
    assert doc == {"verb": "jira show", "ok": False, "diagnostics": [], "error": message}
    with serve_jira("pat-cli-json-0123456789") as jira:
        jira.add_issue("DM-40000", "Release 29.1.0", "Task", "In Progress")
        jira.add_issue("DM-40011", "The afw package", "Epic", blocks=["DM-40000"])
        monkeypatch.setenv("DM_RELEASE_JIRA_URL", jira.url)
        monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", "pat-cli-json-0123456789")
        status, doc, err = document(capsys, "jira", "show", "DM-40000", "DM-7", "--blockers",
                                    "--config", config)  # fmt: skip
    assert (status, err) == (1, (
        "DM-40000 [In Progress: open] Task: Release 29.1.0\n"
        "  fix versions: (none)\n"
        "  blocked by:   DM-40011\n"
        "  blocker:      DM-40011 [Done: done] Epic: The afw package\n"
        "DM-7: Jira does not know this issue\n"
    ))  # fmt: skip
    epic = {"key": "DM-40011", "summary": "The afw package", "type": "Epic", "status": "Done",
            "done": True, "epic": True, "fix_versions": [], "blocked_by": [],
            "resolution": "Done"}  # fmt: skip
    assert doc == {
        "verb": "jira show", "ok": False, "diagnostics": [], "error": None,
        "issues": [{"key": "DM-40000", "summary": "Release 29.1.0", "type": "Task",
                    "status": "In Progress", "done": False, "epic": False, "fix_versions": [],
                    "blocked_by": ["DM-40011"], "resolution": None}],
        "missing": ["DM-7"], "blockers": {"DM-40000": [epic]},
    }  # fmt: skip
