"""Jenkins over its REST API, on python-jenkins: trigger a job, follow it to its result.

python-jenkins gives the session (HTTP basic authentication with the user's API token,
cookies kept), the CSRF crumb (``GET /crumbIssuer/api/json`` before the first request, its
``crumbRequestField`` header on every request after; none when Jenkins has no crumb
issuer, a 404), ``get_job_info``, ``get_queue_item``, ``get_build_info``, ``stop_build``,
``cancel_queue`` and ``build_job``, which POSTs ``/job/X/buildWithParameters`` (or
``/job/X/build`` without parameters) and returns the queue item's id from the
``Location`` of Jenkins's 201 (``.../queue/item/N/``). Jobs in folders are ``A/B``
(``/job/A/job/B/``).

What python-jenkins does not do is done here, through its session: the console log as it
grows (``GET /job/X/N/logText/progressiveText?start=K``: the bytes from K, ``X-Text-Size``
the next K, ``X-More-Data: true`` while the log grows), a parameterized job triggered
with its defaults (``buildWithParameters`` without parameters: build_job would POST
``/build``, which such a job refuses), a crumb Jenkins no longer takes (403 "No valid
crumb": a new one is fetched and the request sent again, once), and 429 / 503 (Jenkins or
its proxy busy): the request is sent again after its ``Retry-After``, else after 1, 2, 4
... 60 seconds, at most ``retries`` times. Every other failure is a :class:`JenkinsError`
(exit 2) naming the request and Jenkins's URL, never the token: unreachable, credentials
refused (401), no permission (403), no such job or build (404).
"""

from __future__ import annotations

import codecs
import email.utils
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar
from urllib.parse import urljoin, urlsplit

import jenkins  # type: ignore[import-untyped]  # python-jenkins ships no type hints
import requests

from dmrelease.core.errors import DmReleaseError, UsageError

__all__ = [
    "Build",
    "Followed",
    "JenkinsClient",
    "JenkinsError",
    "Job",
    "Queued",
    "exit_code_of",
]

T = TypeVar("T")

#: the console log from byte ``start`` (Jenkins's progressive text, as its own page reads it)
PROGRESSIVE_TEXT = "%(folder_url)sjob/%(short_name)s/%(number)s/logText/progressiveText"
#: python-jenkins's own template, for the parameterized job triggered with its defaults
BUILD_WITH_PARAMETERS = jenkins.BUILD_WITH_PARAMS_JOB
#: the statuses of a server that will take the request later
BUSY = (429, 503)
#: the longest wait between two tries, whatever Retry-After says
MAX_WAIT = 600
#: the back-off without a Retry-After: 1, 2, 4 ... seconds, at most this
MAX_BACKOFF = 60
#: the build results of Jenkins that are a success; UNSTABLE, FAILURE, ABORTED and
#: NOT_BUILT are not
SUCCESS = "SUCCESS"


class JenkinsError(DmReleaseError):
    """Jenkins cannot be reached, refuses the credentials, or has no such job: exit 2."""

    exit_code = 2


def exit_code_of(result: str | None) -> int:
    """A finished build's result as dm-release's exit code: SUCCESS 0, any other 1."""
    return 0 if result == SUCCESS else 1


@dataclass(frozen=True)
class Job:
    """A job as Jenkins describes it (``/job/X/api/json``)."""

    name: str
    url: str
    buildable: bool
    parameterized: bool
    parameters: tuple[str, ...]  # the names of its parameter definitions, in their order


@dataclass(frozen=True)
class Queued:
    """A queue item: what a trigger makes, until an executor takes it."""

    id: int
    url: str


@dataclass(frozen=True)
class Build:
    """A build as Jenkins describes it (``/job/X/N/api/json``); ``result`` is None while
    it runs, ``duration_ms`` 0; a password parameter's value is None (Jenkins hides it)."""

    job: str
    number: int
    url: str
    building: bool
    result: str | None
    duration_ms: int
    timestamp_ms: int
    parameters: tuple[tuple[str, str | None], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "number": self.number,
            "url": self.url,
            "building": self.building,
            "result": self.result,
            "duration_ms": self.duration_ms,
            "timestamp_ms": self.timestamp_ms,
            "parameters": [{"name": n, "value": v} for n, v in self.parameters],
        }


@dataclass(frozen=True)
class Followed:
    """A triggered job followed to its end: the build, or None when its queue item was
    cancelled before an executor took it."""

    queued: Queued
    build: Build | None


