"""The Jenkins jobs as code: jenkins/jobs/*.yaml rendered offline by Jenkins Job Builder
(``jenkins-jobs test``, its own parser and XML generator, no Jenkins contacted) into the
config.xml Jenkins would store, then compared with the Jenkinsfiles: one job per
Jenkinsfile, reading it from the same checkout, declaring the same parameters (kind, name,
default, choices, description, in order) and the same timer; the jobs a pipeline starts
(``build job:``) are rendered jobs. The Jenkinsfiles' lint (npm-groovy-lint) runs in the nox
session lint_jenkins, which renders the jobs the same way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_architecture import JENKINSFILES, ROOT, started_jobs

#: how Jenkins stores each kind of parameter
KINDS = {
    "hudson.model.StringParameterDefinition": "string",
    "hudson.model.BooleanParameterDefinition": "booleanParam",
    "hudson.model.ChoiceParameterDefinition": "choice",
}
_DECLARATION = re.compile(
    r"\b(string|booleanParam|choice)\(name: '(\w+)', "
    r"(?:defaultValue: (?:'([^']*)'|(true|false))|choices: \[([^\]]*)\]), "
    r"description: '([^']*)'\)"
)
_CRON = re.compile(r"\bcron\('([^']*)'\)")


def render(jobs: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """``jenkins-jobs test --config-xml JOBS -o OUTPUT``: OUTPUT/<job>/config.xml per job."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}  # JJB 6's pkg_resources warning
    code = (
        "import sys; from jenkins_jobs.cli.entry import main; sys.argv[0] = 'jenkins-jobs'; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "test", "--config-xml", str(jobs), "-o", str(output)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ET.Element]:
    """Every rendered job by its full name (``release/docker/build-stack``)."""
    output = tmp_path_factory.mktemp("jobs")
    done = render(ROOT / "jenkins" / "jobs", output)
    assert done.returncode == 0, done.stderr
    return {
        str(path.parent.relative_to(output)): ET.parse(path).getroot()
        for path in sorted(output.rglob("config.xml"))
    }


def declared(text: str) -> list[tuple[str, str, str, str]]:
    """The Jenkinsfile's parameters: (kind, name, default or choices, description)."""
    found = []
    for kind, name, text_default, flag, choices, description in _DECLARATION.findall(text):
        value = ",".join(re.findall(r"'([^']*)'", choices)) if kind == "choice" else ""
        found.append((kind, name, value or text_default or flag, description))
    return found


def job_parameters(job: ET.Element) -> list[tuple[str, str, str, str]]:
    """The rendered job's parameters, in the same form."""
    found = []
    for definition in job.iterfind("properties/hudson.model.ParametersDefinitionProperty/"
                                   "parameterDefinitions/*"):  # fmt: skip
        kind = KINDS[definition.tag]
        if kind == "choice":
            value = ",".join(s.text or "" for s in definition.iterfind("choices/a/string"))
        else:
            value = definition.findtext("defaultValue") or ""
        description = definition.findtext("description") or ""
        found.append((kind, definition.findtext("name") or "", value, description))
    return found


def script_paths(jobs: dict[str, ET.Element]) -> dict[str, str]:
    """Each pipeline job's Jenkinsfile (its scriptPath in the checkout)."""
    return {
        name: job.findtext("definition/scriptPath") or ""
        for name, job in jobs.items()
        if job.tag == "flow-definition"
    }


def test_every_jenkinsfile_has_one_job_and_every_job_a_jenkinsfile(
    rendered: dict[str, ET.Element],
) -> None:
    paths = script_paths(rendered)
    assert sorted(paths.values()) == sorted(f"jenkins/{p.name}" for p in JENKINSFILES)
    assert sorted(paths) == [
        "release/docker/build-stack", "release/nightly-release", "release/official-release",
        "release/run-publish", "release/run-rebuild", "release/tarball", "release/validate",
        "release/weekly-release",
    ]  # fmt: skip
    folders = [name for name, job in rendered.items() if job.tag != "flow-definition"]
    assert sorted(folders) == ["release", "release/docker"]


def test_every_job_reads_its_jenkinsfile_from_the_dm_release_checkout(
    rendered: dict[str, ET.Element],
) -> None:
    for name in script_paths(rendered):
        definition = rendered[name].find("definition")
        assert definition is not None
        assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
        remote = definition.findtext(
            "scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url"
        )
        branch = definition.findtext("scm/branches/hudson.plugins.git.BranchSpec/name")
        assert (remote, branch) == ("https://github.com/lsst-dm/dm-release.git", "*/main"), name
        assert definition.findtext("lightweight") == "true", name


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_job_and_its_jenkinsfile_declare_the_same_parameters(
    rendered: dict[str, ET.Element], path: Path
) -> None:
    job = next(n for n, p in script_paths(rendered).items() if p == f"jenkins/{path.name}")
    text = path.read_text()
    parameters = declared(text)
    assert len(parameters) == len(re.findall(r"\bdefaultValue:|\bchoices:", text))  # all read
    assert job_parameters(rendered[job]) == parameters


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_job_and_its_jenkinsfile_have_the_same_timer(
    rendered: dict[str, ET.Element], path: Path
) -> None:
    job = next(n for n, p in script_paths(rendered).items() if p == f"jenkins/{path.name}")
    timers = [t.findtext("spec") for t in rendered[job].iter("hudson.triggers.TimerTrigger")]
    assert timers == [spec.replace("\\n", "\n") for spec in _CRON.findall(path.read_text())]


def test_the_nightly_is_the_one_job_on_a_timer(rendered: dict[str, ET.Element]) -> None:
    timed = [n for n, job in rendered.items() if job.find(".//hudson.triggers.TimerTrigger")]
    assert timed == ["release/nightly-release"]


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_jobs_a_pipeline_starts_are_rendered_jobs_of_those_jenkinsfiles(
    rendered: dict[str, ET.Element], path: Path
) -> None:
    paths = script_paths(rendered)
    for job, _, _ in started_jobs(path.read_text()):
        assert paths.get(job) == f"jenkins/{job.rsplit('/', 1)[-1]}.Jenkinsfile", job


def test_a_job_definition_jjb_refuses_fails_the_render(tmp_path: Path) -> None:
    """The render can fail: a pipeline job that names no Jenkinsfile stops it."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "bad.yaml").write_text(
        "- job:\n    name: bad\n    project-type: pipeline\n    parameters:\n"
        "      - string:\n          name: X\n"
    )
    done = render(jobs, tmp_path / "out")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "Either 'dsl' or 'pipeline-scm' is required for pipeline job"
    )
    assert not list((tmp_path / "out").rglob("config.xml"))


def test_the_parameter_reader_reads_each_kind() -> None:
    text = (
        "string(name: 'A', defaultValue: 'x y', description: 'a (one)')\n"
        "booleanParam(name: 'B', defaultValue: false, description: 'b')\n"
        "choice(name: 'C', choices: ['p', 'q'], description: 'c')\n"
        "string(name: 'D', value: params.A)\n"
    )
    assert declared(text) == [
        ("string", "A", "x y", "a (one)"), ("booleanParam", "B", "false", "b"),
        ("choice", "C", "p,q", "c"),
    ]  # fmt: skip


def test_ci_renders_and_lints_the_jenkins_jobs_after_the_tests() -> None:
    """The Jenkinsfiles lint clean in CI, not only when someone runs nox -s lint_jenkins:
    .ci/run installs Java and npm when missing (npm-groovy-lint's needs) and runs the session
    after the suite; and the render's JJB stays below 7 there as in the test extra."""
    script = (ROOT / ".ci" / "run").read_text()
    for tool, package in (("java", "default-jre-headless"), ("npm", "npm")):
        line = f"command -v {tool} >/dev/null 2>&1 || missing+=({package})\n"
        assert line in script, tool
        assert script.index(line) < script.index('apt-get install -y -qq "${missing[@]}"')
    assert script.endswith("\n.venv/bin/nox -s lint_jenkins\n")
    assert script.index(".venv/bin/nox -s tests_floor") < script.rindex("nox -s lint_jenkins")
    noxfile = (ROOT / "noxfile.py").read_text()
    assert 'session.install("jenkins-job-builder>=6,<7", "setuptools<81")' in noxfile
    assert '"jenkins-job-builder>=6,<7",' in (ROOT / "pyproject.toml").read_text()
