"""An EUPS-like stack on disk: ``<stack>/<flavor>/<p>/<v>/`` plus ``ups_db`` records.

A package counts as installed only once its record ``ups_db/<p>/<v>.version`` exists, and
the record is written after the install directory is complete: a crash or a full disk
mid-install leaves a directory without a record, which a rerun clears and redoes, never
mistaking it for a finished package (DESIGN.md §5 "Binary reuse", issue 4). Builds install
straight into their final directory, as EUPS builds do, so the paths a build records in
what it installs (rpaths, ``.pc`` files, eupspkg's own) stay valid; an unpacked binary,
which is relocatable, is moved in.
EUPS tags are chain files ``ups_db/<p>/<tag>.chain``.

Records and chain files go through the one atomic writer without its fsyncs
(``durable=False``): whole or absent after a kill or a full disk, which is what a rerun
needs. Two fsyncs per file cost 6.8 ms on an ext4 VM disk (300 records: 2.1 s against
0.04 s), would triple the 300-package first-build benchmark, and would not make a package
survive a power cut anyway, since the tree a record vouches for is not fsynced either.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dmrelease.adapters.files import write_atomically
from dmrelease.core.limits import split_lines

if TYPE_CHECKING:
    import datetime

_RULE = "#" + "*" * 39

VERSION_FILE = """FILE = version
PRODUCT = {product}
VERSION = {version}
{rule}

Group:
   FLAVOR = {flavor}
   QUALIFIERS = ""
   PROD_DIR = {flavor}/{product}/{version}
   UPS_DIR = ups
   TABLE_FILE = {product}.table
End:
"""

CHAIN_FILE = """FILE = chain
PRODUCT = {product}
CHAIN = {tag}
{rule}

Group:
   FLAVOR = {flavor}
   VERSION = {version}
   QUALIFIERS = ""
   DECLARER = dm-release
   DECLARED = {declared}
End:
"""

#: how a chain file's ``DECLARED`` writes its time (UTC)
CHAIN_DATE = "%a %b %d %H:%M:%S %Y"


def _pinned_time() -> datetime.datetime | None:
    """The committer date pinned for git processes (adapters/git ``pinned``: the demo's
    fixed dates, ``@SECONDS +ZONE``), so that the EUPS tags a pinned run declares are the
    same on every run as its commits and tags are; None when none is pinned."""
    import datetime as dt

    from dmrelease.adapters.git import pinned_variable

    stamp = pinned_variable("GIT_COMMITTER_DATE") or ""
    seconds = stamp.removeprefix("@").partition(" ")[0]
    if not stamp.startswith("@") or not seconds.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)


def _is(kind: Callable[[int], bool], path: str) -> bool:
    """Whether ``path`` exists and its mode is of ``kind``; the errors ``Path.is_file``
    takes for "no" are "no" here too, any other is raised as there."""
    try:
        return kind(os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        raise


def _write_atomic(path: Path, text: str) -> None:
    write_atomically(path, text, durable=False)


@dataclass(frozen=True)
class Stack:
    root: Path
    flavor: str

    def install_dir(self, product: str, version: str) -> Path:
        return self.root / self.flavor / product / version

    def record(self, product: str, version: str) -> Path:
        return self.root / "ups_db" / product / f"{version}.version"

    def is_installed(self, product: str, version: str) -> bool:
        """The record is a file and the install directory a directory (as ``Path.is_file``
        and ``is_dir`` say, from plain strings: a no-change build asks it of every package,
        and 600 ``Path`` objects cost 11 ms against 2)."""
        base = os.fspath(self.root)
        return _is(stat.S_ISREG, f"{base}/ups_db/{product}/{version}.version") and _is(
            stat.S_ISDIR, f"{base}/{self.flavor}/{product}/{version}"
        )

    def build_prefix(self, product: str, version: str) -> Path:
        """The final install directory, emptied: a build installs into it as ``PREFIX``.

        Only called for a version that is not installed, so anything already there is an
        interrupted install without a record and is cleared.
        """
        prefix = self.install_dir(product, version)
        self.discard(prefix)
        prefix.mkdir(parents=True)
        return prefix

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def install(self, product: str, version: str, staging: Path, table: Path | None) -> Path:
        """Move a complete tree to its place (unless built there), then write the record."""
        target = self.install_dir(product, version)
        ups_table = staging / "ups" / f"{product}.table"
        if table is not None and table.is_file() and not ups_table.exists():
            ups_table.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(table, ups_table)
        if staging != target:
            if target.exists():  # an install whose record never got written: redo it
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, target)
        fields = {"product": product, "version": version, "flavor": self.flavor, "rule": _RULE}
        _write_atomic(self.record(product, version), VERSION_FILE.format(**fields))
        return target

    def declare_tag(
        self, tag: str, versions: Iterable[tuple[str, str]], declared: str | None = None
    ) -> int:
        """Point EUPS tag ``tag`` at each (product, version); returns how many were written."""
        import datetime as dt  # here, not with the module: a build without --eups-tag needs none

        when = declared or (_pinned_time() or dt.datetime.now(dt.UTC)).strftime(CHAIN_DATE)
        count = 0
        for product, version in versions:
            text = CHAIN_FILE.format(
                product=product, tag=tag, flavor=self.flavor, version=version,
                declared=when, rule=_RULE,
            )  # fmt: skip
            _write_atomic(self.root / "ups_db" / product / f"{tag}.chain", text)
            count += 1
        return count

    def tagged(self, tag: str) -> dict[str, str]:
        """Product → version of EUPS tag ``tag`` (read back from the chain files)."""
        found: dict[str, str] = {}
        for chain in sorted((self.root / "ups_db").glob(f"*/{tag}.chain")):
            for line in split_lines(chain.read_text(encoding="utf-8")):
                key, _, value = line.strip().partition(" = ")
                if key == "VERSION":
                    found[chain.parent.name] = value
        return found
