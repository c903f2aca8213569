"""core/distrib.write_order: the index.json of a directory holding tag lists (a binary
server's root, a source server's tags/) and the root's are written after the tag lists, so
a kill between the two never leaves an index naming a tag list that is not there (a
client reading index.json would get a 404); every other index keeps its place before the
tag lists."""

from __future__ import annotations

from dmrelease.core.distrib import FileAction, FilePlan, PlannedFile, write_order, write_phase


def _plan(paths: list[str], action: FileAction = FileAction.ADD) -> FilePlan:
    return FilePlan(tuple(PlannedFile(p, action, "0" * 64, "new") for p in sorted(paths)))


def _order(paths: list[str]) -> list[str]:
    return [f.path for f in write_order(_plan(paths))]


def test_a_binary_servers_root_index_comes_after_its_tag_lists() -> None:
    paths = [
        "a-1@Linux64.tar.gz", "a-1@Linux64.tar.gz.sha256", "config.txt", "env/index.json",
        "env/w_2025_30.env", "index.json", "manifests/a-1@Linux64.manifest",
        "manifests/index.json", "tables/a-1.table", "tables/index.json", "w_2025_30.list",
        "w_latest.list",
    ]  # fmt: skip
    assert _order(paths) == [
        "a-1@Linux64.tar.gz",
        "env/w_2025_30.env", "manifests/a-1@Linux64.manifest", "tables/a-1.table",
        "a-1@Linux64.tar.gz.sha256", "config.txt",
        "env/index.json", "manifests/index.json", "tables/index.json",
        "w_2025_30.list", "w_latest.list",
        "index.json",
    ]  # fmt: skip


def test_a_source_servers_tags_index_then_its_root_index_come_last() -> None:
    paths = [
        "config.txt", "env/index.json", "env/w_2025_30.env", "index.json",
        "manifests/a-1.manifest", "manifests/index.json", "products/a-1.eupspkg",
        "products/index.json", "tags/index.json", "tags/w_2025_30.list", "tags/w_latest.list",
    ]  # fmt: skip
    assert _order(paths) == [
        "products/a-1.eupspkg",
        "env/w_2025_30.env", "manifests/a-1.manifest", "config.txt",
        "env/index.json", "manifests/index.json", "products/index.json",
        "tags/w_2025_30.list", "tags/w_latest.list",
        "tags/index.json", "index.json",
    ]  # fmt: skip


def test_a_tag_list_skipped_still_holds_its_index_back() -> None:
    """A rerun replacing the tags/ index while the tag list is there already: the index
    still goes last (a tag list being replaced may be written in the same run)."""
    files = (
        PlannedFile("index.json", FileAction.REPLACE, "1" * 64, "other bytes, replaceable"),
        PlannedFile("products/a-2.eupspkg", FileAction.ADD, "2" * 64, "new"),
        PlannedFile("products/index.json", FileAction.REPLACE, "3" * 64, "other bytes"),
        PlannedFile("tags/index.json", FileAction.REPLACE, "4" * 64, "other bytes"),
        PlannedFile("tags/w_2025_30.list", FileAction.SKIP, "5" * 64, "same bytes"),
        PlannedFile("tags/w_latest.list", FileAction.REPLACE, "6" * 64, "other bytes"),
    )
    assert [f.path for f in write_order(FilePlan(files))] == [
        "products/a-2.eupspkg", "products/index.json", "tags/w_latest.list",
        "tags/index.json", "index.json",
    ]  # fmt: skip


def test_the_phases() -> None:
    assert [write_phase(p) for p in (
        "a-1@Linux64.tar.gz", "products/a-1.eupspkg", "manifests/a-1.manifest", "config.txt",
        "products/index.json", "env/index.json", "w_2025_30.list", "tags/w_latest.list",
        "tags/index.json", "index.json",
    )] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # fmt: skip


def test_without_tag_lists_the_indexes_keep_their_place() -> None:
    paths = ["config.txt", "index.json", "products/a-1.eupspkg", "products/index.json"]
    assert _order(paths) == [
        "products/a-1.eupspkg",
        "config.txt",
        "products/index.json",
        "index.json",
    ]
