"""versiondb manifests: parse, write back, versions, content hash, verify (DESIGN.md §5)."""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.errors import DmReleaseError, ParseError
from dmrelease.core.graph import CycleError, DependencyGraph
from dmrelease.core.manifest import (
    HEADER,
    ContentDb,
    Manifest,
    ManifestEntry,
    content_hash,
    eups_version_for,
    expected_versions,
    layout_problems,
    make_manifest,
    parse_manifest,
    render_manifest,
)
from dmrelease.core.manifest_verify import verify_manifest

VERSIONDB = Path(__file__).parents[1] / "data" / "versiondb"
ALL = sorted(VERSIONDB.glob("manifests/b*.txt"), key=lambda p: int(p.stem[1:]))
CURRENT = [p for p in ALL if int(p.stem[1:]) >= 5927]
OLD = [p for p in ALL if int(p.stem[1:]) < 5927]
DB = ContentDb.parse((VERSIONDB / "content_sha.db.txt").read_text())
SCONS_SHA = "5d571352bb913114dcb625f7ece0cdfd464f2442"


def read(stem: str) -> tuple[str, Manifest]:
    text = (VERSIONDB / "manifests" / f"{stem}.txt").read_text()
    return text, parse_manifest(text, f"{stem}.txt")


def test_the_data_has_51_manifests_43_of_the_current_scheme() -> None:
    assert (len(ALL), len(CURRENT), len(OLD)) == (51, 43, 8)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_manifest_parses_and_writes_back_byte_for_byte(path: Path) -> None:
    text = path.read_text()
    manifest = parse_manifest(text, path.name)
    assert manifest.build_id == path.stem
    assert len(manifest.entries) == len(text.splitlines()) - 2
    assert render_manifest(manifest) == text  # old schemes too: same writer layout
    assert layout_problems(text, manifest, path.name) == []
    assert manifest.is_current_scheme == (path in CURRENT)


def test_the_header_is_the_98_character_versiondb_header() -> None:
    text, _ = read("b8466")
    assert text.splitlines()[0] == HEADER
    assert len(HEADER) == 98


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: p.stem)
def test_versions_and_order_are_recomputed_from_shas_and_deps(path: Path) -> None:
    text = path.read_text()
    manifest = parse_manifest(text)
    assert expected_versions(manifest, manifest.graph()) == {
        e.name: e.version for e in manifest.entries
    }
    remade = make_manifest(path.stem, manifest.graph(), manifest.shas)
    assert render_manifest(remade) == text


def test_design_example_base_on_scons_utils() -> None:
    base_sha = read("b8466")[1].packages["base"].sha
    graph = DependencyGraph({"base": ["sconsUtils"], "sconsUtils": []})
    manifest = make_manifest("b1", graph, {"base": base_sha, "sconsUtils": SCONS_SHA})
    assert [(e.name, e.version, e.deps) for e in manifest.entries] == [
        ("sconsUtils", "g5d571352bb", ()),
        ("base", "g53246c7159+663e2227e0", ("sconsUtils",)),
    ]
    assert eups_version_for(base_sha, {"sconsUtils": SCONS_SHA}) == "g53246c7159+663e2227e0"
    assert read("b8466")[1].packages["base"].version == "g53246c7159+663e2227e0"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_content_hash_is_the_one_in_content_sha_db(path: Path) -> None:
    manifest = parse_manifest(path.read_text())
    assert path.stem in DB.builds_for(content_hash(manifest))
    assert DB.hashes_for(path.stem) == (content_hash(manifest),)


def test_one_content_hash_names_two_builds_and_the_first_is_reused() -> None:
    digest = "99190c56cb487fd1955983ea81b3a82e7e308c00"
    assert DB.builds_for(digest) == ("b8184", "b8245")
    assert DB.build_for(digest) == "b8184"
    assert DB.build_for("0" * 40) is None
    assert str(DB) == (VERSIONDB / "content_sha.db.txt").read_text()


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_real_manifest_verifies_clean(path: Path) -> None:
    assert verify_manifest(parse_manifest(path.read_text()), str(path), DB) == []


# ---- seeded mistakes: each must give exactly one problem, at the line that explains it


def _flip(text: str, index: int) -> str:
    return text[:index] + ("1" if text[index] != "1" else "2") + text[index + 1 :]


