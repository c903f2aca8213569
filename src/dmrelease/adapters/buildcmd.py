"""Running the configured build command of one package, its output in a log file.

The command is a shell line (``build.command`` in dm-release.toml) run in the package's
clone with ``PRODUCT``, ``VERSION``, ``PREFIX``, ``FLAVOR``, ``BUILD_DOCS`` and
``<DEP>_DIR`` for every dependency (issue 4); it must install into ``$PREFIX``. Its output
reaches the log line by line through the one redaction (core/redact.py): a build that
prints its remote URL or a credential of the environment leaves no secret in a log
Jenkins archives.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dmrelease.adapters.config import child_environment, known_secrets
from dmrelease.core.redact import redact

#: seconds the log waits, once the command has exited, for output still in the pipe
DRAIN_SECONDS = 10.0


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
        secrets = known_secrets()
        with log.open("w", encoding="utf-8") as out:
            out.write(redact(f"$ {self.command}\n# in {cwd}\n", secrets))
            out.flush()
            process = subprocess.Popen(
                ["/bin/sh", "-c", self.command], cwd=cwd, env=child_environment(variables),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            assert process.stdout is not None  # stdout=PIPE
            copier = threading.Thread(
                target=_copy_redacted, args=(process.stdout, out, secrets), daemon=True
            )
            copier.start()
            try:
                code = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
            # a process the command left behind may keep the pipe open: wait for it a while
            copier.join(timeout=DRAIN_SECONDS)
            if code is None:
                out.write(f"\n# timed out after {self.timeout}s\n")
        return BuildResult(124 if code is None else code, log)


def _copy_redacted(source: IO[bytes], out: IO[str], secrets: Sequence[str]) -> None:
    """Copy the command's output to the log a line at a time, redacted, as it comes."""
    with source:
        for line in source:
            try:
                out.write(redact(line.decode("utf-8", errors="replace"), secrets))
                out.flush()
            except ValueError:  # the log was closed: the command is over, a straggler is not
                return


def dir_variable(product: str) -> str:
    """The EUPS ``<PRODUCT>_DIR`` variable name of a product."""
    return f"{product.upper()}_DIR"
