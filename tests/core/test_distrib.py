"""Distribution server texts and the write plan (DESIGN.md §6), exact bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.distrib import (
    BINARY_CONFIG,
    FLOATING,
    SOURCE_CONFIG,
    FileAction,
    PlannedFile,
    ServerConflict,
    ServerRow,
    closure_rows,
    eups_tag_problem,
    floating_tags,
    index_json,
    needs_texts,
    plan_files,
    read_tag_list,
    render_env_file,
    render_pkginfo,
    render_server_manifest,
    render_tag_list,
    tag_list_problems,
    write_order,
    write_phase,
)
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.manifest import make_manifest

SHAS = {
    "sconsUtils": "5d571352bb913114dcb625f7ece0cdfd464f2442",
    "base": "1111111111111111111111111111111111111111",
    "utils": "2222222222222222222222222222222222222222",
    "pex_config": "3333333333333333333333333333333333333333",
    "afw": "4444444444444444444444444444444444444444",
    "other": "5555555555555555555555555555555555555555",
}
GRAPH = DependencyGraph({
    "sconsUtils": (),
    "base": ("sconsUtils",),
    "utils": ("base", "sconsUtils"),
    "pex_config": ("utils",),
    "afw": ("pex_config", "base"),
    "other": ("sconsUtils",),
})  # fmt: skip
MANIFEST = make_manifest("b42", GRAPH, SHAS)
V = {e.name: e.version for e in MANIFEST.entries}


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("w_2025_24", None),
        ("d_2025_06_11", None),
        ("v29_1_0_rc1", None),
        ("w_latest", None),
        (
            "v29.1.0",
            "'v29.1.0': an EUPS tag cannot contain '.' (EUPS ignores such a tag on servers)",
        ),
        ("w-2025-24", "'w-2025-24': an EUPS tag has letters, digits and '_' only"),
        ("w 1", "'w 1': an EUPS tag has letters, digits and '_' only"),
        ("tag/x", "'tag/x': an EUPS tag has letters, digits and '_' only"),
        ("", "an EUPS tag cannot be empty"),
    ],
)
def test_an_eups_tag_is_letters_digits_and_underscores(name: str, problem: str | None) -> None:
    assert eups_tag_problem(name) == problem


@pytest.mark.parametrize(
    ("tag", "floating"),
    [
        ("w_2025_24", ("w_latest",)),
        ("d_2025_06_11", ("d_latest",)),
        ("v29_1_0", ("o_latest",)),
        ("v29_1_0_rc1", ()),
        ("w_latest", ()),
        ("w_2025_2", ()),
        ("d_2025_06", ()),
        ("v29_1", ()),
        ("current", ()),
    ],
)
def test_floating_tags_follow_weeklies_dailies_and_finals_only(
    tag: str, floating: tuple[str, ...]
) -> None:
    assert floating_tags(tag) == floating


def test_the_floating_names() -> None:
    assert FLOATING == {"weekly": "w_latest", "daily": "d_latest", "final": "o_latest"}


def test_a_tag_list_is_sorted_by_name_with_build_and_environment_lines() -> None:
    rows = [("utils", "generic", "g2222222222+abc"), ("afw", "generic", "g44"),
            ("a_very_long_product_name_x", "Linux64", "1.0")]  # fmt: skip
    assert render_tag_list("w_2025_24", rows, build_id="b42", conda_env="10.0.0") == (
        "EUPS distribution w_2025_24 version list. Version 1.0\n"
        "#BUILD=b42\n"
        "#CONDA_ENV=10.0.0\n"
        "#product             flavor     version\n"
        "#--------------------------------------\n"
        "a_very_long_product_name_x Linux64    1.0\n"
        "afw                  generic    g44\n"
        "utils                generic    g2222222222+abc\n"
    )


def test_a_tag_list_without_build_or_environment_is_what_eups_writes() -> None:
    assert render_tag_list("w_latest", [("base", "generic", "g1")]) == (
        "EUPS distribution w_latest version list. Version 1.0\n"
        "#product             flavor     version\n"
        "#--------------------------------------\n"
        "base                 generic    g1\n"
    )


def test_source_rows_are_the_closure_deepest_first_and_the_product_last() -> None:
    rows = closure_rows(MANIFEST, "afw", flavor=None)
    assert [r.product for r in rows] == ["sconsUtils", "base", "utils", "pex_config", "afw"]
    assert rows[-1] == ServerRow(
        "afw", "generic", V["afw"], f"afw-{V['afw']}.table", f"afw/{V['afw']}",
        f"eupspkg:afw-{V['afw']}.eupspkg",
    )  # fmt: skip
    assert closure_rows(MANIFEST, "sconsUtils", flavor=None) == [
        ServerRow("sconsUtils", "generic", "g5d571352bb", "sconsUtils-g5d571352bb.table",
                  "sconsUtils/g5d571352bb", "eupspkg:sconsUtils-g5d571352bb.eupspkg")
    ]  # fmt: skip


def test_binary_rows_name_the_flavor_and_the_tarball() -> None:
    rows = closure_rows(MANIFEST, "base", flavor="Linux64")
    assert rows == [
        ServerRow("sconsUtils", "Linux64", "g5d571352bb", "sconsUtils-g5d571352bb.table",
                  "sconsUtils/g5d571352bb", "sconsUtils-g5d571352bb@Linux64.tar.gz"),
        ServerRow("base", "Linux64", V["base"], f"base-{V['base']}.table",
                  f"base/{V['base']}", f"base-{V['base']}@Linux64.tar.gz"),
    ]  # fmt: skip
    with pytest.raises(KeyError):
        closure_rows(MANIFEST, "nope", flavor=None)


def test_a_server_manifest_has_eups_s_header_and_columns() -> None:
    rows = closure_rows(MANIFEST, "base", flavor=None)
    assert V["base"] == "g1111111111+663e2227e0"
    assert render_server_manifest("base", V["base"], rows) == (
        "EUPS distribution manifest for base (g1111111111+663e2227e0). Version 1.0\n"
        "#\n"
        "# Creator:      dm-release\n"
        "#\n"
        "# pkg           flavor       version    tablefile                 "
        "installation_directory         installID\n"
        "#---------------------------------------------------------------------------------"
        "------------------------\n"
        "sconsUtils      generic      g5d571352bb sconsUtils-g5d571352bb.table "
        "sconsUtils/g5d571352bb         eupspkg:sconsUtils-g5d571352bb.eupspkg\n"
        "base            generic      g1111111111+663e2227e0 base-g1111111111+663e2227e0.table "
        "base/g1111111111+663e2227e0    eupspkg:base-g1111111111+663e2227e0.eupspkg\n"
    )


def test_pkginfo_is_the_shell_lines_eupspkg_create_writes() -> None:
    text = render_pkginfo(
        "base", "g1", source="git", sha1="1" * 40, repository="https://example.org/base.git",
        repoversion="1" * 40,
    )  # fmt: skip
    assert text == (
        "PRODUCT='base'\nVERSION='g1'\nFLAVOR='generic'\nSOURCE='git'\n"
        f"SHA1='{'1' * 40}'\nREPOSITORY='https://example.org/base.git'\n"
        f"REPOVERSION='{'1' * 40}'\n"
    )
    quoted = render_pkginfo("p", "v", source="package", sha1="s", repository="/it's",
                            repoversion="r")  # fmt: skip
    assert "REPOSITORY='/it'\\''s'\n" in quoted
    assert "SOURCE='package'\n" in quoted


def test_config_texts_are_eups_s() -> None:
    assert SOURCE_CONFIG == (
        "# Configuration for a EupsPkg-based server\n"
        "DISTRIB_CLASS = eups.distrib.eupspkg.Distrib\n"
        "EUPSPKG_URL = %(base)s/products/%(path)s\n"
        "LIST_URL = %(base)s/tags/%(tag)s.list\n"
        "TAGLIST_DIR = tags\n"
    )
    assert BINARY_CONFIG == (
        "# Configuration for a tarball-based server\n"
        "MANIFEST_FILE_RE = ^(?P<product>[^-]+)-(?P<version>[^@]+)@(?P<flavor>.*)\\.manifest$\n"
        "MANIFEST_URL = %(base)s/manifests/%(product)s-%(version)s@%(flavor)s.manifest\n"
        "TARBALL_URL = %(base)s/%(path)s\n"
        "DIST_URL = %(base)s/%(path)s\n"
    )


def test_env_file() -> None:
    assert render_env_file("w_2025_24", "10.0.0") == "EUPS_TAG='w_2025_24'\nCONDA_ENV='10.0.0'\n"
    assert render_env_file("w_2025_24", None) == "EUPS_TAG='w_2025_24'\n"


def test_index_json_is_the_sorted_other_names() -> None:
    data = index_json(["tags", "config.txt", "index.json", "products", "tags"])
    assert data == b'["config.txt", "products", "tags"]\n'
    assert json.loads(data) == ["config.txt", "products", "tags"]
    assert index_json([]) == b"[]\n"


def _plan() -> list[PlannedFile]:
    wanted = {
        "tags/w_2025_24.list": "t1", "products/a.eupspkg": "p1", "manifests/a.manifest": "m1",
        "index.json": "i1", "tags/index.json": "i2", "config.txt": "c1",
        "b-1@Linux64.tar.gz": "b1", "tables/a.table": "x1", "w_latest.list": "l1",
    }  # fmt: skip
    existing = {"products/a.eupspkg": "p1", "tags/w_2025_24.list": "old", "index.json": "old"}
    gained = (  # the dated tag list there gains a row: replaceable
        render_tag_list("w_2025_24", [("a", "generic", "1")]),
        render_tag_list("w_2025_24", [("a", "generic", "1"), ("b", "generic", "2")]),
    )
    texts = {"tags/w_2025_24.list": gained}
    return list(plan_files(wanted, existing, lambda p: p.endswith(".list"), texts=texts).files)


def test_the_plan_adds_skips_and_replaces_by_digest() -> None:
    actions = {f.path: f.action for f in _plan()}
    assert actions == {
        "b-1@Linux64.tar.gz": FileAction.ADD, "config.txt": FileAction.ADD,
        "index.json": FileAction.REFUSE, "manifests/a.manifest": FileAction.ADD,
        "products/a.eupspkg": FileAction.SKIP, "tables/a.table": FileAction.ADD,
        "tags/index.json": FileAction.ADD, "tags/w_2025_24.list": FileAction.REPLACE,
        "w_latest.list": FileAction.ADD,
    }  # fmt: skip


def test_other_bytes_are_refused_unless_replaceable() -> None:
    wanted = {"a.manifest": "new", "b.table": "same", "c": "x"}
    plan = plan_files(wanted, {"a.manifest": "old", "b.table": "same", "c": None}, lambda p: False)
    assert plan.conflicts == (PlannedFile("a.manifest", FileAction.REFUSE, "new", "other bytes"),)
    assert plan.counts == {FileAction.ADD: 1, FileAction.SKIP: 1, FileAction.REPLACE: 0,
                           FileAction.REFUSE: 1}  # fmt: skip


def test_write_order_puts_packages_first_indexes_then_tag_lists_last() -> None:
    wanted = {f.path: f.digest for f in _plan()}
    plan = plan_files(wanted, {}, lambda p: True)
    assert [f.path for f in write_order(plan)] == [
        "products/a.eupspkg", "b-1@Linux64.tar.gz",
        "manifests/a.manifest", "tables/a.table", "config.txt",
        "tags/w_2025_24.list", "w_latest.list",
        "tags/index.json", "index.json",  # they name the tag lists: after them
    ]  # fmt: skip


def test_a_conflict_names_every_file() -> None:
    error = ServerConflict("/srv/src", ["tables/b.table", "manifests/a.manifest"])
    assert error.exit_code == 1
    assert str(error) == (
        "/srv/src/manifests/a.manifest: already there with other bytes\n"
        "/srv/src/tables/b.table: already there with other bytes\n"
        "2 server files would be rewritten; a published file is never changed: "
        "nothing was written"
    )
    late = ServerConflict("/srv/src", ["a.table"], written=3)
    assert str(late).endswith(
        "1 server file would be rewritten; a published file is never changed: "
        "stopped after writing 3 new files"
    )


_PATHS = st.sampled_from([
    "config.txt", "index.json", "products/a-1.eupspkg", "products/index.json", "a-1@Linux.tar.gz",
    "manifests/a-1.manifest", "tables/a-1.table", "env/t.env", "tags/t.list", "t.list",
    "tags/w_latest.list",
])  # fmt: skip
_DIGESTS = st.sampled_from(["d1", "d2"])


@given(
    st.dictionaries(_PATHS, _DIGESTS),
    st.dictionaries(_PATHS, st.one_of(st.none(), _DIGESTS)),
)
def test_the_plan_never_rewrites_other_bytes_and_orders_tag_lists_last(
    wanted: dict[str, str], existing: dict[str, str | None]
) -> None:
    def replaceable(path: str) -> bool:
        return path.endswith(".list")

    plan = plan_files(wanted, existing, replaceable)
    assert sorted(f.path for f in plan.files) == sorted(wanted)
    for planned in plan.files:
        there = existing.get(planned.path)
        expected = (
            FileAction.ADD if there is None
            else FileAction.SKIP if there == planned.digest
            # a dated tag list whose texts were not given is never replaced: only floating
            else FileAction.REPLACE if replaceable(planned.path) and not needs_texts(planned.path)
            else FileAction.REFUSE
        )  # fmt: skip
        assert planned.action is expected
    order = write_order(plan)
    assert sorted(f.path for f in order) == sorted(
        f.path for f in plan.files if f.action in (FileAction.ADD, FileAction.REPLACE)
    )
    phases = [write_phase(f.path) for f in order]
    assert phases == sorted(phases)
    assert all(write_phase(f.path) == 3 for f in order if f.path.endswith(".list"))
    assert sum(plan.counts.values()) == len(wanted)


def _listed(tag: str, rows: dict[str, str], build: str = "b1", env: str | None = "10.0.0") -> str:
    return render_tag_list(
        tag, [(p, "generic", v) for p, v in rows.items()], build_id=build, conda_env=env
    )


def _judge(tag: str, there: str, wanted: str) -> PlannedFile:
    path = f"tags/{tag}.list"
    (planned,) = plan_files(
        {path: "new"}, {path: "old"}, lambda p: p.endswith(".list"),
        texts={path: (there, wanted)},
    ).files  # fmt: skip
    return planned


MOVED = " (a dated tag is never moved; only w_latest, d_latest, o_latest are)"


def test_a_floating_tag_list_is_replaced_by_any_other() -> None:
    planned = _judge("w_latest", _listed("w_latest", {"afw": "2"}), _listed("w_latest", {}, "b9"))
    assert (planned.action, planned.reason) == (FileAction.REPLACE, "other bytes, replaceable")


def test_a_dated_tag_list_may_gain_rows_only() -> None:
    there = _listed("w_2025_24", {"afw": "2", "base": "1"})
    gained = _listed("w_2025_24", {"afw": "2", "base": "1", "obs_base": "7"})
    assert _judge("w_2025_24", there, gained).action is FileAction.REPLACE
    assert read_tag_list(gained).rows["obs_base"] == ("generic", "7")
    assert read_tag_list(gained).headers == {"BUILD": "b1", "CONDA_ENV": "10.0.0"}


def test_a_dated_tag_list_with_a_changed_version_is_refused_naming_both() -> None:
    there = _listed("v29_1_0", {"afw": "29.1.0", "base": "29.0.0"})
    older = _listed("v29_1_0", {"afw": "29.0.9", "base": "29.0.0"})
    planned = _judge("v29_1_0", there, older)
    assert planned.action is FileAction.REFUSE
    assert planned.reason == (
        "tag v29_1_0 is published already: afw 29.1.0 there, 29.0.9 in this one" + MOVED
    )


def test_a_dated_tag_list_losing_a_row_or_its_build_is_refused() -> None:
    there = _listed("d_2025_06_11", {"afw": "2", "base": "1"})
    planned = _judge("d_2025_06_11", there, _listed("d_2025_06_11", {"afw": "2"}, "b2"))
    assert planned.action is FileAction.REFUSE
    assert planned.reason == (
        "tag d_2025_06_11 is published already: #BUILD=b1 there, #BUILD=b2 in this one; "
        "base 1 there, no base in this one" + MOVED
    )
    env = _judge("v1_0_0_rc1", _listed("v1_0_0_rc1", {}), _listed("v1_0_0_rc1", {}, env=None))
    assert env.reason == (
        "tag v1_0_0_rc1 is published already: #CONDA_ENV=10.0.0 there, no #CONDA_ENV line "
        "in this one" + MOVED
    )
    assert tag_list_problems("x", _listed("x", {"a": "1"}), _listed("x", {"a": "1"})) == []


def test_a_dated_tag_list_without_its_texts_is_refused() -> None:
    path = "my_tag.list"
    (planned,) = plan_files({path: "new"}, {path: "old"}, lambda p: True).files
    assert planned.action is FileAction.REFUSE
    assert planned.reason == (
        "tag my_tag is published already: its text could not be compared" + MOVED
    )


def test_a_refused_tag_list_is_named_with_its_reason() -> None:
    error = ServerConflict(
        "/srv", ["tags/v29_1_0.list", "a.table"], reasons={"tags/v29_1_0.list": "tag moved"}
    )
    assert str(error) == (
        "/srv/a.table: already there with other bytes\n/srv/tags/v29_1_0.list: tag moved\n"
        "2 server files would be rewritten; a published file is never changed: "
        "nothing was written"
    )


@pytest.mark.parametrize(
    ("tag", "allowed", "refused"),
    [("v29_1_0", ("o_latest",), ()), ("w_2025_24", ("w_latest",), ("w_latest",)),
     ("d_2025_06_11", ("d_latest",), ("d_latest",)), ("v29_1_0_rc1", (), ())],
)  # fmt: skip
def test_o_latest_false_drops_only_a_final_s_o_latest(
    tag: str, allowed: tuple[str, ...], refused: tuple[str, ...]
) -> None:
    assert floating_tags(tag) == floating_tags(tag, o_latest=True) == allowed
    assert floating_tags(tag, o_latest=False) == refused
