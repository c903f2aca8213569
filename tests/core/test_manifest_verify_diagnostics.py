"""Whole diagnostics of manifest verification on a small synthetic manifest (DESIGN.md §5).

The real manifests (test_manifest.py) prove one problem per seeded mistake at the right line;
here each message is asserted in full, with the words that depend on counts and twins.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from dmrelease.core.graph import DependencyGraph
from dmrelease.core.manifest import ContentDb, content_hash, make_manifest, parse_manifest
from dmrelease.core.manifest_verify import verify_manifest

#: lines: base 3, leaf 4, sphgeom 5, daf 6, utils 7, geom 8, afw 9, meta 10
DEPS = {
    "base": [],
    "leaf": [],
    "sphgeom": [],
    "utils": ["base"],
    "daf": ["base"],
    "geom": ["utils", "sphgeom"],
    "afw": ["geom"],
    "meta": ["afw", "daf"],
}
SHAS = {name: hashlib.sha1(name.encode()).hexdigest() for name in DEPS}
MANIFEST = make_manifest("b1", DependencyGraph(DEPS), SHAS)
TEXT = str(MANIFEST)
FIX = "correct the SHA or recompute the versions"


def flip(text: str, *indices: int) -> str:
    for i in indices:
        text = text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1 :]
    return text


def edit(text: str, package: str, **fields: object) -> str:
    entry = MANIFEST.packages[package]
    return text.replace(str(entry), str(replace(entry, **fields)))  # type: ignore[arg-type]


def version(package: str) -> str:
    return MANIFEST.packages[package].version


def problems(text: str, db: ContentDb | None = None) -> list[str]:
    return [str(d) for d in verify_manifest(parse_manifest(text, "b1.txt"), "b1.txt", db)]


def test_the_synthetic_manifest_is_clean_and_laid_out_as_documented() -> None:
    assert problems(TEXT) == []
    assert [(e.name, e.line) for e in MANIFEST.entries] == [
        ("base", 3), ("leaf", 4), ("sphgeom", 5), ("daf", 6),
        ("utils", 7), ("geom", 8), ("afw", 9), ("meta", 10),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("package", "index", "expected"),
    [
        # past the 10th hex: the dependents only; more than 3 are cut, shown in line order
        ("base", 20, f"b1.txt:3: sha-mismatch: the SHA-1 of `base` disagrees with the versions"
                     f" of its 5 dependents (daf, utils, geom, …); {FIX}"),
        # within the 10: its own version too; exactly 3 are all shown
        ("utils", 2, f"b1.txt:7: sha-mismatch: the SHA-1 of `utils` disagrees with its own"
                     f" version and the versions of its 3 dependents (geom, afw, meta); {FIX}"),
        ("afw", 2, f"b1.txt:9: sha-mismatch: the SHA-1 of `afw` disagrees with its own version"
                   f" and the versions of its 1 dependent (meta); {FIX}"),
        # utils and sphgeom have the same dependents: named together, at the first line
        ("utils", 20, f"b1.txt:5: sha-mismatch: the SHA-1 of `sphgeom` or `utils` (same"
                      " dependents) disagrees with the versions of their 3 dependents"
                      f" (geom, afw, meta); {FIX}"),
    ],
)  # fmt: skip
def test_a_wrong_sha_is_one_sha_mismatch(package: str, index: int, expected: str) -> None:
    assert problems(edit(TEXT, package, sha=flip(SHAS[package], index))) == [expected]


@pytest.mark.parametrize(
    ("package", "indices", "expected"),
    [
        ("meta", (3,), "b1.txt:10: eups-version: version `gcb13049115+54d67d83b0` should be"
                       " `gcb03049115+54d67d83b0`: its `g` part is not the first 10 hex of its"
                       " SHA-1"),
        ("meta", (15,), "b1.txt:10: eups-version: version `gcb03049115+54d17d83b0` should be"
                        " `gcb03049115+54d67d83b0`: its `+` part is not the hash of its 6"
                        " dependencies' SHA-1s (or a dependency's SHA is wrong)"),
        ("daf", (15,), "b1.txt:6: eups-version: version `g85bbb0a89a+5451097248` should be"
                       " `g85bbb0a89a+545d097248`: its `+` part is not the hash of its 1"
                       " dependency's SHA-1s (or a dependency's SHA is wrong)"),
        ("afw", (3, 15), "b1.txt:9: eups-version: version `g6819b34f6f+52517c03e7` should be"
                         " `g68b9b34f6f+52587c03e7`: its `g` part is not the first 10 hex of its"
                         " SHA-1 and its `+` part is not the hash of its 4 dependencies' SHA-1s"),
    ],
)  # fmt: skip
def test_a_wrong_version_is_one_eups_version(
    package: str, indices: tuple[int, ...], expected: str
) -> None:
    assert problems(edit(TEXT, package, version=flip(version(package), *indices))) == [expected]


def test_a_malformed_version_has_no_hint_and_does_not_stop_the_others() -> None:
    text = edit(TEXT, "daf", version="garbage")
    text = edit(text, "afw", version=flip(version("afw"), 15))
    assert problems(text) == [
        "b1.txt:6: eups-version: version `garbage` should be `g85bbb0a89a+545d097248`: it is"
        " not of the form g<10 hex>[+<10 hex>]",
        "b1.txt:9: eups-version: version `g68b9b34f6f+52517c03e7` should be"
        " `g68b9b34f6f+52587c03e7`: its `+` part is not the hash of its 4 dependencies' SHA-1s"
        " (or a dependency's SHA is wrong)",
    ]


def test_a_malformed_dependent_still_lets_the_wrong_sha_be_found() -> None:
    text = edit(TEXT, "base", sha=flip(SHAS["base"], 20))
    text = edit(text, "meta", version="garbage")
    wrong = parse_manifest(text).packages["base"].sha
    want = make_manifest("b1", DependencyGraph(DEPS), {**SHAS, "base": wrong})
    assert problems(text) == [
        "b1.txt:3: sha-mismatch: the SHA-1 of `base` disagrees with the versions of its 5"
        f" dependents (daf, utils, geom, …); {FIX}",
        f"b1.txt:10: eups-version: version `garbage` should be `{want.packages['meta'].version}`:"
        " it is not of the form g<10 hex>[+<10 hex>]",
    ]


def test_a_wrong_sha_and_a_wrong_version_below_it_are_each_named() -> None:
    """geom's SHA past its 10th hex changes afw's and meta's `+`; afw's `g` part is also
    wrong. geom explains two lines, afw one (plus its own): geom is the SHA to blame, and
    afw's version is shown with the `+` part it keeps once geom is fixed."""
    text = edit(TEXT, "geom", sha=flip(SHAS["geom"], 20))
    text = edit(text, "afw", version=flip(version("afw"), 3))
    assert problems(text) == [
        "b1.txt:8: sha-mismatch: the SHA-1 of `geom` disagrees with the versions of its 2"
        f" dependents (afw, meta); {FIX}",
        "b1.txt:9: eups-version: version `g6819b34f6f+52587c03e7` should be"
        " `g68b9b34f6f+52587c03e7`: its `g` part is not the first 10 hex of its SHA-1",
    ]


@pytest.mark.parametrize("package", ["geom", "afw"])
def test_a_sha_that_is_not_hex_is_the_only_problem(package: str) -> None:
    """Its dependents' `+` parts are wrong too; the bad SHA explains them (even one)."""
    bad = "z" + SHAS[package][1:]
    line = MANIFEST.packages[package].line
    assert problems(edit(TEXT, package, sha=bad)) == [
        f"b1.txt:{line}: manifest-sha: `{bad}` is not a SHA-1 (40 lowercase hex digits)"
    ]


def test_structure_problems_in_full_and_in_line_order() -> None:
    text = edit(TEXT, "meta", deps=("afw", "daf", "zz", "xx"))
    text = edit(text, "leaf", sha="x" * 40)
    text += str(MANIFEST.packages["base"]) + "\n"
    assert problems(text) == [
        f"b1.txt:4: manifest-sha: `{'x' * 40}` is not a SHA-1 (40 lowercase hex digits)",
        "b1.txt:10: manifest-dep: depends on `xx`, `zz`, not listed in this manifest; add the"
        " package(s)",
        "b1.txt:11: manifest-duplicate: `base` is already listed on line 3; keep one line",
    ]


def test_a_cycle_in_full() -> None:
    assert problems(edit(TEXT, "base", deps=("meta",))) == [
        "b1.txt:3: manifest-cycle: dependency cycle afw -> geom -> utils -> base -> meta -> afw;"
        " a build needs a DAG"
    ]


