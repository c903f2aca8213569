"""What ``dm-release doctor`` asks of the machine: git and git-lfs, a server's answer, a
remote's, a directory's write bit. Each probe returns a :class:`Probe` and never raises:
the doctor reports every check, the failed ones too.

The git features dm-release uses set the git it needs: ``fetch --no-write-fetch-head``
and ``--no-auto-maintenance`` (2.29), ``init --initial-branch`` (2.28), ``push --atomic
--porcelain`` and ``--force-with-lease`` (2.4 and older), ``fetch --prune-tags`` (2.17),
``for-each-ref`` with ``%(*objectname)`` (older still): 2.29 is the minimum.
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmrelease.adapters.git import Git, GitError, GitMissing

__all__ = [
    "GIT_MINIMUM",
    "Probe",
    "git_lfs_version",
    "git_version",
    "judge_git_version",
    "parse_git_version",
    "reach_git_remote",
    "reach_server",
    "writable_dir",
]

#: the oldest git that has every option dm-release passes it (module docstring)
GIT_MINIMUM = (2, 29)

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Probe:
    """One check's outcome: ``status`` ok, warn (works, with a caveat) or fail."""

    status: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def parse_git_version(text: str) -> tuple[int, ...] | None:
    """``git version 2.39.5`` (also ``2.39.5.windows.1``, ``2.45.GIT``) → (2, 39, 5)."""
    found = re.match(r"git version (\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not found:
        return None
    return tuple(int(part) for part in found.groups() if part is not None)


def git_version(cwd: Path) -> Probe:
    try:
        text = Git(cwd, timeout=10).run("--version")
    except GitMissing as exc:  # its message says it already: "cannot run git: ..."
        return Probe(FAIL, exc.stderr)
    except GitError as exc:
        return Probe(FAIL, f"cannot run git: {exc.stderr}")
    return judge_git_version(text)


def judge_git_version(text: str) -> Probe:
    """What ``git --version`` printed, against :data:`GIT_MINIMUM`."""
    version = parse_git_version(text)
    minimum = ".".join(map(str, GIT_MINIMUM))
    if version is None:
        return Probe(FAIL, f"{text!r}: not a version git prints", {"minimum": minimum})
    shown = ".".join(map(str, version))
    data = {"version": shown, "minimum": minimum}
    if version[:2] < GIT_MINIMUM:
        return Probe(FAIL, f"{shown}, older than {minimum}: upgrade git", data)
    return Probe(OK, f"{shown} (needs {minimum} or newer)", data)


def git_lfs_version(cwd: Path) -> Probe:
    """git-lfs is needed only by packages that keep files in LFS: its absence is a warning."""
    try:
        text = Git(cwd, timeout=10).run("lfs", "version")
    except GitError:
        return Probe(WARN, "git-lfs not found: packages with LFS files cannot be fetched")
    return Probe(OK, text.split(" ")[0], {"version": text.split(" ")[0].removeprefix("git-lfs/")})


def reach_server(url: str, timeout: float) -> Probe:
    """A HEAD request to ``url``: any HTTP answer, 404 or 401 too, means the server is
    there (the path may need a token dm-release sends only when it downloads); no answer
    within ``timeout`` seconds, or a 5xx, is a failure. A directory (a source server may
    be one) must exist."""
    if "://" not in url:
        ok = Path(url).is_dir()
        return Probe(OK if ok else FAIL, "a directory" if ok else "no such directory")
    if not url.startswith(("http://", "https://")):
        return Probe(WARN, "not an HTTP URL: not checked")
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Probe(FAIL, f"unreachable: {reason}")
    data = {"http_status": status}
    if status >= 500:
        return Probe(FAIL, f"answers HTTP {status}", data)
    return Probe(OK, f"answers HTTP {status}", data)


def reach_git_remote(url: str, cwd: Path, timeout: float) -> Probe:
    """``git ls-remote --heads URL`` within ``timeout`` seconds, never prompting."""
    try:
        heads = Git(cwd, timeout=timeout).lines("ls-remote", "--heads", "--", url)
    except GitError as exc:
        return Probe(FAIL, f"git ls-remote failed: {exc.stderr}")
    return Probe(OK, f"answers git ls-remote ({len(heads)} branches)", {"branches": len(heads)})


def writable_dir(path: Path) -> Probe:
    """``path`` can be written: a file can be made in it, or, when it does not exist yet,
    in the nearest directory above it (dm-release creates the rest)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Probe(FAIL, f"{existing} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return Probe(FAIL, f"cannot write in {existing}: {exc.strerror or exc}")
    if existing != path:
        return Probe(OK, f"does not exist yet; {existing} is writable")
    return Probe(OK, "writable", {"free_bytes": _free_bytes(path)})


def _free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize
