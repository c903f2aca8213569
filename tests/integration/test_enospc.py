"""A full disk at any point leaves state a rerun gets past (issue 8): versiondb recording,
prepare's outputs, the release lock and the journal, on real git repositories.

The small disk is a size-limited tmpfs mounted by the test when it runs as root (then git's
own writes hit the limit too); elsewhere the writes dm-release makes into it fail with
ENOSPC at ``os.write`` (fault injection on that directory only; git runs unlimited).
After each failure the space is freed and a rerun must finish: same build id, a manifest
that verifies, no torn file, no lock left behind.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rebuild_helpers import config_for, make_product, run_prepare, write_config
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    journal_json,
    make_setup,
    ok,
    run,
    tags,
)

from dmrelease import cli
from dmrelease.adapters.files import WriteFailed, create_exclusively, write_atomically
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.versiondb import CONTENT_DB, VersionDb, VersionDbConflict
from dmrelease.core.config import Config
from dmrelease.core.journal import parse_journal
from dmrelease.core.manifest import Manifest, content_hash, render_manifest
from dmrelease.demo.synthetic import push_change
from dmrelease.stages.verify import verify_files

PAGE = 4096
SIZE = 512 * 1024  # the tmpfs: room for a versiondb of a few builds
_REAL_WRITE = os.write


class SmallDisk:
    """``root``, where writing fails with ENOSPC once ``fill(room)`` has left room for
    ``room`` more small files: a tmpfs page each, or (injected) ``room`` more writes."""

    def __init__(self, root: Path, *, mounted: bool) -> None:
        self.root = root
        self.mounted = mounted
        self._room: int | None = None  # injected: writes left; None: no limit

    def fill(self, room: int = 0) -> None:
        if not self.mounted:
            self._room = room
            return
        stat = os.statvfs(self.root)
        size = stat.f_bavail * stat.f_frsize - room * PAGE
        if size > 0:
            with open(self.root / ".filler", "wb") as filler:
                os.posix_fallocate(filler.fileno(), 0, size)

    def free(self) -> None:
        self._room = None
        (self.root / ".filler").unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove everything written on the disk (keeps the mount)."""
        self.free()
        for entry in self.root.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    def write(self, descriptor: int, data: bytes) -> int:
        """``os.write`` while the disk is injected: ENOSPC into ``root`` once it is full."""
        if self._room is not None and self._inside(descriptor):
            if self._room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._room -= 1
        return _REAL_WRITE(descriptor, data)

    def _inside(self, descriptor: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{descriptor}").startswith(f"{self.root}/")
        except OSError:
            return False


def _mount(directory: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(directory)],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


@pytest.fixture
def small_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], SmallDisk]]:
    """Make a directory a small disk; unmounted at teardown."""
    disks: list[SmallDisk] = []

    def make(directory: Path) -> SmallDisk:
        directory.mkdir(parents=True, exist_ok=True)
        disk = SmallDisk(directory, mounted=_mount(directory))
        if not disk.mounted:
            monkeypatch.setattr(os, "write", disk.write)
        disks.append(disk)
        return disk

    yield make
    for disk in disks:
        if disk.mounted:
            subprocess.run(["umount", str(disk.root)], check=False)
            if os.path.ismount(disk.root):
                subprocess.run(["umount", "-l", str(disk.root)], check=True)


@pytest.fixture
def injected(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, int | None], list[str]]:
    """``fail(under, at)``: from the ``at``-th write (0-based) into ``under`` on, ENOSPC;
    ``at=None`` only counts. Returns the list of files written (grows as they are)."""

    def fail(under: Path, at: int | None) -> list[str]:
        written: list[str] = []

        def write(descriptor: int, data: bytes) -> int:
            try:
                name = os.readlink(f"/proc/self/fd/{descriptor}")
            except OSError:
                name = ""
            if name.startswith(f"{under}/"):
                written.append(name)
                if at is not None and len(written) > at:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return _REAL_WRITE(descriptor, data)

        monkeypatch.setattr(os, "write", write)
        return written

    return fail


