"""What dm-release prints passes through :func:`~dmrelease.core.redact.redact` (issue 8 §4),
a whole line at a time (issue 11 §5).

An entry point (``cli.main``, each hook's handler) runs inside :func:`redacted_output`:
``sys.stdout`` and ``sys.stderr`` are wrapped so that every line any stage prints (progress,
dry-run commands, JSON, diagnostics) is redacted with the known secret values, not only
the messages known to carry a URL.

Both wrappers share one :class:`Console`. A wrapper keeps what each thread wrote since its
last newline and hands the console only whole lines, written under the console's lock:
``print`` writes its text and its ``"\\n"`` apart, so lines printed by a pool of threads
(``--dry-run``'s git commands) came out spliced (``…originpex_exceptions: git…``); and a
secret split across two writes is redacted once whole. The console also knows the live
line a terminal shows (adapters/progress): a line written to the same terminal meanwhile
clears it first and draws it again after, so neither is cut into the other.
"""

from __future__ import annotations

import sys

# the lock and thread id of threading without loading it (0.6 ms of a hook's start-up)
from _thread import RLock, get_ident
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from dmrelease.core.redact import redact

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up)
if TYPE_CHECKING:
    from typing import TextIO

#: back to the start of the line and erase it (ANSI: CR, then EL "erase to end of line")
CLEAR_LINE = "\r\033[K"


class Console:
    """The lock every line is written under, and the live line a terminal shows."""

    def __init__(self) -> None:
        self.lock = RLock()
        self._live = ""
        self._live_on: TextIO | None = None
        self._terminal: dict[int, bool] = {}

    def write(self, stream: TextIO, text: str) -> None:
        """``text`` (whole lines, or what is left at a flush) in one write; a live line on
        the same terminal is cleared before and drawn again after."""
        with self.lock:
            live_on = self._live_on
            if not self._live or live_on is None or not self._same_terminal(stream, live_on):
                stream.write(text)
                return
            live_on.write(CLEAR_LINE)
            live_on.flush()
            stream.write(text)
            stream.flush()
            live_on.write(self._live)
            live_on.flush()

    def show(self, stream: TextIO, text: str) -> None:
        """Draw ``text`` as the live line of ``stream`` (a terminal), in place of the last."""
        with self.lock:
            stream.write(CLEAR_LINE + text)
            stream.flush()
            self._live, self._live_on = text, stream

    def end(self, stream: TextIO, text: str) -> None:
        """Clear the live line and write ``text`` (a final whole line, or nothing) there."""
        with self.lock:
            stream.write(CLEAR_LINE + text)
            stream.flush()
            self._live, self._live_on = "", None

    def _same_terminal(self, stream: TextIO, live_on: TextIO) -> bool:
        if stream is live_on:
            return True
        key = id(stream)
        if key not in self._terminal:
            try:
                self._terminal[key] = stream.isatty()
            except (AttributeError, ValueError):  # no isatty, or closed
                self._terminal[key] = False
        return self._terminal[key]


class Lines:
    """Whole redacted lines and a live line to one stream, under a console's lock."""

    def __init__(self, stream: TextIO, console: Console, secrets: tuple[str, ...]) -> None:
        self.stream = stream
        self.console = console
        self.secrets = secrets

    def line(self, text: str) -> None:
        self.console.write(self.stream, redact(text + "\n", self.secrets))

    def live(self, text: str) -> None:
        self.console.show(self.stream, redact(text, self.secrets))

    def end(self, text: str) -> None:
        """Clear the live line; ``text`` (a whole line, or empty) takes its place."""
        self.console.end(self.stream, redact(text + "\n" if text else "", self.secrets))


def lines_to(stream: TextIO) -> Lines:
    """Where whole lines to ``stream`` go: a wrapped stream's console (shared with the
    other wrapped stream), else a console of their own."""
    if isinstance(stream, RedactingStream):
        return stream.lines
    return Lines(stream, Console(), ())


class RedactingStream:
    """A text stream that writes ``redact(text)`` to the stream it wraps, whole lines at a
    time (each thread's unfinished line waits for its newline or a flush); the rest
    (``isatty``, ``fileno``, ``encoding``…) is the wrapped stream's."""

    def __init__(
        self, stream: TextIO, secrets: Iterable[str], console: Console | None = None
    ) -> None:
        self._stream = stream
        self._secrets = tuple(secrets)
        self.lines = Lines(stream, console or Console(), self._secrets)
        self._pending: dict[int, str] = {}  # thread id -> its text after its last newline

    def write(self, text: str) -> int:
        thread = get_ident()
        with self.lines.console.lock:
            head, newline, tail = (self._pending.pop(thread, "") + text).rpartition("\n")
            if tail:
                self._pending[thread] = tail
            if newline:
                self.lines.console.write(self._stream, redact(head + newline, self._secrets))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Write this thread's unfinished line, then flush the wrapped stream."""
        with self.lines.console.lock:
            self._write_pending(self._pending.pop(get_ident(), ""))
            self._stream.flush()

    def close_pending(self) -> None:
        """Write every thread's unfinished line (the block ends: nothing is lost)."""
        with self.lines.console.lock:
            for thread in list(self._pending):
                self._write_pending(self._pending.pop(thread))
            self._stream.flush()

    def _write_pending(self, text: str) -> None:
        if text:
            self.lines.console.write(self._stream, redact(text, self._secrets))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextmanager
def redacted_output(secrets: Iterable[str]) -> Iterator[tuple[str, ...]]:
    """Redact everything written to ``sys.stdout`` and ``sys.stderr`` until the block
    ends, a whole line at a time; yields the secrets, for messages the caller prints."""
    known = tuple(secrets)
    out, err = sys.stdout, sys.stderr
    console = Console()
    wrapped = RedactingStream(out, known, console), RedactingStream(err, known, console)
    sys.stdout, sys.stderr = wrapped
    try:
        yield known
    finally:
        for stream in wrapped:
            stream.close_pending()
        sys.stdout, sys.stderr = out, err
