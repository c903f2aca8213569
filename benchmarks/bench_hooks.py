"""Per-invocation cost of the pre-commit hooks, run the way pre-commit runs them.

Each hook is one process of its console script with the files as arguments, over 1 file and
over 500 files (copies of real files from tests/data), next to pre-commit-hooks'
``check-yaml`` over the same YAML files (``pip install -e .[bench]``). Scripts are taken
from this interpreter's scripts directory, as pre-commit's hook environment has them (no
pyenv shim in between). Figures are the median wall time of REPEAT rounds. Each round also
times the bare interpreter (``python -c pass``); ``(+N ms)`` is what the hook adds to it, and
``ms/file`` is that divided by the number of files.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
REPEAT = {1: 15, 20: 5, 500: 3}
SHA = "1" * 40
#: timed alongside every hook: the bare interpreter, to show what the hook itself adds
STARTUP = [sys.executable, "-c", "pass"]
#: (hook, extra arguments, real file, file name inside each copy's directory, file counts);
#: a repository has one repos.yaml of 386 entries, so 20 copies show its per-file cost
FILE_HOOKS = (
    (
        "check-conda-env",
        (),
        DATA / "conda/conda3_packages-linux-64.yml",
        "environment.yml",
        (1, 500),
    ),
    (
        "check-table-file",
        ("--package", "afw"),
        DATA / "tables/lsst/afw.table",
        "ups/afw.table",
        (1, 500),
    ),
    ("check-repos-yaml", (), DATA / "repos.yaml", "repos.yaml", (1, 20)),
)


def script(name: str) -> str | None:
    """The console script as pre-commit's environment has it; None if not installed."""
    path = Path(sysconfig.get_path("scripts")) / name
    return str(path) if path.exists() else None


def ours(name: str) -> str:
    path = script(name)
    if path is None:
        raise SystemExit(f"{name} is not installed: pip install -e . first")
    return path


def median_ms(argvs: Sequence[Sequence[str]], repeat: int, stdin: str | None = None) -> list[float]:
    """Median wall time (ms) of each command over ``repeat`` rounds, run in turn each round so
    that load on the machine hits them alike; a run must not fail with a usage error."""
    timings: list[list[float]] = [[] for _ in argvs]
    for _ in range(repeat):
        for argv, times in zip(argvs, timings, strict=True):
            start = time.perf_counter()
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr}")
    return [statistics.median(times) * 1000 for times in timings]


def copies(root: Path, source: Path, name: str, count: int) -> list[str]:
    paths = []
    for index in range(count):
        path = root / f"repo{index:03d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        paths.append(str(path))
    return paths


def file_hook_rows(root: Path) -> list[tuple[str, str]]:
    check_yaml = script("check-yaml")  # pre-commit-hooks, the `bench` extra
    rows = []
    for hook, extra, source, name, counts in FILE_HOOKS:
        for count in counts:
            files = copies(root / f"{hook}-{count}", source, name, count)
            argvs = [STARTUP, [ours(hook), *extra, *files]]
            if check_yaml and name.endswith((".yml", ".yaml")):
                argvs.append([check_yaml, *files])
            startup, mine, *theirs = median_ms(argvs, REPEAT[count])
            figure = f"{mine:8.1f} ms"
            if theirs:
                figure += f"   check-yaml {theirs[0]:8.1f} ms   ratio {mine / theirs[0]:.2f}"
            over = mine - startup
            figure += f"   (+{over:.1f} ms)" if count == 1 else f"   ({over / count:.2f} ms/file)"
            rows.append((f"{hook} x{count} ({source.name})", figure))
    if check_yaml is None:
        rows.append(("check-yaml", "not installed: pip install -e .[bench] to compare"))
    return rows


def run() -> list[tuple[str, str]]:
    (startup,) = median_ms([STARTUP], REPEAT[1])
    rows = [("python -c pass (interpreter start-up)", f"{startup:8.1f} ms")]
    with tempfile.TemporaryDirectory() as tmp:
        rows += file_hook_rows(Path(tmp))
    for count in (1, 500):
        tags = [f"w.{2025 - n // 52}.{n % 52 + 1:02d}" for n in range(count)]
        refs = "".join(f"refs/tags/{tag} {SHA} refs/tags/{tag} {'0' * 40}\n" for tag in tags)
        argvs = [STARTUP, [ours("check-pushed-tags")]]
        startup, ms = median_ms(argvs, REPEAT[count], stdin=refs)
        rows.append(
            (f"check-pushed-tags x{count} refs (stdin)", f"{ms:8.1f} ms   (+{ms - startup:.1f} ms)")
        )
    argvs = [STARTUP, [ours("check-branch-name"), "--branch", "tickets/DM-1"]]
    startup, ms = median_ms(argvs, REPEAT[1])
    rows.append(
        ("check-branch-name --branch tickets/DM-1", f"{ms:8.1f} ms   (+{ms - startup:.1f} ms)")
    )
    return rows


if __name__ == "__main__":
    for what, figures in run():
        print(f"{what:<45} {figures}")
