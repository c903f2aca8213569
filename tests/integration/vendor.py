"""The real tools dm-release is measured against: EUPS 2.2.15 and lsst_build, from ../shared/vendor.

They are test and benchmark tools, never part of dm-release (shared/vendor/README.md): the
tarballs are built once into a cache outside the project, keyed by their digests and the
Python that runs them, under a lock so that concurrent test workers and benchmark runs build
it once and reuse it. Nothing here imports dmrelease, so benchmarks load this module as it is.

    vendor = build_vendor()                      # VendorMissing when the tarballs are absent
    env = vendor.env(tmp_path / "stack")         # what `source setups.sh` would set
    subprocess.run([*vendor.lsst_build_cmd(), "prepare", ...], env=env)
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.safe_tar import extract

__all__ = [
    "REQUIRE_ENV",
    "Vendor",
    "VendorMissing",
    "build_vendor",
    "require_vendor",
    "vendor_dir",
]

#: the EUPS release lsst_build runs with (shared/vendor/README.md)
EUPS_TARBALL = "eups-2.2.15.tar.gz"
#: lsst_build at one commit: lsst_build-<sha>.tar.gz
LSST_BUILD_GLOB = "lsst_build-*.tar.gz"
#: what lsst_build imports beside EUPS and the standard library
VENV_PACKAGES = ("pyyaml", "requests", "pydantic")
#: set to 1 (CI does) and a missing vendor fails the tests that need it instead of skipping them
REQUIRE_ENV = "DM_RELEASE_REQUIRE_VENDOR"
#: bumped when the layout of a cache entry changes, so an old entry is not reused
LAYOUT = "1"


#: run by the venv python under Vendor.env: declare a manifest's packages with an empty
#: product directory and no table, through EUPS' own API (one process for all of them)
_DECLARE = """
import os, sys
import eups
stack = os.environ["EUPS_PATH"]
tool = eups.Eups()
count = 0
for line in open(sys.argv[1], encoding="utf-8"):
    fields = line.split()
    if len(fields) < 3 or line.startswith(("#", "BUILD=")):
        continue
    name, version = fields[0], fields[2]
    where = os.path.join(stack, tool.flavor, name, version)
    os.makedirs(os.path.join(where, "ups"), exist_ok=True)
    tool.declare(name, version, productDir=where, tablefile="none")
    count += 1
