"""Long phases are not silent (issue 11 §5): on a terminal a live line rewritten in place
and then a final whole line, in a pipe (a Jenkins log) plain whole lines, never a carriage
return; every line written whole, so that the lines a pool of threads prints (a dry run's
git commands) never come out spliced. The terminal is a real pty, the log a real pipe, the
commands real processes; the clock of the periodic lines is injected, never waited for."""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import pytest
from rebuild_helpers import PATHS, make_product, write_config
from release_helpers import JENKINS_VARIABLES, PACKAGES, Setup, clean_environment, ok, tags

from dmrelease.adapters.output import Console, RedactingStream, redacted_output
from dmrelease.adapters.progress import Progress, Ticker, progress_for
from dmrelease.core.build import Action, Outcome, Schedule
from dmrelease.demo.rebuild import BUILD_COMMAND
from dmrelease.demo.synthetic import PackageSpec, create_product, layered_graph

CLEAR = "\r\033[K"

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


class Clock:
    """The time a phase sees: moved by the test, never by waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


#: how long a handshake with the heartbeat thread may take before the test fails (a guard
#: against a hang, not a timing: nothing is asserted about how long it took)
GUARD = 30.0


class Beats(Ticker):
    """The heartbeat's sleep, driven by the test: :meth:`beat` moves the clock, lets the
    thread wake once and returns when it sleeps again (its line written), so that what
    the test does next comes after that line. ``asked``: the seconds each sleep was for."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.asked: list[float] = []
        self._go = threading.Semaphore(0)
        self._asleep = threading.Semaphore(0)
        self._stop = False

    def wait(self, seconds: float) -> bool:
        self.asked.append(seconds)
        self._asleep.release()
        assert self._go.acquire(timeout=GUARD)
        return self._stop

    def stop(self) -> None:
        self._stop = True
        self._go.release()

    def beat(self, seconds: float) -> None:
        assert self._asleep.acquire(timeout=GUARD)  # the thread sleeps
        self.clock.now += seconds
        self._go.release()
        assert self._asleep.acquire(timeout=GUARD)  # it woke, did its work, sleeps again
        self._asleep.release()


def _heartbeats() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("dm-release progress")]


def _drain(fd: int) -> bytes:
    """Everything written to the other end of ``fd`` (closed), pipe or pty master."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a pty master reads EIO once its slave is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data


@pytest.fixture
def pipe() -> Iterator[tuple[TextIO, Callable[[], str]]]:
    """A real pipe: the stream writing it, and what was written (the stream closed)."""
    read, write = os.pipe()
    stream = os.fdopen(write, "w", encoding="utf-8")

    def written() -> str:
        stream.close()
        return _drain(read).decode()

    yield stream, written
    if not stream.closed:
        stream.close()
        os.close(read)


def _terminal(columns: int = 80) -> tuple[int, int]:
    """A real pty of ``columns`` columns: master and slave fds."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


# the reporter, in a pipe and on a terminal