def test_the_kahn_order_in_full() -> None:
    lines = TEXT.split("\n")
    lines[4], lines[6] = lines[6], lines[4]  # utils to line 5, sphgeom to line 7
    assert problems("\n".join(lines)) == [
        "b1.txt:5: manifest-order: expected `sphgeom` here, found `utils` (its place is line 7):"
        " the build order is Kahn levels, each sorted by name"
    ]


def test_an_old_scheme_reports_every_dependency_below_and_the_other_problems() -> None:
    old = TEXT
    for name in DEPS:
        old = edit(old, name, version="1.0")
    lines = old.split("\n")
    meta = lines.pop(9)
    lines.insert(4, meta)  # meta at line 5: above daf (7) and afw (10)
    text = "\n".join(lines) + str(replace(MANIFEST.packages["leaf"], version="1.0")) + "\n"
    assert problems(text) == [
        "b1.txt:5: manifest-order: `meta` is listed before its dependencies `afw` (line 10),"
        " `daf` (line 7)",
        "b1.txt:11: manifest-duplicate: `leaf` is already listed on line 4; keep one line",
    ]


DIGEST = content_hash(MANIFEST)
OTHER = "f" * 40


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        (f"{DIGEST}\tb1\n", []),
        (f"{DIGEST}\tb7\n{DIGEST}\tb8\n",
         [f"b1.txt:2: content-hash: content hash {DIGEST} is recorded for b7, b8, not b1"]),
        (f"{OTHER}\tb1\n", [f"b1.txt:2: content-hash: content hash {DIGEST} differs from {OTHER},"
                            " recorded for b1: a SHA, version or line has changed"]),
        (f"{OTHER}\tb2\n",
         [f"b1.txt:2: content-hash: neither b1 nor its content hash {DIGEST} is in the content"
          " db"]),
    ],
)  # fmt: skip
def test_the_content_hash_in_full(db: str, expected: list[str]) -> None:
    assert problems(TEXT, ContentDb.parse(db)) == expected


def test_a_bad_sha_counts_as_two_lines_of_evidence_not_more() -> None:
    """base's SHA is wrong past its 10th hex and two of its dependents' SHAs are not hex:
    base is still the SHA to blame for its five dependents' versions."""
    text = edit(TEXT, "base", sha=flip(SHAS["base"], 20))
    text = edit(text, "sphgeom", sha="z" + SHAS["sphgeom"][1:])
    text = edit(text, "utils", sha="z" + SHAS["utils"][1:])
    assert problems(text) == [
        "b1.txt:3: sha-mismatch: the SHA-1 of `base` disagrees with the versions of its 5"
        f" dependents (daf, utils, geom, …); {FIX}",
        f"b1.txt:5: manifest-sha: `z{SHAS['sphgeom'][1:]}` is not a SHA-1 (40 lowercase hex"
        " digits)",
        f"b1.txt:7: manifest-sha: `z{SHAS['utils'][1:]}` is not a SHA-1 (40 lowercase hex digits)",
    ]


def test_four_dependents_are_cut_after_three() -> None:
    deps: dict[str, list[str]] = {"r": [], "a": ["r"], "b": ["r"], "c": ["r"], "d": ["r"]}
    shas = {name: hashlib.sha1(name.encode()).hexdigest() for name in deps}
    text = str(make_manifest("b1", DependencyGraph(deps), shas))
    text = text.replace(shas["r"], flip(shas["r"], 20))
    assert problems(text) == [
        "b1.txt:3: sha-mismatch: the SHA-1 of `r` disagrees with the versions of its 4"
        f" dependents (a, b, c, …); {FIX}"
    ]


def test_problems_on_one_line_keep_the_order_of_the_checks() -> None:
    """Sorted by line only: on one line the SHA comes before the dependencies, as checked."""
    text = edit(TEXT, "daf", sha="x" * 40, deps=("base", "nowhere"))
    assert problems(text) == [
        f"b1.txt:6: manifest-sha: `{'x' * 40}` is not a SHA-1 (40 lowercase hex digits)",
        "b1.txt:6: manifest-dep: depends on `nowhere`, not listed in this manifest; add the"
        " package(s)",
    ]
