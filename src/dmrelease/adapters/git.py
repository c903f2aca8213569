"""The one git runner: ``git`` as a subprocess, with timeouts and never a prompt.

Every git call of dm-release goes through :class:`Git`, so the environment (no terminal
prompt, no pager, no user or system config surprises in author identity) is set in one
place and failures carry the repository, the command and git's own message.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dmrelease.core.errors import DmReleaseError
from dmrelease.core.redact import redact, url_secrets

DEFAULT_TIMEOUT = 300.0


class GitError(DmReleaseError):
    """A git command failed; names the repository and the command, never a credential:
    the command and git's message (which echoes URLs) are redacted here, once, so that no
    caller can print, journal or write the raw text."""

    def __init__(self, repo: Path, args: Sequence[str], stderr: str, stdout: str = "") -> None:
        secrets = [secret for arg in args for secret in url_secrets(arg)]
        self.repo = repo
        self.args_ = tuple(redact(arg, secrets) for arg in args)
        self.stderr = redact(stderr.strip(), secrets)
        self.stdout = redact(stdout, secrets)  # what git printed before it failed
        super().__init__(f"{repo}: git {' '.join(self.args_)}: {self.stderr or 'failed'}")


class GitMissing(GitError):
    """git cannot be run at all: an environment error (exit 2), not a failed command."""

    exit_code = 2


#: no prompt, no pager, git's own messages in English (they are parsed and reported)
_UNATTENDED = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
    "GCM_INTERACTIVE": "never",
    "LC_ALL": "C",
}


#: variables every git process gets while :func:`pinned` is in force (below a Git's own env)
_PINNED: dict[str, str] = {}


@contextlib.contextmanager
def pinned(variables: Mapping[str, str]) -> Iterator[None]:
    """Give every git process started inside the block ``variables`` (a :class:`Git`'s own
    ``env`` still wins), then restore what was pinned before. The demo pins author and
    committer dates and identity with it, so that every commit and tag of a run (those the
    stages make included: release tags, backports, versiondb records) has the same SHA on
    every run. Process-wide: change it between stage calls, not while one runs."""
    saved = dict(_PINNED)
    _PINNED.update(variables)
    try:
        yield
    finally:
        _PINNED.clear()
        _PINNED.update(saved)


def pinned_variable(name: str) -> str | None:
    """The value :func:`pinned` gives git processes for ``name`` now (None: not pinned)."""
    return _PINNED.get(name)


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The process environment (through the config adapter), unattended, plus what is
    :func:`pinned`, plus ``extra``."""
    # imported here: pre-commit hooks use this runner and must start fast
    from dmrelease.adapters.config import child_environment

    return child_environment({**_UNATTENDED, **_PINNED, **extra})


@dataclass(frozen=True)
class Git:
    """Runs git in ``repo``; ``env`` adds variables (e.g. fixed dates for reproducibility)."""

    repo: Path
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT

    def run(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run ``git args`` and return its stdout without the trailing newline."""
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.repo,
                env=_environment(self.env),
                input=input,
                capture_output=True,
                encoding="utf-8",
                errors="replace",  # a remote's ref names may be any bytes
                timeout=self.timeout,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(self.repo, args, f"timed out after {exc.timeout:.0f}s") from None
        except FileNotFoundError as exc:
            if exc.filename == "git":  # not on PATH: the machine lacks it, a usage error
                raise GitMissing(self.repo, args, "cannot run git: not found on PATH") from None
            raise GitError(self.repo, args, "no such directory") from None
        if check and done.returncode != 0:
            raise GitError(self.repo, args, done.stderr, done.stdout)
        return done.stdout.rstrip("\n")

    def lines(self, *args: str) -> list[str]:
        """The output lines of ``git args``: split at ``\\n`` only, since a ref name may hold
        U+0085 or U+2028, which :meth:`str.splitlines` would also split at."""
        out = self.run(*args)
        return out.split("\n") if out else []

    def ok(self, *args: str) -> bool:
        """True when ``git args`` exits 0 (for questions like ``rev-parse --verify``)."""
        try:
            self.run(*args)
        except GitError:
            return False
        return True

    def rev_parse(self, rev: str) -> str:
        return self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")

    def show_file(self, rev: str, path: str) -> str:
        """The text of ``path`` at ``rev`` without checking it out."""
        return self.run("show", f"{rev}:{path}")

    def refs(self, *patterns: str) -> dict[str, str]:
        """Full ref names under ``patterns`` to the commit they point at (tags peeled to
        what is not a tag, as ``ref^{}``: a tag of a tag too)."""
        out = self.lines(
            "for-each-ref",
            "--format=%(refname) %(objectname) %(*objectname) %(*objecttype)",
            *patterns,
        )
        found: dict[str, str] = {}
        for line in out:
            name, sha, *peeled = line.split(" ")
            found[name] = peeled[0] if peeled and peeled[0] else sha
            if peeled[1:] == ["tag"]:  # for-each-ref peels once
                found[name] = self.run("rev-parse", "--verify", f"{peeled[0]}^{{}}")
        return found

    def local_refs(self, *prefixes: str) -> dict[str, str]:
        """:meth:`refs` under the directory ``prefixes`` (``refs/tags/``) of a clone, read
        from its files without starting git when they read plainly (adapters/git_refs)."""
        from dmrelease.adapters.git_refs import read_refs  # here: hooks start without it

        found = read_refs(self.repo / ".git", prefixes)
        return self.refs(*prefixes) if found is None else found

    def head(self) -> str:
        """The commit HEAD is at, read from the clone's files when they read plainly."""
        from dmrelease.adapters.git_refs import read_head

        found = read_head(self.repo / ".git")
        return self.run("rev-parse", "HEAD") if found is None else found

    def origin_url(self) -> str:
        """``git remote get-url origin``, read from the clone's config when it reads plainly."""
        from dmrelease.adapters.git_refs import read_origin_url

        found = read_origin_url(self.repo / ".git")
        return self.run("remote", "get-url", "origin") if found is None else found

    def changed_files(self) -> list[str]:
        """Tracked files with local changes (``status --porcelain``, untracked ignored)."""
        out = self.lines("status", "--porcelain", "--untracked-files=no")
        return [line[3:] for line in out if line.strip()]

    def remote_refs(self, remote: str = "origin") -> dict[str, str]:
        """Branches and tags of ``remote`` as ``ls-remote`` lists them: full ref name to
        object, plus ``refs/tags/<t>^{}`` to the commit of each annotated tag."""
        out = self.lines("ls-remote", "--heads", "--tags", "--", remote)
        found: dict[str, str] = {}
        for line in out:
            sha, _, name = line.partition("\t")
            found[name] = sha
        return found

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is ``descendant`` or one of its ancestors (False when
        either commit is unknown here)."""
        return self.ok("merge-base", "--is-ancestor", ancestor, descendant)
