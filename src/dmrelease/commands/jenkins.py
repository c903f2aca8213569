"""``dm-release jenkins``: trigger a Jenkins job and follow it to its result, or show a build.

The client is :mod:`dmrelease.adapters.jenkins_client` (python-jenkins); this module is
the edge: the settings (``[jenkins]``, JENKINS_URL, the credentials of the environment),
the arguments, what is printed, and the exit code: the build's result (SUCCESS 0; UNSTABLE,
FAILURE, ABORTED, NOT_BUILT 1), 1 for a queue item cancelled before it started, 2 when
Jenkins cannot be reached or refuses, 130 when interrupted (after the stop).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dmrelease.adapters.config import add_config_option
from dmrelease.commands.machine import add_json_flag, emit, human, wants_json
from dmrelease.core.errors import UsageError

if TYPE_CHECKING:
    from dmrelease.adapters.jenkins_client import Build, JenkinsClient, Job

#: the builds ``status`` takes besides a number: Jenkins's permalinks
PERMALINKS = (
    "lastBuild", "lastCompletedBuild", "lastSuccessfulBuild", "lastFailedBuild",
    "lastStableBuild", "lastUnstableBuild", "lastUnsuccessfulBuild",
)  # fmt: skip
_RAW = argparse.RawDescriptionHelpFormatter
_CONNECTION = (
    "Jenkins is jenkins.url of dm-release.toml, or JENKINS_URL (a Jenkins build has\n"
    "it: a step reaches its own Jenkins); without a dm-release.toml the environment\n"
    "alone is read. Signed in as jenkins.user, or JENKINS_USER_ID, with the API token\n"
    "JENKINS_API_TOKEN (a secret: from the environment only, never printed), or\n"
    "anonymous when neither is set. The requests go through python-jenkins and\n"
    "requests, which also read JENKINS_API_EXTRA_HEADERS, PYTHONHTTPSVERIFY,\n"
    "HTTPS_PROXY, HTTP_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE."
)


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "jenkins",
        help="trigger a Jenkins job and follow it to its result, or show a build",
        description=(
            "Run the release's Jenkins jobs from a terminal or another job: trigger one "
            "with its parameters and follow it to its end, its console log streamed as "
            "Jenkins writes it and its result as the exit code, or show a build."
        ),
    )
    commands = parser.add_subparsers(dest="jenkins_command", metavar="COMMAND", required=True)
    _add_run(commands)
    _add_status(commands)


def _add_run(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="trigger a job with parameters; with --wait follow it and exit with its result",
        formatter_class=_RAW,
        description=(
            "Trigger JOB (a folder's job as FOLDER/JOB) with its parameters, each -p KEY=VALUE\n"
            "(the others keep the job's defaults; a name the job does not define is refused\n"
            "before anything is triggered), and print its queue item. With --wait, follow\n"
            "the queue item to its build, stream the build's console log on stdout as it\n"
            "grows, and exit with its result: 0 for SUCCESS, 1 for UNSTABLE, FAILURE,\n"
            "ABORTED or NOT_BUILT, and 1 when the queue item is cancelled before it starts.\n"
            "Ctrl-C stops the build (or cancels the queue item) and exits 130.\n"
            "Requests Jenkins answers 429 or 503 are sent again after its Retry-After, else\n"
            "after 1, 2, 4 ... 60 seconds (jenkins.retries times), but the trigger only\n"
            "after a Retry-After and when the job has no new queue item or build (a second\n"
            "POST would queue a second build); a crumb Jenkins no longer takes is fetched\n"
            "again. Exit 2 when Jenkins cannot be reached, refuses the credentials or has\n"
            "no such job.\n\n"
            f"{_CONNECTION}\n\n"
            "example:\n"
            "  $ dm-release jenkins run release/weekly-release -p RELEASE_GIT_TAG=w.2025.24 --wait"
        ),
    )
    parser.add_argument("job", metavar="JOB", help="the job's name; FOLDER/JOB in a folder")
    parser.add_argument(
        "-p", "--parameter", dest="parameters", action="append", default=[], type=_parameter,
        metavar="KEY=VALUE", help="a parameter of the build (repeat for more)",
    )  # fmt: skip
    parser.add_argument("--wait", action="store_true",
                        help="follow the build to its end and exit with its result")  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="read the job and check the parameters, print the request that would trigger "
        "it, and trigger nothing",
    )  # fmt: skip
    add_json_flag(parser, "the queue item and, with --wait, the build")
    add_config_option(parser, git=False)
    parser.set_defaults(handler=run)


def _add_status(commands: Any) -> None:
    parser = commands.add_parser(
        "status",
        help="show a build of a job: its result, duration, URL and parameters",
        formatter_class=_RAW,
        description=(
            "Show build BUILD of JOB (default: its last build): its result (or that it is\n"
            "still building), when it started, how long it took, its URL and its\n"
            "parameters (a password parameter's value is not shown). BUILD is a number or\n"
            f"a permalink: {', '.join(PERMALINKS)}.\n"
            "Exit 0 when the build was read, whatever its result; 2 when Jenkins cannot be\n"
            "reached or has no such job or build.\n\n"
            f"{_CONNECTION}"
        ),
    )
    parser.add_argument("job", metavar="JOB", help="the job's name; FOLDER/JOB in a folder")
    parser.add_argument(
        "build", metavar="BUILD", nargs="?", default="lastBuild", type=_build_name,
        help="a build number or a permalink (default: lastBuild)",
    )  # fmt: skip
    add_json_flag(parser, "the build")
    add_config_option(parser, git=False)
    parser.set_defaults(handler=status)


def _parameter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key.strip(), value


def _build_name(text: str) -> str:
    if text.isdigit() or text in PERMALINKS:
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: not a build number nor one of {', '.join(PERMALINKS)}"
    )


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.jenkins_client import exit_code_of

    client = _client(args)
    job = client.job(args.job)
    parameters = _checked(job, args.parameters)
    data: dict[str, Any] = {"job": job.name, "dry_run": args.dry_run, "would": None,
                            "parameters": [{"name": k, "value": v} for k, v in parameters],
                            "queue": None, "build": None}  # fmt: skip
    if args.dry_run:
        url = client.trigger_url(job, parameters)
        _say(f"would POST {url}")
        data["would"] = {"method": "POST", "url": url}
        return _done(args, data, 0)
    queued = client.trigger(job, parameters)
    _say(f"triggered: {job.name}, queue item {queued.id} ({queued.url})")
    data["queue"] = {"id": queued.id, "url": queued.url, "cancelled": False}
    if not args.wait:
        return _done(args, data, 0)
    followed = client.follow(job, queued, human(args))
    if followed.build is None:
        _say(f"{job.name}: queue item {queued.id} was cancelled before it started: no build ran")
        data["queue"]["cancelled"] = True
        return _done(args, data, 1)
    build = followed.build
    _say(f"{job.name} #{build.number}: {build.result} in {duration(build.duration_ms)} "
         f"({build.url})")  # fmt: skip
    data["build"] = build.as_dict()
    return _done(args, data, exit_code_of(build.result))


def status(args: argparse.Namespace) -> int:
    client = _client(args)
    job = client.job(args.job)  # no such job: said as such, not as a missing build
    build = client.build(job.name, args.build)
    out = human(args)
    for line in status_lines(build, now_ms=int(time.time() * 1000)):
        print(line, file=out)
    if wants_json(args):
        emit(args, {"build": build.as_dict()})
    return 0


def status_lines(build: Build, *, now_ms: int) -> list[str]:
    """What ``status`` prints of ``build``; ``now_ms`` (the clock, read at the edge) says
    how long a build still running has run."""
    started = dt.datetime.fromtimestamp(build.timestamp_ms / 1000, dt.UTC)
    if build.building:
        state, took = "building", f"{duration(max(now_ms - build.timestamp_ms, 0))} so far"
    else:
        state, took = str(build.result), duration(build.duration_ms)
    lines = [
        f"{build.job} #{build.number}: {state}",
        f"  url:       {build.url}",
        f"  started:   {started:%Y-%m-%dT%H:%M:%SZ}",
        f"  duration:  {took}",
    ]
    for name, value in build.parameters:
        lines.append(f"  parameter: {name}={'****' if value is None else value}")
    return lines


def duration(ms: int) -> str:
    """``4.2 s``, ``1 min 2 s``, ``2 h 5 min``."""
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _client(args: argparse.Namespace) -> JenkinsClient:
    from dmrelease.adapters.config import load_options_or_environment
    from dmrelease.adapters.jenkins_client import JenkinsClient

    config = load_options_or_environment(args.config).config
    if not config.jenkins_url:
        raise UsageError("no Jenkins to ask: set jenkins.url in dm-release.toml, or JENKINS_URL")
    token = config.jenkins_token
    return JenkinsClient(
        config.jenkins_url, config.jenkins_user, token.value if token else None,
        timeout=config.jenkins_timeout, retries=config.jenkins_retries,
        poll_seconds=config.jenkins_poll_ms / 1000, log=_say,
    )  # fmt: skip


def _checked(job: Job, parameters: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters, each a parameter the job defines, each once (Jenkins drops a name
    it does not know without a word: a misspelt one would run the job on its default)."""
    if not job.buildable:
        raise UsageError(f"{job.name} cannot be built: it is disabled, or a folder ({job.url})")
    seen: set[str] = set()
    for key, _value in parameters:
        if key in seen:
            raise UsageError(f"parameter {key} is given twice")
        seen.add(key)
        if not job.parameterized:
            raise UsageError(f"job {job.name} takes no parameters (given {key})")
        if key not in job.parameters:
            raise UsageError(f"job {job.name} has no parameter {key}: its parameters are "
                             f"{', '.join(job.parameters)}")  # fmt: skip
    return list(parameters)


def _done(args: argparse.Namespace, data: dict[str, Any], code: int) -> int:
    if wants_json(args):
        emit(args, data, ok=code == 0)
    return code


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
