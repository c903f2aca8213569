"""Jenkins's jobs and builds: trigger a job, follow it to its result, stop it.

The calls are python-jenkins's, through :class:`~dmrelease.adapters.jenkins_session.
JenkinsSession` (crumb, retries, errors): ``get_job_info``, ``get_queue_item``,
``get_build_info``, ``stop_build``, ``cancel_queue`` and ``build_job``, which POSTs
``/job/X/buildWithParameters`` (or ``/job/X/build`` without parameters) and returns the
queue item's id from the ``Location`` of Jenkins's 201 (``.../queue/item/N/``). Jobs in
folders are ``A/B`` (``/job/A/job/B/``). Done here through its session: the console log
as it grows (``GET /job/X/N/logText/progressiveText?start=K``: the bytes from K,
``X-Text-Size`` the next K, ``X-More-Data: true`` while the log grows), and a
parameterized job triggered with its defaults (``buildWithParameters`` without
parameters: build_job would POST ``/build``, which such a job refuses).
"""

from __future__ import annotations

import codecs
import functools
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urljoin, urlsplit

import jenkins  # type: ignore[import-untyped]  # python-jenkins ships no type hints
import requests

from dmrelease.adapters.jenkins_session import JenkinsError, JenkinsSession

__all__ = [
    "Build",
    "Followed",
    "JenkinsClient",
    "JenkinsError",
    "Job",
    "Queued",
    "exit_code_of",
]

#: the console log from byte ``start`` (Jenkins's progressive text, as its own page reads it)
PROGRESSIVE_TEXT = "%(folder_url)sjob/%(short_name)s/%(number)s/logText/progressiveText"
#: python-jenkins's own template, for the parameterized job triggered with its defaults
BUILD_WITH_PARAMETERS = jenkins.BUILD_WITH_PARAMS_JOB
#: the build results of Jenkins that are a success; UNSTABLE, FAILURE, ABORTED and
#: NOT_BUILT are not
SUCCESS = "SUCCESS"


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
    #: what a trigger changes: the number its next build gets, and its first queue item
    next_build: int | None = None
    queue_item: int | None = None


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
        self._session = JenkinsSession(url, user, token, timeout=timeout, retries=retries,
                                       log=log, sleep=sleep)  # fmt: skip
        self.url = self._session.url
        self._server, self._call = self._session.server, self._session.call
        self._poll, self._log, self._sleep = poll_seconds, log, sleep

    # -- reading -------------------------------------------------------------------------

    def job(self, name: str) -> Job:
        info = self._call(
            f"GET {self._session.path(name)}api/json",
            lambda: self._server.get_job_info(name),
            missing=f"Jenkins at {self.url} has no job {name}",
        )
        properties = info.get("property") or []
        definitions = [p for p in properties if "parameterDefinitions" in p]
        names = tuple(d["name"] for p in definitions for d in p["parameterDefinitions"] or [])
        url = str(info.get("url") or urljoin(self.url, self._session.path(name)))
        queue_item = (info.get("queueItem") or {}).get("id")
        next_build = info.get("nextBuildNumber")
        return Job(name, url, bool(info.get("buildable")), bool(definitions), names,
                   None if next_build is None else int(next_build),
                   None if queue_item is None else int(queue_item))  # fmt: skip

    def build(self, job: str, number: int | str) -> Build:
        """Build ``number`` of ``job``: a number or a permalink (``lastBuild``)."""
        info = self._call(
            f"GET {self._session.path(job)}{number}/api/json",
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
        """Queue a build of ``job``; the queue item from the Location of the 201.
        A busy answer is sent again only after a Retry-After and when ``job`` (as read
        before) has neither a new queue item nor a new build: a second POST would queue
        a second build (Jenkins merges only identical items still waiting)."""
        try:
            return self._trigger(job, parameters)
        except KeyboardInterrupt:
            self._interrupted_trigger(job, parameters)
            raise

    def _trigger(self, job: Job, parameters: Sequence[tuple[str, str]]) -> Queued:
        unchanged = functools.partial(self._untriggered, job)
        if parameters or not job.parameterized:
            what = f"POST {self._session.path(job.name)}build"
            number = self._call(
                what + ("WithParameters" if parameters else ""),
                lambda: self._server.build_job(job.name, list(parameters) or None),
                unchanged=unchanged,
            )
        else:
            url = self.trigger_url(job, parameters)
            response = self._call(
                f"POST {urlsplit(url).path}",
                functools.partial(self._request, "POST", url),
                unchanged=unchanged,
            )
            number = _queue_id(response.headers.get("Location", ""), url)
        return Queued(int(number), f"{self.url}queue/item/{number}/")

    def _interrupted_trigger(self, before: Job, parameters: Sequence[tuple[str, str]]) -> None:
        """Ctrl-C before Jenkins answered the trigger, best effort: a queue item of the job
        that is new since ``before`` was read and has the parameters given is cancelled;
        anything else is said, not touched (it may be someone else's)."""
        try:
            now = self.job(before.name)
            if now.queue_item is not None and now.queue_item != before.queue_item:
                queued = Queued(now.queue_item, f"{self.url}queue/item/{now.queue_item}/")
                given = {f"{k}={v}" for k, v in parameters}
                if given <= set(str(self.queue_item(queued).get("params") or "").split("\n")):
                    self._log(f"interrupted: cancelling queue item {queued.id} of "
                              f"{before.name} (queued before Jenkins answered)")  # fmt: skip
                    self.cancel(queued)
                    return
            if now.next_build != before.next_build or now.queue_item != before.queue_item:
                self._log(f"interrupted before Jenkins answered: {before.name} has a build "
                          "or queue item it did not have before: see dm-release jenkins "
                          f"status {before.name}")  # fmt: skip
                return
            self._log(f"interrupted before Jenkins answered: no build of {before.name} is "
                      "queued yet; look at the job before triggering it again")  # fmt: skip
        except JenkinsError as exc:
            self._log(f"interrupted: could not read {before.name}: {exc}")

    def _untriggered(self, before: Job) -> str | None:
        """None when ``before.name`` has the queue item and next build number it had in
        ``before``; else what changed (a build queued or started since it was read)."""
        now = self.job(before.name)
        if now.queue_item != before.queue_item and now.queue_item is not None:
            return (f"queue item {now.queue_item} of {before.name} was queued meanwhile, maybe "
                    f"by this trigger: see dm-release jenkins status {before.name} once it "
                    "starts")  # fmt: skip
        if now.next_build != before.next_build:
            return (f"build #{before.next_build} of {before.name} started meanwhile, maybe by "
                    f"this trigger: see dm-release jenkins status {before.name} "
                    f"{before.next_build}")  # fmt: skip
        return None

    def stop(self, job: str, number: int) -> None:
        self._call(
            f"POST {self._session.path(job)}{number}/stop",
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
                functools.partial(self._request, "GET", url),
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

    def _request(self, method: str, url: str) -> requests.Response:
        """A request through python-jenkins's session: its crumb, its authentication."""
        response: requests.Response = self._server.jenkins_request(requests.Request(method, url))
        return response

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
