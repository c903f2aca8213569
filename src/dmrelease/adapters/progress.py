"""Progress of the long phases (issue 11 §5): fetch, build, tag, push, publish.

A stage is handed a :class:`Progress` (as it is handed its log stream) and reports each
item of a phase as it ends; how that is shown is decided here, once, from the stream and
``DM_RELEASE_PROGRESS`` (auto, tty, plain, off; adapters/config), never by the stage:

- ``tty``: a live line rewritten in place (``fetch 123/300 packages (2 failed) afw``),
  redacted, then cut to the terminal's width, replaced at the end by a final whole line
  (``..., stopped after 2.1s`` when an error or an interrupt ends the phase);
- ``plain`` (a Jenkins log, any pipe or file): whole lines, never a carriage return: once
  the phase has run ``delay`` seconds, one each time the count passes another tenth of the
  total or ``interval`` seconds after the last; then the final line. ``auto`` in a pipe
  waits :data:`PLAIN_DELAY` (a phase ending sooner writes nothing: quick runs print what
  they printed before), an explicit ``plain`` reports every phase from its start;
- ``off``: nothing.

``auto`` is ``tty`` on a terminal, ``plain`` otherwise. Every line goes through
adapters/output (redacted, written whole under the lock the other output shares; a line
printed meanwhile on the same terminal clears the live line and draws it again). A note
(``advance(note=...)``: a package built, a push refused) is a whole line of its own in
either mode. Cost per item: a lock, a few integers, and on a terminal one write; no
thread, no timer: a phase reports only when an item ends.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from dmrelease.adapters.output import Lines, lines_to

#: seconds of silence after which a plain line is written at the next item's end
PLAIN_INTERVAL = 30.0
#: seconds a phase runs before its first plain line in ``auto`` mode; a phase that ends
#: sooner writes no line at all (a log is not filled with phases that take no time; an
#: explicit ``plain`` reports every phase from its start)
PLAIN_DELAY = 1.0
#: the width of a live line when the terminal does not say
DEFAULT_WIDTH = 80
MODES = ("tty", "plain", "off")


class Progress:
    """How the phases of one command are shown; :meth:`phase` starts one."""

    def __init__(
        self,
        lines: Lines | None,
        mode: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_INTERVAL,
        delay: float = PLAIN_DELAY,
        width: int = DEFAULT_WIDTH,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r} is not one of {', '.join(MODES)}")
        self.lines = lines
        self.mode = mode if lines is not None else "off"
        self.clock = clock
        self.interval = interval
        self.delay = delay
        self.width = width

    def phase(self, name: str, total: int, noun: str = "packages") -> Phase:
        """A phase of ``total`` items (``grow`` when more are found on the way)."""
        return Phase(self, name, total, noun)


#: the progress of a stage that was given none (tests calling a stage directly)
SILENT = Progress(None, "off")


def progress_for(
    stream: TextIO,
    mode: str | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    interval: float = PLAIN_INTERVAL,
    delay: float | None = None,
) -> Progress:
    """Progress shown on ``stream``: ``mode`` (auto, tty, plain, off), else the one of
    ``DM_RELEASE_PROGRESS`` (auto when unset). ``delay``: seconds before a phase's first
    plain line (by default :data:`PLAIN_DELAY` for auto, none for an explicit plain)."""
    if mode is None:
        from dmrelease.adapters.config import progress_mode

        mode = progress_mode()
    terminal = _is_terminal(stream)
    if delay is None:
        delay = PLAIN_DELAY if mode == "auto" else 0.0
    if mode == "auto":
        mode = "tty" if terminal else "plain"
    if mode == "off":
        return SILENT
    width = _width(stream) if terminal else DEFAULT_WIDTH
    return Progress(
        lines_to(stream), mode, clock=clock, interval=interval, delay=delay, width=width
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _width(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return DEFAULT_WIDTH
    return columns or DEFAULT_WIDTH


class Phase:
    """One phase: items end one by one (:meth:`advance`, from any thread); :meth:`finish`
    (or the end of a ``with`` block, which says whether an exception stopped it) writes
    the final line."""

    def __init__(self, progress: Progress, name: str, total: int, noun: str) -> None:
        self.progress = progress
        self.name = name
        self.noun = noun
        self.total = total
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._started = self._last = progress.clock()
        self._tenths = 0  # tenths of the total already reported by a plain line
        self._finished = False

    def __enter__(self) -> Phase:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.finish(stopped=kind is not None)

    def grow(self, count: int = 1) -> None:
        """``count`` more items were found (a dependency met while fetching)."""
        with self._lock:
            self.total += count

    def advance(self, item: str = "", *, failed: bool = False, note: str | None = None) -> None:
        """One item ended (``failed``); ``note``: a whole line to write about it."""
        progress = self.progress
        if progress.lines is None:
            return
        with self._lock:
            self.done += 1
            self.failed += failed
            if note is not None:
                progress.lines.line(note)
                self._tenths, self._last = self._tenths_done(), progress.clock()
            if progress.mode == "tty":
                progress.lines.live(self._status(item), progress.width - 1)
            elif note is None and self._plain_due():
                progress.lines.line(self._status())

    def finish(self, *, stopped: bool = False) -> None:
        """The final whole line (once): on a terminal it replaces the live line. A phase
        ``stopped`` by an error or an interrupt says so (``fetch 3/300 packages, stopped
        after 2.1s``), not the line of a phase that ran to its end."""
        progress = self.progress
        with self._lock:
            if self._finished or progress.lines is None or not (self.total or self.done):
                self._finished = True
                return
            self._finished = True
            took = progress.clock() - self._started
            final = f"{self._status()}{', stopped after' if stopped else ' in'} {took:.1f}s"
            if progress.mode == "tty":
                progress.lines.end(final)
            elif took >= progress.delay:  # a plain phase shorter than the delay is unsaid
                progress.lines.line(final)

    def _status(self, item: str = "") -> str:
        failed = f" ({self.failed} failed)" if self.failed else ""
        shown = f" {item}" if item else ""
        return f"{self.name} {self.done}/{self.total} {self.noun}{failed}{shown}"

    def _tenths_done(self) -> int:
        return self.done * 10 // self.total if self.total else 0

    def _plain_due(self) -> bool:
        """A plain line is due: the phase has run ``delay`` seconds, and the count passed
        another tenth of the total (not the last: the final line says it) or ``interval``
        seconds passed since the last line."""
        now = self.progress.clock()
        if now - self._started < self.progress.delay:
            return False
        tenths = self._tenths_done()
        if self.done < self.total and tenths > self._tenths:
            self._tenths, self._last = tenths, now
            return True
        if self.done < self.total and now - self._last >= self.progress.interval:
            self._last = now
            return True
        return False
