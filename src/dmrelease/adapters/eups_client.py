"""The real EUPS client, as a user runs it: ``source setups.sh``, then ``eups distrib
install --repository URL --tag T product`` into a fresh stack, ``eups list`` and
``setup``. What candidate validation installs a release with.

Every command runs in a bash that first drops the EUPS_ and SETUP_ variables it inherited
(another EUPS set up in the caller's shell must not leak in), sources the installation's
``setups.sh``, then points EUPS_PATH at the fresh stack only (setups.sh puts its own
default stack first) and EUPS_USERDATA beside it (never ~/.eups).

:func:`build_eups` builds EUPS from its source tarball (``configure``; ``make install``)
once per tarball digest under a prefix, so a machine without EUPS can still validate
with the real client.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.safe_tar import extract
from dmrelease.core.errors import DmReleaseError

__all__ = ["EupsBuildFailed", "EupsClient", "EupsRun", "Listed", "build_eups", "find_setups"]

#: drop what an EUPS set up in the caller's shell exported, source setups.sh ($1), use
#: only the fresh stack ($2) and user data beside it ($3), then run the rest
_PRELUDE = (
    'for v in $(compgen -e); do case "$v" in EUPS_*|SETUP_*) unset "$v";; esac; done\n'
    'source "$1" >/dev/null || { echo "cannot source $1" >&2; exit 97; }\n'
    'export EUPS_PATH="$2" EUPS_USERDATA="$3"\n'
    "shift 3\n"
)


class EupsBuildFailed(DmReleaseError):
    """EUPS could not be built from its tarball (the log's last lines say why)."""

    exit_code = 2


@dataclass(frozen=True)
class Listed:
    """One product of ``eups list -v``: version, install directory, tags."""

    product: str
    version: str
    directory: Path
    tags: tuple[str, ...]


@dataclass(frozen=True)
class EupsRun:
    """A finished command: exit code, output (stdout and stderr together), seconds."""

    exit_code: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def find_setups(configured: str | None, eups_dir: str | None) -> Path | None:
    """The setups.sh to use: ``configured`` (validate.eups: the file, or an installation
    directory holding bin/setups.sh), else $EUPS_DIR's bin/setups.sh; None without one."""
    for given in (configured, eups_dir):
        if not given:
            continue
        path = Path(given)
        return path / "bin" / "setups.sh" if path.is_dir() else path
    return None


@dataclass(frozen=True)
class EupsClient:
    """An EUPS installation, known by its ``setups.sh``."""

    setups: Path
    timeout: int = 1800

    def run(self, stack: Path, *argv: str, script: str = '"$@"') -> EupsRun:
        """``argv`` (or ``script``, given ``argv`` as its arguments) in a bash with this
        EUPS set up over the stack ``stack`` (created with its ups_db when needed)."""
        stack = Path(stack).absolute()
        (stack / "ups_db").mkdir(parents=True, exist_ok=True)
        userdata = stack.parent / f".{stack.name}.eups-userdata"
        userdata.mkdir(exist_ok=True)
        command = ["bash", "-c", _PRELUDE + script, "eups-client", str(self.setups),
                   str(stack), str(userdata), *argv]  # fmt: skip
        from dmrelease.adapters.config import child_environment  # without the secrets:
        # eupspkg runs each package's build, and a demo command the product's code

        started = time.monotonic()
        try:
            done = subprocess.run(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                errors="replace", timeout=self.timeout, check=False, cwd=stack.parent,
                env=child_environment({}),
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            out = exc.output if isinstance(exc.output, str) else ""
            return EupsRun(124, out + f"\ntimed out after {self.timeout} s\n", self.timeout)
        return EupsRun(done.returncode, done.stdout, time.monotonic() - started)

    def distrib_install(self, stack: Path, server: str, product: str, tag: str) -> EupsRun:
        """``eups distrib install --repository server --tag tag product``."""
        return self.run(stack, "eups", "distrib", "install", "--repository", server,
                        "--tag", tag, product)  # fmt: skip

    def listed(self, stack: Path) -> list[Listed]:
        """``eups list -v`` of the stack, parsed (sorted by product and version); an empty
        list when it fails."""
        done = self.run(stack, "eups", "list", "-v")
        rows = []
        for line in done.output.splitlines() if done.ok else ():
            fields = line.split()
            if len(fields) >= 4 and Path(fields[3]).is_absolute():
                tags = tuple(sorted(t for t in fields[4:] if t != "setup"))
                rows.append(Listed(fields[0], fields[1], Path(fields[3]), tags))
        return sorted(rows, key=lambda r: (r.product, r.version))

    def setup_and_run(self, stack: Path, product: str, version: str, command: str) -> EupsRun:
        """``setup product version``, then ``command`` in that shell."""
        script = 'setup "$1" "$2" || { echo "setup $1 $2 failed" >&2; exit 98; }\neval "$3"\n'
        return self.run(stack, product, version, command, script=script)


def _digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()[:16]


def _step(argv: list[str], log: Path, cwd: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, check=False)
    if done.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-20:])
        raise EupsBuildFailed(f"{log}: `{' '.join(argv)}` exited {done.returncode}:\n{tail}")


def build_eups(tarball: Path, prefix: Path, python: str | None = None) -> Path:
    """EUPS built from its source ``tarball`` into ``prefix/<digest>/eups`` (configure,
    make install; its default stack ``prefix/<digest>/stack``), once per tarball digest
    and under a lock, so concurrent callers build it once. Returns its bin/setups.sh."""
    tarball, prefix = Path(tarball).absolute(), Path(prefix).absolute()
    key = _digest(tarball)
    entry = prefix / key
    ready = entry / "ready.json"
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / f"{key}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.is_file():
            shutil.rmtree(entry, ignore_errors=True)  # a build that died half-way
            entry.mkdir()
            log = entry / "build.log"
            scratch = entry / "src"
            with tarfile.open(tarball) as archive:
                extract(archive, scratch)
            (source,) = scratch.iterdir()
            configure = ["./configure", f"--prefix={entry / 'eups'}",
                         f"--with-eups={entry / 'stack'}",
                         f"--with-python={python or sys.executable}"]  # fmt: skip
            _step(configure, log, source)
            _step(["make", "install"], log, source)
            shutil.rmtree(scratch)
            setups = entry / "eups" / "bin" / "setups.sh"
            if not setups.is_file():
                raise EupsBuildFailed(f"{log}: make install wrote no {setups}")
            ready.write_text(json.dumps({"tarball": tarball.name, "setups": str(setups)}) + "\n")
    return Path(json.loads(ready.read_text())["setups"])