def _temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp") if ".git" not in p.parts)


def _assert_recorded(versiondb: Path, manifest: Manifest, records: int) -> None:
    """The build is in versiondb whole: manifest verifies, committed, tagged."""
    build = manifest.build_id
    file = versiondb / "manifests" / f"{build}.txt"
    assert file.read_text() == render_manifest(manifest)
    report = verify_files([file], versiondb / CONTENT_DB)
    assert report.diagnostics == () and report.packages == len(manifest.entries)
    lines = (versiondb / CONTENT_DB).read_text().splitlines()
    assert len(lines) == records and lines[-1].endswith(f"\t{build}")
    git = Git(versiondb)
    assert git.run("status", "--porcelain", "--untracked-files=all") == ""
    assert git.run("tag", "--list", "b*").split()[-1:] == [str(build)]
    assert _temporaries(versiondb) == []


# -- the one writer ------------------------------------------------------------------


def test_the_writer_on_a_full_disk_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, small_disk: Callable[[Path], SmallDisk]
) -> None:
    disk = small_disk(tmp_path / "small")
    target = disk.root / "status.json"
    write_atomically(target, "old\n")
    disk.fill(0)
    with pytest.raises(WriteFailed) as caught:
        write_atomically(target, "new\n" * 5000)
    with pytest.raises(WriteFailed):
        create_exclusively(disk.root / "lock.json", "{}\n")
    disk.free()
    assert (caught.value.path, caught.value.errno, caught.value.exit_code) == (
        target,
        errno.ENOSPC,
        2,
    )
    assert str(caught.value) == (
        f"{target}: cannot write: No space left on device [ENOSPC]; "
        "nothing was half-written: free some space and rerun"
    )
    assert sorted(p.name for p in disk.root.iterdir()) == ["status.json"]  # no lock, no temp
    assert target.read_text() == "old\n"
    assert create_exclusively(disk.root / "lock.json", "{}\n")
    assert not create_exclusively(disk.root / "lock.json", "other\n")
    assert (disk.root / "lock.json").read_text() == "{}\n"


def test_the_writer_names_a_read_only_file_system(tmp_path: Path) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(read_only)], check=False
        ).returncode
    ):
        pytest.skip("mounting a read-only file system needs root")
    try:
        with pytest.raises(WriteFailed) as caught:
            write_atomically(read_only / "manifest.txt", "x\n")
    finally:
        subprocess.run(["umount", str(read_only)], check=True)
    assert str(caught.value) == (
        f"{read_only / 'manifest.txt'}: cannot write: Read-only file system [EROFS]; "
        "nothing was half-written: the file system is read-only"
    )


def test_the_writer_sets_the_mode_asked_and_otherwise_the_umask_s(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomically(tmp_path / "plain", "x")
        write_atomically(tmp_path / "hook", "#!/bin/sh\n", mode=0o755)
    finally:
        os.umask(previous)
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "hook").stat().st_mode & 0o777 == 0o755
    with pytest.raises(WriteFailed, match=r"No such file or directory \[ENOENT\]"):
        write_atomically(tmp_path / "missing" / "plan.json", "{}", parents=False)


# -- versiondb recording ---------------------------------------------------------------


