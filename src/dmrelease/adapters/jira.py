"""Jira Data Center through its REST API v2: read issues and their blockers, set Fix Versions.

Requests (``requests``, one session a thread, at most ``jobs`` in flight) are signed with
a personal access token (``Authorization: Bearer``, the secret DM_RELEASE_JIRA_TOKEN):
``GET /rest/api/2/issue/{key}?fields=...`` (404: Jira does not know the issue),
``POST /rest/api/2/search`` (JQL, paged by ``startAt``/``maxResults`` until ``total``),
``GET /rest/api/2/project/{key}/versions``, ``POST /rest/api/2/version`` and
``PUT /rest/api/2/issue/{key}`` with ``{"update": {"fixVersions": [{"add": ...}]}}``.
429 and 503 (Jira, or its proxy, busy) are sent again after ``Retry-After`` (seconds, or
an HTTP date), else after 1, 2, 4 ... 60 seconds, at most ``retries`` times; every other
failure is a :class:`JiraError` (exit 2) naming the request, Jira's redacted URL and
Jira's ``errorMessages``, never the token.

What Jira answered is kept under ``cache_dir`` (``state_dir/jira``): an issue (or its
absence) and a project's versions are read once; a rerun asks Jira nothing it has asked
before, unless ``refresh``. A write drops the written issue from the cache, so that the
next read sees what Jira holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, urlsplit

from dmrelease.adapters import http_retry
from dmrelease.core.errors import DmReleaseError, ParseError, UsageError
from dmrelease.core.jira import FIELDS, JiraIssue, is_issue_key, issue_sort_key, parse_issue
from dmrelease.core.redact import redact

if TYPE_CHECKING:
    import requests

    from dmrelease.core.config import Config, Secret

__all__ = ["JiraClient", "JiraError", "JiraNotConfigured"]

#: the statuses of a server that will take the request later
BUSY = (429, 503)
#: the longest wait between two tries, whatever Retry-After says
MAX_WAIT = 600
#: the back-off without a Retry-After: 1, 2, 4 ... seconds, at most this
MAX_BACKOFF = 60
#: issues asked for a search page (Jira may give fewer: its own limit)
PAGE = 100
#: the variable of the token, named in the messages that ask for it
TOKEN_VARIABLE = "DM_RELEASE_JIRA_TOKEN"
API = "/rest/api/2"


class JiraError(DmReleaseError):
    """Jira cannot be reached, refuses the token, or answers an error: exit 2."""

    exit_code = 2


class JiraNotConfigured(UsageError):
    """A command needs Jira and jira.url is not set: exit 2."""


class JiraClient:
    """Jira at ``url`` (its root; the REST API under ``/rest/api/2``), with ``token`` (None:
    anonymous); ``log`` takes the lines for people (a retry); ``sleep`` is the wait between
    two tries (the tests record it)."""

    def __init__(
        self,
        url: str,
        token: Secret | None,
        *,
        cache_dir: Path | None = None,
        jobs: int = 4,
        timeout: int = 30,
        retries: int = 5,
        refresh: bool = False,
        log: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"jira.url: {redact(url)!r} is not an http:// or https:// URL")
        self.url = url.rstrip("/")
        self._token = token.value if token is not None else None
        self._cache = cache_dir
        self._jobs, self._timeout, self._retries = max(1, jobs), timeout, retries
        self._refresh, self._log, self._sleep = refresh, log, sleep
        self._local = threading.local()
        self._lock = threading.Lock()
        self._read: set[str] = set()  # cache entries read from Jira by this client

    @classmethod
    def of(cls, config: Config, *, refresh: bool = False, log: TextIO | None = None) -> JiraClient:
        """The client of ``config``'s [jira] settings; JiraNotConfigured without jira.url."""
        if not config.jira_url:
            raise JiraNotConfigured(
                "no Jira to ask: set jira.url in dm-release.toml, or DM_RELEASE_JIRA_URL"
            )
        return cls(
            config.jira_url, config.jira_token, cache_dir=config.state_dir / "jira",
            jobs=config.jira_jobs, timeout=config.jira_timeout, retries=config.jira_retries,
            refresh=refresh, log=log,
        )  # fmt: skip

    # -- reading -------------------------------------------------------------------------

    def issue(self, key: str) -> JiraIssue | None:
        """The issue ``key``, or None when Jira does not know it (404)."""
        if not is_issue_key(key):
            raise UsageError(f"{key!r} is not a Jira issue key (PROJECT-N, as DM-123)")
        entry = f"issues/{key}.json"
        cached = self._cached(entry)
        if cached is not None:
            return None if cached.get("missing") else JiraIssue.from_dict(cached)
        path = f"{API}/issue/{quote(key)}"
        data = self._json("GET", path, params={"fields": ",".join(FIELDS)}, missing_ok=True)
        issue = None if data is None else self._parse(data, path)
        self._store(entry, {"key": key, "missing": True} if issue is None else issue.to_dict())
        return issue

    def issues(self, keys: Iterable[str]) -> dict[str, JiraIssue]:
        """The issues of ``keys`` Jira knows, by key in key order; read ``jobs`` at a time."""
        wanted = sorted(set(keys), key=issue_sort_key)
        with ThreadPoolExecutor(self._jobs, thread_name_prefix="dm-release-jira") as pool:
            found = list(pool.map(self.issue, wanted))
        return {key: issue for key, issue in zip(wanted, found, strict=True) if issue}

    def blockers(self, key: str) -> list[JiraIssue]:
        """The issues that block ``key`` (its links of type Blocks), in key order."""
        return self.search(f'issue in linkedIssues("{key}", "is blocked by") ORDER BY key ASC')

    def search(self, jql: str) -> list[JiraIssue]:
        """The issues ``jql`` finds, every page of them, in key order; each is cached as
        an issue too."""
        entry = f"search/{hashlib.sha256(jql.encode()).hexdigest()[:32]}.json"
        cached = self._cached(entry)
        if cached is not None and cached.get("jql") == jql:
            return [JiraIssue.from_dict(item) for item in cached["issues"]]
        found: dict[str, JiraIssue] = {}
        start = 0
        while True:
            body = {"jql": jql, "startAt": start, "maxResults": PAGE, "fields": list(FIELDS)}
            page = self._json("POST", f"{API}/search", body=body)
            items, total = self._page(page)
            for item in items:
                issue = self._parse(item, f"{self.url}{API}/search")
                found[issue.key] = issue
            start += len(items)
            if not items or start >= total:
                break
        issues = sorted(found.values(), key=lambda i: issue_sort_key(i.key))
        for issue in issues:
            self._store(f"issues/{issue.key}.json", issue.to_dict())
        self._store(entry, {"jql": jql, "issues": [i.to_dict() for i in issues]})
        return issues

    def versions(self, project: str) -> list[str]:
        """The names of ``project``'s versions, as Jira lists them."""
        entry = f"versions/{project}.json"
        cached = self._cached(entry)
        if cached is not None:
            return list(cached["versions"])
        names = self._versions(project)
        self._store(entry, {"project": project, "versions": names})
        return names

    def _versions(self, project: str) -> list[str]:
        path = f"{API}/project/{quote(project)}/versions"
        data = self._json("GET", path)
        if not isinstance(data, list) or not all(
            isinstance(v, Mapping) and isinstance(v.get("name"), str) for v in data
        ):
            raise JiraError(f"GET {self._shown(path)}: Jira answered no list of versions")
        return [str(v["name"]) for v in data]

    # -- writing -------------------------------------------------------------------------

    def ensure_version(self, project: str, name: str, *, dry_run: bool = False) -> bool:
        """Make the version ``name`` of ``project`` unless it exists; True: it was created
        (or, with ``dry_run``, would be)."""
        entry = f"versions/{project}.json"
        names = self.versions(project)
        if name in names:
            return False
        if entry not in self._read:  # from an earlier run: Jira may have it by now
            names = self._versions(project)
            self._store(entry, {"project": project, "versions": names})
            if name in names:
                return False
        if not dry_run:
            try:
                self._json("POST", f"{API}/version", body={"name": name, "project": project})
            except JiraError:
                # a busy answer sent again after Jira made it ("already exists"): it is there
                names = self._versions(project)
                if name not in names:
                    raise
            made = names if name in names else [*names, name]
            self._store(entry, {"project": project, "versions": made})
        return True

    def add_fix_version(
        self, keys: Iterable[str], version: str, *, dry_run: bool = False
    ) -> list[str]:
        """Add the Fix Version ``version`` to each issue of ``keys`` that lacks it; the keys
        changed (or, with ``dry_run``, that would be), in key order. An issue that has it
        is not written; one Jira does not know is skipped (the caller lists those)."""
        issues = self.issues(keys)
        lacking = [k for k, issue in issues.items() if version not in issue.fix_versions]
        if dry_run:
            return lacking
        body = {"update": {"fixVersions": [{"add": {"name": version}}]}}

        def write(key: str) -> None:
            self._json("PUT", f"{API}/issue/{quote(key)}", body=body)
            self._drop(f"issues/{key}.json")

        with ThreadPoolExecutor(self._jobs, thread_name_prefix="dm-release-jira") as pool:
            list(pool.map(write, lacking))
        return lacking

    # -- the cache -----------------------------------------------------------------------

    def _cached(self, entry: str) -> dict[str, Any] | None:
        if self._cache is None or (self._refresh and entry not in self._read):
            return None
        try:
            data = json.loads((self._cache / entry).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent, or torn by an interrupted run: ask Jira again
        return data if isinstance(data, dict) else None

    def _store(self, entry: str, data: Mapping[str, Any]) -> None:
        with self._lock:
            self._read.add(entry)
        if self._cache is None:
            return
        path = self._cache / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        partial.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(path)

    def _drop(self, entry: str) -> None:
        with self._lock:
            self._read.discard(entry)
        if self._cache is not None:
            (self._cache / entry).unlink(missing_ok=True)

    # -- requests ------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.headers["Accept"] = "application/json"
            if self._token:
                session.headers["Authorization"] = f"Bearer {self._token}"
            self._local.session = session
        return session

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """Jira's JSON answer to one request (None: 204 No Content, or a 404 when
        ``missing_ok``), sent again while Jira is busy."""
        import requests

        tries = 0
        while True:
            try:
                response = self._session().request(
                    method, f"{self.url}{path}", params=params, json=body, timeout=self._timeout
                )
            except requests.Timeout:
                late = f"did not answer within jira.timeout ({self._timeout} s)"
                raise JiraError(f"{method} {self._shown(path)}: Jira {late}") from None
            except (requests.RequestException, OSError) as exc:
                raise JiraError(
                    f"{method} {self._shown(path)}: Jira is unreachable: {http_retry.reason(exc)}"
                ) from None
            status = response.status_code
            if status in BUSY and tries < self._retries:
                tries += 1
                wait = http_retry.wait(
                    response.headers.get("Retry-After"),
                    tries,
                    longest_backoff=MAX_BACKOFF,
                    longest=MAX_WAIT,
                )
                self._say(f"jira: {method} {path}: {status} {response.reason}: trying again "
                          f"in {wait:g} s ({tries} of {self._retries})")  # fmt: skip
                self._sleep(wait)
                continue
            if status == 404 and missing_ok:
                return None
            if status >= 400:
                raise JiraError(self._refusal(method, path, response, tries))
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise JiraError(f"{method} {self._shown(path)}: Jira answered no JSON") from None

    def _refusal(self, method: str, path: str, response: requests.Response, tries: int) -> str:
        status = f"{response.status_code} {response.reason or ''}".strip()
        at = f"{method} {self._shown(path)}: Jira"
        said = _messages(response)
        if response.status_code == 401:
            if self._token:
                return f"{at} refused the token ({status}): set {TOKEN_VARIABLE} to a valid " \
                       "personal access token"  # fmt: skip
            return f"{at} asks to sign in ({status}): set {TOKEN_VARIABLE} (a personal " \
                   "access token)"  # fmt: skip
        if response.status_code in BUSY:
            retries = "retry" if tries == 1 else "retries"
            return f"{at} is still busy ({status}) after {tries} {retries} (jira.retries)"
        return f"{at} answered {status}" + (f": {said}" if said else "")

    def _shown(self, path: str) -> str:
        return redact(f"{self.url}{path}", [self._token] if self._token else [])

    def _parse(self, data: Any, where: str) -> JiraIssue:
        try:
            return parse_issue(data, redact(where))
        except ParseError as exc:
            raise JiraError(str(exc)) from None

    def _page(self, page: Any) -> tuple[list[Any], int]:
        if not isinstance(page, Mapping) or not isinstance(page.get("issues"), list):
            raise JiraError(f"POST {self._shown(API + '/search')}: Jira answered no issues")
        total = page.get("total")
        return page["issues"], total if isinstance(total, int) else len(page["issues"])

    def _say(self, line: str) -> None:
        if self._log is not None:
            print(redact(line, [self._token] if self._token else []), file=self._log)


def _messages(response: requests.Response) -> str:
    """Jira's own words: its ``errorMessages`` and the messages of its ``errors``."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, Mapping):
        return ""
    said = [str(m) for m in data.get("errorMessages") or [] if m]
    errors = data.get("errors")
    if isinstance(errors, Mapping):
        said += [f"{name}: {text}" for name, text in sorted(errors.items())]
    return "; ".join(said)
