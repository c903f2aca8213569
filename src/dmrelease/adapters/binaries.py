"""The binary (tarball) server: is ``<p>-<v>@<flavor>.tar.gz`` there, and installing it.

DESIGN.md §6: a tarball holds the tree ``<p>/<v>/…``. Presence is asked with HEAD, never a
download (issue 4); an install streams the tarball to disk, unpacks it with tarfile's
``data`` filter, refusing any member or link that leaves ``<p>/<v>/``, and hands the tree to
the stack, which moves it in place and records it. The credential, when there is one, goes in
the Authorization header and never into a message.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dmrelease.adapters.stack import Stack
from dmrelease.core.config import Secret
from dmrelease.core.errors import DmReleaseError

TIMEOUT = 60.0
CHUNK = 1 << 20


class BinaryServerError(DmReleaseError):
    """The server answered something else than found / not found, or a tarball is bad."""


def http_session(token: Secret | None = None, retries: int = 3) -> requests.Session:
    """A session that retries connection errors and 5xx answers with backoff."""
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

    def tarball(self, product: str, version: str) -> str:
        return f"{product}-{version}@{self.flavor}.tar.gz"

    def url(self, product: str, version: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.tarball(product, version)}"

    def has(self, product: str, version: str) -> bool:
        """True when the server has the tarball (HEAD 200), False on 404/410."""
        url = self.url(product, version)
        try:
            answer = self.session.head(url, timeout=self.timeout, allow_redirects=True)
        except requests.RequestException as exc:
            raise BinaryServerError(f"{product}: binary server unreachable: {url}: {exc}") from None
        if answer.status_code in (404, 410):
            return False
        if answer.status_code != 200:
            raise BinaryServerError(f"{product}: HEAD {url}: HTTP {answer.status_code}")
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
        url = self.url(product, version)
        try:
            with self.session.get(url, timeout=self.timeout, stream=True) as answer:
                if answer.status_code != 200:
                    raise BinaryServerError(f"{product}: GET {url}: HTTP {answer.status_code}")
                with target.open("wb") as out:
                    for chunk in answer.iter_content(CHUNK):
                        out.write(chunk)
        except requests.RequestException as exc:
            raise BinaryServerError(f"{product}: download failed: {url}: {exc}") from None

    def _unpack(self, product: str, version: str, archive: Path, into: Path) -> Path:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(into, filter=_inside(f"{product}/{version}"))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # EOFError: cut short
            raise BinaryServerError(f"{product}: bad tarball {archive.name}: {exc}") from None
        tree = into / product / version
        if not tree.is_dir():
            raise BinaryServerError(f"{product}: {archive.name} does not hold {product}/{version}/")
        return tree


class _OutsidePrefix(tarfile.FilterError):
    def __init__(self, member: tarfile.TarInfo, prefix: str, what: str) -> None:
        super().__init__(f"{member.name!r}: {what} outside {prefix}/")


def _inside(prefix: str) -> Callable[[tarfile.TarInfo, str], tarfile.TarInfo]:
    """tarfile's ``data`` filter (no absolute paths, nothing outside the destination), and
    every member, and every link's target, inside ``<p>/<v>/``: the tree is moved into the
    stack, where a link that leaves it would point into another package (DESIGN.md §6)."""

    def within(path: str) -> bool:
        return path == prefix or path.startswith(f"{prefix}/")

    def check(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        member = tarfile.data_filter(member, destination)
        name = posixpath.normpath(member.name)
        parent = member.isdir() and (name == "." or prefix.startswith(f"{name}/"))
        if not within(name) and not parent:
            raise _OutsidePrefix(member, prefix, "a path")
        if member.issym():
            target = posixpath.join(posixpath.dirname(name), member.linkname)
        elif member.islnk():
            target = member.linkname
        else:
            return member
        if name == prefix or not within(posixpath.normpath(target)):
            raise _OutsidePrefix(member, prefix, "a link to")
        return member

    return check
