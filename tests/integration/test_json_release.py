"""``--json`` of rebuild and every release verb, on real repositories: one document on
stdout (the head verb/ok/diagnostics, then the verb's data), human text on stderr, and a
failure a document too (exit 1 with the diagnostics)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    all_repos,
    clean_environment,
    make_setup,
    merge_ticket,
    run,
    snapshot,
    tags,
)

from dmrelease import cli
from dmrelease.core.plan import parse_plan
from dmrelease.stages.release import WouldRun

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

RC1 = ("v29.1.0.rc1", "--refs", "w.2025.24")


def doc(setup: Setup, *args: str, code: int = 0) -> tuple[Any, str]:
    """``dm-release release ARGS --json``: its document, and its stderr."""
    status, out, err = run(setup, *args, "--json")
    assert status == code, err
    return json.loads(out), err


def head(document: Any) -> tuple[str, bool, list[Any]]:
    return document["verb"], document["ok"], document["diagnostics"]


def test_every_release_verb_reports_in_json(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)

    weekly, err = doc(setup, "weekly", "w.2025.24")
    assert head(weekly) == ("release weekly", True, [])
    assert weekly["dry_run"] is False
    journal = weekly["journal"]
    assert journal["operation"] == "weekly meta w.2025.24"
    assert journal["complete"] is True
    assert journal["packages"] == dict.fromkeys(PACKAGES, "pushed")
    assert journal["counts"]["pushed"] == 4 and journal["counts"]["failed"] == 0
    assert journal["errors"] == {}
    assert f"weekly meta w.2025.24: {journal['counts']['pushed']} pushed" in err

    plan_file = tmp_path / "rc1.plan.json"
    planned, _ = doc(setup, "plan", *RC1, "--output", str(plan_file))
    assert head(planned) == ("release plan", True, [])
    written = parse_plan(plan_file.read_text())
    assert planned["format"] == "dm-release-plan/1"
    assert planned["checksum"] == written.checksum
    assert planned["plan"] == written.to_dict()
    weekly_tags = {name: tags(setup.remote(name))["w.2025.24"] for name in PACKAGES}
    assert {p["name"]: p["sha"] for p in planned["plan"]["packages"]} == weekly_tags
    assert {p["name"]: p["tags"] for p in planned["plan"]["packages"]} == {
        name: ["v29.1.0.rc1"] for name in PACKAGES
    }

    validated, err = doc(setup, "validate", *RC1)
    assert head(validated) == ("release validate", True, [])
    assert validated["checksum"] == written.checksum
    assert "every rule holds" in err

    dry, err = doc(setup, "apply", str(plan_file), "--dry-run")
    assert head(dry) == ("release apply", True, [])
    assert (dry["dry_run"], dry["journal"]) == (True, None)
    assert "git" in err  # the commands it would run: on stderr, and in the document
    assert shown(err) == as_text(dry["would"])
    text = message(planned["plan"], written.checksum, "v29.1.0.rc1", "v29_1_0_rc1")
    assert by_package(dry["would"]) == {
        name: [
            ["git", "tag", "--annotate", "-m", text, "v29.1.0.rc1", weekly_tags[name]],
            ["git", "push", "--atomic", "origin", "refs/tags/v29.1.0.rc1:refs/tags/v29.1.0.rc1"],
        ]
        for name in PACKAGES
    }
    assert all("v29.1.0.rc1" not in tags(setup.remote(name)) for name in PACKAGES)

    applied, _ = doc(setup, "apply", str(plan_file))
    assert head(applied) == ("release apply", True, [])
    assert (applied["dry_run"], applied["would"]) == (False, None)  # done, not "would"
    assert applied["journal"]["operation"] == "release_candidate meta v29.1.0.rc1"
    assert applied["journal"]["plan_checksum"] == written.checksum
    assert applied["journal"]["packages"] == dict.fromkeys(PACKAGES, "pushed")
    assert {name: tags(setup.remote(name))["v29.1.0.rc1"] for name in PACKAGES} == weekly_tags

    sha = weekly_tags["afw"]
    setup.remote("afw").run("tag", "-d", "v29.1.0.rc1")  # lost on the server
    failed, err = doc(setup, "validate", *RC1, code=1)
    assert head(failed)[:2] == ("release validate", False)
    assert failed["error"] is None
    missing = [d for d in failed["diagnostics"] if d["rule"] == "tag-missing"]
    assert missing == [
        {
            "file": "afw",
            "line": 1,
            "column": None,
            "rule": "tag-missing",
            "message": f"the remote {setup.product.url('afw')} has no tag v29.1.0.rc1 of "
            "release_candidate meta v29.1.0.rc1",
            "hint": f"rerun the session to push it at {sha[:12]}; tags are never moved",
        }
    ]
    rendered = [line for line in err.splitlines() if line.startswith("afw:1: ")]
    assert len(rendered) == len(failed["diagnostics"])  # each also for people, on stderr

    candidate, _ = doc(setup, "candidate", *RC1, "--no-build")  # the rerun pushes it again
    assert head(candidate) == ("release candidate", True, [])
    assert candidate["journal"]["complete"] is True
    assert tags(setup.remote("afw"))["v29.1.0.rc1"] == sha

    for package in ("afw", "utils"):
        merge_ticket(setup, package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    ported, _ = doc(setup, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "utils")
    assert head(ported) == ("release backport", True, [])
    assert (ported["ticket"], ported["to"], ported["dry_run"]) == ("DM-40100", "v29.1.x", False)
    assert ported["would"] is None
    assert ported["packages"] == [
        {"package": name, "status": "backported onto v29.1.x as tickets/DM-40100-v29", "commits": 1}
        for name in ("afw", "utils")
    ]

    final, _ = doc(setup, "final", "29.1.0", "--refs", "v29.1.0.rc1", "--no-build")
    assert head(final) == ("release final", True, [])
    assert final["journal"]["operation"] == "final_release meta 29.1.0"
    assert final["journal"]["packages"] == dict.fromkeys(PACKAGES, "pushed")
    assert {name: tags(setup.remote(name))["29.1.0"] for name in PACKAGES} == weekly_tags

    patch, err = doc(setup, "patch", "29.1.1", "--packages", "afw", "base")
    assert head(patch) == ("release patch", True, [])
    assert "afw: v29.1.x exists already" in err  # the human text, on stderr
    assert patch["journal"]["complete"] is True
    assert patch["journal"]["packages"] == {"base": "pushed"}
    assert setup.remote("base").rev_parse("v29.1.x") == weekly_tags["base"]


def test_rebuild_json_has_the_head_and_a_failure_is_a_document(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["rebuild", "--config", str(setup.config), "--json"])
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert head(result) == ("rebuild", True, [])
    assert result["prepare"]["build_id"] == "b1"
    assert sorted(p["package"] for p in result["prepare"]["packages"]) == PACKAGES
    assert result["build"]["counts"]["built"] == len(PACKAGES)

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["rebuild", "--config", str(tmp_path / "none.toml"), "--json"])
    assert code == 2
    failure = json.loads(out.getvalue())
    assert head(failure) == ("rebuild", False, [])
    assert failure["error"] == err.getvalue().removeprefix("dm-release: error: ").rstrip("\n")


#: a line of a dry run's git command on stderr: ``<package>: git <args>`` (a tag's message
#: runs over several lines, inside its quotes)
_SHOWN = re.compile(r"^[A-Za-z0-9_]+: git ", re.MULTILINE)


def as_text(would: list[dict[str, Any]]) -> list[str]:
    """The document's ``would`` as the text prints it, one string a command."""
    assert all(entry["command"][0] == "git" for entry in would)
    return [f"{e['package']}: git {shlex.join(e['command'][1:])}" for e in would]


