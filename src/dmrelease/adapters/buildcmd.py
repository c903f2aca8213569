"""Running the configured build command of one package, its output in a log file.

The command is a shell line (``build.command`` in dm-release.toml) run in the package's
clone with ``PRODUCT``, ``VERSION``, ``PREFIX``, ``FLAVOR``, ``BUILD_DOCS`` and
``<DEP>_DIR`` for every dependency (issue 4); it must install into ``$PREFIX``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.config import child_environment


@dataclass(frozen=True)
class BuildResult:
    returncode: int
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 5) -> str:
        """The last lines of the log, for the error message."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class BuildCommand:
    command: str
    timeout: float | None = None

    def run(self, cwd: Path, variables: Mapping[str, str], log: Path) -> BuildResult:
        """Run the command; a timeout counts as failure (exit 124, like ``timeout``)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as out:
            out.write(f"$ {self.command}\n# in {cwd}\n")
            out.flush()
            try:
                done = subprocess.run(
                    ["/bin/sh", "-c", self.command], cwd=cwd, env=child_environment(variables),
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    timeout=self.timeout, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                out.write(f"\n# timed out after {self.timeout}s\n")
                return BuildResult(124, log)
        return BuildResult(done.returncode, log)


def dir_variable(product: str) -> str:
    """The EUPS ``<PRODUCT>_DIR`` variable name of a product."""
    return f"{product.upper()}_DIR"
