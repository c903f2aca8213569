"""core/libraries: the tag list read, checked against the library's build, the overlap
rule and the product's graph with the library packages."""

from __future__ import annotations

import pytest

from dmrelease.core.distrib import render_tag_list
from dmrelease.core.errors import CheckFailed, Diagnostic, ParseError
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.libraries import (
    Library,
    TagList,
    library_packages,
    library_problems,
    overlap_problems,
    parse_tag_list,
    resolve_library,
    version_problems,
    with_libraries,
)
from dmrelease.core.manifest import Manifest, make_manifest

WHERE = "http://127.0.0.1:9/v1_2_0.list"
SHAS = {"base": "1" * 40, "utils": "2" * 40, "shared": "3" * 40}
BUILD = make_manifest(
    "b7", DependencyGraph({"base": (), "utils": ("base",), "shared": ("utils",)}), SHAS
)
V = {e.name: e.version for e in BUILD.entries}


def _tag_list(rows: dict[str, str], build: str | None = "b7") -> str:
    return render_tag_list("v1_2_0", [(n, "Linux64", v) for n, v in rows.items()], build_id=build)


def test_a_tag_list_as_the_servers_write_it_is_read_back() -> None:
    text = _tag_list(V)
    read = parse_tag_list(text, "v1_2_0", WHERE)
    assert read == TagList("v1_2_0", "b7", V)
    assert read.build_line == 2
    assert dict(read.lines) == {"base": 5, "shared": 6, "utils": 7}  # sorted by name


def test_a_tag_list_without_build_line_reads_with_none() -> None:
    assert parse_tag_list(_tag_list(V, None), "v1_2_0", WHERE).build_id is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "not an EUPS tag list: expected 'EUPS distribution v1_2_0 version list. "
         "Version 1.0'"),
        ("<html>404</html>\n", 1, "not an EUPS tag list: expected 'EUPS distribution v1_2_0 "
         "version list. Version 1.0'"),
        ("EUPS distribution w_latest version list. Version 1.0\n", 1,
         "the list of tag w_latest, not of v1_2_0"),
        ("EUPS distribution v1_2_0 version list. Version 1.0\n#BUILD=b1\n#BUILD=b2\n", 3,
         "second #BUILD= line (first on line 2)"),
        ("EUPS distribution v1_2_0 version list. Version 1.0\n#BUILD=7\n", 2,
         "#BUILD=7: not a build id bNNNN"),
        ("EUPS distribution v1_2_0 version list. Version 1.0\nbase Linux64\n", 2,
         "expected 'product flavor version', found 2 fields"),
        ("EUPS distribution v1_2_0 version list. Version 1.0\nbase L g1\nbase L g2\n", 3,
         "base listed twice (first on line 2)"),
    ],
)  # fmt: skip
def test_a_bad_tag_list_is_a_diagnostic_at_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_tag_list(text, "v1_2_0", WHERE)
    assert caught.value.diagnostic == Diagnostic(WHERE, line, "library-tag-list", message)


def test_a_library_resolves_to_its_builds_entries() -> None:
    library = resolve_library("shared", parse_tag_list(_tag_list(V), "v1_2_0", WHERE), BUILD, WHERE)
    assert library == Library("shared", "v1_2_0", "b7", WHERE, BUILD.entries)
    assert library.shown == "library shared (v1_2_0, build b7)"
    assert list(library.packages) == ["base", "utils", "shared"]


def test_versions_of_the_tag_list_and_the_build_must_be_the_same() -> None:
    rows = {**V, "utils": "g9999999999", "extra": "g1"}
    del rows["base"]
    problems = library_problems("shared", parse_tag_list(_tag_list(rows), "v1_2_0", WHERE),
                                BUILD, WHERE)  # fmt: skip
    in_build = "build b7 (versiondb manifests/b7.txt)"
    assert [(p.line, p.message) for p in problems] == [
        (1, f"library shared: base {V['base']} of {in_build} is not in the tag list"),
        (7, f"library shared: utils: version g9999999999 here, {V['utils']} in {in_build}"),
        (5, f"library shared: extra is not in {in_build}"),
    ]
    assert {p.rule for p in problems} == {"library-version"}