print(count)
"""


class VendorMissing(Exception):
    """The real tools cannot be had: what is absent and how to get it."""


class VendorBuildFailed(VendorMissing):
    """The tarballs are there but building them failed (the log says why)."""


@dataclass(frozen=True)
class Vendor:
    """Built EUPS, unpacked lsst_build and the venv that runs both."""

    eups_dir: Path  # installed EUPS (bin/, python/, bin/setups.sh)
    lsst_build: Path  # unpacked lsst_build source (bin/lsst-build, python/)
    python: Path  # a venv python with pyyaml requests pydantic

    def env(self, stack: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment to run `eups` / `lsst-build` against the EUPS stack `stack`.

        What `export EUPS_PATH=stack; source $EUPS_DIR/bin/setups.sh` sets (EUPS_DIR,
        EUPS_PATH, EUPS_SHELL, SETUP_EUPS, PATH and PYTHONPATH with EUPS first), plus
        lsst_build's bin/ and python/ and the venv; the stack and its ups_db are created if
        needed, and EUPS keeps its user data beside the stack instead of in ~/.eups. `base`
        (default os.environ) gives the rest; its EUPS and SETUP_ variables are dropped."""
        stack = Path(stack).absolute()
        (stack / "ups_db").mkdir(parents=True, exist_ok=True)
        userdata = stack.parent / f".{stack.name}.eups-userdata"
        userdata.mkdir(exist_ok=True)
        source = dict(os.environ if base is None else base)
        env = {
            key: value
            for key, value in source.items()
            if not key.startswith(("EUPS_", "SETUP_")) and key not in ("PYTHONPATH", "PYTHONHOME")
        }
        path = [str(self.eups_dir / "bin"), str(self.lsst_build / "bin"), str(self.python.parent)]
        env.update(
            EUPS_DIR=str(self.eups_dir),
            EUPS_PATH=str(stack),
            EUPS_SHELL="sh",
            EUPS_USERDATA=str(userdata),
            SETUP_EUPS=f"eups LOCAL:{self.eups_dir} -f (none) -Z (none)",
            PATH=os.pathsep.join([*path, source.get("PATH", os.defpath)]),
            PYTHONPATH=os.pathsep.join([str(self.eups_dir / "python"),
                                        str(self.lsst_build / "python")]),
        )  # fmt: skip
        return env

    def lsst_build_cmd(self) -> list[str]:
        """argv prefix that runs lsst-build with the venv's python (use with `env`)."""
        return [str(self.python), str(self.lsst_build / "bin" / "lsst-build")]

    def declare_installed(self, stack: Path, manifest: Path) -> int:
        """Declare every package of ``manifest`` (a manifest.txt) installed in ``stack``, as
        ``eups declare -r <stack>/<flavor>/<name>/<version> -m none`` would, in one process
        (~4 ms a package): what makes ``lsst-build build`` find them all "already installed".
        Returns how many were declared."""
        done = subprocess.run(
            [str(self.python), "-c", _DECLARE, str(manifest)],
            env=self.env(stack), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise VendorBuildFailed(f"{manifest}: eups declare failed:\n{done.stderr[-2000:]}")
        return int(done.stdout)

    def eups_cmd(self) -> list[str]:
        """argv prefix that runs eups with the venv's python (use with `env`)."""
        return [str(self.python), str(self.eups_dir / "bin" / "eups")]


def vendor_dir() -> Path | None:
    """$DM_RELEASE_VENDOR_DIR, else <project>/../shared/vendor; None if it is absent."""
    named = os.environ.get("DM_RELEASE_VENDOR_DIR")
    project = Path(__file__).resolve().parents[2]
    folder = Path(named) if named else project.parent / "shared" / "vendor"
    return folder if folder.is_dir() else None


def _tarballs(folder: Path) -> tuple[Path, Path]:
    eups = folder / EUPS_TARBALL
    lsst_build = sorted(folder.glob(LSST_BUILD_GLOB))
    if not eups.is_file() or len(lsst_build) != 1:
        raise VendorMissing(
            f"{folder}: needs {EUPS_TARBALL} and one {LSST_BUILD_GLOB} "
            f"(found {'' if eups.is_file() else 'no '}{EUPS_TARBALL}, "
            f"{[p.name for p in lsst_build] or 'no lsst_build tarball'}); see its README.md"
        )
    return eups, lsst_build[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _cache_root(cache: Path | None) -> Path:
    if cache is not None:
        return Path(cache)
    named = os.environ.get("DM_RELEASE_VENDOR_CACHE")
    return Path(named) if named else Path.home() / ".cache" / "dm-release" / "vendor"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(argv: list[str], log: Path, **kwargs: object) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-20:])
        raise VendorBuildFailed(f"{log}: `{' '.join(argv)}` exited {done.returncode}:\n{tail}")


def _unpack(tarball: Path, into: Path) -> Path:
    """Extract a one-folder tarball as `into` (its top folder renamed)."""
    scratch = into.with_name(into.name + ".unpack")
    shutil.rmtree(scratch, ignore_errors=True)
    with tarfile.open(tarball) as archive:  # tarfile's data filter rules, on 3.11.2 too
        extract(archive, scratch)
    (top,) = scratch.iterdir()
    top.rename(into)
    scratch.rmdir()
    return into


def _make_venv(venv: Path, log: Path) -> Path:
    """A venv with VENV_PACKAGES from the package registry; without ensurepip when possible
    (Debian's python3 lacks it without python3-venv): this interpreter's pip installs into it."""
    python = venv / "bin" / "python"
    has_pip = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, check=False
    ).returncode == 0  # fmt: skip
    if has_pip:
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], log)
        pip = [sys.executable, "-m", "pip", "--python", str(python)]
    else:
        _run([sys.executable, "-m", "venv", str(venv)], log)
        pip = [str(python), "-m", "pip"]
    _run([*pip, "install", "--quiet", "--disable-pip-version-check", *VENV_PACKAGES], log)
    _run([str(python), "-c", "import yaml, requests, pydantic"], log)
    return python


