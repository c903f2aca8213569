"""A local Discourse for the tests of dm-release announce: an HTTP server on 127.0.0.1
answering the part of Discourse's API the announcement uses, as Discourse answers it.

- Every request must carry ``Api-Key`` and ``Api-Username`` of a known key and its user:
  otherwise 403 ``{"errors": ["You are not permitted to view the requested resource. The
  API username or key is invalid."], "error_type": "invalid_access"}``.
- ``GET /c/{id}.json`` is redirected (301) to the category's own path
  ``/c/{slug}/{id}.json``, its query kept; that answers ``{"topic_list": {"per_page": 30,
  "topics": [...], "more_topics_url": "/c/{slug}/{id}/l/latest?page=N+1"}}`` for page
  ``?page=N`` (no ``more_topics_url`` on the last page); the newest topic first, after the
  pinned "About the ... category" topic every category has. An unknown id is a 404
  ``{"errors": ["The requested URL or resource could not be found."], "error_type":
  "not_found"}``.
- ``POST /posts.json`` with ``{"title", "raw", "category"}`` makes a topic and answers
  ``{"id", "topic_id", "topic_slug", "post_number": 1, ...}``; refused with 422
  ``{"action": "create_post", "errors": [...]}`` for a title shorter than 15 characters,
  a body shorter than 20, a title used already, or a category that does not exist.
- ``fail_next(prefix, status, retry_after=..., wait_seconds=..., times=...)``: the next
  requests whose path starts with ``prefix`` get ``status`` (429: Discourse's rate-limit
  body with ``extras.wait_seconds``, and a ``Retry-After`` header when given).

``requests`` records every request as ``METHOD /path?query``, in order.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PER_PAGE = 30
INVALID_ACCESS = (
    "You are not permitted to view the requested resource. The API username or key is invalid."
)
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class FakeTopic:
    id: int
    title: str
    slug: str
    category: int
    raw: str
    username: str


@dataclass
class _Fault:
    prefix: str
    status: int
    retry_after: str | None
    wait_seconds: int | None
    times: int


@dataclass
class FakeDiscourse:
    keys: dict[str, str]  # API key -> the user it is for
    categories: dict[int, str] = field(default_factory=dict)  # id -> slug
    url: str = ""
    topics: list[FakeTopic] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_category(self, number: int, slug: str) -> None:
        self.categories[number] = slug
        self._topic(f"About the {slug} category", number, "The category's description.",
                    "system")  # fmt: skip

    def add_topic(self, title: str, category: int, raw: str = "Posted by someone else.") -> int:
        return self._topic(title, category, raw, "someone").id

    def fail_next(self, prefix: str, status: int, *, retry_after: str | None = None,
                  wait_seconds: int | None = None, times: int = 1) -> None:  # fmt: skip
        self.faults.append(_Fault(prefix, status, retry_after, wait_seconds, times))

    def posts(self) -> list[str]:
        return [r for r in self.requests if r.startswith("POST ")]

    def _topic(self, title: str, category: int, raw: str, username: str) -> FakeTopic:
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "topic"
        topic = FakeTopic(101 + len(self.topics), title, slug, category, raw, username)
        self.topics.append(topic)
        return topic

    # -- answering ------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            self.requests.append(f"{method} {target}")
            self.headers.append(headers)
            parts = urlsplit(target)
            fault = next((f for f in self.faults if parts.path.startswith(f.prefix)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return _fault(fault)
            user = self.keys.get(headers.get("api-key", ""))
            if user is None or headers.get("api-username") != user:
                return _json(403, {"errors": [INVALID_ACCESS], "error_type": "invalid_access"})
            if method == "GET":
                return self._get(parts.path, dict(parse_qsl(parts.query)), parts.query)
            if method == "POST" and parts.path == "/posts.json":
                return self._post(body, user)
            return _not_found()

    def _get(self, path: str, query: dict[str, str], raw_query: str) -> Answer:
        short = re.fullmatch(r"/c/([0-9]+)\.json", path)
        if short:
            slug = self.categories.get(int(short[1]))
            if slug is None:
                return _not_found()
            where = f"/c/{slug}/{short[1]}.json" + (f"?{raw_query}" if raw_query else "")
            return 301, {"Location": self.url + where}, b""
        full = re.fullmatch(r"/c/([a-z0-9-]+)/([0-9]+)\.json", path)
        if not full or self.categories.get(int(full[2])) != full[1]:
            return _not_found()
        number, page = int(full[2]), int(query.get("page", "0") or 0)
        mine = [t for t in self.topics if t.category == number]
        ordered = mine[:1] + mine[:0:-1]  # the pinned "About" topic, then the newest first
        shown = ordered[page * PER_PAGE : (page + 1) * PER_PAGE]
        topic_list: dict[str, Any] = {
            "can_create_topic": True,
            "per_page": PER_PAGE,
            "topics": [_listed(t, pinned=t is mine[0]) for t in shown],
        }
        if (page + 1) * PER_PAGE < len(ordered):
            topic_list["more_topics_url"] = f"/c/{full[1]}/{number}/l/latest?page={page + 1}"
        return _json(200, {"users": [], "primary_groups": [], "topic_list": topic_list})

    def _post(self, body: bytes, user: str) -> Answer:
        try:
            data = json.loads(body)
        except ValueError:
            return _json(400, {"errors": ["param is missing or the value is empty: raw"]})
        title, raw = str(data.get("title") or ""), str(data.get("raw") or "")
        category = data.get("category")
        errors = []
        if len(title.strip()) < 15:
            errors.append("Title is too short (minimum is 15 characters)")
        if len(raw.strip()) < 20:
            errors.append("Body is too short (minimum is 20 characters)")
        if not isinstance(category, int) or category not in self.categories:
            errors.append("Category can't be blank")
        if any(t.title == title for t in self.topics):
            errors.append("Title has already been used")
        if errors:
            return _json(422, {"action": "create_post", "errors": errors})
        topic = self._topic(title, int(category), raw, user)
        return _json(200, {
            "id": 9000 + topic.id, "topic_id": topic.id, "topic_slug": topic.slug,
            "post_number": 1, "username": user, "raw": raw, "category_id": topic.category,
        })  # fmt: skip


def _listed(topic: FakeTopic, *, pinned: bool) -> dict[str, Any]:
    return {"id": topic.id, "title": topic.title, "fancy_title": topic.title,
            "slug": topic.slug, "posts_count": 1, "category_id": topic.category,
            "pinned": pinned, "visible": True, "closed": False}  # fmt: skip


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> Answer:
    body = json.dumps(document).encode()
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body


def _not_found() -> Answer:
    return _json(404, {"errors": ["The requested URL or resource could not be found."],
                       "error_type": "not_found"})  # fmt: skip


def _fault(fault: _Fault) -> Answer:
    if fault.status == 429:
        wait = 0 if fault.wait_seconds is None else fault.wait_seconds
        document = {
            "errors": [f"You\u2019ve performed this action too many times. Please wait {wait} "
                       "seconds before trying again."],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": wait, "time_left": f"{wait} seconds"},
        }  # fmt: skip
        headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
        return _json(429, document, headers)
    return _json(fault.status, {"errors": [f"the fake's {fault.status}"]})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away


@contextmanager
def fake_discourse(keys: dict[str, str]) -> Iterator[FakeDiscourse]:
    """A FakeDiscourse on a free port of 127.0.0.1; ``keys``: API key -> user."""
    fake = FakeDiscourse(dict(keys))

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, data = fake.answer(method, self.path, headers, body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