def _seed(stem: str, package: str, field: str, index: int) -> list[str]:
    """Copy manifest ``stem`` and flip one character of ``package``'s SHA or version."""
    text, manifest = read(stem)
    entry = manifest.packages[package]
    lines = text.split("\n")
    old = getattr(entry, field)
    lines[entry.line - 1] = lines[entry.line - 1].replace(old, _flip(old, index), 1)
    seeded = parse_manifest("\n".join(lines), f"{stem}.txt")
    return [f"{d.line}: {d.rule}" for d in verify_manifest(seeded, f"{stem}.txt", DB)]


def _line(stem: str, package: str) -> int:
    return read(stem)[1].packages[package].line


@pytest.mark.parametrize(
    ("stem", "package", "field", "index", "rule", "at"),
    [
        # a version character: that version only (dependents hash SHAs, not versions)
        ("b5927", "afw", "version", 3, "eups-version", "afw"),
        ("b8466", "pipe_tasks", "version", 15, "eups-version", "pipe_tasks"),
        ("b7025", "lsst_ci", "version", 10, "eups-version", "lsst_ci"),
        ("b8466", "sconsUtils", "version", 1, "eups-version", "sconsUtils"),
        # a SHA character within the first 10 hex: its version and every dependent's
        ("b8466", "base", "sha", 0, "sha-mismatch", "base"),
        ("b5927", "eigen", "sha", 9, "sha-mismatch", "eigen"),
        ("b7025", "pipelines_check", "sha", 4, "sha-mismatch", "pipelines_check"),
        ("b8466", "lsst_ci", "sha", 2, "eups-version", "lsst_ci"),  # no dependents
        # beyond the 10th hex: only the dependents' versions change
        ("b8466", "sconsUtils", "sha", 25, "sha-mismatch", "sconsUtils"),
        ("b7025", "afw", "sha", 39, "sha-mismatch", "afw"),
        ("b5927", "obs_lsst", "sha", 10, "sha-mismatch", "obs_lsst"),
        # one dependent: a wrong SHA and a wrong version there cannot be told apart
        ("b5927", "pipelines_check", "sha", 20, "eups-version", "lsst_ci"),
    ],
)
def test_one_flipped_character_is_one_problem_at_its_line(
    stem: str, package: str, field: str, index: int, rule: str, at: str
) -> None:
    assert _seed(stem, package, field, index) == [f"{_line(stem, at)}: {rule}"]


def test_a_sha_flip_past_the_10th_hex_without_dependents_is_the_content_hash() -> None:
    assert _seed("b8466", "lsst_extras", "sha", 30) == ["2: content-hash"]


def test_packages_with_the_same_dependents_are_named_together() -> None:
    text, manifest = read("b5927")
    sha = manifest.packages["astshim"].sha
    seeded = parse_manifest(text.replace(sha, _flip(sha, 30)), "b5927.txt")
    (problem,) = verify_manifest(seeded, "b5927.txt", DB)
    assert problem.line == manifest.packages["afwdata"].line
    assert "`afwdata` or `astshim` (same dependents)" in problem.message
    assert "52 dependents" in problem.message


def test_a_sha_that_is_not_hex_is_one_problem() -> None:
    text, manifest = read("b8466")
    sha = manifest.packages["afw"].sha
    seeded = parse_manifest(text.replace(sha, "z" + sha[1:]), "b8466.txt")
    assert [(d.line, d.rule) for d in verify_manifest(seeded, "b8466.txt", DB)] == [
        (manifest.packages["afw"].line, "manifest-sha")
    ]


@pytest.mark.parametrize(
    ("stem", "first", "second"),
    [("b8466", "afw", "dax_apdb"), ("b5927", "base", "utils"), ("b7025", "afwdata", "lsst_ci")],
)
def test_two_swapped_lines_are_one_order_problem_at_the_first(
    stem: str, first: str, second: str
) -> None:
    text, manifest = read(stem)
    lines = text.split("\n")
    a, b = manifest.packages[first].line - 1, manifest.packages[second].line - 1
    lines[a], lines[b] = lines[b], lines[a]
    problems = verify_manifest(parse_manifest("\n".join(lines), f"{stem}.txt"), stem, DB)
    assert [(d.line, d.rule) for d in problems] == [(a + 1, "manifest-order")]
    assert f"expected `{first}` here, found `{second}` (its place is line {b + 1})" in (
        problems[0].message
    )


