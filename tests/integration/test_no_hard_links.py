"""Server trees and lock files on a file system without hard links: a file is created by
a rename that never replaces (Linux renameat2 RENAME_NOREPLACE), so a kill never leaves a
half-written file under its real name (which every rerun would refuse as other bytes);
without such a rename the server directory is refused (exit 2).

No file system without hard links (vfat) can be mounted here, so ``os.link`` is made to
fail as it fails there (EPERM; EXDEV on some network file systems); the renames are real,
on the test's own file system."""

from __future__ import annotations

import errno
import io
import os
import shutil
from pathlib import Path

import pytest

from dmrelease.adapters import files, server_tree
from dmrelease.adapters.files import create_exclusively, rename_no_replace
from dmrelease.adapters.server_tree import DestinationError, LocalDestination, publish_tree

WANTED = {
    "config.txt": b"# config\n",
    "products/a-1.eupspkg": b"A" * 5000,
    "tags/w_2025_24.list": b"tag list\n",
}


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
        if p.is_file()
    }  # fmt: skip


def _publish(root: Path, wanted: dict[str, bytes | Path]) -> tuple[str, ...]:
    outcome = publish_tree(
        LocalDestination(root), wanted, replaceable=lambda p: p.endswith(".list"),
        log=io.StringIO(),
    )  # fmt: skip
    return outcome.written


@pytest.fixture(params=[errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP])
def no_links(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """os.link failing as on vfat; the calls made to it."""
    calls: list[str] = []

    def link(source: str, target: str) -> None:
        calls.append(os.fspath(target))
        raise OSError(request.param, os.strerror(request.param))

    monkeypatch.setattr(os, "link", link)
    return calls


def test_a_tree_is_written_by_renames_and_a_rerun_writes_nothing(
    tmp_path: Path, no_links: list[str]
) -> None:
    root = tmp_path / "srv"
    written = _publish(root, dict(WANTED))
    assert sorted(no_links) == sorted(str(root / p) for p in written)  # each one tried
    files = tree(root)
    assert {k: v for k, v in files.items() if not k.endswith("index.json")} == WANTED
    assert sorted(files) == [  # no hidden temporary file left
        "config.txt", "index.json", "products/a-1.eupspkg", "products/index.json",
        "tags/index.json", "tags/w_2025_24.list",
    ]  # fmt: skip
    assert _publish(root, dict(WANTED)) == ()


def test_a_kill_while_a_file_is_written_leaves_nothing_under_its_name(
    tmp_path: Path, no_links: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old fallback copied into the real name: cut there, a short package stayed."""
    staged = tmp_path / "a-1.eupspkg"
    staged.write_bytes(b"A" * 5000)
    real_copy = shutil.copyfileobj

    def killed(source: object, target: io.BufferedWriter, length: int = 0) -> None:
        target.write(b"A" * 100)
        raise KeyboardInterrupt  # as a SIGINT in the middle of the copy

    monkeypatch.setattr(shutil, "copyfileobj", killed)
    root = tmp_path / "srv"
    with pytest.raises(KeyboardInterrupt):
        _publish(root, {"products/a-1.eupspkg": staged})
    assert tree(root) == {}  # neither the package nor a temporary file
    monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    assert _publish(root, {"products/a-1.eupspkg": staged})[0] == "products/a-1.eupspkg"
    assert (root / "products/a-1.eupspkg").read_bytes() == b"A" * 5000


def test_an_existing_file_is_never_replaced(tmp_path: Path, no_links: list[str]) -> None:
    destination = LocalDestination(tmp_path)
    (tmp_path / "products").mkdir()
    (tmp_path / "products/a-1.eupspkg").write_bytes(b"another writer's\n")
    with pytest.raises(FileExistsError):
        destination.create("products/a-1.eupspkg", b"mine\n")
    assert tree(tmp_path) == {"products/a-1.eupspkg": b"another writer's\n"}


def test_without_a_safe_rename_the_directory_is_refused(
    tmp_path: Path, no_links: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_tree, "rename_no_replace", lambda source, target: False)
    root = tmp_path / "srv"
    with pytest.raises(DestinationError) as caught:
        _publish(root, dict(WANTED))
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        f"{root / 'products'}: this file system has neither hard links nor a rename that "
        "never replaces, so a file cannot be created there without the risk of a "
        "half-written one under its name; give a server directory on another file system"
    )
    assert tree(root) == {}


def test_rename_no_replace_itself(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(FileExistsError):
        rename_no_replace(tmp_path / "a", tmp_path / "b")
    assert tree(tmp_path) == {"a": b"a", "b": b"b"}
    assert rename_no_replace(tmp_path / "a", tmp_path / "c") is True
    assert tree(tmp_path) == {"b": b"b", "c": b"a"}
    with pytest.raises(FileNotFoundError):
        rename_no_replace(tmp_path / "a", tmp_path / "d")


def test_a_lock_file_is_created_by_a_rename_too(tmp_path: Path, no_links: list[str]) -> None:
    lock = tmp_path / "locks" / "afw.json"
    assert create_exclusively(lock, "{}\n") is True
    assert create_exclusively(lock, "other\n") is False
    assert tree(tmp_path) == {"locks/afw.json": b"{}\n"}
    assert files.NO_HARD_LINKS == (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV)
