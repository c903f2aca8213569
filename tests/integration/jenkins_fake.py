"""A local Jenkins for the tests of dm-release jenkins: an HTTP server on 127.0.0.1 that
answers the part of Jenkins's REST API a client uses as Jenkins answers it.

- ``GET /crumbIssuer/api/json``: ``{"crumb", "crumbRequestField": "Jenkins-Crumb"}`` and a
  session cookie; the crumb is good only with that cookie (Jenkins binds crumbs to the web
  session). Every POST without the session's crumb in ``Jenkins-Crumb`` is a 403 with
  Jenkins's page "No valid crumb was included in the request". This is stricter than
  Jenkins: since 2.96 Jenkins exempts requests signed in with an API token from the crumb,
  so the stale-crumb renewal is met only without a token (a browser session, or an older
  Jenkins); the client sends the crumb always, so it works with either.
- ``GET /job/A/job/B/api/json``: a job (its parameter definitions with their defaults,
  ``buildable``) or a folder; ``POST .../buildWithParameters?K=V`` (a parameterized job)
  or ``.../build`` (one without parameters; the other way round is a 400, whose text is
  the fake's own, not asserted): 201 with
  ``Location: <url>queue/item/N/``. As Jenkins, parameters a job does not define are
  dropped, and those not given take their defaults.
- ``GET /queue/item/N/api/json``: ``why`` while waiting (in the quiet period, a countdown),
  then ``executable`` (the build's number and URL), or ``cancelled: true``;
  ``POST /queue/cancelItem?id=N`` cancels a waiting item.
- ``GET /job/X/N/api/json`` (N a number or ``lastBuild``): ``building``, ``result``,
  ``duration`` (ms), ``timestamp``, the ``ParametersAction``; ``GET
  /job/X/N/logText/progressiveText?start=K``: the log's bytes from K without its console
  notes, ``X-Text-Size`` (where the next read starts: the log's size, notes counted) and,
  while the build runs, ``X-More-Data: true``; ``POST /job/X/N/stop``: ABORTED, then a 302
  to the build's page, as Jenkins.
- With ``users``, the basic authentication of one of them (user, API token): a wrong token
  is a 401, none a 403 (anonymous may not read).

A build moves one step per read of its console log: each read shows the next chunk of
its script, the read of the last finishes it (no clock: the tests see the same requests
every run). ``busy`` holds answers for the next requests, ``(status, Retry-After)``,
``busy_after_queueing`` for the next triggers, given once the build is queued (a proxy's
503 for a Jenkins slow to answer); ``delay`` makes every answer late. A job's
``queueItem``/``inQueue`` and ``nextBuildNumber`` say what a trigger did.
``requests`` records every request, ``METHOD /path?query``, in order.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

#: 2025-06-11T01:02:03Z, when every build of the fake starts
STARTED_MS = 1_749_603_723_000
#: a finished build's duration: 1 min 2 s
DURATION_MS = 62_000
CRUMB_FIELD = "Jenkins-Crumb"
NO_CRUMB_PAGE = (
    "<html><head><title>Error 403 No valid crumb was included in the request</title></head>"
    "<body><h2>HTTP ERROR 403 No valid crumb was included in the request</h2></body></html>"
)
#: the annotations Jenkins keeps in a console log (hyperlinks, pipeline steps) and strips
#: from its plain progressive text: X-Text-Size counts them, the text has none
CONSOLE_NOTE = re.compile(rb"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")
#: an answer: status, headers, body
Answer = tuple[int, dict[str, str], bytes]
PERMALINKS = ("lastBuild", "lastCompletedBuild", "lastSuccessfulBuild", "lastFailedBuild")


@dataclass
class Script:
    """What the next build of a job does: its log in chunks (one per read), its result;
    ``waits``: queue reads answered "in the quiet period" before it starts; ``cancelled``:
    its queue item is cancelled instead (someone else did); ``endless``: it runs until
    stopped (its reads after the last chunk show nothing new)."""

    chunks: tuple[bytes, ...] = (b"Started by user release-bot\n", b"Finished: SUCCESS\n")
    result: str = "SUCCESS"
    waits: int = 1
    cancelled: bool = False
    endless: bool = False


@dataclass
class FakeBuild:
    job: str
    number: int
    parameters: list[tuple[str, str]]
    script: Script
    log: bytearray = field(default_factory=bytearray)
    shown: int = 0
    result: str | None = None

    @property
    def building(self) -> bool:
        return self.result is None


@dataclass
class FakeJob:
    name: str
    parameters: dict[str, str] | None  # definitions and defaults; None: not parameterized
    scripts: list[Script]
    builds: dict[int, FakeBuild] = field(default_factory=dict)
    buildable: bool = True


@dataclass
class QueueEntry:
    id: int
    job: str
    parameters: list[tuple[str, str]]
    script: Script
    reads: int = 0
    cancelled: bool = False
    build: int | None = None


class FakeJenkins:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = users
        self.url = ""
        self.jobs: dict[str, FakeJob] = {}
        self.queue: dict[int, QueueEntry] = {}
        self.requests: list[str] = []
        self.busy: list[tuple[int, str | None]] = []
        #: answers for the next triggers, each given after the build is queued (a proxy
        #: that gave up waiting for Jenkins's answer)
        self.busy_after_queueing: list[tuple[int, str | None]] = []
        #: a queued build starts at once (an idle executor, no quiet period)
        self.start_on_queueing = False
        #: the next POST is refused as if Jenkins had restarted (every session's crumb stale)
        self.restart_before_post = False
        #: seconds each answer waits before it is sent (a Jenkins that hangs)
        self.delay = 0.0
        #: seconds the answer to a trigger waits, after the build is queued
        self.trigger_delay = 0.0
        self._sessions: dict[str, str] = {}  # session cookie -> its crumb
        self._lock = threading.Lock()

    def add_job(self, name: str, parameters: dict[str, str] | None = None,
                *scripts: Script) -> FakeJob:  # fmt: skip
        job = FakeJob(name, parameters, list(scripts) or [Script()])
        self.jobs[name] = job
        return job

    def build_url(self, job: str, number: int) -> str:
        return f"{self.job_url(job)}{number}/"

    def job_url(self, name: str) -> str:
        return self.url + "".join(f"job/{quote(part)}/" for part in name.split("/"))

    # -- the server ----------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            status, headers, body = self._answer(request)
        if self.delay:
            time.sleep(self.delay)
        if self.trigger_delay and request.command == "POST" and status == 201:
            time.sleep(self.trigger_delay)
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _answer(self, request: BaseHTTPRequestHandler) -> Answer:
        method, target = request.command, request.path
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)  # a form's body: the parameters come in the query
        self.requests.append(f"{method} {target}")
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qsl(parts.query, keep_blank_values=True)
        if self.busy:
            return _busy(*self.busy.pop(0))
        refused = self._refused(request)
        if refused:
            return refused
        if path == "/crumbIssuer/api/json":
            return self._crumb()
        if method == "POST":
            session = _cookie(request.headers.get("Cookie", ""))
            crumb = self._sessions.get(session or "")
            if self.restart_before_post:
                self.restart_before_post = False
                self._sessions.clear()
                crumb = None
            if crumb is None or request.headers.get(CRUMB_FIELD) != crumb:
                return 403, {"Content-Type": "text/html"}, NO_CRUMB_PAGE.encode()
        match = re.fullmatch(r"/queue/item/(\d+)/api/json", path)
        if match and method == "GET":
            return self._queue_item(int(match[1]))
        if path == "/queue/cancelItem" and method == "POST":
            entry = self.queue.get(int(dict(query).get("id", "0")))
            if entry is not None and entry.build is None:
                entry.cancelled = True
            return 204, {}, b""
        match = re.fullmatch(r"/((?:job/[^/]+/)+)(.*)", path)
        if match:
            name = "/".join(re.findall(r"job/([^/]+)/", match[1]))
            return self._job_request(method, name, match[2], query)
        return _not_found()

    def _refused(self, request: BaseHTTPRequestHandler) -> Answer | None:
        if self.users is None:
            return None
        given = request.headers.get("Authorization", "")
        if not given.startswith("Basic "):
            return 403, {"Content-Type": "text/html"}, b"<html>Authentication required</html>"
        user, _, token = base64.b64decode(given[6:]).decode().partition(":")
        if self.users.get(user) != token:
            page = f"<html>Invalid password/token for user: {user}</html>".encode()
            return 401, {"Content-Type": "text/html", "WWW-Authenticate": "Basic realm=x"}, page
        return None

    def _crumb(self) -> Answer:
        session, crumb = secrets.token_hex(8), secrets.token_hex(16)
        self._sessions[session] = crumb
        document = {"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": crumb,
                    "crumbRequestField": CRUMB_FIELD}  # fmt: skip
        cookie = f"JSESSIONID.fake={session}; Path=/; HttpOnly"
        return _json(document, {"Set-Cookie": cookie})

    def _job_request(
        self, method: str, name: str, rest: str, query: list[tuple[str, str]]
    ) -> Answer:
        job = self.jobs.get(name)
        if job is None:
            folder = [j for j in self.jobs if j.startswith(f"{name}/")]
            if folder and (method, rest) == ("GET", "api/json"):
                return _json({"_class": "com.cloudbees.hudson.plugins.folder.Folder",
                              "name": name.rpartition("/")[2], "fullName": name,
                              "url": self.job_url(name),
                              "jobs": [{"name": j[len(name) + 1 :]} for j in folder]})  # fmt: skip
            return _not_found()
        if (method, rest) == ("GET", "api/json"):
            return _json(self._job_document(job))
        if method == "POST" and rest in ("build", "buildWithParameters"):
            answer = self._trigger(job, rest, query)
            if answer[0] == 201 and self.busy_after_queueing:
                return _busy(*self.busy_after_queueing.pop(0))
            return answer
        match = re.fullmatch(r"(\d+|[a-zA-Z]+)/(api/json|logText/progressiveText|stop|)", rest)
        build = self._build_of(job, match[1]) if match else None
        if match is None or build is None:
            return _not_found()
        if (method, match[2]) == ("GET", "api/json"):
            return _json(self._build_document(build))
        if (method, match[2]) == ("GET", "logText/progressiveText"):
            return self._progressive(build, int(dict(query).get("start", "0")))
        if (method, match[2]) == ("POST", "stop"):
            if build.building:
                build.log += b"Aborted by release-bot\nFinished: ABORTED\n"
                build.result = "ABORTED"
            return 302, {"Location": self.build_url(job.name, build.number)}, b""
        if (method, match[2]) == ("GET", ""):
            return 200, {"Content-Type": "text/html"}, b"<html>build</html>"
        return _not_found()

    def _trigger(self, job: FakeJob, how: str,
                 query: list[tuple[str, str]]) -> Answer:  # fmt: skip
        if job.parameters is None and how == "buildWithParameters":
            return 400, {"Content-Type": "text/html"}, f"{job.name} is not parameterized".encode()
        if job.parameters is not None and how == "build":
            return 400, {"Content-Type": "text/html"}, b"This page expects a form submission"
        given = dict(query)
        defined = job.parameters or {}
        parameters = [(k, given.get(k, default)) for k, default in defined.items()]
        script = job.scripts.pop(0) if len(job.scripts) > 1 else job.scripts[0]
        number = len(self.queue) + 1
        self.queue[number] = QueueEntry(number, job.name, parameters, script)
        if self.start_on_queueing:
            entry = self.queue[number]
            entry.build = len(job.builds) + 1
            job.builds[entry.build] = FakeBuild(job.name, entry.build, parameters, script)
        return 201, {"Location": f"{self.url}queue/item/{number}/"}, b""

    def _queue_item(self, number: int) -> Answer:
        entry = self.queue.get(number)
        if entry is None:
            return _not_found()
        entry.reads += 1
        task = {"name": entry.job.rpartition("/")[2], "url": self.job_url(entry.job)}
        head = {"id": number, "task": task, "url": f"queue/item/{number}/",
                "params": "".join(f"\n{k}={v}" for k, v in entry.parameters)}  # fmt: skip
        if entry.build is None and not entry.cancelled and entry.reads > entry.script.waits:
            entry.cancelled = entry.script.cancelled
            if not entry.cancelled:
                job = self.jobs[entry.job]
                entry.build = len(job.builds) + 1
                job.builds[entry.build] = FakeBuild(entry.job, entry.build, entry.parameters,
                                                    entry.script)  # fmt: skip
        if entry.cancelled:
            return _json({**head, "_class": "hudson.model.Queue$LeftItem", "cancelled": True,
                          "executable": None})  # fmt: skip
        if entry.build is not None:
            url = self.build_url(entry.job, entry.build)
            executable = {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                          "number": entry.build, "url": url}  # fmt: skip
            return _json({**head, "_class": "hudson.model.Queue$LeftItem", "cancelled": False,
                          "executable": executable})  # fmt: skip
        expires = 5.0 - 2.5 * entry.reads + 0.4
        return _json({**head, "_class": "hudson.model.Queue$WaitingItem", "blocked": False,
                      "buildable": False, "stuck": False,
                      "why": f"In the quiet period. Expires in {expires:.1f} sec"})  # fmt: skip

    def _build_of(self, job: FakeJob, which: str) -> FakeBuild | None:
        if which.isdigit():
            return job.builds.get(int(which))
        if which in PERMALINKS and job.builds:
            return job.builds[max(job.builds)]
        return None

    def _progressive(self, build: FakeBuild, start: int) -> Answer:
        script = build.script
        if build.building and build.shown < len(script.chunks):
            build.log += script.chunks[build.shown]
            build.shown += 1
            if build.shown == len(script.chunks) and not script.endless:
                build.result = script.result
        headers = {"Content-Type": "text/plain;charset=UTF-8", "X-Text-Size": str(len(build.log))}
        if build.building:
            headers["X-More-Data"] = "true"
        return 200, headers, CONSOLE_NOTE.sub(b"", bytes(build.log[start:]))

    def _job_document(self, job: FakeJob) -> dict[str, Any]:
        properties = []
        if job.parameters is not None:
            definitions = [
                {"_class": "hudson.model.StringParameterDefinition", "name": k,
                 "defaultParameterValue": {"_class": "hudson.model.StringParameterValue",
                                           "name": k, "value": v},
                 "description": "", "type": "StringParameterDefinition"}
                for k, v in job.parameters.items()
            ]  # fmt: skip
            properties.append({"_class": "hudson.model.ParametersDefinitionProperty",
                               "parameterDefinitions": definitions})  # fmt: skip
        last = max(job.builds, default=None)
        waiting = [e.id for e in self.queue.values()
                   if e.job == job.name and e.build is None and not e.cancelled]  # fmt: skip
        return {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": job.name.rpartition("/")[2], "fullName": job.name,
            "url": self.job_url(job.name), "buildable": job.buildable,
            "nextBuildNumber": len(job.builds) + 1, "property": properties,
            "inQueue": bool(waiting),
            "queueItem": {"_class": "hudson.model.Queue$WaitingItem", "id": waiting[0]}
            if waiting else None,
            "lastBuild": None if last is None else {"number": last,
                                                    "url": self.build_url(job.name, last)},
        }  # fmt: skip

    def _build_document(self, build: FakeBuild) -> dict[str, Any]:
        parameters = [{"_class": "hudson.model.StringParameterValue", "name": k, "value": v}
                      for k, v in build.parameters]  # fmt: skip
        actions: list[dict[str, Any]] = [
            {"_class": "hudson.model.CauseAction",
             "causes": [{"shortDescription": "Started by user release-bot"}]},
        ]  # fmt: skip
        if parameters:
            actions.insert(0, {"_class": "hudson.model.ParametersAction", "parameters": parameters})
        return {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "actions": [*actions, {}],
            "building": build.building, "result": build.result,
            "duration": 0 if build.building else DURATION_MS, "estimatedDuration": DURATION_MS,
            "displayName": f"#{build.number}", "id": str(build.number), "number": build.number,
            "fullDisplayName": f"{build.job.replace('/', ' » ')} #{build.number}",
            "timestamp": STARTED_MS, "url": self.build_url(build.job, build.number),
        }  # fmt: skip


def _cookie(header: str) -> str | None:
    match = re.search(r"JSESSIONID\.fake=([0-9a-f]+)", header)
    return match[1] if match else None


def _json(document: Any, headers: dict[str, str] | None = None) -> Answer:
    body = json.dumps(document).encode()
    return 200, {"Content-Type": "application/json;charset=utf-8", **(headers or {})}, body


def _busy(status: int, retry_after: str | None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return status, {**headers, "Content-Type": "text/html"}, b"<html>busy</html>"


def _not_found() -> Answer:
    return 404, {"Content-Type": "text/html"}, b"<html>Not Found</html>"


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """An answer to a client that went away (it gave up on a late answer) is no
        error of the test; any other shows as the client's failure."""


@contextmanager
def fake_jenkins(users: dict[str, str] | None = None) -> Iterator[FakeJenkins]:
    """A :class:`FakeJenkins` served on a free port of 127.0.0.1 (its ``url``) until the
    block ends."""
    fake = FakeJenkins(users)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.handle(self)

        def do_POST(self) -> None:
            fake.handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads fake.requests

    httpd = _Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    # a short poll: shutdown waits for it, at the end of each of the many tests
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