@pytest.mark.parametrize("line", range(3, 130))
def test_every_line_of_b8466_flipped_or_swapped_is_one_problem_there(line: int) -> None:
    text, manifest = read("b8466")
    entry = manifest.entries[line - 3]
    assert _seed("b8466", entry.name, "version", 1) == [f"{line}: eups-version"]
    assert len(_seed("b8466", entry.name, "sha", 0)) == 1
    if line < 129:
        lines = text.split("\n")
        lines[line - 1], lines[line] = lines[line], lines[line - 1]
        seeded = parse_manifest("\n".join(lines), "b8466.txt")
        assert [(d.line, d.rule) for d in verify_manifest(seeded, "b8466.txt")] == [
            (line, "manifest-order")
        ]


# ---- structural problems, old schemes


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("BUILD=b8466\n", ""),
            "b8466.txt:2: manifest-build: no `BUILD=bNNNN` line after the header",
        ),
        (
            lambda t: t.replace("BUILD=b8466", "BUILD=b8467"),
            "b8466.txt:2: manifest-build: BUILD=b8467 in a file named b8466.txt: they must agree",
        ),
        (
            lambda t: t.replace("BUILD=b8466", "BUILD=8466"),
            "b8466.txt:2: manifest-build: `8466` is not a build id bN",
        ),
        (
            lambda t: t + t.split("\n")[2] + "\n",
            "b8466.txt:130: manifest-duplicate: `afwdata` is "
            "already listed on line 3; keep one line",
        ),
        (
            lambda t: t.replace("sconsUtils\n", "sconsUtil\n", 1),
            "b8466.txt:17: manifest-dep: "
            "depends on `sconsUtil`, not listed in this manifest; add the package(s)",
        ),
    ],
)
def test_structural_problems(edit: object, expected: str) -> None:
    text, _ = read("b8466")
    seeded = edit(text)  # type: ignore[operator]
    problems = verify_manifest(parse_manifest(seeded, "b8466.txt"), "b8466.txt", DB)
    assert [str(d) for d in problems] == [expected]


def test_a_dependency_cycle_is_named() -> None:
    text, manifest = read("b8466")
    scons = manifest.packages["sconsUtils"]
    seeded = text.replace(str(scons), str(replace(scons, deps=("base",))))
    (problem,) = verify_manifest(parse_manifest(seeded, "b8466.txt"), "b8466.txt")
    assert (problem.line, problem.rule) == (scons.line, "manifest-cycle")
    assert "base -> sconsUtils -> base" in problem.message


@pytest.mark.parametrize("stem", ["b8466", "b1"])
def test_a_cycle_next_to_a_misspelt_dependency_is_reported_with_it(stem: str) -> None:
    text, manifest = read(stem)
    first, second = manifest.entries[0], manifest.entries[1]
    seeded = text.replace(str(first), str(replace(first, deps=(second.name, "nonesuch"))))
    seeded = seeded.replace(str(second), str(replace(second, deps=(first.name,))))
    problems = verify_manifest(parse_manifest(seeded, f"{stem}.txt"), f"{stem}.txt")
    assert sorted((d.line, d.rule) for d in problems) == [
        (3, "manifest-cycle"),
        (3, "manifest-dep"),
    ]


def test_old_schemes_check_only_dependencies_before_dependents() -> None:
    text, manifest = read("b1")
    lines = text.split("\n")
    assert manifest.entries[1].deps == ("cfitsio",)
    lines[2], lines[3] = lines[3], lines[2]  # astrometry_net above cfitsio
    lines[6] = lines[6].replace(manifest.entries[4].version, "9.9.9", 1)  # a version: unchecked
    problems = verify_manifest(parse_manifest("\n".join(lines), "b1.txt"), "b1.txt")
    assert [str(d) for d in problems] == [
        "b1.txt:3: manifest-order: `astrometry_net` is listed before its dependencies "
        "`cfitsio` (line 4)"
    ]


