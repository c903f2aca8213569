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
secret split across two writes is redacted once whole (a flush in the middle of a line
writes what it has but the tail that may begin a secret). The console also knows the live
line a terminal shows (adapters/progress): a line written to the same terminal meanwhile
clears it first and draws it again after, so neither is cut into the other (after an
unfinished line, only once that line ends); when the block ends, a live line still shown
(a phase a failure cut short) is erased.
"""

from __future__ import annotations

import sys

# the lock and thread id of threading without loading it (0.6 ms of a hook's start-up)
from _thread import RLock, get_ident
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from dmrelease.core.redact import redact, secret_forms

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
        #: the live terminal's cursor is after an unfinished line (a prompt, a flush in
        #: the middle of a line): the live line is off the screen until that line ends
        self._mid_line = False

    def write(self, stream: TextIO, text: str) -> None:
        """``text`` (whole lines, or what is left at a flush) in one write; a live line on
        the same terminal is cleared before and drawn again after, once the text ends in a
        newline (drawn after an unfinished line, it would be glued to it and the rest of
        that line written over it)."""
        with self.lock:
            live_on = self._live_on
            if not self._live or live_on is None or not self._same_terminal(stream, live_on):
                stream.write(text)
                return
            if not self._mid_line:
                live_on.write(CLEAR_LINE)
                live_on.flush()
            stream.write(text)
            stream.flush()
            self._mid_line = not text.endswith("\n")
            if not self._mid_line:
                live_on.write(self._live)
                live_on.flush()

    def show(self, stream: TextIO, text: str) -> None:
        """Draw ``text`` as the live line of ``stream`` (a terminal), in place of the last
        (after an unfinished line: once that line ends)."""
        with self.lock:
            if not (self._mid_line and stream is self._live_on):
                stream.write(CLEAR_LINE + text)
                stream.flush()
                self._mid_line = False
            self._live, self._live_on = text, stream

    def end(self, stream: TextIO, text: str) -> None:
        """Clear the live line and write ``text`` (a final whole line, or nothing) there
        (after an unfinished line: on a line of its own)."""
        with self.lock:
            if self._mid_line and stream is self._live_on:
                stream.write("\n" + text if text else "")
            else:
                stream.write(CLEAR_LINE + text)
            stream.flush()
            self._live, self._live_on, self._mid_line = "", None, False

    def drop(self) -> None:
        """Clear a live line still shown (a phase a failure ended without its final line),
        so that nothing draws it again and the shell's prompt starts on a clean line."""
        with self.lock:
            live_on = self._live_on
            if self._live and live_on is not None and not self._mid_line:
                live_on.write(CLEAR_LINE)
                live_on.flush()
            self._live, self._live_on, self._mid_line = "", None, False

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

    def live(self, text: str, width: int | None = None) -> None:
        """Draw ``text`` as the live line, at most ``width`` characters once redacted (cut
        before, a secret's head would be left for the redaction not to recognise)."""
        self.console.show(self.stream, redact(text, self.secrets)[:width])

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
        self._forms: tuple[str, ...] | None = None

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
        """Write this thread's unfinished line, then flush the wrapped stream; a tail that
        may be the head of a secret waits for what follows it (written and redacted alone,
        the two halves of a secret would each pass)."""
        thread = get_ident()
        with self.lines.console.lock:
            text = self._pending.pop(thread, "")
            held = _secret_head(text, self._secret_forms()) if text and self._secrets else 0
            if held:
                self._pending[thread] = text[-held:]
                text = text[:-held]
            self._write_pending(text)
            self._stream.flush()

    def close_pending(self) -> None:
        """Write every thread's unfinished line (the block ends: nothing is lost)."""
        with self.lines.console.lock:
            for thread in list(self._pending):
                self._write_pending(self._pending.pop(thread))
            self._stream.flush()

    def _secret_forms(self) -> tuple[str, ...]:
        """The spellings redact looks for (as is, percent-encoded), computed at the first
        flush: a hook that never flushes mid-line loads nothing more."""
        if self._forms is None:
            self._forms = tuple(secret_forms(self._secrets))
        return self._forms

    def _write_pending(self, text: str) -> None:
        if text:
            self.lines.console.write(self._stream, redact(text, self._secrets))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _secret_head(text: str, forms: Iterable[str]) -> int:
    """The length of the longest tail of ``text`` that begins one of ``forms`` without
    being all of it (0: none)."""
    longest = 0
    for form in forms:
        for size in range(min(len(text), len(form) - 1), longest, -1):
            if form.startswith(text[-size:]):
                longest = size
                break
    return longest


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
        console.drop()  # a live line left by a failure is not drawn again after the error
        for stream in wrapped:
            stream.close_pending()
        sys.stdout, sys.stderr = out, err
