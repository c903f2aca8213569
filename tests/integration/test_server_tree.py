"""Writing a server tree into real directories: add, skip, replace, refuse, resume (issue 12)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from dmrelease.adapters.files import WriteFailed
from dmrelease.adapters.server_tree import (
    DestinationError,
    LocalDestination,
    ServerConflict,
    Source,
    TreeOutcome,
    digest_source,
    open_destination,
    publish_tree,
)
from dmrelease.core.distrib import FileAction


def is_tag_list(path: str) -> bool:
    return path.endswith(".list")


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too) → bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.is_file()
    }  # fmt: skip


WANTED: dict[str, Source] = {
    "config.txt": b"# config\n",
    "products/a-1.eupspkg": b"A" * 1000,
    "products/b-2.eupspkg": b"B" * 10,
    "manifests/a-1.manifest": b"manifest a\n",
    "tables/a-1.table": b"table a\n",
    "tags/w_2025_24.list": b"tag list 1\n",
    "env/w_2025_24.env": b"EUPS_TAG='w_2025_24'\n",
}


def publish(
    root: Path, wanted: Mapping[str, Source], *, dry_run: bool = False
) -> tuple[TreeOutcome, str]:
    log = io.StringIO()
    outcome = publish_tree(
        LocalDestination(root), wanted, replaceable=is_tag_list, dry_run=dry_run, log=log
    )
    return outcome, log.getvalue()


def test_a_first_publish_writes_every_file_and_an_index_per_directory(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    outcome, log = publish(root, WANTED)
    files = tree(root)
    assert {k: v for k, v in files.items() if not k.endswith("index.json")} == WANTED
    assert json.loads(files["index.json"]) == ["config.txt", "env", "manifests", "products",
                                              "tables", "tags"]  # fmt: skip
    assert files["products/index.json"] == b'["a-1.eupspkg", "b-2.eupspkg"]\n'
    assert files["tags/index.json"] == b'["w_2025_24.list"]\n'
    assert files["env/index.json"] == b'["w_2025_24.env"]\n'
    assert len(files) == 7 + 6
    # the indexes naming the tag list after it: a kill between never leaves a dangling name
    assert outcome.written[-3:] == ("tags/w_2025_24.list", "tags/index.json", "index.json")
    assert outcome.written[:2] == ("products/a-1.eupspkg", "products/b-2.eupspkg")
    assert log == f"{root}: 13 to add, 0 to skip, 0 to replace, 0 refused\n{root}: wrote 13 files\n"


def test_a_rerun_skips_everything_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    publish(root, WANTED)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    outcome, log = publish(root, WANTED)
    assert outcome.written == ()
    assert log == f"{root}: 0 to add, 13 to skip, 0 to replace, 0 refused\n{root}: wrote 0 files\n"
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_a_new_version_adds_files_merges_indexes_and_replaces_the_tag_list(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    publish(root, WANTED)
    (root / "products" / "by-hand.eupspkg").write_bytes(b"someone else's")
    second = {
        "config.txt": b"# config\n",
        "products/c-3.eupspkg": b"C",
        "tags/w_2025_24.list": b"tag list 2\n",
        "tags/w_latest.list": b"latest\n",
    }
    outcome, _ = publish(root, second)
    files = tree(root)
    assert files["tags/w_2025_24.list"] == b"tag list 2\n"
    assert files["products/index.json"] == (
        b'["a-1.eupspkg", "b-2.eupspkg", "by-hand.eupspkg", "c-3.eupspkg"]\n'
    )
    assert files["tags/index.json"] == b'["w_2025_24.list", "w_latest.list"]\n'
    assert files["products/a-1.eupspkg"] == b"A" * 1000  # untouched
    counts = outcome.plan.counts
    # added: c-3, w_latest; replaced: the tag list, products/ and tags/ indexes; skipped:
    # config.txt and the root index (its names did not change)
    assert (counts[FileAction.ADD], counts[FileAction.SKIP], counts[FileAction.REPLACE]) == (
        2,
        2,
        3,
    )
    assert outcome.written == (
        "products/c-3.eupspkg", "products/index.json", "tags/w_2025_24.list",
        "tags/w_latest.list", "tags/index.json",
    )  # fmt: skip


def test_a_conflict_anywhere_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    publish(root, WANTED)
    before = tree(root)
    changed = dict(WANTED)
    changed["products/a-1.eupspkg"] = b"other bytes"
    changed["manifests/a-1.manifest"] = b"other manifest\n"
    changed["products/new-1.eupspkg"] = b"new"
    changed["tags/w_2025_24.list"] = b"tag list 2\n"
    with pytest.raises(ServerConflict) as caught:
        publish(root, changed)
    assert caught.value.exit_code == 1
    assert str(caught.value) == (
        f"{root}/manifests/a-1.manifest: already there with other bytes\n"
        f"{root}/products/a-1.eupspkg: already there with other bytes\n"
        "2 server files would be rewritten; a published file is never changed: "
        "nothing was written"
    )
    assert tree(root) == before


def test_a_dry_run_lists_each_file_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    publish(root, {"config.txt": b"# config\n", "tags/t.list": b"1\n"})
    before = tree(root)
    wanted: dict[str, Source] = {"config.txt": b"# config\n", "tags/t.list": b"2\n",
                                 "tables/x.table": b"x\n"}  # fmt: skip
    outcome, log = publish(root, wanted, dry_run=True)
    assert tree(root) == before
    assert outcome.written == ()
    assert log == (
        f"{root}: 2 to add, 2 to skip, 2 to replace, 0 refused (dry run: nothing written)\n"
        "  skip     config.txt\n"
        "  replace  index.json\n"
        "  add      tables/index.json\n"
        "  add      tables/x.table\n"
        "  skip     tags/index.json\n"
        "  replace  tags/t.list\n"
    )


def test_a_dry_run_of_a_conflict_lists_the_refusal_and_fails(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    publish(root, {"config.txt": b"1\n"})
    log = io.StringIO()
    with pytest.raises(ServerConflict):
        publish_tree(LocalDestination(root), {"config.txt": b"2\n"}, replaceable=is_tag_list,
                     dry_run=True, log=log)  # fmt: skip
    assert "  refuse   config.txt\n" in log.getvalue()


class FailingAfter(LocalDestination):
    """A destination killed after ``count`` files (creates and replaces)."""

    def __init__(self, root: Path, count: int) -> None:
        super().__init__(root)
        self.left = count
        self.lock = threading.Lock()

    def _tick(self) -> None:
        with self.lock:
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1

    def create(self, path: str, source: Source, digest: str | None = None) -> None:
        self._tick()
        super().create(path, source, digest)

    def replace(self, path: str, source: Source, digest: str | None = None) -> None:
        self._tick()
        super().replace(path, source, digest)


@pytest.mark.parametrize("killed_after", [0, 1, 3, 7, 12])
def test_a_publish_killed_midway_finishes_on_rerun_writing_no_file_twice(
    tmp_path: Path, killed_after: int
) -> None:
    root = tmp_path / "srv"
    with pytest.raises(KeyboardInterrupt):
        publish_tree(FailingAfter(root, killed_after), WANTED, replaceable=is_tag_list,
                     log=io.StringIO())  # fmt: skip
    first = tree(root)
    assert not any(Path(p).name.startswith(".") for p in first)  # no temporary left
    # the tag list after the 10 others, then the indexes naming it: tags/, the root's
    last = ["tags/w_2025_24.list", "tags/index.json", "index.json"]
    assert [p for p in last if p in first] == last[: max(0, killed_after - 10)]
    assert len(first) == killed_after
    outcome, _ = publish(root, WANTED)
    again = set(outcome.written)
    assert not again & set(first)
    assert len(first) + len(again) == 13
    reference = tmp_path / "ref"
    publish(reference, WANTED)
    assert tree(root) == tree(reference)


def test_a_file_created_meanwhile_with_the_same_bytes_is_fine_with_other_bytes_refused(
    tmp_path: Path,
) -> None:
    class Racing(LocalDestination):
        def __init__(self, root: Path, bytes_: bytes) -> None:
            super().__init__(root)
            self.bytes_ = bytes_

        def create(self, path: str, source: Source, digest: str | None = None) -> None:
            if path == "tables/a.table":
                (self.root / "tables").mkdir(parents=True, exist_ok=True)
                (self.root / path).write_bytes(self.bytes_)
            super().create(path, source, digest)

    wanted: dict[str, Source] = {"tables/a.table": b"t\n", "tables/b.table": b"b\n",
                                 "tags/t.list": b"1\n"}  # fmt: skip
    same = tmp_path / "same"
    outcome = publish_tree(Racing(same, b"t\n"), wanted, replaceable=is_tag_list,
                           log=io.StringIO())  # fmt: skip
    assert outcome.written == ("tables/b.table", "tables/index.json", "tags/t.list",
                               "tags/index.json", "index.json")  # fmt: skip
    assert tree(same)["tables/a.table"] == b"t\n"
    other = tmp_path / "other"
    with pytest.raises(ServerConflict) as caught:
        publish_tree(Racing(other, b"theirs\n"), wanted, replaceable=is_tag_list,
                     log=io.StringIO())  # fmt: skip
    assert tree(other) == {"tables/a.table": b"theirs\n", "tables/b.table": b"b\n"}
    assert str(caught.value) == (
        f"{other}/tables/a.table: already there with other bytes\n"
        "1 server file would be rewritten; a published file is never changed: "
        "stopped after writing 1 new file"
    )


def test_create_never_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    dest = LocalDestination(tmp_path)
    dest.create("a/b.txt", b"one")
    with pytest.raises(FileExistsError):
        dest.create("a/b.txt", b"two")
    assert tree(tmp_path) == {"a/b.txt": b"one"}
    dest.replace("a/b.txt", b"two")
    assert tree(tmp_path) == {"a/b.txt": b"two"}
    assert dest.digest("a/b.txt") == digest_source(b"two")
    assert dest.digest("a/none") is None
    assert dest.digest("a") == "directory"
    assert dest.names("a") == ["b.txt"]
    assert dest.names("missing") == []


def test_a_staged_file_is_streamed(tmp_path: Path) -> None:
    staged = tmp_path / "big.tar.gz"
    with staged.open("wb") as out:
        for i in range(40):
            out.write(bytes([i]) * (1 << 20))
    root = tmp_path / "srv"
    outcome, _ = publish(root, {"p-1@Linux64.tar.gz": staged})
    assert (root / "p-1@Linux64.tar.gz").read_bytes() == staged.read_bytes()
    assert outcome.plan.files[1].digest == digest_source(staged.read_bytes())
    outcome, _ = publish(root, {"p-1@Linux64.tar.gz": staged})
    assert outcome.written == ()


def test_a_directory_where_a_file_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "srv" / "config.txt").mkdir(parents=True)
    with pytest.raises(ServerConflict, match=r"config\.txt: already there with other bytes"):
        publish(tmp_path / "srv", {"config.txt": b"x"})


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A directory nothing can be written to: a read-only tmpfs as root, else mode 0555."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                              capture_output=True, check=False)  # fmt: skip
        if done.returncode != 0:
            pytest.skip("mounting a read-only file system failed (needs root and mount)")
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


def test_an_unwritable_destination_is_an_environment_error_naming_it(read_only: Path) -> None:
    with pytest.raises(DestinationError) as caught:
        publish(read_only / "srv", WANTED)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert message.startswith(
        f"{read_only / 'srv'}: cannot write there (cannot create it in {read_only}: "
    )
    assert message.endswith("check the permissions or give another server directory")
    assert list(read_only.iterdir()) == []
    _, log = publish(read_only / "srv", WANTED, dry_run=True)  # a dry run needs no write access
    assert log.startswith(f"{read_only / 'srv'}: 13 to add, 0 to skip")


def test_a_write_failing_inside_the_tree_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    (root / "products").mkdir(parents=True)
    (root / "products" / "index.json").mkdir()  # the index cannot be replaced
    with pytest.raises(WriteFailed) as caught:
        publish(root, {"products/a.eupspkg": b"a"})
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"{root}/products/index.json: cannot write: ")


def test_open_destination(tmp_path: Path) -> None:
    assert isinstance(open_destination(str(tmp_path), {}), LocalDestination)
    local = open_destination(f"file://{tmp_path}", {})
    assert local.where == str(tmp_path)
    with pytest.raises(DestinationError, match=r"^https:// destinations cannot be written: "):
        open_destination("https://example.org/x", {})
    with pytest.raises(DestinationError, match="no server destination given"):
        open_destination("", {})


def test_paths_must_be_relative(tmp_path: Path) -> None:
    for bad in ("/etc/passwd", "../x", "a//b", "a/./b", "index.json", "tags/index.json"):
        with pytest.raises(ValueError):
            publish(tmp_path, {bad: b"x"})


class Counting(LocalDestination):
    """Records what the plan asks of the destination."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.listed: list[str] = []
        self.digested: list[str] = []

    def names(self, directory: str) -> list[str]:
        self.listed.append(directory)
        return super().names(directory)

    def digest(self, path: str) -> str | None:
        self.digested.append(path)
        return super().digest(path)


