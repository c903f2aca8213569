"""The binary (tarball) server: is ``<p>-<v>@<flavor>.tar.gz`` there, and installing it.

DESIGN.md §6: a tarball holds the tree ``<p>/<v>/…``. Presence is asked with HEAD, never a
download (issue 4); an install streams the tarball to disk, unpacks it with the rules of
tarfile's ``data`` filter (adapters/safe_tar.py, the same where tarfile lacks them: Python
3.11.2), refusing any member or link that leaves ``<p>/<v>/``, and hands the tree to the stack,
which moves it in place and records it. The credential, when there is one, goes in the
Authorization header and never into a message: every message is redacted (core/redact.py),
the server URL may carry a token in its userinfo.

Downloads are bounded (issue 8 §6): ``max_bytes`` of body (the announced Content-Length
and the bytes actually read), a ``deadline`` for the whole download (each read waits at most
what is left of it, so a server trickling a byte every few seconds is stopped too), and
``unpack_max_bytes`` for the sum of the member sizes of the tarball.

``requests`` (and urllib3) are imported where a server is used, not with this module: a
rebuild without a binary server, the no-change rebuild above all, never loads them (about
40 ms of every command's start-up).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from dmrelease.adapters.safe_tar import Entry, Refused, data_rules, extract
from dmrelease.adapters.stack import Stack
from dmrelease.core.config import Secret
from dmrelease.core.distrib import tarball_name
from dmrelease.core.errors import DmReleaseError
from dmrelease.core.redact import redact, url_secrets

if TYPE_CHECKING:
    import requests

TIMEOUT = 60.0
CHUNK = 1 << 16
#: the defaults of the configuration (core/config.py: servers.download_max_bytes, …)
MAX_BYTES = 4 << 30
DEADLINE = 1800.0
UNPACK_MAX_BYTES = 16 << 30


class BinaryServerError(DmReleaseError):
    """The server answered something else than found / not found, or a tarball is bad;
    the message is redacted (a server URL may hold a token). ``status``: the HTTP status
    the server answered, when that is the error; ``unreachable``: no answer at all (no
    connection, or none in time), so that callers judge the error by what happened, not
    by its words."""

    def __init__(
        self,
        message: str,
        secrets: tuple[str, ...] = (),
        *,
        status: int | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(redact(message, secrets))
        self.status = status
        self.unreachable = unreachable


def http_session(token: Secret | None = None, retries: int = 3) -> requests.Session:
    """A session that retries connection errors and 5xx answers with backoff."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(
        total=retries, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504),
        allowed_methods=("HEAD", "GET"),
    )  # fmt: skip
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    if token is not None:
        session.headers["Authorization"] = f"Bearer {token.value}"
    return session


