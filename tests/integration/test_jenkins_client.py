"""``dm-release jenkins run`` follows a job to its end against a local server that speaks
Jenkins's REST API (tests/integration/jenkins_fake.py) and exits with its result; Ctrl-C
stops the build; the credentials come from the environment and are never printed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jenkins_fake import CRUMB_FIELD, NO_CRUMB_PAGE, FakeJenkins, Script, fake_jenkins

from dmrelease import cli
from dmrelease.adapters.jenkins_client import Build, JenkinsClient, JenkinsError
from dmrelease.commands.jenkins import duration, status_lines

USER = "ci-bot-4711"
TOKEN = "11aa22bb33cc44dd55ee66ff"
JOB = "nightly-release"
PARAMETERS = {"EUPS_TAG": "", "PRODUCTS": "lsst_distrib"}
#: a log as Jenkins writes it, in the chunks successive reads see; "é" is cut in two, and a
#: console note (kept in the log, not in its plain text) makes X-Text-Size larger than
#: the bytes a read gets
NOTE = b"\x1b[8mha:////4Kb2AAAAlh+LCAAAAAAAAP9b85aBtbiIQTGjNKU=\x1b[0m"
LOG = (
    b"Started by user ci\n",
    NOTE + b"[Pipeline] sh\n+ dm-release rebuild --products lsst_distrib\n",
    b"caf\xc3",
    b"\xa9 \xe2\x9c\x93\n",
    b"Finished: SUCCESS\n",
)
QUEUED = "queued: In the quiet period. Expires in 2.9 sec"
#: the variables dm-release jenkins reads that the machine running the tests may have set
#: (a test run inside a Jenkins build has JENKINS_URL)
VARIABLES = ("JENKINS_URL", "JENKINS_USER_ID", "JENKINS_API_TOKEN", "DM_RELEASE_CONFIG",
             "DM_RELEASE_JENKINS_POLL_MS", "DM_RELEASE_JENKINS_RETRIES",
             "DM_RELEASE_JENKINS_TIMEOUT")  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeJenkins]:
    with fake_jenkins({USER: TOKEN}) as fake:
        yield fake


@pytest.fixture
def signed_in(fake: FakeJenkins, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dm-release.toml naming the fake, the user and token in the environment."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "dm-release.toml"
    config.write_text(f'[jenkins]\nurl = "{fake.url}"\npoll_ms = 1\n')
    monkeypatch.setenv("JENKINS_USER_ID", USER)
    monkeypatch.setenv("JENKINS_API_TOKEN", TOKEN)
    return config


def dm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["jenkins", *argv])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err and USER not in out + err
    return code, out, err


def log_reads(fake: FakeJenkins, job: str, number: int, chunks: tuple[bytes, ...]) -> list[str]:
    """The console-log requests of a build read chunk by chunk: each from where the
    last ended in the log (X-Text-Size, console notes counted)."""
    path = fake.build_url(job, number)[len(fake.url) - 1 :]
    starts = [sum(map(len, chunks[:i])) for i in range(len(chunks))]
    return [f"GET {path}logText/progressiveText?start={start}" for start in starts]


def test_a_build_is_followed_to_its_end_its_log_streamed_each_chunk_once_in_order(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_job(JOB, PARAMETERS, Script(LOG, waits=2))
    code, out, err = dm(capsys, "run", JOB, "-p", "EUPS_TAG=d_2025_06_11", "--wait")
    assert code == 0
    assert out == b"".join(LOG).replace(NOTE, b"").decode()  # each byte once, in order, é whole
    build = fake.build_url(JOB, 1)
    assert err.splitlines() == [
        f"triggered: {JOB}, queue item 1 ({fake.url}queue/item/1/)",
        QUEUED,  # once: the countdown of the next read is the same reason
        f"started: {JOB} #1 {build}",
        f"{JOB} #1: SUCCESS in 1 min 2 s ({build})",
    ]
    assert fake.requests == [
        "GET /crumbIssuer/api/json",
        f"GET /job/{JOB}/api/json?depth=0",
        f"POST /job/{JOB}/buildWithParameters?EUPS_TAG=d_2025_06_11",
        *["GET /queue/item/1/api/json?depth=0"] * 3,
        *log_reads(fake, JOB, 1, LOG),
        f"GET /job/{JOB}/1/api/json?depth=0",
    ]
    # the parameters not given keep the job's defaults
    assert fake.jobs[JOB].builds[1].parameters == [
        ("EUPS_TAG", "d_2025_06_11"),
        ("PRODUCTS", "lsst_distrib"),
    ]


@pytest.mark.parametrize("result", ["FAILURE", "UNSTABLE", "ABORTED", "NOT_BUILT"])
def test_a_build_that_does_not_succeed_exits_1(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str], result: str
) -> None:
    chunks = (b"+ dm-release rebuild\n", f"error: afw failed\nFinished: {result}\n".encode())
    fake.add_job(JOB, PARAMETERS, Script(chunks, result=result))
    code, out, err = dm(capsys, "run", JOB, "--wait")
    assert (code, out) == (1, b"".join(chunks).decode())
    assert err.splitlines()[-1] == f"{JOB} #1: {result} in 1 min 2 s ({fake.build_url(JOB, 1)})"


def test_with_json_the_log_goes_to_stderr_and_the_build_is_the_document(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chunks = (b"+ dm-release rebuild\n", b"Finished: FAILURE\n")
    fake.add_job(JOB, PARAMETERS, Script(chunks, result="FAILURE", waits=0))
    code, out, err = dm(capsys, "run", JOB, "-p", "PRODUCTS=base", "--wait", "--json")
    assert code == 1
    assert err.splitlines()[2:4] == ["+ dm-release rebuild", "Finished: FAILURE"]
    build = fake.build_url(JOB, 1)
    assert json.loads(out) == {
        "verb": "jenkins run", "ok": False, "diagnostics": [], "error": None,
        "job": JOB, "dry_run": False, "would": None,
        "parameters": [{"name": "PRODUCTS", "value": "base"}],
        "queue": {"id": 1, "url": f"{fake.url}queue/item/1/", "cancelled": False},
        "build": {
            "job": JOB, "number": 1, "url": build, "building": False, "result": "FAILURE",
            "duration_ms": 62000, "timestamp_ms": 1749603723000,
            "parameters": [{"name": "EUPS_TAG", "value": ""},
                           {"name": "PRODUCTS", "value": "base"}],
        },
    }  # fmt: skip


def test_a_cancelled_queue_item_exits_1_and_says_so(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_job(JOB, PARAMETERS, Script(cancelled=True))
    code, out, err = dm(capsys, "run", JOB, "--wait")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"triggered: {JOB}, queue item 1 ({fake.url}queue/item/1/)",
        QUEUED,
        f"{JOB}: queue item 1 was cancelled before it started: no build ran",
    ]
    assert fake.jobs[JOB].builds == {}
    assert fake.requests[-1] == "GET /queue/item/1/api/json?depth=0"  # no build was read


def test_a_post_without_a_valid_crumb_is_refused_403(fake: FakeJenkins) -> None:
    """The server's side of the contract, with a plain HTTP client."""
    fake.add_job(JOB, PARAMETERS)
    session = requests.Session()
    session.auth = (USER, TOKEN)
    trigger = f"{fake.url}job/{JOB}/buildWithParameters"
    refused = session.post(trigger)
    assert (refused.status_code, refused.text) == (403, NO_CRUMB_PAGE)
    crumb = session.get(f"{fake.url}crumbIssuer/api/json").json()
    assert crumb["crumbRequestField"] == CRUMB_FIELD
    assert session.post(trigger, headers={CRUMB_FIELD: "0" * 32}).status_code == 403
    taken = session.post(trigger, headers={CRUMB_FIELD: crumb["crumb"]})
    assert (taken.status_code, taken.headers["Location"]) == (201, f"{fake.url}queue/item/1/")
    assert requests.post(trigger, headers={CRUMB_FIELD: crumb["crumb"]}, auth=(USER, TOKEN),
                         timeout=10).status_code == 403  # the crumb of another session  # fmt: skip