def test_a_full_disk_at_any_point_of_versiondb_recording_is_recovered_by_a_rerun(
    tmp_path: Path, small_disk: Callable[[Path], SmallDisk]
) -> None:
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    disk = small_disk(config.versiondb)
    run_prepare(config)  # b1, with room to spare
    saved = tmp_path / "versiondb-b1"
    shutil.copytree(config.versiondb, saved, symlinks=True)
    push_change(product, "geom", "a change for b2")
    manifest = run_prepare(config.dry())[0].manifest
    assert manifest.build_id == "b2"
    old_db = (saved / CONTENT_DB).read_text()
    failures: list[str] = []
    for room in range(64):
        disk.clear()
        shutil.copytree(saved, config.versiondb, symlinks=True, dirs_exist_ok=True)
        versiondb = VersionDb.open(config.versiondb, "dm", "dm@example.org", 60)
        disk.fill(room)
        try:
            versiondb.record(manifest)
        except WriteFailed as exc:
            assert "No space left on device [ENOSPC]; nothing was half-written" in str(exc)
            failures.append(f"{exc.path.name}")
        except GitError as exc:  # git's own words vary: "Out of diskspace", "couldn't write"
            failures.append(f"git {exc.args_[0]}")
        else:
            break
        finally:
            disk.free()
        written = config.versiondb / "manifests" / "b2.txt"  # whole or absent, never cut
        assert not written.exists() or written.read_text() == render_manifest(manifest)
        assert (config.versiondb / CONTENT_DB).read_text() in (old_db, old_db + _line(manifest))
        assert _temporaries(config.versiondb) == []
        rerun = VersionDb.open(config.versiondb, "dm", "dm@example.org", 60)
        assert rerun.build_id_for(manifest)[0] == "b2"
        rerun.record(manifest)
        _assert_recorded(config.versiondb, manifest, records=2)
    else:
        pytest.fail("the record never fitted")
    _assert_recorded(config.versiondb, manifest, records=2)
    if not disk.mounted:  # dm-release's writes alone fail, in the order they are made
        assert failures == ["content_sha.db.txt", "b2.txt"]
    else:  # the page the old content db frees makes room for the manifest; then git's
        assert failures[0] == "content_sha.db.txt"
        assert {"git add", "git commit", "git tag"} <= set(failures[1:]), failures


def _line(manifest: Manifest) -> str:
    return f"{content_hash(manifest)}\t{manifest.build_id}\n"


def _b1_then_changed(tmp_path: Path) -> tuple[Config, Path, Manifest]:
    """A product prepared once (b1, versiondb kept aside), then changed: b2 is next."""
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    run_prepare(config)
    saved = tmp_path / "versiondb-b1"
    shutil.copytree(config.versiondb, saved, symlinks=True)
    push_change(product, "geom", "a change for b2")
    manifest = run_prepare(config.dry())[0].manifest
    assert manifest.build_id == "b2"
    return config, saved, manifest


def _restore(config: Config, saved: Path) -> None:
    shutil.rmtree(config.versiondb)
    shutil.copytree(saved, config.versiondb, symlinks=True)
    for name in ("manifest.txt", "build.properties"):
        (config.outputs / name).unlink(missing_ok=True)
    for stale in _temporaries(config.outputs):
        stale.unlink()


def test_an_enospc_at_each_write_of_prepare_is_finished_by_a_rerun(
    tmp_path: Path, injected: Callable[[Path, int | None], list[str]]
) -> None:
    config, saved, manifest = _b1_then_changed(tmp_path)
    written = injected(tmp_path, None)
    run_prepare(config)
    names = [Path(name).name.split(".tmp")[0].rsplit(".", 1)[0][1:] for name in written]
    # the command's work-dir lock first, then prepare's own writes
    assert names == [
        ".dm-release.lock", "content_sha.db.txt", "b2.txt", "manifest.txt", "build.properties"
    ]  # fmt: skip
    for at, name in enumerate(names):
        _restore(config, saved)
        injected(tmp_path, at)
        with pytest.raises(WriteFailed) as caught:
            run_prepare(config)
        assert caught.value.path.name == name
        what = " the work-dir lock" if at == 0 else ""
        assert str(caught.value).endswith(
            f": cannot write{what}: No space left on device [ENOSPC]; nothing was "
            "half-written: free some space and rerun"
        )
        assert _temporaries(tmp_path) == []
        injected(tmp_path, None)  # space freed
        prepared, _log = run_prepare(config)
        assert prepared.manifest == manifest  # the same build id, b2
        _assert_recorded(config.versiondb, manifest, records=2)
        assert (config.outputs / "manifest.txt").read_text() == render_manifest(manifest)
        assert (config.outputs / "build.properties").read_text() == "BUILD=b2\n"


