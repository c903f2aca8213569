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
from test_architecture import (
    _SH,
    ROOT,
    RecordingSession,
    expand,
    nox_calls,
    nox_sessions,
    started_jobs,
)

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

#: the parameters the steps read besides those JENKINS_VARIABLES lists
PARAMETERS = (*JENKINS_VARIABLES, "KIND", "O_LATEST", "EXCLUDE_FROM_BUILDS",
              "EXCLUDE_FROM_TARBALLS", "SPLENV_REF", "RUBINENV_VER", "NO_PUSH", "DOCKER_TAGS",
              "MANIFEST_ID", "EUPSPKG_SOURCE", "PREP_ONLY", "NO_BINARY_FETCH")  # fmt: skip
#: a declared parameter and its default: a string's or boolean's value, a choice's first
_DEFAULT = re.compile(
    r"\b(?:string|booleanParam|choice)\(\s*name:\s*'(\w+)',\s*"
    r"(?:defaultValue:\s*(?:'([^']*)'|(true|false))|choices:\s*\[\s*'([^']*)')"
)


def jenkinsfile(job: str) -> str:
    return (ROOT / "jenkins" / f"{job.rsplit('/', 1)[-1]}.Jenkinsfile").read_text()


def defaults(job: str) -> dict[str, str]:
    """Every parameter ``job`` declares and its default, as Jenkins sets it in the build's
    environment (a boolean as ``true``/``false``, a choice as its first choice)."""
    return {name: "".join(values) for name, *values in _DEFAULT.findall(jenkinsfile(job))}


def started(parent: str, job: str, given: dict[str, str]) -> dict[str, str]:
    """The parameters ``parent``'s ``build job: JOB`` step gives ``job`` when ``parent``
    runs with ``given`` (its other parameters at their defaults): read from the step."""
    values = {**defaults(parent), **given}
    passed = [p for name, p, _ in started_jobs(jenkinsfile(parent)) if name == job]
    assert len(passed) == 1, f"{parent} starts {job} {len(passed)} times"
    return {name: values[source] for _, name, source in passed[0]}


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


def run_steps(
    job: str, root: Path, monkeypatch: pytest.MonkeyPatch, **parameters: str
) -> list[tuple[tuple[str, ...], int, str]]:
    """Run ``job``'s steps in ``root`` with ``parameters`` set and its other parameters at
    their defaults, as Jenkins sets them: each command line, its exit code and its stderr;
    a step that fails stops the job, as ``sh`` does."""
    monkeypatch.chdir(root)
    for name in PARAMETERS:
        monkeypatch.delenv(name, raising=False)
    parameters = {**defaults(job), **parameters}
    for name, value in parameters.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DM_RELEASE_PROGRESS", "off")
    done = []
    for argv in steps(job, parameters):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
        done.append((argv, code, err.getvalue()))
        if code != 0:
            break
    return done