def test_an_old_scheme_version_change_shows_in_the_content_hash() -> None:
    text, manifest = read("b2000")
    entry = manifest.entries[5]
    seeded = text.replace(str(entry), str(entry).replace(entry.version, entry.version + "x", 1))
    problems = verify_manifest(parse_manifest(seeded, "b2000.txt"), "b2000.txt", DB)
    assert [(d.line, d.rule) for d in problems] == [(2, "content-hash")]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (f"{HEADER}\nBUILD=b1\na 1\n", 3, "expected `name sha1 version [deps]`, found 2 fields"),
        (f"{HEADER}\nBUILD=b1\n\nBUILD=b2\n", 3, "blank line; a manifest has one line per package"),
        (f"{HEADER}\nBUILD=b1\nBUILD=b2\n", 3, "second `BUILD=` line (first on line 2)"),
        (
            f"{HEADER}\nBUILD=b1\na {'0' * 40} g0 b,,c\n",
            3,
            "empty name in the deps column; separate names by one `,`",
        ),
    ],
)
def test_lines_that_cannot_be_split_are_parse_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_manifest(text, "m.txt")
    assert caught.value.diagnostic.line == line
    assert caught.value.diagnostic.rule == "manifest-syntax"
    assert caught.value.diagnostic.message == message


@pytest.mark.parametrize("text", ["", "\n", "\ufeff"])
def test_an_empty_file_is_one_parse_error_at_line_1(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_manifest(text, "b1.txt")
    assert (caught.value.diagnostic.line, caught.value.diagnostic.rule) == (1, "manifest-syntax")
    assert caught.value.diagnostic.message.startswith("empty file")


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (lambda text: "\ufeff" + text, 1, "byte order mark"),
        (lambda text: text.replace("\n", "\r\n"), 1, "CRLF"),
        (lambda text: text.replace("\n", "\r\n").replace("\r\n", "\n", 5), 6, "CRLF"),
    ],
    ids=["bom", "crlf", "crlf-from-line-6"],
)
def test_a_bom_or_crlf_is_one_layout_problem_and_the_rest_still_read(
    edit: Callable[[str], str], line: int, words: str
) -> None:
    """Not a cascade over every line: the packages read as they are, versions check clean."""
    text, manifest = read("b8466")
    seeded = edit(text)
    parsed = parse_manifest(seeded, "b8466.txt")
    assert parsed == manifest
    assert verify_manifest(parsed, "b8466.txt", DB) == []
    (problem,) = layout_problems(seeded, parsed, "b8466.txt")
    assert (problem.line, problem.rule) == (line, "manifest-format")
    assert words in problem.message


def test_layout_problems_point_at_each_line_off_the_writer_layout() -> None:
    text, _ = read("b8466")
    lines = text.split("\n")
    lines[0] = lines[0].rstrip()
    lines[5] = " ".join(lines[5].split())
    seeded = "\n".join(lines).rstrip("\n")
    problems = layout_problems(seeded, parse_manifest(seeded), "b8466.txt")
    assert [(d.line, d.rule) for d in problems] == [
        (1, "manifest-format"),
        (6, "manifest-format"),
        (129, "manifest-format"),
    ]


def test_make_manifest_drops_externals_keeps_table_order_and_duplicates() -> None:
    graph = DependencyGraph({"b": ["numpy", "a", "c", "a"], "a": [], "c": ["a"]})
    shas = {name: name * 40 for name in "abc"}
    manifest = make_manifest("b7", graph, shas)
    assert [(e.name, e.deps, e.line) for e in manifest.entries] == [
        ("a", (), 3),
        ("c", ("a",), 4),
        ("b", ("a", "c", "a"), 5),
    ]
    assert verify_manifest(manifest, "b7.txt") == []
    assert parse_manifest(str(manifest)) == manifest


@pytest.mark.parametrize(
    ("deps", "shas", "error"),
    [
        ({"a": []}, {}, DmReleaseError),
        ({"a": []}, {"a": "abc"}, DmReleaseError),
        ({"a": ["b"], "b": ["a"]}, {"a": "a" * 40, "b": "b" * 40}, CycleError),
    ],
)
def test_make_manifest_refuses_missing_shas_and_cycles(
    deps: dict[str, list[str]], shas: dict[str, str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        make_manifest("b1", DependencyGraph(deps), shas)


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,30}", fullmatch=True)
entries = st.builds(
    ManifestEntry,
    name=names,
    sha=st.text("0123456789abcdef", min_size=40, max_size=40),
    version=st.text(string.ascii_letters + string.digits + ".+_-", min_size=1, max_size=50),
    deps=st.lists(names, max_size=4).map(tuple),
)


@given(st.lists(entries, max_size=6), st.integers(min_value=1, max_value=99999))
def test_render_then_parse_is_the_identity(items: list[ManifestEntry], number: int) -> None:
    manifest = Manifest(f"b{number}", tuple(items))
    text = render_manifest(manifest)
    assert parse_manifest(text) == manifest
    assert render_manifest(parse_manifest(text)) == text
