"""What dm-release prints passes through :func:`~dmrelease.core.redact.redact` (issue 8 §4).

An entry point (``cli.main``, each hook's handler) runs inside :func:`redacted_output`:
``sys.stdout`` and ``sys.stderr`` are wrapped so that every line any stage prints (progress,
dry-run commands, JSON, diagnostics) is redacted with the known secret values, not only
the messages known to carry a URL.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from dmrelease.core.redact import redact

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up)
if TYPE_CHECKING:
    from typing import TextIO


class RedactingStream:
    """A text stream that writes ``redact(text)`` to the stream it wraps; the rest
    (``flush``, ``isatty``, ``fileno``, ``encoding``…) is the wrapped stream's."""

    def __init__(self, stream: TextIO, secrets: Iterable[str]) -> None:
        self._stream = stream
        self._secrets = tuple(secrets)

    def write(self, text: str) -> int:
        self._stream.write(redact(text, self._secrets))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextmanager
def redacted_output(secrets: Iterable[str]) -> Iterator[tuple[str, ...]]:
    """Redact everything written to ``sys.stdout`` and ``sys.stderr`` until the block
    ends; yields the secrets, for messages the caller prints itself."""
    known = tuple(secrets)
    out, err = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(out, known)
    sys.stderr = RedactingStream(err, known)
    try:
        yield known
    finally:
        sys.stdout, sys.stderr = out, err