def test_a_full_disk_during_rebuild_prepare_only_is_an_environment_error_then_resumes(
    tmp_path: Path, small_disk: Callable[[Path], SmallDisk]
) -> None:
    product = make_product(tmp_path)
    path = write_config(tmp_path, product)
    disk = small_disk(tmp_path / "versiondb")
    assert _cli("rebuild", "--prepare-only", "--config", str(path))[0] == 0
    push_change(product, "geom", "a change for b2")
    disk.fill(0)
    code, err = _cli("rebuild", "--prepare-only", "--config", str(path))
    disk.free()
    db = tmp_path / "versiondb" / CONTENT_DB
    assert code == 2 and "Traceback" not in err
    assert "versiondb: b2 (new)" in err or " b2" in err  # the plan named the build
    assert err.strip().splitlines()[-1] == (
        f"dm-release: error: {db}: cannot write: No space left on device [ENOSPC]; "
        "nothing was half-written: free some space and rerun"
    )
    assert _cli("rebuild", "--prepare-only", "--config", str(path))[0] == 0
    assert (tmp_path / "work" / "build.properties").read_text() == "BUILD=b2\n"
    code, err = _cli("manifest", "verify", str(tmp_path / "versiondb" / "manifests" / "b2.txt"))
    assert code == 0, err


def _cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(list(args))
    return code, err.getvalue()


#: ``dm-release ARGS`` killed (SIGKILL) halfway through its write number AT into UNDER
KILLED_AT_WRITE = """
import os, signal, sys
from dmrelease import cli
real, count = os.write, [0]
def write(descriptor, data):
    try:
        name = os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        name = ""
    if name.startswith(sys.argv[1] + "/"):
        count[0] += 1
        if count[0] > int(sys.argv[2]):
            real(descriptor, bytes(data)[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
    return real(descriptor, data)
os.write = write
sys.exit(cli.main(sys.argv[3:]))
"""


def test_a_prepare_killed_at_each_write_is_finished_by_a_rerun(tmp_path: Path) -> None:
    config, saved, manifest = _b1_then_changed(tmp_path)
    args = ["rebuild", "--prepare-only", "--config", str(config.config_path)]
    for at in range(4):  # the content db, the manifest, manifest.txt, build.properties
        _restore(config, saved)
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_AT_WRITE, str(tmp_path), str(at), *args],
            capture_output=True, check=False,
        )  # fmt: skip
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(_temporaries(tmp_path)) == 1  # half a temporary file, and nothing torn
        code, err = _cli(*args)
        assert code == 0, err
        _assert_recorded(config.versiondb, manifest, records=2)
        assert (config.outputs / "build.properties").read_text() == "BUILD=b2\n"


#: what a full disk left until issue 8, when the content line was appended, then the
#: manifest written in place: characters of the 44-character line, and the manifest's part
CUT_SHORT = {
    "half-line": (20, None),
    "line-without-newline": (43, None),
    "no-manifest": (44, None),
    "manifest-cut": (44, 1 / 3),
    "manifest-empty": (44, 0.0),
}


def test_a_cut_short_record_left_by_an_older_version_is_mended_by_the_rerun(
    tmp_path: Path,
) -> None:
    config, saved, manifest = _b1_then_changed(tmp_path)
    for case, (line, part) in CUT_SHORT.items():
        _restore(config, saved)
        with (config.versiondb / CONTENT_DB).open("a") as out:
            out.write(_line(manifest)[:line])
        if part is not None:
            text = render_manifest(manifest)
            (config.versiondb / "manifests" / "b2.txt").write_text(text[: int(len(text) * part)])
        prepared, _log = run_prepare(config)
        assert prepared.manifest == manifest, case
        _assert_recorded(config.versiondb, manifest, records=2)