def test_in_a_pipe_a_line_at_each_tenth_then_the_final_line(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    stream, written = pipe
    clock = Clock()
    progress = progress_for(stream, "plain", clock=clock)  # plain: from the phase's start
    with progress.phase("fetch", 25) as phase:
        for i in range(25):
            clock.now += 0.5
            phase.advance(f"pkg{i}", failed=i == 3)
    assert written().split("\n") == [
        "fetch 3/25 packages",
        "fetch 5/25 packages (1 failed)",
        "fetch 8/25 packages (1 failed)",
        "fetch 10/25 packages (1 failed)",
        "fetch 13/25 packages (1 failed)",
        "fetch 15/25 packages (1 failed)",
        "fetch 18/25 packages (1 failed)",
        "fetch 20/25 packages (1 failed)",
        "fetch 23/25 packages (1 failed)",
        "fetch 25/25 packages (1 failed) in 12.5s",
        "",
    ]


def test_auto_in_a_pipe_says_nothing_of_a_quick_phase_and_a_line_per_interval_of_a_slow_one(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    stream, written = pipe
    clock = Clock()
    progress = progress_for(stream, "auto", clock=clock, interval=30)  # a pipe: plain, 1 s
    with progress.phase("tag", 300, "repositories") as short:
        for _ in range(300):
            short.advance()  # no time passes: under the delay, not even a final line
    with progress.phase("push", 300, "repositories") as slow:
        for done in range(1, 301):
            clock.now += {36: 1.5, 40: 40, 41: 40, 50: 40}.get(done, 0 if done < 36 else 0.001)
            slow.advance(f"pkg{done}")
    assert written().split("\n") == [
        "push 36/300 repositories",  # 1.5 s in: past the delay, and a tenth not yet said
        "push 40/300 repositories",  # 40 s since the last line
        "push 41/300 repositories",  # 40 s again
        "push 50/300 repositories",
        "push 60/300 repositories",
        "push 90/300 repositories",
        "push 120/300 repositories",
        "push 150/300 repositories",
        "push 180/300 repositories",
        "push 210/300 repositories",
        "push 240/300 repositories",
        "push 270/300 repositories",
        f"push 300/300 repositories in {clock.now:.1f}s",
        "",
    ]


def test_a_phase_of_growing_total_counts_what_was_found(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    stream, written = pipe
    clock = Clock()
    with progress_for(stream, "plain", clock=clock).phase("fetch", 1) as phase:
        phase.grow(3)  # the root's dependencies, counted before the root is done
        for name in ("meta", "afw", "base", "utils"):
            phase.advance(name)
    assert written() == (
        "fetch 1/4 packages\nfetch 2/4 packages\nfetch 3/4 packages\nfetch 4/4 packages in 0.0s\n"
    )


def test_off_writes_nothing(pipe: tuple[TextIO, Callable[[], str]]) -> None:
    stream, written = pipe
    with progress_for(stream, "off").phase("fetch", 3) as phase:
        for note in ("a", "b", "c"):
            phase.advance(note, note=f"note {note}")
    assert written() == ""


def test_on_a_terminal_one_live_line_rewritten_in_place_then_the_final_line() -> None:
    master, slave = _terminal(columns=40)
    stream = os.fdopen(slave, "w", encoding="utf-8")
    clock = Clock()
    progress = progress_for(stream, "auto", clock=clock)  # a terminal: the live line
    with progress.phase("push", 3, "repositories") as phase:
        phase.advance("afw")
        phase.advance("base", failed=True)
        clock.now = 2.0
        phase.advance("x" * 80)  # cut to the terminal's width, less one column
    stream.close()
    assert _drain(master).decode() == (
        f"{CLEAR}push 1/3 repositories afw"
        f"{CLEAR}push 2/3 repositories (1 failed) base"
        f"{CLEAR}push 3/3 repositories (1 failed) xxxxxx"  # 39 columns
        f"{CLEAR}push 3/3 repositories (1 failed) in 2.0s\r\n"  # the pty's \n is \r\n
    )


def test_a_line_written_meanwhile_clears_the_live_line_and_it_is_drawn_again() -> None:
    """As under the CLI: stdout and stderr wrapped by adapters/output, sharing a console,
    both on one terminal; print's two writes (text, newline) make one whole line."""
    master, slave = _terminal()
    console = Console()
    raw_out = os.fdopen(os.dup(slave), "w", encoding="utf-8")
    raw_err = os.fdopen(slave, "w", encoding="utf-8")
    out = RedactingStream(raw_out, ("s3cr3t-token",), console)
    err = RedactingStream(raw_err, ("s3cr3t-token",), console)
    progress = progress_for(err, "auto", clock=Clock())  # type: ignore[arg-type]
    with progress.phase("fetch", 2) as phase:
        phase.advance("afw")
        print("afw: git push https://s3cr3t-token@host/afw", file=out)
        phase.advance("base", note="base: a note about s3cr3t-token")
    out.close_pending()
    err.close_pending()
    raw_out.close()
    raw_err.close()
    assert _drain(master).decode() == (
        f"{CLEAR}fetch 1/2 packages afw"
        f"{CLEAR}afw: git push https://****@host/afw\r\n"
        "fetch 1/2 packages afw"
        f"{CLEAR}base: a note about ****\r\n"
        "fetch 1/2 packages afw"
        f"{CLEAR}fetch 2/2 packages base"
        f"{CLEAR}fetch 2/2 packages in 0.0s\r\n"
    )


def test_a_partial_line_waits_for_its_newline_per_thread(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    stream, written = pipe
    wrapped = RedactingStream(stream, ())
    wrapped.write("first half, ")
    other = threading.Thread(target=lambda: wrapped.write("other thread\n"))
    other.start()
    other.join()
    wrapped.write("second half\nunfinished")
    wrapped.close_pending()
    assert written() == "other thread\nfirst half, second half\nunfinished"


def _pty_streams() -> tuple[int, TextIO, TextIO]:
    """A real pty and two streams writing it (a command's stdout and stderr)."""
    master, slave = _terminal()
    out = os.fdopen(os.dup(slave), "w", encoding="utf-8")
    return master, out, os.fdopen(slave, "w", encoding="utf-8")


def test_a_live_line_a_failure_left_is_cleared_at_the_end_not_drawn_below_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a command that fails mid-phase: the error clears the live line and it is drawn
    again after, but when the command's output ends it is erased, so the shell's prompt
    starts on a clean line instead of after a stale ``fetch 1/2``."""
    master, out, err = _pty_streams()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with redacted_output(()):
        phase = progress_for(sys.stderr, "auto", clock=Clock()).phase("fetch", 2)
        phase.advance("afw")
        print("error: afw: build failed", file=sys.stderr)
    out.close()
    err.close()
    assert _drain(master).decode() == (
        f"{CLEAR}fetch 1/2 packages afw"
        f"{CLEAR}error: afw: build failed\r\n"
        "fetch 1/2 packages afw"
        f"{CLEAR}"  # erased: nothing after it
    )


@pytest.mark.parametrize("mode", ["tty", "plain"])
def test_a_phase_an_exception_ends_says_it_stopped(mode: str) -> None:
    master, slave = _terminal()
    stream = os.fdopen(slave, "w", encoding="utf-8")
    clock = Clock()
    progress = progress_for(stream, mode, clock=clock)
    with pytest.raises(KeyboardInterrupt), progress.phase("fetch", 300) as phase:
        for name in ("afw", "base", "daf"):
            phase.advance(name)
        clock.now = 2.1
        raise KeyboardInterrupt
    stream.close()
    final = _drain(master).decode().split(CLEAR)[-1]
    assert final == "fetch 3/300 packages, stopped after 2.1s\r\n"


def test_a_flush_in_the_middle_of_a_secret_does_not_let_its_halves_through(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    """``print(..., end="", flush=True)`` then the rest: the tail that may begin a secret
    (as is or percent-encoded) waits for what follows; the rest is written at the flush."""
    stream, written = pipe
    wrapped = RedactingStream(stream, ("s3cr3t-token", "p@ss/word"))
    print("token s3cr3t-", end="", file=wrapped, flush=True)
    print("token, then p%40ss%2F", end="", file=wrapped, flush=True)
    print("word and s3", end="", file=wrapped, flush=True)
    print("x", file=wrapped)
    print("last s3cr", end="", file=wrapped, flush=True)
    wrapped.close_pending()  # the end of the output: what was held back is written
    assert written() == "token ****, then **** and s3x\nlast s3cr"


def test_a_flush_in_the_middle_of_a_line_does_not_draw_the_live_line_after_it() -> None:
    """A prompt (``Proceed? ``) while a live line is shown: the live line is cleared, and
    drawn again only once the prompted line ends, not glued after the prompt."""
    master, out, err = _pty_streams()
    console = Console()
    wrapped_out, wrapped_err = RedactingStream(out, (), console), RedactingStream(err, (), console)
    progress = progress_for(wrapped_err, "auto", clock=Clock())  # type: ignore[arg-type]
    phase = progress.phase("push", 2, "repositories")
    phase.advance("afw")
    print("Proceed? ", end="", file=wrapped_out, flush=True)
    phase.advance("base")  # counted, not drawn over the prompt
    print("yes", file=wrapped_out)
    phase.finish()
    wrapped_out.close_pending()
    wrapped_err.close_pending()
    out.close()
    err.close()
    assert _drain(master).decode() == (
        f"{CLEAR}push 1/2 repositories afw"
        f"{CLEAR}Proceed? yes\r\n"
        "push 2/2 repositories base"
        f"{CLEAR}push 2/2 repositories in 0.0s\r\n"
    )


def test_the_live_line_is_redacted_before_it_is_cut_to_the_terminal_width() -> None:
    """Cut first, a secret crossing the last column would leave its head on the screen."""
    master, slave = _terminal(columns=40)
    raw = os.fdopen(slave, "w", encoding="utf-8")
    wrapped = RedactingStream(raw, ("s3cr3t-token-of-twenty",))
    progress = progress_for(wrapped, "tty", clock=Clock())  # type: ignore[arg-type]
    phase = progress.phase("push", 1, "repositories")
    phase.advance("s3cr3t-token-of-twenty tail-text-long")  # cut first: "…s3cr3t-token-of-tw"
    raw.close()
    assert _drain(master).decode() == f"{CLEAR}push 1/1 repositories **** tail-text-lo"


# the heartbeat of a plain phase: a line per interval while nothing else is said


def test_a_plain_phase_with_one_long_item_writes_a_heartbeat_line_per_interval(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    stream, written = pipe
    clock = Clock()
    beats: list[Beats] = []

    def ticker() -> Beats:
        beats.append(Beats(clock))
        return beats[-1]

    progress = progress_for(stream, "plain", clock=clock, ticker=ticker)  # interval 30 s
    assert _heartbeats() == []
    with progress.phase("fetch", 300) as phase:
        (beat,) = beats
        assert [t.name for t in _heartbeats()] == ["dm-release progress fetch"]
        beat.beat(30)  # 30 s of silence: a line
        for name in ("afw", "base"):
            phase.advance(name)  # 2/300: no tenth passed, the last line 0 s ago
        beat.beat(12)  # 42 s: 12 s since the last line, nothing
        clock.now += 6
        phase.advance("daf", note="daf: a note")  # 48 s: a line (the note)
        beat.beat(12)  # 60 s: 12 s since the note, nothing yet
        beat.beat(18)  # 78 s: 30 s since the note
        beat.beat(30)  # 108 s
        beat.beat(200)  # 308 s: one line, however long the sleep overran
        clock.now += 4
    assert _heartbeats() == []
    assert written().split("\n") == [
        "fetch 0/300 packages, 30s",
        "daf: a note",
        "fetch 3/300 packages, 1m 18s",
        "fetch 3/300 packages, 1m 48s",
        "fetch 3/300 packages, 5m 08s",
        "fetch 3/300 packages in 312.0s",
        "",
    ]
    # each sleep lasts until 30 s after the last line: 18 after a beat 12 s after one
    assert beat.asked == [30, 30, 18, 18, 30, 30, 30]


def test_the_heartbeat_names_the_running_packages_and_is_redacted(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    """As the build: the heartbeat reads the schedule's running packages, through the
    same redacting stream as every other line."""
    from dmrelease.stages.rebuild_progress import ProgressLine

    stream, written = pipe
    wrapped = RedactingStream(stream, ("s3cr3t-token",))
    clock = Clock()
    beats: list[Beats] = []

    def ticker() -> Beats:
        beats.append(Beats(clock))
        return beats[-1]

    progress = progress_for(wrapped, "plain", clock=clock, ticker=ticker)  # type: ignore[arg-type]
    line = ProgressLine(wrapped, 14, progress)  # type: ignore[arg-type]
    with line.phase:
        (beat,) = beats
        beat.beat(30)  # before any package ended: the count and the time
        names = ["afw", "base-s3cr3t-token", "daf", "geom", "meta", "utils", "xrootd"]
        schedule = Schedule(names, {})
        schedule.take_ready()
        schedule.finish("utils", True)
        clock.now += 2
        line(Outcome("utils", "1.0", Action.REUSED), schedule)
        beat.beat(28)  # 30 s since the last line
        beat.beat(282)  # 5m 40s
    wrapped.close_pending()
    assert written().split("\n") == [
        "build 0/14 packages, 30s",
        "build 1/14 packages, 1m 00s, running: afw, base-****, daf, geom and 2 more",
        "build 1/14 packages, 5m 42s, running: afw, base-****, daf, geom and 2 more",
        "build 1/14 packages in 342.0s",
        "",
    ]


def test_the_heartbeat_ends_with_a_phase_an_exception_stops(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    stream, written = pipe
    clock = Clock()
    beats: list[Beats] = []

    def ticker() -> Beats:
        beats.append(Beats(clock))
        return beats[-1]

    progress = progress_for(stream, "plain", clock=clock, ticker=ticker)
    with pytest.raises(KeyboardInterrupt), progress.phase("push", 4, "repositories"):
        beats[0].beat(65)
        raise KeyboardInterrupt
    assert _heartbeats() == []
    assert (
        written() == "push 0/4 repositories, 1m 05s\npush 0/4 repositories, stopped after 65.0s\n"
    )


def test_the_heartbeat_says_nothing_before_anything_is_counted(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    """A fetch starts at 0/0 and grows as packages are found: no ``fetch 0/0`` line."""
    stream, written = pipe
    clock = Clock()
    beats: list[Beats] = []

    def ticker() -> Beats:
        beats.append(Beats(clock))
        return beats[-1]

    with progress_for(stream, "plain", clock=clock, ticker=ticker).phase("fetch", 0) as phase:
        beats[0].beat(30)
        phase.grow()
        beats[0].beat(30)
    assert written() == "fetch 0/1 packages, 1m 00s\nfetch 0/1 packages in 60.0s\n"


def test_the_real_ticker_stops_at_once_and_its_thread_is_joined(
    pipe: tuple[TextIO, Callable[[], str]],
) -> None:
    """The default sleep (a threading.Event): a phase of an hour's interval ends at once,
    its thread gone, nothing written but the lines of the items' ends."""
    stream, written = pipe
    progress = progress_for(stream, "plain", clock=Clock(), interval=3600)
    with progress.phase("tag", 2, "repositories") as phase:
        assert len(_heartbeats()) == 1
        phase.advance("afw")
        phase.advance("base")
    assert _heartbeats() == []
    assert written() == "tag 1/2 repositories\ntag 2/2 repositories in 0.0s\n"


@pytest.mark.parametrize("mode", ["tty", "off"])
def test_a_terminal_or_off_starts_no_heartbeat(mode: str) -> None:
    master, slave = _terminal()
    stream = os.fdopen(slave, "w", encoding="utf-8")
    before = threading.active_count()
    progress = progress_for(stream, mode, clock=Clock())
    with progress.phase("fetch", 2) as phase:
        assert threading.active_count() == before and _heartbeats() == []
        phase.advance("afw")
    stream.close()
    _drain(master)


def test_a_progress_mode_must_be_known() -> None:
    with pytest.raises(ValueError, match="progress mode 'fancy' is not one of tty, plain, off"):
        Progress(None, "fancy")


# real processes: dm-release rebuild and release


def _environment(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in JENKINS_VARIABLES}
    base.pop("DM_RELEASE_PROGRESS", None)
    return {**base, **extra}


def _dm_release(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``dm-release ARGS`` in a pipe; progress ``plain`` (every phase, however quick)."""
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", *args], cwd=cwd,
        env=env or _environment(DM_RELEASE_PROGRESS="plain"),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def _on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """``dm-release ARGS`` with its stderr on a real pty (stdout a pipe): exit code and
    what the terminal received."""
    master, slave = _terminal(columns=200)
    process = subprocess.Popen(
        [sys.executable, "-m", "dmrelease", *args], cwd=cwd, env=_environment(),
        stdout=subprocess.DEVNULL, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    received = _drain(master).decode()
    return process.wait(), received


def _phase_lines(text: str, name: str) -> list[str]:
    """The lines of phase ``name``: ``fetch 3/6 packages``…"""
    return re.findall(rf"^{name} \d+/\d+ .*$", text, re.MULTILINE)


def _counts(lines: list[str]) -> list[int]:
    return [int(re.match(r"\S+ (\d+)/", line)[1]) for line in lines]  # type: ignore[index]


def test_a_rebuild_on_a_terminal_shows_each_phase_on_one_live_line(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    code, received = _on_a_terminal(tmp_path, "rebuild", "--config", str(config))
    assert code == 0, received
    fetch = re.search(
        r"((?:\r\033\[Kfetch \d+/\d+ packages \w+)+)\r\033\[Kfetch 6/6 packages in \d+\.\ds\r\n",
        received,
    )
    assert fetch is not None, received
    frames = fetch[1].split(CLEAR)[1:]
    assert _counts(frames) == [1, 2, 3, 4, 5, 6]  # one frame per package, in place
    assert re.search(r"\r\033\[Kbuild 6/6 packages in \d+\.\ds\r\n", received)
    built = re.findall(r"\[(\d)/6\] built (\w+) ", received)  # a line per package built
    assert sorted(name for _, name in built) == ["afw", "base", "daf", "geom", "meta", "utils"]
    assert [int(n) for n, _ in built] == [1, 2, 3, 4, 5, 6]


def test_a_rebuild_interrupted_mid_build_ends_its_live_line_with_a_stopped_line(
    tmp_path: Path,
) -> None:
    """Ctrl-C while the last package builds: the build phase's final line says it stopped
    (the live line is not left to be drawn below the error), then the interrupt's message."""
    started, release = tmp_path / "started", tmp_path / "release"
    hold = (
        f'[ "$PRODUCT" != meta ] || {{ touch {started}; '
        f"while [ ! -e {release} ]; do sleep 0.05; done; }}; "
    )
    config = write_config(tmp_path, make_product(tmp_path), command=hold + BUILD_COMMAND)
    master, slave = _terminal(columns=200)
    process = subprocess.Popen(
        [sys.executable, "-m", "dmrelease", "rebuild", "--config", str(config)], cwd=tmp_path,
        env=_environment(), stdout=subprocess.DEVNULL, stderr=slave,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if ignored here
    )  # fmt: skip
    os.close(slave)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_drain(master)))
    reader.start()
    try:
        while not started.exists():  # meta's build is under way (a guard, not a timing)
            assert process.poll() is None, "dm-release ended before meta's build"
            threading.Event().wait(0.02)
        process.send_signal(signal.SIGINT)
    finally:
        release.touch()
    code = process.wait()
    reader.join()
    text = received[0].decode()
    assert code == 130, text
    assert re.search(
        r"\r\033\[Kbuild 5/6 packages, stopped after \d+\.\ds\r\ndm-release: interrupted\r\n$",
        text,
    ), text
    assert " 6/6 " not in text.split("fetch 6/6 packages in")[-1]


def test_a_rebuild_in_a_pipe_writes_plain_whole_lines(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    code, _out, err = _dm_release(tmp_path, "rebuild", "--config", str(config))
    assert code == 0, err
    assert "\r" not in err and "\033" not in err
    fetch = _phase_lines(err, "fetch")
    assert re.fullmatch(r"fetch 6/6 packages in \d+\.\ds", fetch[-1])
    assert all(re.fullmatch(r"fetch \d+/\d+ packages", line) for line in fetch[:-1])
    build = _phase_lines(err, "build")
    assert len(build) == 1 and re.fullmatch(r"build 6/6 packages in \d+\.\ds", build[0])
    assert len(re.findall(r"^\[\d/6\] built \w+ \S+", err, re.MULTILINE)) == 6
    # nothing changed: every package reused, no line of its own, the counts then the end
    code, _out, err = _dm_release(tmp_path, "rebuild", "--config", str(config))
    assert code == 0, err
    build = _phase_lines(err, "build")
    assert re.fullmatch(r"build 6/6 packages in \d+\.\ds", build[-1])
    assert _counts(build) == sorted(set(_counts(build)))
    assert "] built " not in err


def test_a_real_push_fan_out_reports_every_repository(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_RELEASE_PROGRESS", "plain")
    text = ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    assert _counts(_phase_lines(text, "fetch"))[-1] == len(PACKAGES)
    for phase in ("tag", "push"):
        lines = _phase_lines(text, phase)
        assert re.fullmatch(rf"{phase} 4/4 repositories in \d+\.\ds", lines[-1])
        assert _counts(lines) == sorted(set(_counts(lines)))  # each count said once, rising
    for name in PACKAGES:
        assert "v29.1.0.rc1" in tags(weekly.remote(name))


def _big_product(root: Path, count: int) -> Path:
    graph = layered_graph(count, 4)
    specs = {name: PackageSpec(deps=deps, history=1) for name, deps in graph.items()}
    product = create_product(root / "upstream", specs, jobs=8)
    config = root / "dm-release.toml"
    config.write_text(
        f'[products.synth_distrib]\nrepos = "{product.repos_yaml}"\n\n'
        f"[build]\ncommand = '{BUILD_COMMAND}'\n\n[git]\njobs = 16\n\n{PATHS}"
    )
    return config


#: the start of each git command a dry run prints: ``<package>: git tag`` or ``git push``
_COMMAND = re.compile(r"^(pkg_\d\d_\d\d\d|synth_distrib): git ", re.MULTILINE)


def test_parallel_dry_run_lines_are_never_spliced_and_every_phase_counts_every_package(
    tmp_path: Path,
) -> None:
    """A weekly's dry run over 81 packages, 16 git jobs: the tag and push commands each
    thread prints are whole (each parses back to exactly its arguments), one of each
    per package; the fetch, tag and push phases each report 81."""
    config = _big_product(tmp_path, 80)
    code, out, err = _dm_release(
        tmp_path, "release", "weekly", "w.2025.24", "--config", str(config), "--no-build",
        "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    starts = [m.start() for m in _COMMAND.finditer(out)]
    assert starts[0] == 0
    commands: dict[str, list[list[str]]] = {}
    for start, end in zip(starts, [*starts[1:], len(out)], strict=True):
        package, _, command = out[start:end].partition(": git ")
        commands.setdefault(package, []).append(shlex.split(command))
    assert len(commands) == 81
    for package, (tag, push) in sorted(commands.items()):
        assert tag[:4] == ["tag", "--annotate", "-m", tag[3]] and len(tag) == 6
        assert tag[3].startswith("synth_distrib w.2025.24\n\nversion: w.2025.24\n")
        assert tag[4] == "w.2025.24" and re.fullmatch("[0-9a-f]{40}", tag[5]), package
        assert push == ["push", "--atomic", "origin", "refs/tags/w.2025.24:refs/tags/w.2025.24"]
    assert out.endswith("\n")
    assert re.search(r"^fetch 81/81 packages in \d+\.\ds$", err, re.MULTILINE)
    assert re.search(r"^tag 81/81 repositories in \d+\.\ds$", err, re.MULTILINE)
    assert re.search(r"^push 81/81 repositories in \d+\.\ds$", err, re.MULTILINE)


def test_dm_release_progress_off_silences_the_phases_and_a_bad_value_is_a_usage_error(
    tmp_path: Path,
) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    args = ("rebuild", "--config", str(config), "--dry-run")
    code, _out, err = _dm_release(tmp_path, *args, env=_environment(DM_RELEASE_PROGRESS="off"))
    assert code == 0, err
    assert _phase_lines(err, "fetch") == []
    assert err.startswith("prepare: 6 packages (6 cloned, 0 fetched)")
    code, _out, err = _dm_release(tmp_path, *args, env=_environment(DM_RELEASE_PROGRESS="fancy"))
    assert code == 2
    assert "DM_RELEASE_PROGRESS='fancy': not one of auto, tty, plain, off" in err
    assert "Traceback" not in err