@dataclass(frozen=True)
class BinaryServer:
    base_url: str
    flavor: str
    session: requests.Session
    timeout: float = TIMEOUT
    max_bytes: int = MAX_BYTES
    deadline: float = DEADLINE
    unpack_max_bytes: int = UNPACK_MAX_BYTES

    def fail(
        self, message: str, *, status: int | None = None, unreachable: bool = False
    ) -> BinaryServerError:
        """The error, redacted of the URL's credential and of the session's token."""
        auth = self.session.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if isinstance(auth, str) and auth else ""
        secrets = (*url_secrets(self.base_url), *filter(None, [token]))
        return BinaryServerError(message, secrets, status=status, unreachable=unreachable)

    def tarball(self, product: str, version: str) -> str:
        return tarball_name(product, version, self.flavor)

    def url(self, product: str, version: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.tarball(product, version)}"

    def has(self, product: str, version: str) -> bool:
        """True when the server has the tarball (HEAD 200), False on 404/410."""
        import requests

        url = self.url(product, version)
        try:
            answer = _within(
                time.monotonic() + self.timeout,
                lambda: self.session.head(url, timeout=self.timeout, allow_redirects=True),
            )
        except _Overdue:
            raise self.fail(f"{product}: HEAD {url}: no answer within {self.timeout:g}s") from None
        except requests.RequestException as exc:
            raise self.fail(f"{product}: binary server unreachable: {url}: {exc}") from None
        if answer.status_code in (404, 410):
            return False
        if answer.status_code != 200:
            raise self.fail(f"{product}: HEAD {url}: HTTP {answer.status_code}")
        return True

    def install(self, product: str, version: str, stack: Stack) -> Path:
        """Download and unpack the tarball, then install it into ``stack``."""
        stack.root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{product}-", dir=stack.root))
        try:
            archive = work / self.tarball(product, version)
            self._download(product, version, archive)
            tree = self._unpack(product, version, archive, work / "tree")
            return stack.install(product, version, tree, table=None)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _download(self, product: str, version: str, target: Path) -> None:
        self.download(self.tarball(product, version), target, what=product)

    def download(self, name: str, target: Path, *, what: str) -> None:
        """GET the server's file ``name`` into ``target`` within the limits (a tarball, or
        a tag list); ``what`` begins each message (the product)."""
        import requests
        import urllib3

        product = what
        url = f"{self.base_url.rstrip('/')}/{name}"
        ends = time.monotonic() + self.deadline
        try:
            # the headers too: a server may trickle them, each read within the timeout
            answer = _within(
                ends, lambda: self.session.get(url, timeout=self._wait(ends), stream=True)
            )
            with answer:
                if answer.status_code != 200:
                    raise self.fail(
                        f"{product}: GET {url}: HTTP {answer.status_code}",
                        status=answer.status_code,
                    )
                announced = answer.headers.get("Content-Length", "")
                if announced.isdigit() and int(announced) > self.max_bytes:
                    raise self._too_big(product, name, f"announces {announced} bytes")
                with target.open("wb") as out:
                    self._copy(answer, out, ends, product, name)
        except _Overdue:
            raise self._too_slow(product, name) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, TimeoutError) as exc:
            if time.monotonic() >= ends:
                raise self._too_slow(product, name) from None
            unreachable = isinstance(exc, (requests.ConnectionError, requests.Timeout))
            raise self.fail(
                f"{product}: download failed: {url}: {exc}", unreachable=unreachable
            ) from None

    def _wait(self, ends: float) -> float:
        """How long one connect or read may wait: the timeout, within the deadline."""
        return max(0.001, min(self.timeout, ends - time.monotonic()))

    def _copy(
        self, answer: requests.Response, out: BinaryIO, ends: float, product: str, name: str
    ) -> None:
        """Copy the body, each read waiting at most what is left of the deadline."""
        raw = answer.raw
        read_some = getattr(raw, "read1", None) or raw.read  # read1: what one recv brings
        done = 0
        while True:
            if time.monotonic() >= ends:
                raise self._too_slow(product, name)
            _set_read_timeout(raw, self._wait(ends))
            chunk = read_some(CHUNK)
            if not chunk:
                return
            done += len(chunk)
            if done > self.max_bytes:
                raise self._too_big(product, name, f"sent more than {self.max_bytes} bytes")
            out.write(chunk)

    def _too_big(self, product: str, name: str, what: str) -> BinaryServerError:
        return self.fail(
            f"{product}: {name} {what}, over the download limit of {self.max_bytes} bytes "
            "(servers.download_max_bytes, DM_RELEASE_DOWNLOAD_MAX_BYTES)"
        )

    def _too_slow(self, product: str, name: str) -> BinaryServerError:
        return self.fail(
            f"{product}: {name} not downloaded within {self.deadline:g}s "
            "(servers.download_deadline, DM_RELEASE_DOWNLOAD_DEADLINE)"
        )

    def _unpack(self, product: str, version: str, archive: Path, into: Path) -> Path:
        prefix = f"{product}/{version}"
        try:
            with tarfile.open(archive, "r:gz") as tar:
                found = extract(tar, into, _inside(prefix, self.unpack_max_bytes))
            _links_stay_inside(found, into, prefix)
        except _TooLarge as exc:
            raise self.fail(
                f"{product}: {archive.name} would unpack to more than {exc.limit} bytes "
                "(servers.unpack_max_bytes, DM_RELEASE_UNPACK_MAX_BYTES)"
            ) from None
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # EOFError: cut short
            raise self.fail(f"{product}: bad tarball {archive.name}: {exc}") from None
        tree = into / product / version
        if not tree.is_dir():
            raise self.fail(f"{product}: {archive.name} does not hold {product}/{version}/")
        return tree