def shown(err: str) -> list[str]:
    """The dry-run commands of stderr, in their order (each to the next command's line,
    or to the first line that does not continue a quoted message)."""
    commands = []
    for line in _SHOWN.finditer(err):
        rest = err[line.start() :]
        end = 0
        for piece in rest.split("\n"):
            end += len(piece) + 1
            try:
                shlex.split(rest[: end - 1])
            except ValueError:  # inside a quoted message: the command goes on
                continue
            break
        commands.append(rest[: end - 1])
    return commands


def message(plan: dict[str, Any], checksum: str, tag: str, eups: str) -> str:
    return (
        f"meta {tag}\n\nversion: {tag}\neups-tag: {eups}\nsession: {plan['session']}\n"
        f"build: {plan['build_id']}\nmanifest: {plan['manifest_checksum']}\nplan: {checksum}\n"
    )


def by_package(would: list[dict[str, Any]]) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    for entry in would:
        found.setdefault(entry["package"], []).append(entry["command"])
    return found


def test_a_dry_run_document_lists_every_git_command_it_would_run(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    doc(setup, "weekly", "w.2025.24")
    planned, _ = doc(setup, "plan", *RC1)
    plan, checksum = planned["plan"], planned["checksum"]
    text = message(plan, checksum, "v29.1.0.rc1", "v29_1_0_rc1")
    sha = {p["name"]: p["sha"] for p in plan["packages"]}
    before = snapshot(all_repos(setup), fetched=True)

    dry, err = doc(setup, "candidate", *RC1, "--dry-run")
    assert head(dry) == ("release candidate", True, [])
    assert (dry["dry_run"], dry["journal"]) == (True, None)
    assert by_package(dry["would"]) == {
        name: [
            ["git", "tag", "--annotate", "-m", text, "v29.1.0.rc1", sha[name]],
            ["git", "push", "--atomic", "origin", "refs/tags/v29.1.0.rc1:refs/tags/v29.1.0.rc1"],
        ]
        for name in PACKAGES
    }
    # every tag is made (and verified) before the first push: the phases' order
    assert [e["command"][1] for e in dry["would"]] == ["tag"] * 4 + ["push"] * 4
    assert shown(err) == as_text(dry["would"])  # the same commands, in the same order
    assert len(shown(err)) == 8
    assert "would rebuild meta from v29.1.0.rc1" in err
    assert snapshot(all_repos(setup), fetched=True) == before
    assert all("v29.1.0.rc1" not in tags(setup.remote(name)) for name in PACKAGES)

    weekly, err = doc(setup, "weekly", "w.2025.25", "--dry-run", "--no-build")
    assert (weekly["dry_run"], weekly["journal"]) == (True, None)
    assert [e["command"][:2] for e in weekly["would"]] == [["git", "tag"]] * 4 + [
        ["git", "push"]
    ] * 4
    assert {e["package"] for e in weekly["would"]} == set(PACKAGES)
    assert shown(err) == as_text(weekly["would"])
    assert all("w.2025.25" not in tags(setup.remote(name)) for name in PACKAGES)
    assert snapshot(all_repos(setup), fetched=True) == before


def test_a_backport_dry_run_document_lists_its_commands(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    doc(setup, "weekly", "w.2025.24")
    doc(setup, "candidate", *RC1, "--no-build")
    rc1 = tags(setup.remote("afw"))["v29.1.0.rc1"]
    merge_ticket(setup, "afw", "DM-40100", "python/afw/fix.py", "FIXED = True\n")
    before = snapshot(all_repos(setup), fetched=True)

    ported, err = doc(setup, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw",
                      "--merge", "--dry-run")  # fmt: skip
    assert head(ported) == ("release backport", True, [])
    assert (ported["dry_run"], ported["packages"]) == (True, [])
    branch = "refs/heads/tickets/DM-40100-v29"
    assert ported["would"] == [
        {"package": "afw", "command": ["git", *args]}
        for args in (
            ["push", "--atomic", "origin", f"{rc1}:refs/heads/v29.1.x"],  # the release branch
            ["worktree", "add", "--quiet", "--detach", "<tmp>", "origin/tickets/DM-40100"],
            ["checkout", "--quiet", "-B", "tickets/DM-40100-v29"],
            ["rebase", "--quiet", "--onto", "origin/v29.1.x", "<merge>^1"],
            ["worktree", "remove", "--force", "<tmp>"],
            ["push", "--atomic", "--quiet", "origin", branch, f"{branch}:refs/heads/v29.1.x"],
        )
    ]
    assert shown(err) == as_text(ported["would"])
    assert snapshot(all_repos(setup), fetched=True) == before
    remote = setup.remote("afw").refs("refs/heads/")
    assert "refs/heads/v29.1.x" not in remote and branch not in remote


def test_a_dry_run_keeps_its_commands_redacted() -> None:
    """No dry-run command of dm-release carries a URL today; were one to, its credentials
    would not reach the document (the printed line is redacted by the output's edge)."""
    would, out = WouldRun(), io.StringIO()
    would.show(out, "afw", [["push", "https://user:s3cret@example.org/afw.git", "main"]])
    assert would.commands == [("afw", ("git", "push", "https://****@example.org/afw.git", "main"))]
    assert out.getvalue() == "afw: git push https://user:s3cret@example.org/afw.git main\n"


def test_a_rebuild_dry_run_document_has_what_it_would_build(tmp_path: Path) -> None:
    """rebuild's dry-run lines (``<package> <version> would be built``) are its document's
    ``build.packages``: nothing to add to it."""
    setup = make_setup(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["rebuild", "--config", str(setup.config), "--dry-run", "--json"])
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert (result["build"]["dry_run"], result["prepare"]["versiondb"]) == (True, [])
    lines = re.findall(r"^  (\w+) (\S+) would be (\w+)$", err.getvalue(), re.MULTILINE)
    packages = result["build"]["packages"]
    assert sorted(lines) == sorted((n, p["version"], p["action"]) for n, p in packages.items())
    assert len(lines) == len(PACKAGES)
