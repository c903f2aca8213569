"""One Jenkins session: python-jenkins's, with what its requests need around them.

python-jenkins gives the session (HTTP basic authentication with the user's API token,
cookies kept) and the CSRF crumb (``GET /crumbIssuer/api/json`` before the first request,
its ``crumbRequestField`` header on every request after; none when Jenkins has no crumb
issuer, a 404). :meth:`JenkinsSession.call` runs one of its calls and adds: a crumb
Jenkins no longer takes (403 "No valid crumb", as after a restart: crumbs are bound to the
web session) is fetched again and the request sent again, once; 429 and 503 (Jenkins or
its proxy busy) are sent again after ``Retry-After`` (seconds or an HTTP date), else after
1, 2, 4 ... 60 seconds, at most ``retries`` times; every other failure is a
:class:`JenkinsError` (exit 2) naming the request and Jenkins's URL, never the token:
unreachable, credentials refused (401), no permission (403), no such thing (404).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import jenkins  # type: ignore[import-untyped]  # python-jenkins ships no type hints
import requests

from dmrelease.adapters import http_retry
from dmrelease.core.errors import DmReleaseError, UsageError

__all__ = ["JenkinsError", "JenkinsSession"]

T = TypeVar("T")

#: the statuses of a server that will take the request later
BUSY = (429, 503)
#: the longest wait between two tries, whatever Retry-After says
MAX_WAIT = 600
#: the back-off without a Retry-After: 1, 2, 4 ... seconds, at most this
MAX_BACKOFF = 60
#: why a busy answer to a trigger without a Retry-After is not sent again
NO_RETRY_AFTER = (
    "no Retry-After: a proxy may have answered for a Jenkins that queued it; look at the job "
    "before triggering it again"
)


class JenkinsError(DmReleaseError):
    """Jenkins cannot be reached, refuses the credentials, or has no such job: exit 2."""

    exit_code = 2


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


class JenkinsSession:
    """Jenkins at ``url`` (its root), signed in as ``user`` with ``token`` (both or
    neither: anonymous); ``server`` is python-jenkins's client; ``log`` takes the lines
    for people (a retry, a crumb fetched again)."""

    def __init__(
        self,
        url: str,
        user: str | None,
        token: str | None,
        *,
        timeout: float = 30,
        retries: int = 10,
        log: Callable[[str], None] = lambda line: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"jenkins.url: {url!r} is not an http:// or https:// URL")
        if bool(user) != bool(token):
            given, missing = ("jenkins.user (JENKINS_USER_ID)", "JENKINS_API_TOKEN")[
                :: 1 if user else -1
            ]
            raise UsageError(f"{given} is set but {missing} is not: set both, or neither")
        self.url = url if url.endswith("/") else f"{url}/"
        self.server = _Session(self.url, user or None, token or None, timeout=timeout)
        self._signed_in = bool(user)
        self._retries, self._timeout = retries, timeout
        self._log, self._sleep = log, sleep

    def path(self, name: str) -> str:
        """The path of job ``name`` (``A/B`` in a folder: ``/job/A/job/B/``)."""
        folder, short = self.server._get_job_folder(name)
        return f"{urlsplit(self.url).path}{folder}job/{short}/"

    def call(
        self,
        what: str,
        action: Callable[[], T],
        *,
        missing: str | None = None,
        unchanged: Callable[[], str | None] | None = None,
    ) -> T:
        """``action`` (one python-jenkins call), sent again after a stale crumb (once) or
        a busy answer (``retries`` times); failures as :class:`JenkinsError`.

        ``unchanged`` guards an action that must not be done twice (a trigger): a busy
        answer is then sent again only when it has a Retry-After (Jenkins, or a proxy,
        refusing before passing it on; a proxy's 503 for a Jenkins too slow to answer
        has none, and Jenkins may have queued the build behind it) and, after the wait,
        ``unchanged()`` finds nothing done (None; else what it found)."""
        crumb_renewed, tries = False, 0
        while True:
            try:
                return action()
            except _Answer as answer:
                if answer.crumb_refused and not crumb_renewed:
                    crumb_renewed = True
                    self.server.crumb = None  # python-jenkins fetches one with the next request
                    self._log(f"jenkins: {answer.method} {answer.path}: Jenkins refused the "
                              "crumb (403): fetching a new one")  # fmt: skip
                    continue
                if answer.status in BUSY and tries < self._retries:
                    if unchanged is not None and answer.retry_after is None:
                        raise JenkinsError(self._not_again(answer, NO_RETRY_AFTER)) from None
                    tries += 1
                    wait = http_retry.wait(
                        answer.retry_after, tries, longest_backoff=MAX_BACKOFF, longest=MAX_WAIT
                    )
                    self._log(f"jenkins: {answer.method} {answer.path}: {answer.status} "
                              f"{answer.reason}: trying again in {wait:g} s ({tries} of "
                              f"{self._retries})")  # fmt: skip
                    self._sleep(wait)
                    done = unchanged() if unchanged is not None else None
                    if done is not None:
                        raise JenkinsError(self._not_again(answer, done)) from None
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
                    f"{what}: Jenkins at {self.url} is unreachable: {http_retry.reason(exc)}"
                ) from None
            except ValueError:  # python-jenkins's json.loads of an answer that is not JSON
                raise JenkinsError(f"{what}: Jenkins at {self.url} answered no JSON") from None

    def _not_again(self, answer: _Answer, why: str) -> str:
        status = f"{answer.status} {answer.reason}".strip()
        return (f"{answer.method} {answer.path}: Jenkins at {self.url} answered {status}: "
                f"not sent again ({why})")  # fmt: skip

    def _refusal(self, answer: _Answer, tries: int) -> str:
        at = f"{answer.method} {answer.path}: Jenkins at {self.url}"
        status = f"{answer.status} {answer.reason}".strip()
        if answer.status == 401:
            if self._signed_in:
                how = "check jenkins.user (JENKINS_USER_ID) and JENKINS_API_TOKEN"
                return f"{at} refused the credentials ({status}): {how}"
            return f"{at} asks to sign in ({status}): set JENKINS_USER_ID and JENKINS_API_TOKEN"
        if answer.crumb_refused:
            return f"{at} refused a crumb it had just given ({status}: No valid crumb)"
        if answer.status == 403:
            who = "the user of jenkins.user" if self._signed_in else "anonymous"
            how = "" if self._signed_in else ": set JENKINS_USER_ID and JENKINS_API_TOKEN"
            return f"{at} refused it ({status}): {who} may not do this{how}"
        if answer.status in BUSY:
            retries = "retry" if tries == 1 else "retries"
            return f"{at} is still busy ({status}) after {tries} {retries} (jenkins.retries)"
        return f"{at} answered {status}"