def run_job(
    job: str, root: Path, monkeypatch: pytest.MonkeyPatch, **parameters: str
) -> list[tuple[tuple[str, ...], str]]:
    """:func:`run_steps`, each step succeeding: each command line and its stderr."""
    done = run_steps(job, root, monkeypatch, **parameters)
    for argv, code, err in done:
        assert code == 0, f"{job}: dm-release {' '.join(argv)}: {err}"
    return [(argv, err) for argv, _, err in done]


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
        ("release", "validate", "--install", "--session", "release_candidate", "v29.1.0.rc1",
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
    cell = started("official-release", "release/tarball", rc1)
    assert {k: cell[k] for k in ("RELEASE_GIT_TAG", "REFS", "PRODUCTS")} == {
        "RELEASE_GIT_TAG": "v29.1.0.rc1", "REFS": "v29.1.0.rc1", "PRODUCTS": "meta"
    }  # fmt: skip
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
    cell = started("official-release", "release/tarball", final)
    assert {k: cell[k] for k in ("RELEASE_GIT_TAG", "REFS", "PRODUCTS", "O_LATEST")} == {
        "RELEASE_GIT_TAG": "29.1.0", "REFS": "29.1.0", "PRODUCTS": "meta", "O_LATEST": o_latest
    }  # fmt: skip
    run_job("tarball", tmp_path, monkeypatch, **cell)
    assert listed(binary(setup)) == wanted


def test_official_release_with_its_product_excluded_tags_builds_and_packs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both EXCLUDE_* naming the product: each stage of official-release and of the jobs
    it starts (with the parameters its steps give them) says so and succeeds, and nothing
    is tagged, built, published, packed or installed."""
    setup = publishing(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    before = {name: tags(setup.remote(name)) for name in PACKAGES}
    servers = {p: p.read_bytes() for p in (tmp_path / "srv").rglob("*") if p.is_file()}
    rc1 = {"KIND": "release_candidate", "RELEASE_GIT_TAG": "v29.1.0.rc1",
           "SOURCE_GIT_REFS": "w.2025.24", "PRODUCTS": "meta", "EXCLUDE_FROM_BUILDS": "meta",
           "EXCLUDE_FROM_TARBALLS": "lsst_sitcom meta"}  # fmt: skip
    built = "every product asked is in EXCLUDE_FROM_BUILDS (meta): nothing to build\n"
    done = run_job("official-release", tmp_path, monkeypatch, **rc1)
    assert done == [
        (("release", "validate", "--install", "--session", "release_candidate", "v29.1.0.rc1",
          "--output", "release-plan.json"), f"release validate: {built}"),
        (("release", "candidate", "--no-build"), f"release candidate: {built}"),
        (("release", "candidate"), f"release candidate: {built}"),
        (("publish",), "publish: every product asked is in EXCLUDE_FROM_BUILDS (meta): "
         "nothing to publish\n"),
    ]  # fmt: skip
    cell = started("official-release", "release/tarball", rc1)
    assert (cell["EXCLUDE_FROM_BUILDS"], cell["EXCLUDE_FROM_TARBALLS"]) == (
        "meta",
        "lsst_sitcom meta",
    )
    assert run_job("tarball", tmp_path, monkeypatch, **cell) == [
        (("rebuild",), f"rebuild: {built}"),
        (("tarball",), "tarball: every product asked is in EXCLUDE_FROM_TARBALLS (meta): "
         "nothing to pack\n"),
    ]  # fmt: skip
    image = started("official-release", "release/docker/build-stack", rc1)
    assert image["EXCLUDE_FROM_TARBALLS"] == "lsst_sitcom meta"
    assert run_job("build-stack", tmp_path, monkeypatch, **image) == [
        (("docker",), "docker: every product asked is in EXCLUDE_FROM_TARBALLS (meta): "
         "nothing to install\n"),
    ]  # fmt: skip
    assert {name: tags(setup.remote(name)) for name in PACKAGES} == before
    assert {p: p.read_bytes() for p in (tmp_path / "srv").rglob("*") if p.is_file()} == servers
    assert not (tmp_path / "release-plan.json").exists()


def test_weekly_release_with_its_defaults_stops_before_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """weekly-release started with its defaults but the product (RELEASE_GIT_TAG empty:
    from the UI or a timer without it) stops at its first step, exit 2, instead of tagging
    this week's weekly that its tarball and build-stack jobs, given the empty tag, cannot
    follow."""
    setup = publishing(tmp_path)
    assert defaults("weekly-release")["RELEASE_GIT_TAG"] == ""
    done = run_steps("weekly-release", tmp_path, monkeypatch, PRODUCTS="meta")  # the rest: defaults
    assert done == [(
        ("release", "weekly", "--require-tag"), 2,
        "dm-release: error: weekly --require-tag: give the tag, e.g. w.2025.24, or set "
        "RELEASE_GIT_TAG or GIT_TAG (read in order)\n",
    )]  # fmt: skip
    assert all(tags(setup.remote(name)) == {} for name in PACKAGES)
    assert not (tmp_path / "srv").exists() or not any((tmp_path / "srv").rglob("*.list"))


@pytest.mark.parametrize(
    "path", sorted((ROOT / "jenkins").glob("*.Jenkinsfile")), ids=lambda p: p.stem
)
def test_the_default_of_every_declared_parameter_is_read(path: Path) -> None:
    """run_steps sets each parameter the job declares: none is missed by the reader."""
    from test_architecture import jenkins_parameters

    assert sorted(defaults(path.stem)) == sorted(jenkins_parameters(path.read_text()))
