"""Every verb's ``--help`` lists the environment variables it reads (issue 11 item 2).

Each command of the parser runs for real, in-process, on a real product (rebuild and the
release flow on bare remotes, the demo, doctor, ...), with ``os.environ`` replaced by a
mapping that records every variable dm-release's own code looks up (``get``, ``[]``,
``in``; iterating to pass the environment on to a child process reads no one variable).
Each variable a command read must be in that command's ``--help``. A new command without
a run here fails the test too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from jenkins_fake import FakeJenkins, Script, fake_jenkins
from release_helpers import JENKINS_VARIABLES, make_setup, merge_ticket

from dmrelease import cli
from dmrelease.adapters.config import _GIT_ELSEWHERE as GIT_ELSEWHERE
from dmrelease.adapters.config import CONFIG_VARIABLE, git_attributes_elsewhere
from dmrelease.demo.jira_server import LocalJira, serve_jira
from environ_recording import RecordingEnviron

DATA = Path(__file__).resolve().parents[1] / "data"


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[
    tuple[tuple[str, ...], argparse.ArgumentParser]
]:  # fmt: skip
    """(words, parser) of every command that runs: the leaves of the verb tree."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield words, parser
        return
    for name, sub in groups[0].choices.items():
        yield from _commands(sub, (*words, name))


