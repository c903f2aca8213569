"""Mutations of real files and the checks every fuzzed call must pass (issue 8).

A mutation starts from the bytes of a real file (tests/data, tests/fuzz/seeds) and applies
a few edits an adversary or a broken editor would make: byte flips, insertions of control
characters, NUL, U+0085, U+2028, form feed, lone CR, invalid UTF-8, 100 KB blank runs, deep
bracket nesting, legacy table forms; truncation and duplication. A fuzzed call passes when

- nothing but the DmReleaseError family (ParseError, CheckFailed, UsageError) escapes,
- every diagnostic is well formed (a path, line >= 1, column None or >= 1, a rule id),
- it finishes within :data:`BOUND` seconds (a bound on runaway regexes, not a benchmark).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from hypothesis import strategies as st

from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError, ParseError

DATA = Path(__file__).resolve().parent.parent / "data"
SEEDS = Path(__file__).resolve().parent / "seeds"
BOUND = float(os.environ.get("DM_RELEASE_FUZZ_BOUND", "2.0"))
RULE = re.compile(r"^[a-z][a-z0-9-]*$")
#: ``FILE:LINE[:COL]: rule: message`` (the hooks print nothing else on exit 1)
DIAGNOSTIC = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<rule>[a-z0-9-]+): ")
#: per target: examples run, the slowest call in seconds, calls run twice (over the bound)
STATS: dict[str, dict[str, float]] = {}

_SPECIAL = [
    b"\x00",
    b"\x07",
    b"\x1b",
    b"\x7f",
    b"\x0c",
    b"\x0b",
    b"\r",
    b"\r\n",
    b"\n",
    b"\t",
    "\u0085".encode(),
    "\u2028".encode(),
    "\u2029".encode(),
    "\ufeff".encode(),
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # an encoded surrogate: not UTF-8
    b"#",
    b"(",
    b")",
    b"{",
    b"}",
    b'"',
    b"'",
    b"\\",
    b":",
    b"- ",
    b"&a ",
    b"*a ",
    b"[[",
    b"=",
    b",",
    b"@",
    b";",
    b"|| ",
    b"!",
]
_LEGACY = [
    b"Flavor = Linux",
    b"Flavor = ANY",
    b"Group:",
    b"Common:",
    b"End:",
    b"File = Table",
    b"File = Other",
    b"Product = afw",
    b"Action = setup",
    b"Action = other",
    b'Qualifiers = ""',
    b"setupRequired(a)",
    b"setupOptional(a)",
    b"if (FLAVOR == Linux64) {",
    b"} else if (flavor == Darwin) {",
    b"} else {",
    b"}",
    b"if (",
    b"setupRequired(",
    b"envPrepend(PATH, ${PRODUCT_DIR}/bin)",
    b"unsetupRequired(a)",
    b"setupRequired(eups -j)",
    b"setupRequired(-f)",
    b"setupRequired(--external x)",
]
_RUN_LENGTHS = [100, 5_000, 100_000]


@st.composite
def _run(draw: st.DrawFn) -> bytes:
    """A long run: blanks, one repeated special character, or deep nesting."""
    length = draw(st.sampled_from(_RUN_LENGTHS))
    unit = draw(st.sampled_from([b" ", b"\t", b"[", b"{", b"(", b"!", b"a", b"0", b"-", b"#"]))
    if unit in (b"[", b"{", b"("):
        close = {b"[": b"]", b"{": b"}", b"(": b")"}[unit]
        depth = min(length, draw(st.sampled_from([50, 70, 1_000, 20_000])))
        return unit * depth + b"x" + close * depth
    return unit * length


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with one to four edits."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data)))
        kind = draw(
            st.sampled_from(["flip", "insert", "line", "run", "widen", "cut", "dup", "bytes"])
        )
        if kind == "flip" and data:
            index = min(where, len(data) - 1)
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[where:where] = draw(st.sampled_from(_SPECIAL))
        elif kind == "line":
            start = data.rfind(b"\n", 0, where) + 1
            line = draw(st.sampled_from(_LEGACY)) + b"\n"
            data[start:start] = line
        elif kind == "run":
            data[where:where] = draw(_run())
        elif kind == "widen":
            _widen(data, where, draw(st.sampled_from(_RUN_LENGTHS)), draw(st.booleans()))
        elif kind == "cut":
            end = where + draw(st.integers(0, 200))
            if draw(st.booleans()):
                del data[where:]  # truncation
            else:
                del data[where:end]
        elif kind == "dup":
            end = where + draw(st.integers(1, 400))
            data[where:where] = data[where:end]
        else:
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _widen(data: bytearray, where: int, length: int, tab: bool) -> None:
    """Make the first blank between two words of the first code line at or after ``where``
    a run of ``length`` blanks (a blank run inside a comment tests less)."""
    start = data.rfind(b"\n", 0, where) + 1
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = bytes(data[start:end])
        blank = line.find(b" ", len(line) - len(line.lstrip()))
        if not line.lstrip().startswith(b"#") and blank > 0:
            data[start + blank : start + blank + 1] = (b"\t" if tab else b" ") * length
            return
        start = end + 1


def mutations(paths: Iterable[Path]) -> st.SearchStrategy[tuple[str, bytes]]:
    """(seed name, mutated bytes) of one of ``paths``."""
    seeds = [(p.name, p.read_bytes()) for p in sorted(paths)]
    return st.sampled_from(seeds).flatmap(
        lambda seed: mutated(seed[1]).map(lambda data: (seed[0], data))
    )


def texts(paths: Iterable[Path]) -> st.SearchStrategy[tuple[str, bytes]]:
    """Mutations, plus the odd wholly random input."""
    return st.one_of(mutations(paths), st.binary(max_size=64).map(lambda b: ("random", b)))


def diagnostics_of(exc: DmReleaseError) -> list[Diagnostic]:
    if isinstance(exc, CheckFailed):
        return list(exc.diagnostics)
    if isinstance(exc, ParseError):
        return list(getattr(exc, "diagnostics", [exc.diagnostic]))
    return []


def assert_well_formed(diagnostics: Iterable[Diagnostic]) -> None:
    for d in diagnostics:
        assert isinstance(d, Diagnostic), d
        assert d.path, d
        assert isinstance(d.line, int) and d.line >= 1, d
        assert d.column is None or (isinstance(d.column, int) and d.column >= 1), d
        assert RULE.match(d.rule), d
        assert "Traceback" not in str(d), d


def _timed(target: str, call: Callable[[], object]) -> object:
    """``call()``, failing when it takes over :data:`BOUND`. A call over the bound is run
    once more and judged by the faster run: a runaway regex is slow every time, a machine
    shared with other jobs only now and then."""
    stats = STATS.setdefault(target, {"examples": 0, "max_seconds": 0.0, "reruns": 0})
    stats["examples"] += 1
    elapsed = float("inf")
    for attempt in range(2):
        start = time.perf_counter()
        try:
            result = call()
        finally:
            elapsed = min(elapsed, time.perf_counter() - start)
        if elapsed <= BOUND:
            break
        stats["reruns"] += attempt == 0
    stats["max_seconds"] = max(stats["max_seconds"], round(elapsed, 4))
    assert elapsed <= BOUND, f"{target}: {elapsed:.2f} s for one input (bound {BOUND} s)"
    return result


def read(target: str, call: Callable[[], object]) -> object:
    """Run a reader; a DmReleaseError is fine when its diagnostics are well formed; any
    returned diagnostics must be well formed too."""
    result: object = None

    def guarded() -> object:
        nonlocal result
        try:
            result = call()
        except DmReleaseError as exc:
            assert_well_formed(diagnostics_of(exc))
            assert "Traceback" not in str(exc)
            return None
        return result

    _timed(target, guarded)
    if isinstance(result, list) and all(isinstance(d, Diagnostic) for d in result):
        assert_well_formed(result)
    return result


def run_hook(
    target: str,
    main: Callable[[Sequence[str]], int],
    argv: Sequence[str],
    stdin: str | None = None,
) -> tuple[int, str]:
    """Call a hook's ``main`` in-process: exit 0, 1 or 2, nothing on stdout, no traceback;
    on exit 1 every stderr line is a diagnostic with a line >= 1; on exit 0 nothing printed."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        for stream in (out, err):  # a rerun (see _timed) starts afresh
            stream.seek(0)
            stream.truncate()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if stdin is None:
                return main(list(argv))
            saved, sys.stdin = sys.stdin, io.StringIO(stdin)
            try:
                return main(list(argv))
            finally:
                sys.stdin = saved

    code = _timed(target, call)
    printed = err.getvalue()
    assert code in (0, 1, 2), (code, printed)
    assert "Traceback" not in printed, printed
    assert out.getvalue() == "", out.getvalue()
    if code == 0:
        assert printed == "", printed
    if code == 1:
        lines = printed.split("\n")
        assert lines[-1] == "", printed
        for line in lines[:-1]:
            match = DIAGNOSTIC.match(line)
            assert match, f"not one diagnostic per line: {line!r}"
            assert int(match["line"]) >= 1 and (match["col"] is None or int(match["col"]) >= 1)
    assert isinstance(code, int)
    return code, printed
