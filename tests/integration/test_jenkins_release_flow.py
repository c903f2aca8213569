"""The release pipelines' steps, taken from the Jenkinsfiles themselves and run in order on
real bare remotes and local server directories, as the agents would run them: each ``sh``
step's nox sessions give the dm-release command lines (as test_architecture records them),
run in the product's directory with the job's parameters as the environment. official-release
for rc1 (prepare, tag, build, publish), then the tarball job's cell (rebuild, tarball) that it
starts, then the final with O_LATEST false and true: what each stage writes, and that the
stages after the session write nothing new on one platform."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from release_helpers import JENKINS_VARIABLES, PACKAGES, clean_environment, ok, tags
from release_publish_helpers import binary, publishing, source

from dmrelease import cli
from test_architecture import _SH, ROOT, RecordingSession, expand, nox_calls, nox_sessions

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

#: the parameters the steps read besides those JENKINS_VARIABLES lists
PARAMETERS = (*JENKINS_VARIABLES, "KIND", "O_LATEST", "EXCLUDE_FROM_BUILDS",
              "EXCLUDE_FROM_TARBALLS", "SPLENV_REF", "RUBINENV_VER", "NO_PUSH")  # fmt: skip


def steps(job: str, parameters: dict[str, str]) -> list[tuple[str, ...]]:
    """The dm-release command lines of ``job``'s ``sh`` steps, in order, for ``parameters``."""
    text = (ROOT / "jenkins" / f"{job}.Jenkinsfile").read_text()
    sessions, found = nox_sessions(), []
    for groups in _SH.findall(text):
        step = expand(next(group for group in groups if group), parameters)
        for command in (c.strip() for c in re.split(r"&&", step)):
            for name, posargs in nox_calls(command):
                session = RecordingSession(posargs)
                sessions[name](session)
                found += [run[1:] for run in session.runs if run[0] == "dm-release"]
    return found


def run_job(
    job: str, root: Path, monkeypatch: pytest.MonkeyPatch, **parameters: str
) -> list[tuple[tuple[str, ...], str]]:
    """Run ``job``'s steps in ``root`` with ``parameters`` set (the others unset): each
    command line and its stderr; a step that fails stops the job, as ``sh`` does."""
    monkeypatch.chdir(root)
    for name in PARAMETERS:
        monkeypatch.delenv(name, raising=False)
    for name, value in parameters.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DM_RELEASE_PROGRESS", "off")
    done = []
    for argv in steps(job, parameters):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
        assert code == 0, f"{job}: dm-release {' '.join(argv)}: {err.getvalue()}"
        done.append((argv, err.getvalue()))
    return done


def listed(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.list"))


def test_official_release_rc1_then_its_tarball_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = publishing(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    rc1 = {"KIND": "release_candidate", "RELEASE_GIT_TAG": "v29.1.0.rc1",
           "SOURCE_GIT_REFS": "w.2025.24", "PRODUCTS": "meta"}  # fmt: skip
    done = run_job("official-release", tmp_path, monkeypatch, **rc1)
    assert [argv for argv, _ in done] == [
        ("release", "validate", "--session", "release_candidate", "v29.1.0.rc1",
         "--output", "release-plan.json"),
        ("release", "candidate", "--no-build"),
        ("release", "candidate"),
        ("publish",),
    ]  # fmt: skip
    plan = json.loads((tmp_path / "release-plan.json").read_text())["plan"]
    assert (plan["session"], plan["release"], plan["build_id"]) == (
        "release_candidate", "v29.1.0.rc1", "b1",
    )  # fmt: skip
    for name in PACKAGES:
        assert "v29.1.0.rc1" in tags(setup.remote(name)), name
    publish_log = done[3][1]
    assert f"publish b1 as v29_1_0_rc1 to {source(setup)}" in publish_log
    assert f"{source(setup)}: wrote 0 files" in publish_log  # the session published it
    assert listed(source(setup) / "tags") == ["v29_1_0_rc1.list", "w_2025_24.list", "w_latest.list"]
    before = {p: p.read_bytes() for p in binary(setup).rglob("*") if p.is_file()}
    cell = {"RELEASE_GIT_TAG": "v29.1.0.rc1", "REFS": "v29.1.0.rc1", "PRODUCTS": "meta"}
    done = run_job("tarball", tmp_path, monkeypatch, **cell)
    assert [argv for argv, _ in done] == [("rebuild",), ("tarball",)]
    assert "tarball b1 (Linux64) to " in done[1][1] and "wrote 0 files" in done[1][1]
    assert {p: p.read_bytes() for p in binary(setup).rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(("o_latest", "floating"), [("false", []), ("true", ["o_latest.list"])])
def test_official_release_final_moves_o_latest_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, o_latest: str, floating: list[str]
) -> None:
    setup = publishing(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    final = {"KIND": "final_release", "RELEASE_GIT_TAG": "29.1.0", "PRODUCTS": "meta",
             "O_LATEST": o_latest}  # fmt: skip
    run_job("official-release", tmp_path, monkeypatch, **final)
    wanted = sorted([*floating, "v29_1_0.list", "v29_1_0_rc1.list", "w_2025_24.list",
                     "w_latest.list"])  # fmt: skip
    assert listed(source(setup) / "tags") == wanted
    assert listed(binary(setup)) == wanted
    cell = {"RELEASE_GIT_TAG": "29.1.0", "REFS": "29.1.0", "PRODUCTS": "meta", "O_LATEST": o_latest}
    run_job("tarball", tmp_path, monkeypatch, **cell)
    assert listed(binary(setup)) == wanted