class _Answer(Exception):
    """Jenkins answered a status of 400 or more (raised by the session's response handler,
    so that python-jenkins's own mapping, which folds 401, 403 and 500 together, is not in
    the way)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.status = response.status_code
        self.reason = response.reason or ""
        self.path = urlsplit(response.url).path
        self.method = response.request.method or "GET"
        self.retry_after = response.headers.get("Retry-After")
        # Jenkins's page for a missing or stale crumb (its CrumbFilter), under any Jetty
        self.crumb_refused = self.status == 403 and "No valid crumb" in response.text


class _Missing(jenkins.NotFoundException):  # type: ignore[misc]
    """A 404, as python-jenkins expects it (no crumb issuer; no job, build, queue item)."""


class _Session(jenkins.Jenkins):  # type: ignore[misc]
    def _response_handler(self, response: requests.Response) -> requests.Response:
        if response.status_code == 404:
            raise _Missing(urlsplit(response.url).path)
        if response.status_code >= 400:
            raise _Answer(response)
        return response


class JenkinsClient:
    """One Jenkins: ``url`` (its root), signed in as ``user`` with ``token`` (both or
    neither: anonymous); ``log`` takes the lines for people (queued, started, retries)."""

    def __init__(
        self,
        url: str,
        user: str | None,
        token: str | None,
        *,
        timeout: float = 30,
        retries: int = 10,
        poll_seconds: float = 2,
        log: Callable[[str], None] = lambda line: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"jenkins.url: {url!r} is not an http:// or https:// URL")
        if bool(user) != bool(token):
            given, missing = ("JENKINS_USER_ID", "JENKINS_API_TOKEN")[:: 1 if user else -1]
            raise UsageError(f"{given} is set but {missing} is not: set both, or neither")
        self.url = url if url.endswith("/") else f"{url}/"
        self._signed_in = bool(user)
        self._server = _Session(self.url, user or None, token or None, timeout=timeout)
        self._retries, self._poll, self._timeout = retries, poll_seconds, timeout
        self._log, self._sleep = log, sleep

    # -- reading -------------------------------------------------------------------------

    def job(self, name: str) -> Job:
        info = self._call(
            f"GET {self._path('job', name)}api/json",
            lambda: self._server.get_job_info(name),
            missing=f"Jenkins at {self.url} has no job {name}",
        )
        properties = info.get("property") or []
        definitions = [p for p in properties if "parameterDefinitions" in p]
        names = tuple(d["name"] for p in definitions for d in p["parameterDefinitions"] or [])
        url = str(info.get("url") or urljoin(self.url, self._path("job", name)))
        return Job(name, url, bool(info.get("buildable")), bool(definitions), names)

    def build(self, job: str, number: int | str) -> Build:
        """Build ``number`` of ``job``: a number or a permalink (``lastBuild``)."""
        info = self._call(
            f"GET {self._path('job', job)}{number}/api/json",
            lambda: self._server.get_build_info(job, number),
            missing=f"Jenkins at {self.url} has no build {number} of job {job}",
        )
        return _build_of(job, info)

    def queue_item(self, queued: Queued) -> dict[str, Any]:
        item: dict[str, Any] = self._call(
            f"GET /queue/item/{queued.id}/api/json",
            lambda: self._server.get_queue_item(queued.id),
            missing=f"Jenkins at {self.url} has no queue item {queued.id} (Jenkins forgets "
            "an item minutes after its build starts)",
        )
        return item

    # -- writing -------------------------------------------------------------------------

    def trigger_url(self, job: Job, parameters: Sequence[tuple[str, str]]) -> str:
        """What :meth:`trigger` POSTs (python-jenkins's URL; buildWithParameters for a
        parameterized job even without parameters)."""
        if parameters or not job.parameterized:
            return str(self._server.build_job_url(job.name, list(parameters) or None))
        folder, short = self._server._get_job_folder(job.name)
        return str(self._server._build_url(BUILD_WITH_PARAMETERS, {
            "folder_url": folder, "short_name": short,
        }))  # fmt: skip

    def trigger(self, job: Job, parameters: Sequence[tuple[str, str]]) -> Queued:
        """Queue a build of ``job``; the queue item from the Location of the 201."""
        if parameters or not job.parameterized:
            what = f"POST {self._path('job', job.name)}build"
            number = self._call(
                what + ("WithParameters" if parameters else ""),
                lambda: self._server.build_job(job.name, list(parameters) or None),
            )
        else:
            url = self.trigger_url(job, parameters)
            response = self._call(
                f"POST {urlsplit(url).path}",
                lambda: self._server.jenkins_request(requests.Request("POST", url)),
            )
            number = _queue_id(response.headers.get("Location", ""), url)
        return Queued(int(number), f"{self.url}queue/item/{number}/")

    def stop(self, job: str, number: int) -> None:
        self._call(
            f"POST {self._path('job', job)}{number}/stop",
            lambda: self._server.stop_build(job, number),
            missing=f"Jenkins at {self.url} has no build {number} of job {job}",
        )

    def cancel(self, queued: Queued) -> None:
        self._call(f"POST /queue/cancelItem?id={queued.id}",
                   lambda: self._server.cancel_queue(queued.id))  # fmt: skip

    # -- following -----------------------------------------------------------------------

    def follow(self, job: Job, queued: Queued, out: TextIO) -> Followed:
        """Wait for the queue item's build, stream its console log to ``out`` as it
        grows, and return it finished. Interrupted (Ctrl-C), the build is stopped (or the
        queue item cancelled) before KeyboardInterrupt goes on."""
        number: int | None = None
        try:
            number = self.wait_for_build(queued)
            if number is None:
                return Followed(queued, None)
            self._log(f"started: {job.name} #{number} {job.url}{number}/")
            self.stream_log(job.name, number, out)
            return Followed(queued, self.finished(job.name, number))
        except KeyboardInterrupt:
            self._interrupted(job, queued, number)
            raise

    def wait_for_build(self, queued: Queued) -> int | None:
        """The number of the build the queue item became; None when it was cancelled.
        Why it waits is said once per kind of reason (not at each new countdown)."""
        said = None
        while True:
            item = self.queue_item(queued)
            if item.get("cancelled"):
                return None
            executable = item.get("executable")
            if executable:
                return int(executable["number"])
            why = str(item.get("why") or "waiting for an executor")
            if re.sub(r"[\d.,]+", "#", why) != said:
                self._log(f"queued: {why}")
                said = re.sub(r"[\d.,]+", "#", why)
            self._sleep(self._poll)

    def stream_log(self, job: str, number: int, out: TextIO) -> int:
        """Write the build's console log to ``out`` as Jenkins has it, each byte once,
        until Jenkins says it is complete; the bytes read. A character whose bytes two
        reads split is written whole, with the second."""
        folder, short = self._server._get_job_folder(job)
        base = self._server._build_url(PROGRESSIVE_TEXT, {
            "folder_url": folder, "short_name": short, "number": number,
        })  # fmt: skip
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        start = 0
        while True:
            url = f"{base}?start={start}"
            response = self._call(
                f"GET {urlsplit(url).path}?start={start}",
                lambda url=url: self._server.jenkins_request(requests.Request("GET", url)),
                missing=f"Jenkins at {self.url} has no build {number} of job {job}",
            )
            data = response.content
            text = decoder.decode(data)
            if text:
                out.write(text)
                out.flush()
            size = response.headers.get("X-Text-Size", "")
            start = int(size) if size.isdigit() else start + len(data)
            if response.headers.get("X-More-Data", "").lower() != "true":
                tail = decoder.decode(b"", final=True)
                if tail:
                    out.write(tail)
                    out.flush()
                return start
            self._sleep(self._poll)

    def finished(self, job: str, number: int) -> Build:
        """The build once Jenkins has its result (its log may end a moment before)."""
        while True:
            build = self.build(job, number)
            if not build.building and build.result is not None:
                return build
            self._sleep(self._poll)

    def _interrupted(self, job: Job, queued: Queued, number: int | None) -> None:
        try:
            if number is None:
                self._log(f"interrupted: cancelling queue item {queued.id} of {job.name}")
                self.cancel(queued)
                executable = self.queue_item(queued).get("executable")
                if not executable:
                    return
                number = int(executable["number"])  # it started meanwhile
            self._log(f"interrupted: stopping {job.name} #{number} ({job.url}{number}/stop)")
            self.stop(job.name, number)
        except JenkinsError as exc:
            self._log(f"interrupted: could not stop it: {exc}")

    # -- every request -------------------------------------------------------------------

    def _path(self, kind: str, name: str) -> str:
        folder, short = self._server._get_job_folder(name)
        return f"{urlsplit(self.url).path}{folder}{kind}/{short}/"

    def _call(self, what: str, action: Callable[[], T], *, missing: str | None = None) -> T:
        """``action`` (one python-jenkins call), sent again after a stale crumb (once) or
        a busy answer (``retries`` times); failures as :class:`JenkinsError`."""
        crumb_renewed, tries = False, 0
        while True:
            try:
                return action()
            except _Answer as answer:
                if answer.crumb_refused and not crumb_renewed:
                    crumb_renewed = True
                    self._server.crumb = None  # python-jenkins fetches one with the next request
                    self._log(f"jenkins: {answer.method} {answer.path}: Jenkins refused the "
                              "crumb (403): fetching a new one")  # fmt: skip
                    continue
                if answer.status in BUSY and tries < self._retries:
                    tries += 1
                    wait = _wait(answer.retry_after, tries)
                    self._log(f"jenkins: {answer.method} {answer.path}: {answer.status} "
                              f"{answer.reason}: trying again in {wait:g} s ({tries} of "
                              f"{self._retries})")  # fmt: skip
                    self._sleep(wait)
                    continue
                raise JenkinsError(self._refusal(answer, tries)) from None
            except jenkins.JenkinsException as exc:
                if isinstance(exc, _Missing) or isinstance(exc.__context__, _Missing):
                    # python-jenkins turns a 404 into JenkinsException("... does not exist")
                    found = missing or f"{what}: Jenkins at {self.url} answered 404 Not Found"
                    raise JenkinsError(found) from None
                if isinstance(exc, jenkins.TimeoutException):
                    late = f"did not answer within jenkins.timeout ({self._timeout:g} s)"
                    raise JenkinsError(f"{what}: Jenkins at {self.url} {late}") from None
                raise JenkinsError(f"{what}: Jenkins at {self.url}: {exc}") from None
            except (requests.RequestException, OSError) as exc:
                raise JenkinsError(
                    f"{what}: Jenkins at {self.url} is unreachable: {_reason(exc)}"
                ) from None
            except ValueError:  # python-jenkins's json.loads of an answer that is not JSON
                raise JenkinsError(f"{what}: Jenkins at {self.url} answered no JSON") from None

    def _refusal(self, answer: _Answer, tries: int) -> str:
        at = f"{answer.method} {answer.path}: Jenkins at {self.url}"
        status = f"{answer.status} {answer.reason}".strip()
        if answer.status == 401:
            if self._signed_in:
                how = "check JENKINS_USER_ID and JENKINS_API_TOKEN"
                return f"{at} refused the credentials ({status}): {how}"
            return f"{at} asks to sign in ({status}): set JENKINS_USER_ID and JENKINS_API_TOKEN"
        if answer.crumb_refused:
            return f"{at} refused a crumb it had just given ({status}: No valid crumb)"
        if answer.status == 403:
            who = "the user of JENKINS_USER_ID" if self._signed_in else "anonymous"
            how = "" if self._signed_in else ": set JENKINS_USER_ID and JENKINS_API_TOKEN"
            return f"{at} refused it ({status}): {who} may not do this{how}"
        if answer.status in BUSY:
            retries = "retry" if tries == 1 else "retries"
            return f"{at} is still busy ({status}) after {tries} {retries} (jenkins.retries)"
        return f"{at} answered {status}"


def _wait(retry_after: str | None, tries: int) -> float:
    """Seconds before try ``tries`` + 1: ``Retry-After`` (seconds, or an HTTP date), else
    1, 2, 4 ... :data:`MAX_BACKOFF`; never more than :data:`MAX_WAIT`."""
    value = (retry_after or "").strip()
    seconds: float | None = None
    if value.isdigit():
        seconds = int(value)
    elif value:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = None
    if seconds is None:
        seconds = min(2 ** (tries - 1), MAX_BACKOFF)
    return float(min(max(seconds, 0), MAX_WAIT))


def _queue_id(location: str, url: str) -> int:
    """The queue item's id in the Location Jenkins answers a trigger with."""
    match = re.search(r"/queue/item/(\d+)/?$", location)
    if match is None:
        raise JenkinsError(f"POST {urlsplit(url).path}: Jenkins answered without the "
                           f"queue item's Location (got {location or 'none'!r})")  # fmt: skip
    return int(match[1])


def _build_of(job: str, info: Mapping[str, Any]) -> Build:
    parameters = tuple(
        (str(p["name"]), _text(p.get("value")))
        for action in info.get("actions") or []
        if isinstance(action, dict)
        for p in action.get("parameters") or []
    )
    return Build(
        job, int(info["number"]), str(info.get("url") or ""), bool(info.get("building")),
        info.get("result"), int(info.get("duration") or 0), int(info.get("timestamp") or 0),
        parameters,
    )  # fmt: skip


def _text(value: Any) -> str | None:
    """A parameter's value as text (a boolean parameter's is true or false)."""
    if value is None or isinstance(value, str):
        return value
    return str(value).lower() if isinstance(value, bool) else str(value)


def _reason(exc: BaseException) -> str:
    """What the operating system said (``Connection refused``, ``Name or service not
    known``), from the chain of errors requests and urllib3 wrap it in."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        error = pending.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.strerror:
            return str(error.strerror)
        pending += [e for e in (error.__cause__, error.__context__, getattr(error, "reason", None),
                                *error.args) if isinstance(e, BaseException)]  # fmt: skip
    return type(exc).__name__
