"""Count the git calls of a real dm-release run: a ``git`` first on ``PATH`` that appends
its working directory and arguments to a log, then runs the real git (issue 9: "one
clone/fetch per package"). For a dm-release process, pass :meth:`GitTrace.environment`;
in this process, :func:`tracing` puts the wrapper on ``PATH`` for a block.

A call is counted for package ``name`` when it runs in a clone ``…/clones/<name>`` or, for
``git clone``, makes one; the temporary name of a new clone, ``.<name>.partial``, counts
for ``name``."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the benchmarks import this module without pytest
    import pytest

#: git's options that take a value before the subcommand (``git -c k=v fetch``)
_VALUED = {"-c", "-C", "--git-dir", "--work-tree", "--namespace", "--exec-path"}

#: a variable the wrapper sets for the git it runs: with ``inner``, a git that git (or
#: git-lfs) runs is not logged, and a caller that sets it runs untraced
INNER = "DM_RELEASE_GIT_TRACE_INNER"


def write_wrapper(bin_dir: Path, log: Path, *, inner: bool = False) -> None:
    """A ``git`` in ``bin_dir`` that logs each call to the directory ``log``, one file per
    process (no two writers share one), as ``argc cwd argv…`` each ended by NUL (an
    argument may hold a newline: a tag message), then runs the real git."""
    real = shutil.which("git")
    assert real is not None, "git is not installed"
    bin_dir.mkdir(parents=True)
    log.mkdir(parents=True, exist_ok=True)
    record = f'printf \'%s\\0\' "$#" "$PWD" "$@" >> \'{log}/$$\''
    if inner:
        record = f'if [ -z "${INNER}" ]; then {record}; fi'
    script = bin_dir / "git"
    script.write_text(f"#!/bin/sh\n{record}\n{INNER}=1 exec '{real}' \"$@\"\n")
    script.chmod(0o755)


def read_log(log: Path) -> list[tuple[str, tuple[str, ...]]]:
    """The calls :func:`write_wrapper`'s git logged in ``log``: (cwd, arguments) each."""
    calls = []
    for path in sorted(log.iterdir()) if log.is_dir() else ():
        fields = path.read_bytes().split(b"\0")
        at = 0
        while at + 1 < len(fields):
            count = int(fields[at])
            words = [f.decode("utf-8", "replace") for f in fields[at + 1 : at + 2 + count]]
            calls.append((words[0], tuple(words[1:])))
            at += 2 + count
    return calls


def subcommand(args: Iterable[str]) -> str:
    """The git subcommand (``clone``, ``fetch``, ``lfs``…) of a call's arguments, after
    git's own options (``git -c k=v fetch``)."""
    words = list(args)
    at = 0
    while at < len(words) and words[at].startswith("-"):
        at += 2 if words[at] in _VALUED else 1
    return words[at] if at < len(words) else ""


@dataclass(frozen=True)
class GitCall:
    cwd: Path
    args: tuple[str, ...]

    @property
    def command(self) -> str:
        return subcommand(self.args)


@dataclass(frozen=True)
class GitTrace:
    """The wrapper in ``bin`` and the log it writes."""

    bin: Path
    log: Path

    @classmethod
    def install(cls, directory: Path) -> GitTrace:
        bin_dir, log = directory / "bin", directory / "git.log"
        write_wrapper(bin_dir, log)
        return cls(bin_dir, log)

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with the wrapper first on PATH."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def calls(self) -> list[GitCall]:
        return [GitCall(Path(cwd), args) for cwd, args in read_log(self.log)]

    def reset(self) -> None:
        shutil.rmtree(self.log, ignore_errors=True)
        self.log.mkdir()

    def count(self, *commands: str) -> dict[str, int]:
        """Per package, its calls of the git subcommands ``commands`` (packages with none
        left out): ``count("clone", "fetch")`` is how often each was brought up to date."""
        counted: Counter[str] = Counter()
        for call in self.calls():
            if call.command in commands:
                package = _package_of(call)
                if package:
                    counted[package] += 1
        return dict(counted)

    def commands(self) -> Counter[str]:
        """How many calls of each git subcommand, wherever they ran."""
        return Counter(call.command for call in self.calls())


def _package_of(call: GitCall) -> str | None:
    where = call.cwd
    if call.command == "clone":
        where = Path(call.args[-1])
        where = where if where.is_absolute() else call.cwd / where
    if where.parent.name != "clones":
        return None
    if where.name.startswith(".") and where.name.endswith(".partial"):
        return where.name[1 : -len(".partial")]  # a new clone, before its rename
    return where.name


@contextmanager
def tracing(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitTrace]:
    """Trace the git calls made in this process (and its children) during the block."""
    trace = GitTrace.install(root / f"git-trace-{len(list(root.glob('git-trace-*')))}")
    with monkeypatch.context() as patched:
        patched.setenv("PATH", trace.environment()["PATH"])
        yield trace