def test_the_library_must_be_in_its_tag_list_and_its_build() -> None:
    other = make_manifest("b7", DependencyGraph({"base": ()}), SHAS)
    tag_list = parse_tag_list(_tag_list({"base": V["base"]}), "v1_2_0", WHERE)
    assert [p.message for p in library_problems("shared", tag_list, other, WHERE)] == [
        "library shared: the tag list of v1_2_0 does not list shared",
        "library shared: build b7 (versiondb manifests/b7.txt) has no package shared",
    ]


def test_a_tag_list_without_its_build_cannot_resolve() -> None:
    tag_list = parse_tag_list(_tag_list(V, None), "v1_2_0", WHERE)
    with pytest.raises(CheckFailed) as caught:
        resolve_library("shared", tag_list, BUILD, WHERE)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{WHERE}:1: library-tag-list: library shared: the tag list of v1_2_0 has no "
        "#BUILD=bNNNN line, so its packages' commits are unknown (publish the library's "
        "binaries with its build id (dm-release tarball))"
    ]


def _library(name: str = "shared", manifest: Manifest = BUILD) -> Library:
    return Library(name, "v1_2_0", manifest.build_id or "", WHERE, manifest.entries)


def test_a_library_package_in_the_products_repos_yaml_is_refused_naming_both() -> None:
    problems = overlap_problems("app", [_library()], {"app": 1, "utils": 4, "geom": 2}, "r.yaml")
    assert [str(p) for p in problems] == [
        "r.yaml:4: library-overlap: utils is a package of library shared (v1_2_0, build b7) "
        "and of product app (its repos.yaml): a package in two products (a package lives in "
        "one product: remove it from repos.yaml, or from the library)"
    ]
    assert overlap_problems("app", [_library()], {"app": 1, "geom": 2}, "r.yaml") == []


def test_the_product_cannot_be_a_library_package() -> None:
    problems = overlap_problems("utils", [_library()], {"utils": 1}, "r.yaml")
    assert [p.message for p in problems] == [
        "product utils is itself a package of library shared (v1_2_0, build b7)"
    ]


def test_two_libraries_share_a_package_only_at_one_commit() -> None:
    same = _library("other", make_manifest("b8", DependencyGraph({"base": ()}), SHAS))
    assert overlap_problems("app", [_library(), same], {}, "r.yaml") == []
    moved = make_manifest("b9", DependencyGraph({"base": ()}), {"base": "9" * 40})
    problems = overlap_problems("app", [_library(), _library("other", moved)], {}, "r.yaml")
    assert [p.message for p in problems] == [
        f"base is in two libraries at different commits: g9999999999 in library other "
        f"(v1_2_0, build b9), {V['base']} in library shared (v1_2_0, build b7)"
    ]


def test_the_products_graph_gets_the_library_packages_it_reaches_only() -> None:
    deps = {"app": ("geom",), "geom": ("utils", "python")}
    shas = {"app": "a" * 40, "geom": "b" * 40}
    graph, merged = with_libraries(deps, shas, [_library()])
    assert graph == {"app": ("geom",), "geom": ("utils", "python"), "utils": ("base",),
                     "base": ()}  # fmt: skip
    assert merged == {**shas, "utils": SHAS["utils"], "base": SHAS["base"]}
    manifest = make_manifest("b0", DependencyGraph(graph), merged)
    assert [e.name for e in manifest.entries] == ["base", "utils", "geom", "app"]
    assert manifest.packages["utils"] == BUILD.packages["utils"]  # the library's own line
    assert version_problems(manifest, [_library()]) == []
    assert {n: lib.name for n, lib in library_packages(manifest, [_library()]).items()} == {
        "base": "shared", "utils": "shared",
    }  # fmt: skip


def test_a_library_version_the_commits_do_not_give_is_refused() -> None:
    # an old-scheme build: its versions are not made of the SHAs
    old = Manifest("b3", tuple(e.__class__(e.name, e.sha, "1.0", e.deps) for e in BUILD.entries))
    graph, shas = with_libraries({"app": ("base",)}, {"app": "a" * 40}, [_library(manifest=old)])
    manifest = make_manifest("b0", DependencyGraph(graph), shas)
    problems = version_problems(manifest, [_library(manifest=old)])
    assert [str(p) for p in problems] == [
        f"{WHERE}:1: library-version: base: its commits give version {V['base']}, library "
        "shared (v1_2_0, build b3) has 1.0 (rebuild and release the library with this "
        "dm-release)"
    ]