def test_a_403_for_a_stale_crumb_is_answered_by_fetching_a_new_one(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_job(JOB, PARAMETERS, Script(waits=0))
    fake.restart_before_post = True  # the crumb fetched first is stale by the trigger
    code, _, err = dm(capsys, "run", JOB, "-p", "EUPS_TAG=w_2025_24", "--wait")
    assert code == 0
    post = f"POST /job/{JOB}/buildWithParameters?EUPS_TAG=w_2025_24"
    assert fake.requests[:5] == [
        "GET /crumbIssuer/api/json",
        f"GET /job/{JOB}/api/json?depth=0",
        post,  # 403 No valid crumb
        "GET /crumbIssuer/api/json",
        post,  # 201
    ]
    assert fake.requests.count(post) == 2 and len(fake.queue) == 1
    assert err.splitlines()[0] == (
        f"jenkins: POST /job/{JOB}/buildWithParameters: Jenkins refused the crumb (403): "
        "fetching a new one"
    )


def test_busy_answers_are_sent_again_after_retry_after_else_a_back_off(
    fake: FakeJenkins,
) -> None:
    fake.add_job(JOB, PARAMETERS)
    fake.busy = [(429, "2"), (503, None), (503, "Wed, 21 Oct 2015 07:28:00 GMT"), (503, None)]
    slept: list[float] = []
    said: list[str] = []
    client = JenkinsClient(fake.url, USER, TOKEN, retries=4, log=said.append, sleep=slept.append)
    assert client.job(JOB).parameters == ("EUPS_TAG", "PRODUCTS")
    # Retry-After in seconds, none (1, 2, 4 ...: the second try waits 2), an HTTP date
    # already past (0), none again (the fourth waits 8)
    assert slept == [2.0, 2.0, 0.0, 8.0]
    assert said == [
        "jenkins: GET /crumbIssuer/api/json: 429 Too Many Requests: trying again in 2 s (1 of 4)",
        "jenkins: GET /crumbIssuer/api/json: 503 Service Unavailable: trying again in 2 s (2 of 4)",
        "jenkins: GET /crumbIssuer/api/json: 503 Service Unavailable: trying again in 0 s (3 of 4)",
        "jenkins: GET /crumbIssuer/api/json: 503 Service Unavailable: trying again in 8 s (4 of 4)",
    ]
    assert fake.requests == [*["GET /crumbIssuer/api/json"] * 5, f"GET /job/{JOB}/api/json?depth=0"]


def test_a_busy_trigger_is_sent_again_only_after_a_retry_after_with_nothing_queued(
    fake: FakeJenkins,
) -> None:
    """The trigger's POST is not sent blindly again: a second one would queue a second
    build. After a Retry-After the job is read first, and the POST sent again only when it
    has no new queue item and no new build."""
    fake.add_job(JOB, PARAMETERS)
    slept: list[float] = []
    said: list[str] = []
    client = JenkinsClient(fake.url, USER, TOKEN, log=said.append, sleep=slept.append)
    job = client.job(JOB)
    fake.busy = [(429, "3")]
    assert client.trigger(job, [("EUPS_TAG", "w_2025_24")]).id == 1
    post = f"POST /job/{JOB}/buildWithParameters?EUPS_TAG=w_2025_24"
    assert fake.requests[2:] == [post, f"GET /job/{JOB}/api/json?depth=0", post]
    assert (slept, len(fake.queue)) == ([3.0], 1)
    assert said == [f"jenkins: POST /job/{JOB}/buildWithParameters: 429 Too Many Requests: "
                    "trying again in 3 s (1 of 10)"]  # fmt: skip


@pytest.mark.parametrize(
    ("busy", "after_queueing", "why"),
    [
        ((503, None), False, "no Retry-After: a proxy may have answered for a Jenkins that "
         "queued it; look at the job before triggering it again"),
        ((429, None), False, "no Retry-After: a proxy may have answered for a Jenkins that "
         "queued it; look at the job before triggering it again"),
        ((503, "5"), True, f"queue item 1 of {JOB} was queued meanwhile, maybe by this "
         f"trigger: see dm-release jenkins status {JOB} once it starts"),
    ],
)  # fmt: skip
def test_a_busy_trigger_that_may_have_queued_a_build_is_not_sent_again(
    fake: FakeJenkins, busy: tuple[int, str | None], after_queueing: bool, why: str
) -> None:
    fake.add_job(JOB, PARAMETERS)
    client = JenkinsClient(fake.url, USER, TOKEN, sleep=lambda seconds: None)
    job = client.job(JOB)
    if after_queueing:  # Jenkins queued it, its proxy answered 503
        fake.busy_after_queueing = [busy]
    else:
        fake.busy = [busy]
    with pytest.raises(JenkinsError) as failed:
        client.trigger(job, [])
    status = {429: "429 Too Many Requests", 503: "503 Service Unavailable"}[busy[0]]
    assert (failed.value.exit_code, str(failed.value)) == (2, (
        f"POST /job/{JOB}/buildWithParameters: Jenkins at {fake.url} answered {status}: "
        f"not sent again ({why})"
    ))  # fmt: skip
    assert [r for r in fake.requests if r.startswith("POST")] == [
        f"POST /job/{JOB}/buildWithParameters"
    ]
    assert len(fake.queue) == (1 if after_queueing else 0)


def test_a_busy_trigger_of_a_build_already_started_is_not_sent_again(
    fake: FakeJenkins,
) -> None:
    """Queued and started (its queue item gone) while the answer came back busy."""
    fake.add_job(JOB, PARAMETERS, Script(waits=0))
    client = JenkinsClient(fake.url, USER, TOKEN, sleep=lambda seconds: None)
    job = client.job(JOB)
    fake.busy_after_queueing = [(503, "1")]
    fake.start_on_queueing = True
    with pytest.raises(JenkinsError) as failed:
        client.trigger(job, [])
    assert str(failed.value) == (
        f"POST /job/{JOB}/buildWithParameters: Jenkins at {fake.url} answered 503 Service "
        f"Unavailable: not sent again (build #1 of {JOB} started meanwhile, maybe by this "
        f"trigger: see dm-release jenkins status {JOB} 1)"
    )
    assert list(fake.jobs[JOB].builds) == [1] and len(fake.queue) == 1


def test_a_jenkins_still_busy_after_the_retries_is_exit_2(fake: FakeJenkins) -> None:
    fake.add_job(JOB, PARAMETERS)
    fake.busy = [(503, "0")] * 3
    client = JenkinsClient(fake.url, USER, TOKEN, retries=2, sleep=lambda seconds: None)
    with pytest.raises(JenkinsError) as failed:
        client.job(JOB)
    assert failed.value.exit_code == 2
    assert str(failed.value) == (
        f"GET /crumbIssuer/api/json: Jenkins at {fake.url} is still busy (503 Service "
        "Unavailable) after 2 retries (jenkins.retries)"
    )
    assert len(fake.requests) == 3


def test_the_command_honours_retry_after(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_job(JOB, PARAMETERS, Script(waits=0))
    fake.busy = [(503, "1")]
    code, _, err = dm(capsys, "run", JOB, "--wait")
    assert code == 0
    assert err.splitlines()[0] == (
        "jenkins: GET /crumbIssuer/api/json: 503 Service Unavailable: trying again in 1 s (1 of 10)"
    )


def test_a_jenkins_that_does_not_answer_in_time_is_exit_2(fake: FakeJenkins) -> None:
    fake.add_job(JOB, PARAMETERS)
    fake.delay = 2.0
    client = JenkinsClient(fake.url, USER, TOKEN, timeout=0.2)
    with pytest.raises(JenkinsError) as failed:
        client.job(JOB)
    assert str(failed.value) == (
        f"GET /job/{JOB}/api/json: Jenkins at {fake.url} did not answer within "
        "jenkins.timeout (0.2 s)"
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_jenkins_is_exit_2_without_the_token(
    signed_in: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    monkeypatch.setenv("JENKINS_URL", url)
    message = f"GET /job/{JOB}/api/json: Jenkins at {url} is unreachable: Connection refused"
    code, out, err = dm(capsys, "run", JOB, "--wait")
    assert (code, out, err) == (2, "", f"dm-release: error: {message}\n")
    code, out, err = dm(capsys, "status", JOB, "--json")
    assert (code, json.loads(out)["error"]) == (2, message)


def test_refused_credentials_are_exit_2_without_the_token(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    fake.add_job(JOB, PARAMETERS)
    wrong = "99zz88yy77xx66ww55vv"
    monkeypatch.setenv("JENKINS_API_TOKEN", wrong)
    code, out, err = cli.main(["jenkins", "run", JOB]), *capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        f"dm-release: error: GET /crumbIssuer/api/json: Jenkins at {fake.url} refused the "
        "credentials (401 Unauthorized): check jenkins.user (JENKINS_USER_ID) and "
        "JENKINS_API_TOKEN\n"
    )  # the page of the 401 names the user: it is not printed
    assert wrong not in out + err and USER not in out + err
    monkeypatch.delenv("JENKINS_API_TOKEN")
    monkeypatch.delenv("JENKINS_USER_ID")
    code, out, err = dm(capsys, "run", JOB)
    assert err == (
        f"dm-release: error: GET /crumbIssuer/api/json: Jenkins at {fake.url} refused it "
        "(403 Forbidden): anonymous may not do this: set JENKINS_USER_ID and JENKINS_API_TOKEN\n"
    )
    monkeypatch.setenv("JENKINS_API_TOKEN", TOKEN)
    assert dm(capsys, "run", JOB) == (2, "", "dm-release: error: JENKINS_API_TOKEN is set but "
                                      "jenkins.user (JENKINS_USER_ID) is not: set both, or "
                                      "neither\n")  # fmt: skip
    assert not any(r.startswith("POST") for r in fake.requests)


def _interruptible() -> None:
    """The child starts with Python's SIGINT handler even under a parent that ignores
    SIGINT (a shell's background job): Python installs it only over the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _dm_release(fake: FakeJenkins, tmp_path: Path, *argv: str) -> subprocess.Popen[bytes]:
    """The installed command in a directory without dm-release.toml: JENKINS_URL alone."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(JENKINS_URL=fake.url, JENKINS_USER_ID=USER, JENKINS_API_TOKEN=TOKEN,
               DM_RELEASE_JENKINS_POLL_MS="20")  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "dmrelease", "jenkins", *argv], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interruptible,
    )  # fmt: skip


def test_ctrl_c_stops_the_build_and_exits_130(fake: FakeJenkins, tmp_path: Path) -> None:
    """SIGINT to a real ``dm-release jenkins run --wait`` while the build runs: it POSTs
    the build's stop, once, and exits 130 as every dm-release verb does when interrupted
    (the build's own result, ABORTED, is Jenkins's to record: ``status`` shows it)."""
    fake.add_job(JOB, PARAMETERS, Script((b"+ dm-release rebuild\n",), waits=0, endless=True))
    process = _dm_release(fake, tmp_path, "run", JOB, "--wait")
    assert process.stdout is not None
    assert process.stdout.readline() == b"+ dm-release rebuild\n"  # it follows the build
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, out) == (130, b"")
    build = fake.build_url(JOB, 1)
    assert err.decode().splitlines()[-2:] == [
        f"interrupted: stopping {JOB} #1 ({build}stop)",
        "dm-release: interrupted",
    ]
    assert fake.requests.count(f"POST /job/{JOB}/1/stop") == 1
    assert fake.jobs[JOB].builds[1].result == "ABORTED"
    assert TOKEN.encode() not in out + err