class _Overdue(Exception):
    """The answer did not come by the deadline."""


def _within(ends: float, request: Callable[[], requests.Response]) -> requests.Response:
    """``request()`` (up to the response's headers), given up at the monotonic time
    ``ends``: a server trickling its headers a byte at a time keeps each socket read within
    the timeout, so only a deadline over the whole call stops it. The abandoned call goes
    on in its thread until the socket timeout or the answer, which is then closed."""
    box: dict[str, Any] = {}
    gave_up = threading.Event()

    def run() -> None:
        try:
            box["answer"] = answer = request()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
            return
        if gave_up.is_set():
            answer.close()

    worker = threading.Thread(target=run, daemon=True, name="binary-server request")
    worker.start()
    worker.join(max(0.0, ends - time.monotonic()))
    if worker.is_alive():
        gave_up.set()
        if "answer" in box:  # it came between the wait and now: nobody else closes it
            box["answer"].close()
        raise _Overdue
    if "error" in box:
        raise box["error"]
    answer: requests.Response = box["answer"]
    return answer


def _set_read_timeout(raw: object, seconds: float) -> None:
    """Make the next socket read of a streamed body wait at most ``seconds`` (urllib3
    keeps the connection's socket; without one, the request's read timeout stays)."""
    connection = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


class _TooLarge(Refused):
    def __init__(self, member: tarfile.TarInfo, limit: int) -> None:
        super().__init__(f"{member.name!r}: the tarball unpacks to more than {limit} bytes")
        self.limit = limit


class _OutsidePrefix(Refused):
    def __init__(self, name: str, prefix: str, what: str) -> None:
        super().__init__(f"{name!r}: {what} outside {prefix}/")


def _inside(prefix: str, max_bytes: int) -> Callable[[tarfile.TarInfo, str], Entry]:
    """tarfile's ``data`` filter rules (safe_tar.data_rules: no absolute paths, nothing
    outside the destination, no special files, modes made safe), and every member, and every
    link's target, inside ``<p>/<v>/``: the tree is moved into the stack, where a link that
    leaves it would point into another package (DESIGN.md §6). The member sizes are summed
    as they come: past ``max_bytes`` the unpacking stops."""
    unpacked = 0

    def within(path: str) -> bool:
        return path == prefix or path.startswith(f"{prefix}/")

    def check(member: tarfile.TarInfo, destination: str) -> Entry:
        nonlocal unpacked
        unpacked += max(member.size, 0)
        if unpacked > max_bytes:
            raise _TooLarge(member, max_bytes)
        entry = data_rules(member, destination)
        name = posixpath.normpath(entry.name)
        parent = member.isdir() and (name == "." or prefix.startswith(f"{name}/"))
        if not within(name) and not parent:
            raise _OutsidePrefix(member.name, prefix, "a path")
        if member.issym():
            target = posixpath.join(posixpath.dirname(name), member.linkname)
        elif member.islnk():
            target = member.linkname
        else:
            return entry
        if name == prefix or not within(posixpath.normpath(target)):
            raise _OutsidePrefix(member.name, prefix, "a link to")
        return entry

    return check


def _links_stay_inside(found: list[tuple[str, str]], into: Path, prefix: str) -> None:
    """Every symbolic link of the unpacked ``<p>/<v>/`` resolves inside it, now that every
    member is on disk: each link's target is inside by its text (``_inside``), but through
    another link it may not be (``d -> .`` and ``e -> d/../q`` give ``<p>/q``, whichever
    comes first), and moved into the stack it would point into another package. ``found``:
    the links safe_tar.extract left (their names from ``into``, where they resolve), resolved
    strictly (a name too long for lstat is refused, not taken for a directory as
    os.path.realpath does, CVE-2025-4517); ``_inside`` let no link outside ``<p>/<v>/``."""
    tree = os.path.join(os.path.realpath(into), prefix)
    for name, resolved in found:
        if os.path.commonpath([resolved, tree]) != tree:
            raise _OutsidePrefix(name, prefix, "a link to")