def test_a_manifest_file_that_is_not_the_build_says_what_to_do(tmp_path: Path) -> None:
    config, _saved, manifest = _b1_then_changed(tmp_path)
    with (config.versiondb / CONTENT_DB).open("a") as out:
        out.write(_line(manifest))
    other = config.versiondb / "manifests" / "b2.txt"
    other.write_text((config.versiondb / "manifests" / "b1.txt").read_text())  # not b2's
    with pytest.raises(VersionDbConflict) as caught:
        run_prepare(config)
    assert str(caught.value) == (
        f"{other}: already holds another manifest for b2, not committed: if no other rebuild "
        "is using this versiondb, a run was cut short; remove the file and rerun"
    )
    other.unlink()
    run_prepare(config)
    _assert_recorded(config.versiondb, manifest, records=2)


# -- the release lock and the journal ----------------------------------------------------

RC = ("candidate", "--refs", "w.2025.24", "--no-build")


def _assert_candidate(setup: Setup, rc: str) -> None:
    for name in PACKAGES:
        assert tags(setup.remote(name))[rc] == tags(setup.remote(name))["w.2025.24"]
    journal = journal_json(setup.journal("release_candidate", rc))
    assert set(journal["packages"].values()) == {"pushed"} and not journal["errors"]
    assert not setup.lock().exists()
    assert _temporaries(setup.root / "work" / "state") == []


@pytest.mark.usefixtures(clean_environment.__name__)
def test_a_full_disk_when_taking_the_lock_or_starting_the_journal_is_finished_by_a_rerun(
    tmp_path: Path, small_disk: Callable[[Path], SmallDisk]
) -> None:
    setup = make_setup(tmp_path)
    disk = small_disk(tmp_path / "work" / "state")
    ok(setup, "weekly", "w.2025.24")
    state = tmp_path / "work" / "state"
    journal = "journal/meta/release_candidate-v29.1.0.rc1"
    for room, (path, what) in enumerate(
        [("locks/meta.json", "the release lock"), (f"{journal}.plan.json", ""),
         (f"{journal}.json", "the journal")]
    ):  # fmt: skip
        disk.fill(room)
        code, _out, err = run(setup, RC[0], "v29.1.0.rc1", *RC[1:])
        disk.free()
        assert code == 2 and "Traceback" not in err, err
        assert f"{state / path}: cannot write{' ' + what if what else ''}: No space left" in err
        assert not setup.lock().exists()  # never empty; released: nothing was half-made
        assert _temporaries(state) == []
        assert "v29.1.0.rc1" not in tags(setup.remote("meta"))
    ok(setup, RC[0], "v29.1.0.rc1", *RC[1:])
    _assert_candidate(setup, "v29.1.0.rc1")


@pytest.mark.usefixtures(clean_environment.__name__)
def test_an_enospc_at_each_journal_write_of_a_release_is_finished_by_a_rerun(
    tmp_path: Path, injected: Callable[[Path, int | None], list[str]]
) -> None:
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    state = tmp_path / "work" / "state"
    written = injected(state, None)
    ok(setup, RC[0], "v29.1.0.rc1", *RC[1:])
    count = len(written)
    # a file replaced whole is written as .<name>.<token>.tmp; a journal step appends to it
    names = [
        Path(n).name.rsplit(".", 2)[0] if n.endswith(".tmp") else f".{Path(n).name}"
        for n in written
    ]
    plan, journal = (
        ".release_candidate-v29.1.0.rc1.plan.json",
        ".release_candidate-v29.1.0.rc1.json",
    )
    assert names == [".meta.json", plan] + [journal] * (count - 2)
    for number, at in enumerate(sorted({3, 4, count // 2, count - 1}), 2):  # tagging, the end
        rc = f"v29.1.0.rc{number}"
        injected(state, at)
        code, _out, err = run(setup, RC[0], rc, *RC[1:])
        injected(state, None)
        assert code == 2 and "Traceback" not in err, err
        assert "cannot write the journal: No space left on device [ENOSPC]" in err
        written_journal = setup.journal("release_candidate", rc).read_text()
        steps = set(parse_journal(written_journal).packages.values())
        half_made = steps not in ({"planned"}, {"pushed"})
        assert setup.lock().exists() == half_made  # kept for the rerun only while half-made
        ok(setup, RC[0], rc, *RC[1:])
        _assert_candidate(setup, rc)
