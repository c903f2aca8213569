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
from dmrelease.adapters.journal import LockCorrupt, LockHeld, Replaced, lock_of, refusal
from dmrelease.core.errors import DmReleaseError
from dmrelease.core.journal import Lock
from dmrelease.core.redact import redact

__all__ = ["NAMESPACE", "LockRef", "RemoteRefs", "Written", "remote_address", "shown"]

LOCK_FILE = "lock.json"
#: a take retries when the ref changed between its read and its push; past this, give up
MAX_SWAPS = 16

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
    """What the remote holds under ``refs/dm-release/`` keeps changing under a write."""


@dataclass(frozen=True)
class LockRef:
    """The release lock of ``product`` as the ref ``refs/dm-release/locks/<product>`` of the
    versiondb remote (issue 9 §4): the same lock, rules and messages as the lock file
    (:class:`~dmrelease.adapters.journal.LockFile`), shared by every agent. It is taken by
    creating the ref (a push expecting it absent), taken over or broken by a push expecting
    exactly the commit read, and released by deleting it expecting the commit that holds
    this session's lock: a lock broken or taken over since stays."""

    refs: RemoteRefs
    product: str

    @property
    def ref(self) -> str:
        return f"{NAMESPACE}/locks/{self.product}"

    @property
    def where(self) -> str:
        """The lock as it is named in messages: the remote (without credentials) and ref."""
        return f"{shown(self.refs.url)} {self.ref}"

    def _current(self) -> tuple[str, str] | None:
        """(commit, lock text) of the ref as the remote has it now; None when absent."""
        commit = self.refs.fetch(f"locks/{self.product}").get(self.ref)
        if commit is None:
            return None
        return commit, self.refs.files(commit).get(LOCK_FILE, "")

    def read(self) -> Lock | None:
        found = self._current()
        return None if found is None else self._parse(found[1])

    def take(self, lock: Lock, *, break_lock: bool = False) -> Replaced | None:
        """Take the lock or raise LockHeld, as :meth:`LockFile.take` does."""
        text = lock.to_json()
        new = self.refs.commit(
            {LOCK_FILE: text}, f"release lock of {lock.product}: {lock}", parent=None
        )
        for _ in range(MAX_SWAPS):
            found = self._current()
            if found is None:
                if self.refs.swap(self.ref, new, None).commit:
                    return None
                continue  # another agent took it meanwhile: read what it wrote
            commit, there = found
            if break_lock:
                if self.refs.swap(self.ref, new, commit).commit:
                    return Replaced(self._describe(there), broken=True)
                continue
            previous = self._parse(there)
            refused = refusal(previous, lock)
            if refused:
                raise LockHeld(previous, self.where, refused)
            if self.refs.swap(self.ref, new, commit).commit:
                return Replaced(str(previous), broken=False)
        raise RemoteStateError(f"{self.where}: changed {MAX_SWAPS} times while taking it; rerun")

    def release(self, lock: Lock) -> bool:
        """Delete the ref if it still holds ``lock``; True when deleted."""
        found = self._current()
        if found is None or found[1] != lock.to_json():
            return False
        return self.refs.swap(self.ref, None, found[0]).commit is not None

    def _parse(self, text: str) -> Lock:
        return lock_of(text, self.where, empty=f"no {LOCK_FILE} in the lock's commit")

    def _describe(self, text: str) -> str:
        try:
            return str(self._parse(text))
        except LockCorrupt as exc:
            return f"{self.where}: {exc.diagnostics[0].message}"
