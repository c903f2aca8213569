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
_SEP = "\x1f"  # between the arguments of one call (a tab or space may be in one)


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
        real = shutil.which("git")
        assert real is not None, "git is not installed"
        bin_dir = directory / "bin"
        bin_dir.mkdir(parents=True)
        log = directory / "git.log"
        script = bin_dir / "git"
        script.write_text(  # one write per call: parallel git calls do not interleave
            "#!/bin/sh\n"
            'line="$PWD"\n'
            f'for a in "$@"; do line="$line{_SEP}$a"; done\n'
            f"printf '%s\\n' \"$line\" >> '{log}'\n"
            f"exec '{real}' \"$@\"\n"
        )
        script.chmod(0o755)
        return cls(bin_dir, log)

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with the wrapper first on PATH."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def calls(self) -> list[GitCall]:
        if not self.log.exists():
            return []
        found = []
        for line in self.log.read_text().splitlines():
            cwd, *args = line.split(_SEP)
            found.append(GitCall(Path(cwd), tuple(args)))
        return found

    def reset(self) -> None:
        self.log.unlink(missing_ok=True)

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
