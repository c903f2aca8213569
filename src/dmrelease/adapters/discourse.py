"""A Discourse forum (the community site): find a topic of a category by its title, and
post a new topic.

Discourse's API as it serves it: every request carries the headers ``Api-Key`` (the
secret DM_RELEASE_DISCOURSE_API_KEY) and ``Api-Username`` (discourse.user); a topic is
created by ``POST /posts.json`` with ``{"title", "raw", "category"}``, answered
``{"id", "topic_id", "topic_slug", ...}``; a category's topics are
``GET /c/{id}.json?page=N`` → ``{"topic_list": {"topics": [{"id", "title", "slug", ...}],
"more_topics_url": ...}}`` (no ``more_topics_url`` on the last page). Refusals are
``{"errors": [...]}``: 403 for a key or user it does not take, 422 for a post it does not
accept (a title too short, or used already); 429 (rate limit) carries ``Retry-After`` and
``extras.wait_seconds``: the request is sent again after that wait, at most ``retries``
times. Every other failure is a :class:`DiscourseError` (exit 2) naming the request, the
forum and what Discourse said, never the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from dmrelease.adapters import http_retry
from dmrelease.core.errors import DmReleaseError, UsageError

__all__ = ["DiscourseClient", "DiscourseError", "Topic"]

#: the pages of a category read when looking for a topic (30 topics a page)
MAX_PAGES = 20
#: the longest wait before a rate-limited request is sent again, whatever Discourse says
MAX_WAIT = 600


class DiscourseError(DmReleaseError):
    """Discourse cannot be reached, refuses the key, or refuses the post: exit 2."""

    exit_code = 2


@dataclass(frozen=True)
class Topic:
    """A topic of the forum: its id, slug, title and address."""

    id: int
    slug: str
    title: str
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "title": self.title, "url": self.url}


class DiscourseClient:
    """The forum at ``url``, as ``user`` with the API key ``key``; ``log`` takes the lines
    for people (a wait after a rate limit)."""

    def __init__(
        self,
        url: str,
        user: str,
        key: str,
        *,
        timeout: float = 30,
        retries: int = 5,
        log: Callable[[str], None] = lambda line: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"discourse.url: {url!r} is not an http:// or https:// URL")
        self.url = url.rstrip("/")
        self._headers = {"Api-Key": key, "Api-Username": user, "Accept": "application/json"}
        self._timeout, self._retries, self._log, self._sleep = timeout, retries, log, sleep

    def topic_url(self, slug: str, topic_id: int) -> str:
        return f"{self.url}/t/{slug}/{topic_id}"

    def find_topic(self, category: int, title: str) -> Topic | None:
        """The topic of ``category`` titled ``title`` (the newest first), or None."""
        for page in range(MAX_PAGES):
            data = self._call("GET", f"/c/{category}.json", params={"page": page})
            topic_list = data.get("topic_list") if isinstance(data, dict) else None
            if not isinstance(topic_list, dict):
                raise DiscourseError(f"GET /c/{category}.json: Discourse at {self.url} "
                                     "answered no topic_list")  # fmt: skip
            for topic in topic_list.get("topics") or []:
                if isinstance(topic, dict) and topic.get("title") == title:
                    slug = str(topic.get("slug") or "")
                    number = int(topic["id"])
                    return Topic(number, slug, title, self.topic_url(slug, number))
            if not topic_list.get("more_topics_url") or not topic_list.get("topics"):
                return None
        return None

    def create_topic(self, category: int, title: str, raw: str) -> Topic:
        """Post a new topic of ``category``; the topic Discourse made."""
        body = {"title": title, "raw": raw, "category": category}
        data = self._call("POST", "/posts.json", json=body)
        try:
            number, slug = int(data["topic_id"]), str(data["topic_slug"])
        except (KeyError, TypeError, ValueError):
            raise DiscourseError(f"POST /posts.json: Discourse at {self.url} answered no "
                                 "topic_id and topic_slug") from None  # fmt: skip
        return Topic(number, slug, title, self.topic_url(slug, number))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        what = f"{method} {path}"
        tries = 0
        while True:
            try:
                response = requests.request(
                    method, self.url + path, headers=self._headers, timeout=self._timeout,
                    allow_redirects=True, **kwargs,
                )  # fmt: skip
            except requests.Timeout:
                late = f"did not answer within {self._timeout:g} s"
                raise DiscourseError(f"{what}: Discourse at {self.url} {late}") from None
            except (requests.RequestException, OSError) as exc:
                raise DiscourseError(f"{what}: Discourse at {self.url} is unreachable: "
                                     f"{type(exc).__name__}") from None  # fmt: skip
            data = _json(response)
            if response.status_code == 429 and tries < self._retries:
                tries += 1
                wait = _wait(response.headers, data, tries)
                self._log(f"discourse: {what}: 429 Too Many Requests: trying again in "
                          f"{wait:g} s ({tries} of {self._retries})")  # fmt: skip
                self._sleep(wait)
                continue
            if response.status_code >= 400:
                raise DiscourseError(self._refusal(what, response, data, tries))
            if data is None:
                raise DiscourseError(f"{what}: Discourse at {self.url} answered no JSON")
            return data

    def _refusal(self, what: str, response: requests.Response, data: Any, tries: int) -> str:
        status = f"{response.status_code} {response.reason or ''}".strip()
        said = _errors(data)
        at = f"{what}: Discourse at {self.url}"
        if response.status_code == 403:
            how = ("check discourse.user (DM_RELEASE_DISCOURSE_USER) and "
                   "DM_RELEASE_DISCOURSE_API_KEY")  # fmt: skip
            return f"{at} refused the request ({status}{said}): {how}"
        if response.status_code == 422:
            return f"{at} refused the post ({status}{said})"
        if response.status_code == 429:
            again = "retry" if tries == 1 else "retries"
            return f"{at} still limits the rate ({status}{said}) after {tries} {again}"
        return f"{at} answered {status}{said}"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _errors(data: Any) -> str:
    """What Discourse said (its ``errors``), as ``: A; B``, or nothing."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        return ": " + "; ".join(" ".join(str(e).split()) for e in errors)
    if isinstance(errors, str) and errors.strip():
        return f": {' '.join(errors.split())}"
    return ""


def _wait(headers: Mapping[str, str], data: Any, tries: int) -> float:
    """Seconds before the next try: ``Retry-After``, else ``extras.wait_seconds``, else
    1, 2, 4 ... seconds; never more than :data:`MAX_WAIT`."""
    seconds = http_retry.delay_seconds(headers.get("Retry-After"))
    if seconds is None and isinstance(data, dict):
        extras = data.get("extras")
        wait = extras.get("wait_seconds") if isinstance(extras, dict) else None
        if isinstance(wait, int | float) and not isinstance(wait, bool):
            seconds = float(wait)
    if seconds is None:
        seconds = http_retry.backoff(tries, 60)
    return min(max(seconds, 0.0), MAX_WAIT)