def test_ctrl_c_while_queued_cancels_the_queue_item(fake: FakeJenkins, tmp_path: Path) -> None:
    fake.add_job(JOB, PARAMETERS, Script(waits=10**9))
    process = _dm_release(fake, tmp_path, "run", JOB, "--wait")
    assert process.stderr is not None
    assert process.stderr.readline().startswith(b"triggered: ")
    assert process.stderr.readline() == QUEUED.encode() + b"\n"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err.decode().splitlines() == [
        f"interrupted: cancelling queue item 1 of {JOB}",
        "dm-release: interrupted",
    ]
    assert fake.requests.count("POST /queue/cancelItem?id=1") == 1
    assert fake.queue[1].cancelled and fake.jobs[JOB].builds == {}


def test_ctrl_c_before_jenkins_answers_the_trigger_cancels_the_item_it_queued(
    fake: FakeJenkins, tmp_path: Path
) -> None:
    """SIGINT while the answer to the POST is still on its way: the queue item Jenkins
    made (new since the job was read, with the parameters given) is cancelled, best effort,
    though its id never reached the client."""
    fake.add_job(JOB, PARAMETERS, Script(waits=10**9))
    fake.trigger_delay = 600.0  # the answer never comes within the test
    process = _dm_release(fake, tmp_path, "run", JOB, "-p", "EUPS_TAG=w_2025_24", "--wait")
    while 1 not in fake.queue and process.poll() is None:
        threading.Event().wait(0.01)  # until Jenkins has queued it; no bound on how long
    assert process.poll() is None
    assert fake.requests[-1] == f"POST /job/{JOB}/buildWithParameters?EUPS_TAG=w_2025_24"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err.decode().splitlines() == [
        f"interrupted: cancelling queue item 1 of {JOB} (queued before Jenkins answered)",
        "dm-release: interrupted",
    ]
    assert fake.requests[-3:] == [
        f"GET /job/{JOB}/api/json?depth=0",
        "GET /queue/item/1/api/json?depth=0",
        "POST /queue/cancelItem?id=1",
    ]
    assert fake.queue[1].cancelled and fake.jobs[JOB].builds == {}


