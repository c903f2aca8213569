"""State kept on a shared git remote under ``refs/dm-release/`` (issue 9 §4).

Every agent sees the same remote, so what must survive a fresh Jenkins agent lives there:
the release lock of a product (``refs/dm-release/locks/<product>``) and the plan and
journal of a release (``refs/dm-release/releases/<product>/<session>/<release>``). Each
ref points at a commit whose tree holds a few small files. A ref is only ever changed by
a compare-and-swap push (``--force-with-lease=<ref>:<expected>``, empty for "absent"):
of two agents writing at once, the remote takes one and refuses the other, which then
reads what won. A local repository (the versiondb clone) holds the objects; the remote's
refs are fetched into ``refs/remotes/versiondb/dm-release/``.

The remote's address is never printed as given: :func:`shown` redacts its credentials.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.git import Git, GitError
from dmrelease.core.errors import DmReleaseError
from dmrelease.core.redact import redact

__all__ = ["NAMESPACE", "RemoteRefs", "Written", "remote_address", "shown"]

NAMESPACE = "refs/dm-release"
#: where the remote's ``refs/dm-release/*`` are copied in the local repository
TRACKING = "refs/remotes/versiondb/dm-release"
_SCP_LIKE = re.compile(r"^[^/:]+:")  # user@host:path, as git reads it


def remote_address(remote: str) -> str:
    """``remote`` as git is to be given it from any directory: a URL or ``host:path`` as
    is, a local path made absolute (git runs in the local repository, not in the cwd)."""
    if "://" in remote or _SCP_LIKE.match(remote):
        return remote
    return str(Path(remote).absolute())


def shown(remote: str) -> str:
    """The remote's address as it may be printed: without credentials."""
    return redact(remote)


@dataclass(frozen=True)
class Written:
    """The outcome of a compare-and-swap push: the commit now on the remote, or None when
    the ref held something else than expected (another agent was first)."""

    commit: str | None


@dataclass(frozen=True)
class RemoteRefs:
    """The ``refs/dm-release/`` refs of ``url``, with ``git`` (a local repository holding
    the identity of commits) as the object store."""

    git: Git
    url: str

    def fetch(self, prefix: str) -> dict[str, str]:
        """Copy the remote's refs under ``refs/dm-release/<prefix>`` here (pruning those it
        removed) and return them: full remote ref name to commit."""
        source = f"{NAMESPACE}/{prefix}"
        local = f"{TRACKING}/{prefix}"
        self.git.run(
            "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", "--",
            self.url, f"+{source}*:{local}*",
        )  # fmt: skip
        found = self.git.refs(TRACKING)
        return {
            NAMESPACE + name.removeprefix(TRACKING): sha
            for name, sha in found.items()
            if name.startswith(local)
        }

    def files(self, commit: str) -> dict[str, str]:
        """The files of ``commit``'s tree by name (small text files, one level)."""
        names = self.git.lines("ls-tree", "--name-only", commit)
        return {name: self.git.run("show", f"{commit}:{name}") + "\n" for name in names}

    def commit(self, files: Mapping[str, str], message: str, parent: str | None = None) -> str:
        """A commit (not on any local branch) whose tree holds ``files``."""
        entries = []
        for name, text in sorted(files.items()):
            blob = self.git.run("hash-object", "-w", "--stdin", input=text)
            entries.append(f"100644 blob {blob}\t{name}\n")
        tree = self.git.run("mktree", input="".join(entries))
        parents = ["-p", parent] if parent else []
        return self.git.run("commit-tree", *parents, "-m", message, tree)

    def swap(self, ref: str, new: str | None, expected: str | None) -> Written:
        """Point the remote's ``ref`` at commit ``new`` (None: delete it) if it holds
        ``expected`` (None: absent). A refused push is told apart from a failed one by
        reading the ref again: if it changed, another agent was first."""
        source = new or ""
        try:
            self.git.run(
                "push", "--quiet", "--porcelain", f"--force-with-lease={ref}:{expected or ''}",
                "--", self.url, f"{source}:{ref}",
            )  # fmt: skip
        except GitError:
            now = self.fetch(ref.removeprefix(f"{NAMESPACE}/")).get(ref)
            if now != expected:
                return Written(None)
            raise
        self._track(ref, new)
        return Written(new or "")

    def _track(self, ref: str, commit: str | None) -> None:
        local = TRACKING + ref.removeprefix(NAMESPACE)
        if commit:
            self.git.run("update-ref", local, commit)
        else:
            self.git.run("update-ref", "-d", local)


class RemoteStateError(DmReleaseError):
    """What the remote holds under ``refs/dm-release/`` is not what dm-release writes."""