def test_the_plan_lists_each_directory_once_and_reads_only_files_that_are_there(
    tmp_path: Path,
) -> None:
    root = tmp_path / "srv"
    wanted: dict[str, Source] = {f"products/p{i:03d}-1.eupspkg": b"%d" % i for i in range(300)}
    wanted.update({f"tables/p{i:03d}-1.table": b"t" for i in range(300)})
    first = Counting(root)
    publish_tree(first, wanted, replaceable=is_tag_list, log=io.StringIO())
    assert first.listed == ["", "products", "tables"]
    assert first.digested == []  # nothing was there: no file read, no stat per file
    wanted["products/p300-1.eupspkg"] = b"new"
    again = Counting(root)
    outcome = publish_tree(again, wanted, replaceable=is_tag_list, log=io.StringIO())
    assert again.listed == ["", "products", "tables"]
    assert len(again.digested) == 600 + 3  # the files there and the three indexes
    assert outcome.written == ("products/p300-1.eupspkg", "products/index.json")


def test_hidden_files_such_as_a_killed_writer_s_temporaries_are_not_indexed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "srv"
    (root / "tags").mkdir(parents=True)
    (root / "tags" / ".w_1.list.0a1b2c3d.tmp").write_bytes(b"half")
    (root / "tags" / "index.json").write_bytes(b'["gone.list"]\n')  # stale: rewritten
    outcome, _ = publish(root, {"tags/w_1.list": b"1\n"})
    assert (root / "tags" / "index.json").read_bytes() == b'["w_1.list"]\n'
    assert (root / "index.json").read_bytes() == b'["tags"]\n'
    assert outcome.written == ("tags/w_1.list", "tags/index.json", "index.json")


