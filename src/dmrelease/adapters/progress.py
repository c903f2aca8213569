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
either mode. Cost per item: a lock, a few integers, and on a terminal one write.

A plain phase also has a heartbeat: one daemon thread (started with the phase, only in
``plain`` mode, stopped and joined by :meth:`Phase.finish`, which the end of a ``with``
block calls, exception or not) sleeps until ``interval`` seconds after the last line and,
if no line was written meanwhile, writes one (``build 3/14 packages, 5m 12s, running:
afw``), so that one long item (a 20-minute build, a slow clone) is not silent in a log. It
wakes once per interval at most, starts no process, and writes through the same lock and
redaction as the other lines. Its wait is a :class:`Ticker` (``threading.Event``), which
a test replaces to drive it step by step; the clock is injected as well.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TextIO

from dmrelease.adapters.output import Lines, lines_to

#: seconds of silence after which a plain line is written (by the heartbeat, or at the
#: next item's end if it comes first)
PLAIN_INTERVAL = 30.0
#: seconds a phase runs before its first plain line in ``auto`` mode; a phase that ends
#: sooner writes no line at all (a log is not filled with phases that take no time; an
#: explicit ``plain`` reports every phase from its start)
PLAIN_DELAY = 1.0
#: the width of a live line when the terminal does not say
DEFAULT_WIDTH = 80
MODES = ("tty", "plain", "off")


class Ticker:
    """The heartbeat's sleep: :meth:`wait` returns True once :meth:`stop` was called
    (at once if it was called before), False when ``seconds`` passed."""

    def __init__(self) -> None:
        self._stopped = threading.Event()

    def wait(self, seconds: float) -> bool:
        return self._stopped.wait(seconds)

    def stop(self) -> None:
        self._stopped.set()


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
        ticker: Callable[[], Ticker] = Ticker,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r} is not one of {', '.join(MODES)}")
        self.lines = lines
        self.mode = mode if lines is not None else "off"
        self.clock = clock
        self.interval = interval
        self.delay = delay
        self.width = width
        self.ticker = ticker

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
    ticker: Callable[[], Ticker] = Ticker,
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
        lines_to(stream), mode, clock=clock, interval=interval, delay=delay, width=width,
        ticker=ticker,
    )  # fmt: skip


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
    the final line and ends the heartbeat of a plain phase. ``running``: what the
    heartbeat says is under way (the build's running packages), read under the lock."""

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
        self.running: Callable[[], Iterable[str]] | None = None
        self._ticker: Ticker | None = None
        self._beats: threading.Thread | None = None
        if progress.mode == "plain" and progress.lines is not None and progress.interval > 0:
            self._ticker = progress.ticker()
            self._beats = threading.Thread(
                target=self._beat, name=f"dm-release progress {name}", daemon=True
            )
            self._beats.start()

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
        try:
            self._final(stopped)
        finally:
            self._stop_beats()

    def _final(self, stopped: bool) -> None:
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

    def _stop_beats(self) -> None:
        """End the heartbeat and wait for its thread (outside the lock it takes)."""
        beats, ticker = self._beats, self._ticker
        if beats is None or ticker is None:
            return
        with self._lock:
            self._finished = True  # a beat waking now writes nothing
        ticker.stop()
        if beats is not threading.current_thread():
            beats.join()
        self._beats = None

    def _beat(self) -> None:
        """The heartbeat: sleep until ``interval`` seconds after the last line; if none
        was written meanwhile (and the phase is past its delay), write one."""
        progress = self.progress
        ticker, interval = self._ticker, progress.interval
        assert ticker is not None and progress.lines is not None
        wait = interval
        while not ticker.wait(wait):
            with self._lock:
                if self._finished:
                    return
                now = progress.clock()
                since = now - self._last
                due = since >= interval and now - self._started >= progress.delay
                if due and (self.total or self.done):  # not "0/0" before anything is known
                    progress.lines.line(self._heartbeat(now))
                    self._last, since = now, 0.0
                wait = interval - since if since < interval else interval

    def _status(self, item: str = "") -> str:
        failed = f" ({self.failed} failed)" if self.failed else ""
        shown = f" {item}" if item else ""
        return f"{self.name} {self.done}/{self.total} {self.noun}{failed}{shown}"

    def _heartbeat(self, now: float) -> str:
        running = sorted(self.running()) if self.running is not None else []
        shown = ", ".join(running[:4]) + (f" and {len(running) - 4} more" if running[4:] else "")
        return f"{self._status()}, {_elapsed(now - self._started)}" + (
            f", running: {shown}" if shown else ""
        )

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


def _elapsed(seconds: float) -> str:
    """``42s``, ``5m 12s``, ``1h 03m``: how long a phase has run, for a heartbeat."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
