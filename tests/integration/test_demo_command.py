"""``dm-release demo`` as a process: its temporary directory is removed at the end unless
--keep or --dir is given, also when Ctrl-C interrupts it (a real SIGINT), kept (and named)
when the demo fails; the options it refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def _demo(tmp: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """``dm-release demo ARGS`` with its temporary files under ``tmp`` (TMPDIR)."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", "demo", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_without_dir_the_demo_leaves_nothing_behind(tmp_path: Path) -> None:
    done = _demo(tmp_path)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []  # its directory, the backports' and validate's
    last = done.stdout.splitlines()[-1]
    assert last.startswith(f"removed the demo's directory {tmp_path.resolve()}/dm-release-demo-")
    assert last.endswith(" (give --keep to keep it)")
    assert "(removed at the end (give --keep to keep it))" in done.stdout.splitlines()[1]
    assert done.stderr == ""  # the commands' own output is not shown without --verbose


def test_keep_keeps_the_directory_and_says_where_even_when_quiet(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--keep", "--quiet")
    assert done.returncode == 0, done.stderr
    (root,) = tmp_path.iterdir()
    lines = done.stdout.splitlines()
    assert lines[0] == "== Summary"
    assert lines[-2:] == ["", f"the demo's directory is kept: {root.resolve()}"]
    assert len(lines) == 1 + 25 + 2  # heading, header and 24 rows, the kept line
    names = sorted(p.name for p in root.iterdir())
    assert names == [
        "apps-repos.yaml", "apps-stack", "apps.toml", "clones", "demo.log", "dm-release.toml",
        "fresh-stack", "library-repos.yaml", "library-stack", "library.toml", "remotes",
        "repos.yaml", "servers", "stack", "versiondb", "work",
    ]  # fmt: skip


def test_a_failed_demo_keeps_its_directory_and_names_it(tmp_path: Path) -> None:
    """Without git on PATH the first git command fails (an environment error: exit 2);
    the directory is kept for a look."""
    done = _demo(tmp_path, path=str(tmp_path / "no-bin"))
    assert done.returncode == 2
    (root,) = tmp_path.iterdir()
    assert (root / "demo.log").is_file()
    expected = f"dm-release demo: failed; its directory is kept: {root.resolve()}; what the "
    assert expected + f"commands printed: {root.resolve()}/demo.log" in done.stderr.splitlines()
    assert "cannot run git" in done.stderr
    assert "Traceback" not in done.stderr


def _default_sigint() -> None:
    """Ctrl-C interrupts the child even where the tests run with SIGINT ignored (a
    background job of a non-interactive shell), which Python would otherwise keep."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_at_the_first_section(tmp: Path, *args: str) -> tuple[int, str, str]:
    """``dm-release demo ARGS`` sent SIGINT once its first numbered section's heading is on
    stdout, as Ctrl-C sends it: to the whole process group, its git processes included.
    Exit code, stdout, stderr."""
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}  # lines as printed
    process = subprocess.Popen(
        [sys.executable, "-m", "dmrelease", "demo", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # a group of its own, as a shell's foreground job
        preexec_fn=_default_sigint,
    )  # fmt: skip
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # read as it comes: the signal is sent on the heading
        seen.append(line)
        if line.startswith("== 1. "):
            os.killpg(process.pid, signal.SIGINT)
            break
    out, err = process.communicate()
    return process.wait(), "".join(seen) + out, err


def test_an_interrupted_demo_removes_its_temporary_directory_and_says_so(tmp_path: Path) -> None:
    code, out, err = _interrupt_at_the_first_section(tmp_path)
    assert code == 130, err
    assert "\n== 1. " in out and "== Summary" not in out
    root = out.splitlines()[1].removeprefix("  directory: ").partition(" (")[0]
    assert root.startswith(f"{tmp_path.resolve()}/dm-release-demo-")
    assert err.splitlines() == [
        f"dm-release demo: interrupted; removed its directory {root} (give --keep to keep it)",
        "dm-release: interrupted",
    ]
    assert list(tmp_path.iterdir()) == []  # its directory, the backports' and validate's


def test_an_interrupted_demo_keeps_a_directory_it_was_told_to_keep(tmp_path: Path) -> None:
    code, _out, err = _interrupt_at_the_first_section(tmp_path, "--keep")
    assert code == 130, err
    (root,) = tmp_path.iterdir()
    assert err.splitlines() == [
        f"dm-release demo: interrupted; its directory is kept: {root.resolve()}",
        "dm-release: interrupted",
    ]
    assert (root / "demo.log").is_file()  # what the commands printed till then, for a look


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--quiet", "--verbose"), "argument --verbose/-v: not allowed with argument --quiet/-q"),
        (("--dir", "{full}"), "demo directory is not empty; give a new --dir"),
    ],
)
def test_refused_options(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "file").write_text("x\n")
    done = _demo(tmp_path, *(a.format(full=full) for a in args))
    assert done.returncode == 2
    assert message in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]  # nothing made


def test_json_gives_the_summary_and_the_final_manifest_and_nothing_else_on_stdout(
    tmp_path: Path,
) -> None:
    """--json: stdout is one document whose steps are the summary table's rows (the tour
    goes to stderr), and whose manifest is the last build's versiondb manifest."""
    import json

    from dmrelease.core.manifest import parse_manifest
    from dmrelease.demo.rebuild import PACKAGES
    from dmrelease.demo.tour import Row, render_rows

    done = _demo(tmp_path, "--json", "--quiet", "--keep")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    (root,) = tmp_path.iterdir()
    assert (document["verb"], document["ok"], document["diagnostics"]) == ("demo", True, [])
    assert document["directory"] == str(root.resolve())
    assert len(document["steps"]) == 24
    steps = document["steps"]
    assert None in [s["tag"] for s in steps] and None in [s["build"] for s in steps]
    assert "-" not in [v for s in steps for v in s.values()]
    text = ("tag", "build", "repositories")  # "-" in the table, null in the document
    rows = [Row(**{k: "-" if k in text and v is None else v for k, v in s.items()}) for s in steps]
    table = render_rows(rows)
    assert done.stderr.splitlines()[:26] == ["== Summary", *table]
    manifest = document["manifest"]
    path = root / "versiondb" / "manifests" / f"{manifest['build']}.txt"
    recorded = parse_manifest(path.read_text())
    assert manifest["packages"] == [
        {"name": e.name, "sha": e.sha, "version": e.version, "dependencies": list(e.deps)}
        for e in recorded.entries
    ]
    assert sorted(p["name"] for p in manifest["packages"]) == sorted(PACKAGES)
    assert document["steps"][-6]["step"] == "image"  # skipped: no EUPS source given
    assert document["steps"][-6]["repositories"].startswith("skipped: no ")
    assert document["steps"][-5] == {
        "step": "fresh stack", "tag": "29.1.1", "build": "b4", "built": 0,
        "reused": 0, "fetched": 14, "repositories": None,
    }  # fmt: skip
    # then the change control's end: the last candidate validated, the status page, notes
    assert [(s["step"], s["tag"], s["repositories"]) for s in steps[-4:]] == [
        ("validate --install", "v29.1.1.rc1", "passed"),
        ("status page", "29.1.1", "work/status/29.1.1.html"),
        ("notes 29.1.0", "29.1.0", "2 tickets"),
        ("notes 29.1.1", "29.1.1", "1 ticket"),
    ]
