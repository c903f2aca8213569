"""A local Jira: the subset of Jira Data Center's REST API v2 that dm-release speaks.

The demo and the tests face it instead of a real Jira, with the real request and response
shapes: ``GET``/``PUT /rest/api/2/issue/{key}`` (``fields``, ``issuelinks``,
``fixVersions``; the PUT's ``{"update": {"fixVersions": [{"add": {"name"}}]}}`` answers
204), ``POST``/``GET /rest/api/2/search`` (JQL: ``key in (...)``, ``fixVersion = "V"``,
``issue in linkedIssues(KEY, "is blocked by")``, joined by ``AND``, ``ORDER BY`` taken as
key order; paged by ``startAt``/``maxResults``, at most :attr:`LocalJira.max_results` a
page), ``GET /rest/api/2/project/{key}/versions``, ``POST /rest/api/2/version``. Errors as
Jira gives them: ``{"errorMessages": [...], "errors": {...}}``, 401 without the Bearer
token, 404 for an unknown issue or project, 400 for bad JQL or an unknown version; and
injected faults (:meth:`LocalJira.fail_next`: 429 with Retry-After, 503).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["LocalJira", "serve_jira"]

API = "/rest/api/2"
#: statuses in Jira's category "done" (the others are "indeterminate", or "new" below)
DONE = frozenset({"Done", "Closed", "Resolved", "Adopted", "Implemented", "Won't Fix"})
NEW = frozenset({"To Do", "Open", "Proposed", "Backlog"})
_CATEGORY_NAMES = {"done": "Done", "new": "To Do", "indeterminate": "In Progress"}
_LINK = {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"}


@dataclass
class _Issue:
    key: str
    summary: str
    issue_type: str
    status: str
    fix_versions: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)


@dataclass
class _Fault:
    prefix: str
    status: int
    retry_after: str | None
    times: int
    after: bool = False


class LocalJira:
    """The server's state: issues, versions by project, the requests it was sent
    (``requests``: (method, path) in arrival order), the most requests it handled at once
    (``max_in_flight``)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.url = ""
        self.max_results = 50
        self.delay = 0.0  # seconds each answer waits
        self._gate: threading.Barrier | None = None
        self.requests: list[tuple[str, str]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._issues: dict[str, _Issue] = {}
        self._versions: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self._next_id = 10000
        self._lock = threading.Lock()

    # -- seeding and inspecting ------------------------------------------------------------

    def add_issue(
        self,
        key: str,
        summary: str,
        issue_type: str = "Story",
        status: str = "Done",
        blocks: Sequence[str] = (),
        fix_versions: Sequence[str] = (),
    ) -> None:
        """Add the issue ``key`` (its project too); it blocks each of ``blocks``."""
        with self._lock:
            project = key.rpartition("-")[0]
            self._versions.setdefault(project, [])
            for name in fix_versions:
                self._version(project, name)
            self._issues[key] = _Issue(
                key, summary, issue_type, status, list(fix_versions), list(blocks)
            )

    def set_status(self, key: str, status: str) -> None:
        with self._lock:
            self._issues[key].status = status

    def add_project(self, project: str) -> None:
        with self._lock:
            self._versions.setdefault(project, [])

    def issue_fields(self, key: str) -> dict[str, Any]:
        """The issue's ``fields`` as a GET answers them."""
        with self._lock:
            return self._fields(self._issues[key])

    def versions(self, project: str) -> list[str]:
        with self._lock:
            return [v["name"] for v in self._versions.get(project, [])]

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        retry_after: str | int | None = None,
        times: int = 1,
        *,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path_prefix`` with
        ``status`` (and a Retry-After header when given), before anything else; ``after``:
        do what the request asks first (a proxy timing out on a Jira that did it)."""
        wait = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Fault(path_prefix, status, wait, times, after))

    def gate(self, parties: int) -> None:
        """Hold each answer until ``parties`` requests are in flight together (or 10 s
        passed): a client allowed that many at once is seen to send them."""
        self._gate = threading.Barrier(parties, timeout=10)

    def writes(self) -> list[tuple[str, str]]:
        """The requests that change something (PUT and POST but a search)."""
        return [(m, p) for m, p in self.requests if m in ("PUT", "POST") and p != API + "/search"]

    # -- the REST API ------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query)
        late: _Fault | None = None
        with self._lock:
            self.requests.append((method, path))
            for fault in self._faults:
                if path.startswith(fault.prefix) and fault.times > 0:
                    fault.times -= 1
                    if fault.after:
                        late = fault
                        break
                    return fault.status, _error(f"injected {fault.status}"), _wait(fault)
        answer = self._answer(method, path, query, headers, body)
        if late is not None:
            return late.status, _error(f"injected {late.status}"), _wait(late)
        return answer

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, _error("You are not authenticated. Authentication required to "
                               "perform this operation."), {}  # fmt: skip
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return 400, _error("Unexpected character in the request body: not JSON"), {}
        with self._lock:
            return (*self._route(method, path, query, data), {})

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], data: Any
    ) -> tuple[int, Any]:
        if match := re.fullmatch(API + r"/issue/([^/]+)", path):
            issue = self._issues.get(match[1])
            if issue is None:
                return 404, _error("Issue Does Not Exist")
            if method == "GET":
                wanted = (query.get("fields") or [""])[0]
                return 200, self._issue(issue, wanted.split(",") if wanted else None)
            if method == "PUT":
                return self._update(issue, data)
        elif path == API + "/search" and method in ("GET", "POST"):
            if method == "GET":
                data = {k: v[0] for k, v in query.items()}
                data["fields"] = data.get("fields", "").split(",") if "fields" in data else None
            return self._search(data if isinstance(data, dict) else {})
        elif match := re.fullmatch(API + r"/project/([^/]+)/versions", path):
            if method == "GET":
                if match[1] not in self._versions:
                    return 404, _error(f"No project could be found with key '{match[1]}'.")
                return 200, self._versions[match[1]]
        elif path == API + "/version" and method == "POST":
            return self._create_version(data)
        else:
            return 404, _error("null for uri: " + self.url + path)
        return 405, _error(f"{method} is not allowed here")

    def _update(self, issue: _Issue, data: Any) -> tuple[int, Any]:
        project = issue.key.rpartition("-")[0]
        try:
            operations = data["update"]["fixVersions"]
            names = [op["add"]["name"] for op in operations]
        except (KeyError, TypeError):
            return 400, _error("Field 'fixVersions': only add operations are served here")
        known = {v["name"] for v in self._versions.get(project, [])}
        for name in names:
            if name not in known:
                return 400, {
                    "errorMessages": [],
                    "errors": {"fixVersions": f"Version name '{name}' is not valid"},
                }
        for name in names:
            if name not in issue.fix_versions:
                issue.fix_versions.append(name)
        return 204, None

    def _search(self, data: dict[str, Any]) -> tuple[int, Any]:
        jql = str(data.get("jql") or "")
        try:
            keys = self._query(jql)
        except ValueError as exc:
            return 400, _error(f"Error in the JQL Query: {exc}")
        start = int(data.get("startAt") or 0)
        size = min(int(data.get("maxResults") or self.max_results), self.max_results)
        fields = data.get("fields")
        page = [self._issue(self._issues[k], fields) for k in keys[start : start + size]]
        return 200, {"expand": "schema,names", "startAt": start, "maxResults": size,
                     "total": len(keys), "issues": page}  # fmt: skip

    def _query(self, jql: str) -> list[str]:
        text = re.split(r"\s+ORDER\s+BY\s+", jql.strip(), flags=re.IGNORECASE)[0]
        keys = set(self._issues)
        for clause in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE) if text else []:
            keys &= self._clause(clause.strip())
        return sorted(keys, key=_key_order)

    def _clause(self, clause: str) -> set[str]:
        if match := re.fullmatch(r"key\s+in\s+\(([^)]*)\)", clause, re.IGNORECASE):
            wanted = [k.strip().strip('"') for k in match[1].split(",") if k.strip()]
            for key in wanted:
                if key not in self._issues:
                    raise ValueError(f"An issue with key '{key}' does not exist for field 'key'.")
            return set(wanted)
        if match := re.fullmatch(r'fixVersion\s*=\s*"([^"]*)"', clause, re.IGNORECASE):
            return {k for k, i in self._issues.items() if match[1] in i.fix_versions}
        if match := re.fullmatch(
            r'issue\s+in\s+linkedIssues\(\s*"?([A-Z][A-Z0-9]*-\d+)"?\s*,\s*"is blocked by"\s*\)',
            clause, re.IGNORECASE,
        ):  # fmt: skip
            if match[1] not in self._issues:
                raise ValueError(f"Issue '{match[1]}' could not be found in function "
                                 "'linkedIssues'.")  # fmt: skip
            return {k for k, i in self._issues.items() if match[1] in i.blocks}
        raise ValueError(f"the clause {clause!r} is not served by this Jira")

    def _create_version(self, data: Any) -> tuple[int, Any]:
        if not isinstance(data, dict) or not data.get("name") or not data.get("project"):
            return 400, {"errorMessages": [], "errors": {"name": "You must specify a valid "
                                                                 "version name"}}  # fmt: skip
        project, name = str(data["project"]), str(data["name"])
        if project not in self._versions:
            return 404, _error(f"No project could be found with key '{project}'.")
        if name in {v["name"] for v in self._versions[project]}:
            return 400, {"errorMessages": [], "errors": {
                "name": "A version with this name already exists in this project."}}  # fmt: skip
        return 201, self._version(project, name)

    def _version(self, project: str, name: str) -> dict[str, Any]:
        for version in self._versions[project]:
            if version["name"] == name:
                return version
        self._next_id += 1
        version = {"self": f"{self.url}{API}/version/{self._next_id}", "id": str(self._next_id),
                   "name": name, "archived": False, "released": False,
                   "projectId": 1}  # fmt: skip
        self._versions[project].append(version)
        return version

    def _issue(self, issue: _Issue, fields: Sequence[str] | None) -> dict[str, Any]:
        every = self._fields(issue)
        chosen = every if not fields or "*all" in fields else {
            k: v for k, v in every.items() if k in fields}  # fmt: skip
        return {"expand": "renderedFields,names,schema", "id": str(_key_order(issue.key)[1]),
                "self": f"{self.url}{API}/issue/{issue.key}", "key": issue.key,
                "fields": chosen}  # fmt: skip

    def _fields(self, issue: _Issue) -> dict[str, Any]:
        project = issue.key.rpartition("-")[0]
        by_name = {v["name"]: v for v in self._versions.get(project, [])}
        links = [{"id": f"{n}", "type": _LINK, "inwardIssue": self._brief(other)}
                 for n, other in enumerate(sorted(
                     (k for k, i in self._issues.items() if issue.key in i.blocks),
                     key=_key_order))]  # fmt: skip
        links += [{"id": f"o{n}", "type": _LINK, "outwardIssue": self._brief(other)}
                  for n, other in enumerate(issue.blocks) if other in self._issues]  # fmt: skip
        done = _category(issue.status) == "done"
        return {
            "summary": issue.summary,
            "status": self._status(issue.status),
            "issuetype": {"name": issue.issue_type, "subtask": False},
            "fixVersions": [by_name.get(n, {"name": n}) for n in issue.fix_versions],
            "issuelinks": links,
            "resolution": {"name": "Done"} if done else None,
        }

    def _brief(self, key: str) -> dict[str, Any]:
        other = self._issues[key]
        return {"id": str(_key_order(key)[1]), "key": key, "self": f"{self.url}{API}/issue/{key}",
                "fields": {"summary": other.summary, "status": self._status(other.status),
                           "issuetype": {"name": other.issue_type}}}  # fmt: skip

    @staticmethod
    def _status(name: str) -> dict[str, Any]:
        category = _category(name)
        return {"name": name, "statusCategory": {"key": category,
                                                 "name": _CATEGORY_NAMES[category]}}  # fmt: skip


def _category(status: str) -> str:
    return "done" if status in DONE else "new" if status in NEW else "indeterminate"


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, 0)


def _wait(fault: _Fault) -> dict[str, str]:
    return {"Retry-After": fault.retry_after} if fault.retry_after else {}


def _error(message: str) -> dict[str, Any]:
    return {"errorMessages": [message], "errors": {}}


class _Handler(BaseHTTPRequestHandler):
    jira: LocalJira  # set on the class made for each server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        jira = self.jira
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with jira._lock:
            jira._in_flight += 1
            jira.max_in_flight = max(jira.max_in_flight, jira._in_flight)
        try:
            if jira.delay:
                time.sleep(jira.delay)
            if jira._gate is not None:
                try:
                    jira._gate.wait()
                except threading.BrokenBarrierError:  # fewer came: answer them anyway
                    jira._gate.reset()
            status, data, extra = jira.handle(self.command, self.path, self.headers, body)
        finally:
            with jira._lock:
                jira._in_flight -= 1
        payload = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        if status == 401:
            self.send_header("WWW-Authenticate", 'OAuth realm="jira"')
        if payload:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = _answer


@contextmanager
def serve_jira(token: str | None = None) -> Iterator[LocalJira]:
    """A local Jira on a free port of 127.0.0.1 for the block's duration; ``token``: the
    personal access token it asks for (None: it asks for none)."""
    jira = LocalJira(token)
    handler = type("JiraHandler", (_Handler,), {"jira": jira})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    jira.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="dm-release-jira", daemon=True
    )
    thread.start()
    try:
        yield jira
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