def _build(entry: Path, eups_tarball: Path, lsst_build_tarball: Path) -> Vendor:
    """Build one cache entry from nothing: venv, EUPS (configure; make install), lsst_build."""
    entry.mkdir(parents=True)
    log = entry / "build.log"
    python = _make_venv(entry / "venv", log)
    source = _unpack(eups_tarball, entry / "eups-src")
    eups_dir = entry / "eups"
    _run(
        ["./configure", f"--prefix={eups_dir}", f"--with-eups={entry / 'stack'}",
         f"--with-python={python}"],
        log, cwd=source,
    )  # fmt: skip
    _run(["make", "install"], log, cwd=source)
    shutil.rmtree(source)
    vendor = Vendor(eups_dir, _unpack(lsst_build_tarball, entry / "lsst_build"), python)
    stack = entry / "stack"
    _run([*vendor.eups_cmd(), "--version"], log, env=vendor.env(stack))
    _run([*vendor.lsst_build_cmd(), "prepare", "--help"], log, env=vendor.env(stack))
    return vendor


@functools.cache
def _build_cached(root: Path, eups_tarball: Path, lsst_build_tarball: Path) -> Vendor:
    version = ".".join(map(str, sys.version_info[:2]))
    key = "-".join(
        [_digest(eups_tarball), _digest(lsst_build_tarball), f"py{version}",
         hashlib.sha256(sys.base_prefix.encode()).hexdigest()[:8], f"v{LAYOUT}"]
    )  # fmt: skip
    entry = root / key
    ready = entry / "ready.json"
    with _locked(root / f"{key}.lock"):
        if not ready.is_file():
            shutil.rmtree(entry, ignore_errors=True)  # a build that died half-way
            vendor = _build(entry, eups_tarball, lsst_build_tarball)
            fields = {"eups_dir": str(vendor.eups_dir), "lsst_build": str(vendor.lsst_build),
                      "python": str(vendor.python)}  # fmt: skip
            ready.write_text(json.dumps(fields, indent=1) + "\n")
        fields = json.loads(ready.read_text())
    return Vendor(Path(fields["eups_dir"]), Path(fields["lsst_build"]), Path(fields["python"]))


def build_vendor(cache: Path | None = None) -> Vendor:
    """EUPS and lsst_build built from the vendor folder, once, into `cache` (default
    $DM_RELEASE_VENDOR_CACHE or ~/.cache/dm-release/vendor) under <tarball digests>/.

    Raises VendorMissing when the folder or a tarball is absent, VendorBuildFailed (a
    VendorMissing) when building fails."""
    folder = vendor_dir()
    if folder is None:
        named = os.environ.get("DM_RELEASE_VENDOR_DIR")
        where = f"{named} ($DM_RELEASE_VENDOR_DIR)" if named else "../shared/vendor"
        raise VendorMissing(
            f"{where}: no such folder; it holds the real EUPS and lsst_build tarballs "
            f"({EUPS_TARBALL}, {LSST_BUILD_GLOB}; see shared/vendor/README.md)"
        )
    eups_tarball, lsst_build_tarball = _tarballs(folder)
    return _build_cached(_cache_root(cache).absolute(), eups_tarball, lsst_build_tarball)


def require_vendor(cache: Path | None = None) -> Vendor:
    """build_vendor() for a test: skipped when the tools cannot be had, failed instead
    when $DM_RELEASE_REQUIRE_VENDOR is 1 (CI)."""
    import pytest

    try:
        return build_vendor(cache)
    except VendorMissing as missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 and the real tools are missing: {missing}")
        pytest.skip(f"real EUPS/lsst_build unavailable: {missing}")