def test_status_shows_result_duration_url_and_parameters(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_job(JOB, PARAMETERS, Script(waits=0))
    assert dm(capsys, "run", JOB, "-p", "EUPS_TAG=d_2025_06_11", "--wait")[0] == 0
    build = fake.build_url(JOB, 1)
    shown = [
        f"{JOB} #1: SUCCESS",
        f"  url:       {build}",
        "  started:   2025-06-11T01:02:03Z",
        "  duration:  1 min 2 s",
        "  parameter: EUPS_TAG=d_2025_06_11",
        "  parameter: PRODUCTS=lsst_distrib",
    ]
    assert dm(capsys, "status", JOB, "1") == (0, "\n".join(shown) + "\n", "")
    assert dm(capsys, "status", JOB) == (0, "\n".join(shown) + "\n", "")  # lastBuild
    code, out, err = dm(capsys, "status", JOB, "lastSuccessfulBuild", "--json")
    document: dict[str, Any] = json.loads(out)
    assert (code, err.splitlines(), document["verb"]) == (0, shown, "jenkins status")
    assert document["build"]["result"] == "SUCCESS" and document["build"]["number"] == 1
    assert dm(capsys, "status", JOB, "7") == (
        2, "", f"dm-release: error: Jenkins at {fake.url} has no build 7 of job {JOB}\n"
    )  # fmt: skip
    assert dm(capsys, "status", "nope") == (
        2, "", f"dm-release: error: Jenkins at {fake.url} has no job nope\n"
    )  # fmt: skip


def test_status_of_a_build_still_running_says_how_long_so_far() -> None:
    running = Build(JOB, 3, "http://ci/job/x/3/", True, None, 0, 1_749_603_723_000,
                    (("EUPS_TAG", "d_2025_06_11"), ("SECRET", None)))  # fmt: skip
    assert status_lines(running, now_ms=1_749_603_723_000 + 3_725_000) == [
        f"{JOB} #3: building",
        "  url:       http://ci/job/x/3/",
        "  started:   2025-06-11T01:02:03Z",
        "  duration:  1 h 2 min so far",
        "  parameter: EUPS_TAG=d_2025_06_11",
        "  parameter: SECRET=****",  # a password parameter: Jenkins gives no value
    ]
    assert [duration(ms) for ms in (0, 4_240, 59_999, 60_000, 3_599_000)] == [
        "0.0 s", "4.2 s", "60.0 s", "1 min 0 s", "59 min 59 s",
    ]  # fmt: skip


def test_dry_run_checks_the_job_and_triggers_nothing(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_job(JOB, PARAMETERS)
    code, out, err = dm(capsys, "run", JOB, "-p", "EUPS_TAG=d_2025_06_11", "--dry-run", "--wait")
    assert (code, out) == (0, "")
    assert err == f"would POST {fake.url}job/{JOB}/buildWithParameters?EUPS_TAG=d_2025_06_11\n"
    assert fake.requests == ["GET /crumbIssuer/api/json", f"GET /job/{JOB}/api/json?depth=0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "EUPS_TAGG=x"], f"job {JOB} has no parameter EUPS_TAGG: its parameters are "
         "EUPS_TAG, PRODUCTS"),
        (["-p", "EUPS_TAG=a", "-p", "EUPS_TAG=b"], "parameter EUPS_TAG is given twice"),
    ],
)  # fmt: skip
def test_a_parameter_the_job_does_not_take_is_refused_before_triggering(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str,
) -> None:  # fmt: skip
    fake.add_job(JOB, PARAMETERS)
    assert dm(capsys, "run", JOB, *argv) == (2, "", f"dm-release: error: {message}\n")
    assert not any(r.startswith("POST") for r in fake.requests)