def test_a_destination_that_is_a_file_is_an_environment_error(tmp_path: Path) -> None:
    (tmp_path / "srv").write_bytes(b"not a directory")
    with pytest.raises(DestinationError) as caught:
        publish(tmp_path / "srv", {"config.txt": b"x"})
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"{tmp_path / 'srv'}: not a directory; give a server directory"


def test_object_storage_urls_go_to_the_object_store_adapter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dmrelease.adapters import object_store

    asked: list[tuple[str, dict[str, str]]] = []
    local = LocalDestination(tmp_path)

    def opened(where: str, environ: dict[str, str]) -> LocalDestination:
        asked.append((where, environ))
        return local

    monkeypatch.setattr(object_store, "open_destination", opened)
    assert open_destination("s3://bucket/src", {"A": "1"}) is local
    assert open_destination("gs://bucket/bin", {}) is local
    assert asked == [("s3://bucket/src", {"A": "1"}), ("gs://bucket/bin", {})]


def test_a_killed_writers_old_temporaries_are_swept_young_ones_and_others_kept(
    tmp_path: Path,
) -> None:
    root = tmp_path / "srv"
    (root / "products").mkdir(parents=True)
    old = root / "products" / ".a-1.eupspkg.0123abcd.tmp"  # a kill mid-file, long ago
    probe = root / ".dm-release-probe.89abcdef.tmp"
    young = root / "products" / ".b-2.eupspkg.fedcba98.tmp"  # a concurrent writer's, maybe
    theirs = root / "products" / ".a-1.eupspkg.partial"  # not this tool's naming
    for path in (old, probe, young, theirs):
        path.write_bytes(b"half")
    hour_ago = os.stat(young).st_mtime - 3600
    for path in (old, probe, theirs):
        os.utime(path, (hour_ago, hour_ago))
    outcome, log = publish(root, WANTED)
    assert outcome.count(FileAction.ADD) == len(WANTED) + 6  # the files and 6 indexes
    assert not old.exists() and not probe.exists()
    assert young.read_bytes() == b"half" and theirs.read_bytes() == b"half"
    removed = "removed 2 temporary files older than 10 minutes (left by a writer stopped midway)"
    assert f"{root}: {removed}\n" in log
    # a dry run removes nothing
    os.utime(young, (hour_ago, hour_ago))
    _, log = publish(root, WANTED, dry_run=True)
    assert young.exists() and "removed" not in log
    _, log = publish(root, WANTED)
    assert not young.exists() and theirs.exists()
    assert f"{root}: removed 1 temporary file older than 10 minutes" in log