def _help(words: tuple[str, ...]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([*words, "--help"])
    return out.getvalue()


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    """A local Jenkins with a job that dm-release jenkins run follows to its end."""
    with fake_jenkins() as fake:
        fake.add_job("nightly-release", {"EUPS_TAG": ""}, Script(waits=0))
        yield fake


@pytest.fixture
def jira() -> Iterator[LocalJira]:
    """A local Jira with a release issue and its blocker, for dm-release jira."""
    with serve_jira("pat-environment-help") as local:
        local.add_issue("DM-40000", "Release 29.1.0", "Task", "In Progress")
        local.add_issue("DM-40011", "The afw package", "Epic", blocks=["DM-40000"])
        yield local


def test_every_variable_a_verb_reads_is_in_its_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jenkins: FakeJenkins, jira: LocalJira
) -> None:
    # git's "elsewhere" variables too: the first one set ends the check that reads them,
    # so GIT_DIR (asserted below) would go unread where e.g. GIT_CONFIG_NOSYSTEM is set
    for name in (*JENKINS_VARIABLES, CONFIG_VARIABLE, *GIT_ELSEWHERE):
        monkeypatch.delenv(name, raising=False)
    for name in ("JENKINS_USER_ID", "JENKINS_API_TOKEN"):  # the fake lets anyone in
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JENKINS_URL", jenkins.url)
    monkeypatch.setenv("DM_RELEASE_JENKINS_POLL_MS", "1")
    monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", "pat-environment-help")
    setup = make_setup(tmp_path / "product")
    config = str(setup.config)
    jira_config = setup.config.with_name("jira.toml")  # Jira for dm-release jira only
    jira_config.write_text(f'{setup.config.read_text()}\n[jira]\nurl = "{jira.url}"\n')
    plan = tmp_path / "plan.json"
    # docker plans the image of the tag list tarball writes (no builder, no registry)
    docker = setup.config.with_name("docker.toml")
    binary = f'binary_server = "{tmp_path / "binary"}"\n'
    docker.write_text(f'{setup.config.read_text()}{binary}\n[docker]\nbase_image = "base"\n')
    announce = ["29.1.0", "--weekly", "w.2025.24", "--start", "2025-06-16",
                "--release-issue", "DM-48000"]  # fmt: skip
    runs: dict[tuple[str, ...], list[str]] = {
        ("tag", "classify"): ["29.1.0", "w.2025.24"],
        ("tag", "eups"): ["29.1.0"],
        ("tag", "weekly"): [],
        ("table", "deps"): [str(DATA / "tables" / "lsst" / "afw.table")],
        ("manifest", "verify"): [str(DATA / "versiondb" / "manifests" / "b1.txt")],
        ("config", "show"): ["--config", config],
        ("config", "init"): ["--dry-run"],
        ("config", "reference"): [],
        ("rebuild",): ["--config", config],
        ("publish",): [
            "--tag",
            "w_2025_24",
            "--server-dir",
            str(tmp_path / "source"),
            "--config",
            config,
        ],
        ("tarball",): [
            "--tag",
            "w_2025_24",
            "--server-dir",
            str(tmp_path / "binary"),
            "--config",
            config,
        ],
        ("docker",): ["--tag", "w_2025_24", "--no-push", "--dry-run", "--config", str(docker)],
        ("release", "weekly"): ["w.2025.24", "--config", config],
        ("release", "plan"): [
            "v29.1.0.rc1",
            "--refs",
            "w.2025.24",
            "--config",
            config,
            "--output",
            str(plan),
        ],
        ("release", "validate"): ["v29.1.0.rc1", "--refs", "w.2025.24", "--config", config],
        ("release", "apply"): [str(plan), "--dry-run", "--config", config],
        ("release", "candidate"): [
            "v29.1.0.rc1",
            "--refs",
            "w.2025.24",
            "--no-build",
            "--config",
            config,
        ],
        ("release", "backport"): [
            "DM-40100",
            "--to",
            "v29.1.x",
            "--packages",
            "afw",
            "--dry-run",
            "--config",
            config,
        ],
        ("release", "final"): ["29.1.0", "--no-build", "--config", config],
        ("status",): ["29.1.0", "--config", config],  # the final just tagged: read-only
        ("jira", "show"): ["DM-40000", "--blockers", "--config", str(jira_config)],
        ("jira", "fix-version"): ["29.1.0", "--dry-run", "--config", str(jira_config)],
        ("notes",): ["b1..b1", "--config", config],  # the weekly's build: Jira unset
        ("release", "patch"): ["29.1.1", "--packages", "afw", "--dry-run", "--config", config],
        ("release", "nightly"): ["--date", "2025-06-11", "--config", config],
        ("doctor",): ["--config", config, "--timeout", "1"],
        ("demo",): ["--dir", str(tmp_path / "demo"), "--quiet"],
        ("completion",): ["bash"],
        ("jenkins", "run"): [
            "nightly-release",
            "-p",
            "EUPS_TAG=w_2025_24",
            "--wait",
            "--config",
            config,
        ],
        ("jenkins", "status"): ["nightly-release", "--config", config],
        ("announce",): [*announce, "--config", config],  # a dry run: Discourse is not asked
    }
    commands = dict(_commands(cli.build_parser()))
    assert sorted(commands) == sorted(runs), "each command needs a run in this test"
    environ = RecordingEnviron(os.environ)
    monkeypatch.setattr(os, "environ", environ)
    monkeypatch.chdir(tmp_path)
    read: dict[tuple[str, ...], set[str]] = {}
    codes: dict[tuple[str, ...], int] = {}
    for words, argv in runs.items():
        if words == ("release", "backport"):  # a ticket to backport, merged after rc1
            with monkeypatch.context() as real:
                real.setattr(os, "environ", environ.real)
                merge_ticket(setup, "afw", "DM-40100", "python/afw/fix.py", "FIXED = True\n")
        environ.read.clear()
        git_attributes_elsewhere.cache_clear()  # read once per process: read it again
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            codes[words] = cli.main([*words, *argv])
        read[words] = set(environ.read)
    monkeypatch.undo()
    missing = {
        " ".join(words): sorted(variables - set(re.findall(r"[A-Z][A-Z0-9_]+", _help(words))))
        for words, variables in read.items()
    }
    unlisted = {verb: names for verb, names in missing.items() if names}
    assert unlisted == {}, f"read, but not in the verb's --help: {unlisted}"
    # the runs did what they were asked (a verb that stopped early reads less)
    succeeded = [w for w, code in codes.items() if code == 0]
    assert sorted(set(runs) - set(succeeded)) == [], codes
    assert {"DM_RELEASE_JOBS", "REFS", "SOURCE_GIT_REFS", "GIT_REFS"} <= read[("rebuild",)]
    assert {"GITHUB_TOKEN", "CI_JOB_TOKEN"} <= read[("tag", "classify")]  # the redaction's
    assert "DM_RELEASE_GIT_TIMEOUT" in read[("release", "validate")]
    assert "DM_RELEASE_GIT_TIMEOUT" not in read[("tag", "classify")]
    assert "GIT_DIR" in read[("demo",)]  # its fetches ask whether git reads from elsewhere
    # dm-release jenkins: its URL, polling and credentials
    assert {"JENKINS_URL", "DM_RELEASE_JENKINS_POLL_MS", "JENKINS_API_TOKEN"} <= read[
        ("jenkins", "run")
    ]
    # dm-release jira: Jira's settings and token; fix-version the release issue too
    assert {"DM_RELEASE_JIRA_URL", "DM_RELEASE_JIRA_TOKEN", "DM_RELEASE_JIRA_JOBS"} <= read[
        ("jira", "show")
    ]
    assert {"DM_RELEASE_JIRA_URL", "RELEASE_ISSUE"} <= read[("jira", "fix-version")]
    # dm-release announce (a dry run): the forum's settings, the feedback, the release issue
    assert {"DM_RELEASE_DISCOURSE_URL", "DM_RELEASE_DISCOURSE_CATEGORY",
            "DM_RELEASE_DISCOURSE_API_KEY", "DM_RELEASE_ANNOUNCE_FEEDBACK",
            "RELEASE_ISSUE"} <= read[("announce",)]  # fmt: skip
    assert "RELEASE_ISSUE" in read[("status",)]  # dm-release status: the Jira release issue
    # dm-release notes: Jira's settings, the release issue, the notes' files
    assert {"DM_RELEASE_JIRA_URL", "RELEASE_ISSUE", "DM_RELEASE_NOTES_TEMPLATE",
            "DM_RELEASE_NOTES_OVERRIDES", "DM_RELEASE_GIT_JOBS"} <= read[("notes",)]  # fmt: skip
