"""Counting the git calls of a real ``dm-release`` process (issue 9, ``bench_discovery``).

:class:`Cli` runs ``python -m dmrelease`` of one source tree with a ``git`` wrapper first on
its PATH; the wrapper logs every invocation (cwd and argv) and execs the real git. A call
belongs to the package whose clone or remote its cwd, else one of its arguments, names.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.git_trace import INNER, read_log, subcommand, write_wrapper

#: the verbs counted per package (clone and fetch together are "discovery")
COUNTED = ("clone", "fetch", "ls-remote")

#: a path component naming a package: ``afw``, ``afw.git``, ``.afw.partial`` (a clone in progress)
_PATH_PART = re.compile(r"^\.|(\.git|\.partial|\.tmp)+$")


class CommandFailed(Exception):
    """A command failed or left a result other than the one it must."""


@dataclass(frozen=True)
class Call:
    cwd: str
    argv: tuple[str, ...]

    def verb(self) -> str:
        return subcommand(self.argv)

    def package(self, packages: frozenset[str]) -> str:
        """The package whose clone (cwd) or remote/clone path (argument) this call names."""
        for where in (self.cwd, *self.argv):
            named = [_PATH_PART.sub("", part) for part in where.rstrip("/").split("/")]
            found = [part for part in named if part in packages]
            if found:
                return found[-1]
        return ""


@dataclass(frozen=True)
class Run:
    """One CLI command: wall time, CPU time (its own and its children's) and its git calls."""

    seconds: float
    cpu: float
    calls: tuple[Call, ...]
    packages: frozenset[str]

    def per_package(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {p: Counter() for p in self.packages}
        for call in self.calls:
            table.setdefault(call.package(self.packages), Counter())[call.verb()] += 1
        return table

    def figures(self) -> dict[str, int]:
        """Total git calls, the most of one package, and per verb the total and the most."""
        table = self.per_package()
        known = [table[p] for p in sorted(self.packages)]
        out = {"git calls": len(self.calls), "calls/pkg max": max(sum(c.values()) for c in known)}
        for verb in COUNTED:
            out[f"{verb} total"] = sum(c[verb] for c in known)
            out[f"{verb}/pkg max"] = max(c[verb] for c in known)
        out["clone+fetch/pkg max"] = max(c["clone"] + c["fetch"] for c in known)
        out["push total"] = sum(c["push"] for c in known)
        out["other calls"] = sum(table.get("", Counter()).values())  # versiondb, ...
        return out

    def trace(self) -> str:
        """One line per call: package, verb, cwd, argv."""
        return "".join(
            f"{c.package(self.packages) or '-'}\t{c.verb()}\t{c.cwd}\t{shlex.join(c.argv)}\n"
            for c in self.calls
        )


@dataclass
class Cli:
    """Runs ``python -m dmrelease`` of the tree ``src`` with the logging git first on PATH."""

    src: Path
    root: Path
    packages: frozenset[str] = frozenset()
    log: Path = field(init=False)
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        if shutil.which("git") is None:
            raise CommandFailed("no git on PATH")
        bindir = self.root / "gitwrap"
        self.log = self.root / "gitlog"
        write_wrapper(bindir, self.log, inner=True)  # git's own git calls are not counted
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.src),
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        for name in (INNER, "REFS", "SOURCE_GIT_REFS", "GIT_REFS", "PRODUCTS"):
            self.env.pop(name, None)

    def run(self, *args: str, cwd: Path, traced: bool = True) -> Run:
        shutil.rmtree(self.log, ignore_errors=True)
        self.log.mkdir()
        env = self.env if traced else {**self.env, INNER: "1"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "dmrelease", *args],
            cwd=cwd, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        took = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if done.returncode != 0:
            raise CommandFailed(
                f"dm-release {shlex.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}"
            )
        return Run(took, cpu, read_calls(self.log), self.packages)


def read_calls(log: Path) -> tuple[Call, ...]:
    return tuple(Call(cwd, args) for cwd, args in read_log(log))