def test_how_each_kind_of_job_is_triggered(
    fake: FakeJenkins, signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parameterized job without -p: buildWithParameters with its defaults (its /build
    wants a form); a job without parameters: /build, and -p is refused; a job in a
    folder: job/FOLDER/job/NAME; a folder cannot be built. Without --wait the command
    ends with the queue item."""
    fake.add_job(JOB, PARAMETERS)
    fake.add_job("validate")
    fake.add_job("release/official-release", {"RELEASE_GIT_TAG": ""}, Script(waits=0))
    assert dm(capsys, "run", JOB)[:2] == (0, "")
    assert dm(capsys, "run", "validate")[:2] == (0, "")
    assert dm(capsys, "run", "validate", "-p", "A=1") == (
        2, "", "dm-release: error: job validate takes no parameters (given A)\n"
    )  # fmt: skip
    code, out, _ = dm(capsys, "run", "release/official-release", "-p",
                        "RELEASE_GIT_TAG=29.1.0", "--wait")  # fmt: skip
    assert (code, out) == (0, "Started by user release-bot\nFinished: SUCCESS\n")
    folder = fake.job_url("release")
    assert dm(capsys, "run", "release") == (
        2, "", f"dm-release: error: release cannot be built: it is disabled, or a folder "
        f"({folder})\n",
    )  # fmt: skip
    posts = [r for r in fake.requests if r.startswith("POST")]
    assert posts == [
        f"POST /job/{JOB}/buildWithParameters",
        "POST /job/validate/build",
        "POST /job/release/job/official-release/buildWithParameters?RELEASE_GIT_TAG=29.1.0",
    ]
    assert "GET /job/release/job/official-release/1/logText/progressiveText?start=0" in (
        fake.requests
    )
    assert fake.jobs[JOB].builds == {}  # not followed: never read from the queue
    assert [r for r in fake.requests if r.startswith("GET /queue/item/1/")] == []


def test_without_a_jenkins_url_the_command_says_where_to_give_it(
    signed_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed_in.write_text("")
    assert dm(capsys, "status", JOB) == (
        2, "", "dm-release: error: no Jenkins to ask: set jenkins.url in dm-release.toml, "
        "or JENKINS_URL\n",
    )  # fmt: skip


@pytest.mark.parametrize("url", ["ci.example.org", "ftp://ci.example.org/", "https:///job/x"])
def test_a_jenkins_url_that_is_not_http_is_a_usage_error(
    signed_in: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    signed_in.write_text(f'[jenkins]\nurl = "{url}"\n')
    assert dm(capsys, "run", JOB, "--wait") == (
        2, "", f"dm-release: error: jenkins.url: {url!r} is not an http:// or https:// URL\n"
    )  # fmt: skip


def test_a_user_named_like_a_common_word_is_printed_as_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user is a setting, not a secret: a user named ``release`` leaves every
    "release" of the job's names, URLs and log as it is (only the token is redacted)."""
    job, token = "release/tarball", "77gg66hh55ii44jj33kk"
    chunks = (b"+ nox -s release_candidate\n", b"Finished: SUCCESS\n")
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JENKINS_USER_ID", "release")
    monkeypatch.setenv("JENKINS_API_TOKEN", token)
    with fake_jenkins({"release": token}) as fake:
        fake.add_job(job, {"RELEASE_GIT_TAG": ""}, Script(chunks, waits=0))
        (tmp_path / "dm-release.toml").write_text(f'[jenkins]\nurl = "{fake.url}"\npoll_ms = 1\n')
        code = cli.main(["jenkins", "run", job, "-p", "RELEASE_GIT_TAG=w.2025.24", "--wait"])
        out, err = capsys.readouterr()
        build = fake.build_url(job, 1)
        assert (code, out) == (0, "+ nox -s release_candidate\nFinished: SUCCESS\n")
        assert err.splitlines() == [
            f"triggered: {job}, queue item 1 ({fake.url}queue/item/1/)",
            f"started: {job} #1 {build}",
            f"{job} #1: SUCCESS in 1 min 2 s ({build})",
        ]
        assert build.endswith("/job/release/job/tarball/1/")
        code = cli.main(["jenkins", "status", job, "--json"])
        out, err = capsys.readouterr()
        assert (code, json.loads(out)["build"]["job"], err.splitlines()[0]) == (
            0, job, f"{job} #1: SUCCESS",
        )  # fmt: skip
        assert token not in out + err


def test_a_jenkins_user_named_jenkins_leaves_the_configuration_reference_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a secret, the user ``jenkins`` was blanked out of ``| ****.url |`` and "dm-release
    **** triggers"; as a setting the reference is the same with it set or not."""
    monkeypatch.delenv("JENKINS_USER_ID", raising=False)
    assert cli.main(["config", "reference"]) == 0
    unset = capsys.readouterr().out
    monkeypatch.setenv("JENKINS_USER_ID", "jenkins")
    assert cli.main(["config", "reference"]) == 0
    assert capsys.readouterr().out == unset
    assert "| `jenkins.url` | text |" in unset and "dm-release jenkins triggers" in unset
