"""Ref resolution rules of DESIGN.md §2: first match, branch > tag > commit, fallbacks."""

from __future__ import annotations

import pytest

from dmrelease.core.errors import CheckFailed
from dmrelease.core.refs import (
    RefKind,
    RefSource,
    RepoRefs,
    Resolution,
    looks_like_sha,
    resolve_package,
    resolve_refs,
    unmatched_problems,
    unmatched_refs,
)

SHA = {name: (str(i) * 40)[:40] for i, name in enumerate("abcdefgh", start=1)}

#: afw has the release branch; every package has the rc1 tag; pex has a same-named tag/branch
REPOS = {
    "afw": RepoRefs(
        branches={"main": SHA["a"], "v29.1.x": SHA["b"]}, tags={"v29.1.0.rc1": SHA["c"]}
    ),
    "base": RepoRefs(branches={"main": SHA["d"]}, tags={"v29.1.0.rc1": SHA["e"]}),
    "pex": RepoRefs(
        branches={"main": SHA["f"], "w.2025.24": SHA["g"]}, tags={"w.2025.24": SHA["h"]}
    ),
}


@pytest.mark.parametrize(
    ("package", "ref_list", "ref", "kind", "source", "reason"),
    [
        ("afw", ["v29.1.x", "v29.1.0.rc1"], "v29.1.x", RefKind.BRANCH, RefSource.REF_LIST,
         "ref 1 of the list"),
        ("base", ["v29.1.x", "v29.1.0.rc1"], "v29.1.0.rc1", RefKind.TAG, RefSource.REF_LIST,
         "ref 2 of the list (v29.1.x not found)"),
        ("afw", ["v29.1.0.rc1"], "v29.1.0.rc1", RefKind.TAG, RefSource.REF_LIST,
         "ref 1 of the list"),
        ("pex", ["v29.1.x", "v29.1.0.rc1"], "main", RefKind.BRANCH, RefSource.DEFAULT,
         "no ref of the list exists; default branch"),
        ("pex", [], "main", RefKind.BRANCH, RefSource.DEFAULT, "no ref list; default branch"),
        ("pex", ["w.2025.24"], "w.2025.24", RefKind.BRANCH, RefSource.REF_LIST,
         "ref 1 of the list; a tag of the same name exists, the branch wins"),
    ],
)  # fmt: skip
def test_first_match_per_package(
    package: str,
    ref_list: list[str],
    ref: str,
    kind: RefKind,
    source: RefSource,
    reason: str,
) -> None:
    found = resolve_package(package, ref_list, REPOS[package])
    assert found is not None
    assert (found.ref, found.kind, found.source, found.reason) == (ref, kind, source, reason)
    assert found.sha == REPOS[package].lookup(ref)[1]  # type: ignore[index]


@pytest.mark.parametrize(
    ("refs", "repos_ref", "expected", "source"),
    [
        (RepoRefs(branches={"main": SHA["a"], "stable": SHA["b"]}), "stable", "stable",
         RefSource.REPOS_YAML),
        (RepoRefs(branches={"main": SHA["a"]}, tags={"16.0": SHA["c"]}), "16.0", "16.0",
         RefSource.REPOS_YAML),
        (RepoRefs(branches={"main": SHA["a"]}), "gone", "main", RefSource.DEFAULT),
    ],
)  # fmt: skip
def test_repos_yaml_ref_then_main(
    refs: RepoRefs, repos_ref: str, expected: str, source: RefSource
) -> None:
    found = resolve_package("p", ["w.2025.24"], refs, repos_ref=repos_ref)
    assert found is not None and (found.ref, found.source) == (expected, source)


def test_commit_names_come_after_branches_and_tags() -> None:
    refs = RepoRefs(branches={"main": SHA["a"]}, commits={"2222222": SHA["b"]})
    found = resolve_package("p", ["2222222"], refs)
    assert found is not None and (found.kind, found.sha) == (RefKind.COMMIT, SHA["b"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0123abc", True), ("a" * 40, True), ("012345", False), ("v29.1.x", False),
     ("ABCDEF12", False), ("a" * 41, False)],
)  # fmt: skip
def test_looks_like_sha(text: str, expected: bool) -> None:
    assert looks_like_sha(text) is expected


def test_a_ref_matching_no_package_is_refused() -> None:
    assert unmatched_refs(["v29.1.x", "v29.1.0.rc9"], REPOS) == ["v29.1.0.rc9"]
    with pytest.raises(CheckFailed) as failed:
        resolve_refs(["v29.1.x", "v29.1.0.rc9"], REPOS)
    [problem] = failed.value.diagnostics
    assert (problem.rule, problem.column) == ("ref-unmatched", 2)
    assert "'v29.1.0.rc9' exists in none of the 3 packages" in problem.message


def test_each_unmatched_ref_is_one_problem_at_its_position_in_the_list() -> None:
    problems = unmatched_problems(["nope", "v29.1.x", "v9.9.9", "main"], REPOS, "REFS")
    assert [(p.path, p.line, p.column, p.rule) for p in problems] == [
        ("REFS", 1, 1, "ref-unmatched"),
        ("REFS", 1, 3, "ref-unmatched"),
    ]
    assert [p.message for p in problems] == [
        "ref 'nope' exists in none of the 3 packages",
        "ref 'v9.9.9' exists in none of the 3 packages",
    ]
    assert unmatched_problems(["v29.1.x"], REPOS) == []


def test_a_ref_shadowed_everywhere_still_counts_as_matched() -> None:
    resolved = resolve_refs(["v29.1.x", "v29.1.0.rc1"], {"afw": REPOS["afw"]})
    assert resolved["afw"].ref == "v29.1.x"


def test_a_package_without_any_candidate_is_named() -> None:
    repos = {**REPOS, "odd": RepoRefs(branches={"master": SHA["a"]})}
    with pytest.raises(CheckFailed) as failed:
        resolve_refs(["v29.1.0.rc1"], repos)
    [problem] = failed.value.diagnostics
    assert (problem.path, problem.rule) == ("odd", "ref-unresolved")


def test_resolve_refs_resolves_every_package() -> None:
    resolved = resolve_refs(["v29.1.x", "v29.1.0.rc1"], REPOS)
    assert {n: r.ref for n, r in resolved.items()} == {
        "afw": "v29.1.x", "base": "v29.1.0.rc1", "pex": "main",
    }  # fmt: skip
    assert str(resolved["afw"]) == f"afw: v29.1.x (branch) {SHA['b'][:10]}: ref 1 of the list"
    assert resolved["base"].as_dict()["kind"] == "tag"


def test_resolve_refs_takes_each_packages_repos_yaml_ref() -> None:
    repos = {
        "afw": RepoRefs(branches={"main": SHA["a"], "stable": SHA["b"]}),
        "base": RepoRefs(branches={"main": SHA["c"]}, tags={"16.0": SHA["d"]}),
        "pex": RepoRefs(branches={"main": SHA["e"], "stable": SHA["f"]}),
    }
    resolved = resolve_refs([], repos, repos_refs={"afw": "stable", "base": "16.0", "pex": None})
    assert resolved == {
        "afw": Resolution("afw", "stable", RefKind.BRANCH, SHA["b"], RefSource.REPOS_YAML,
                          "no ref list; repos.yaml ref"),
        "base": Resolution("base", "16.0", RefKind.TAG, SHA["d"], RefSource.REPOS_YAML,
                           "no ref list; repos.yaml ref"),
        "pex": Resolution("pex", "main", RefKind.BRANCH, SHA["e"], RefSource.DEFAULT,
                          "no ref list; default branch"),
    }  # fmt: skip


def test_resolve_refs_takes_the_default_branch_given() -> None:
    repos = {"afw": RepoRefs(branches={"main": SHA["a"], "master": SHA["b"]})}
    resolved = resolve_refs(["w.2025.24"], {**repos, "x": REPOS["pex"]}, default_branch="master")
    assert resolved["afw"] == Resolution(
        "afw", "master", RefKind.BRANCH, SHA["b"], RefSource.DEFAULT,
        "no ref of the list exists; default branch",
    )  # fmt: skip


def test_a_missing_repos_yaml_ref_is_in_the_reason() -> None:
    refs = RepoRefs(branches={"main": SHA["a"]})
    found = resolve_package("p", ["w.2025.24"], refs, repos_ref="gone")
    assert found == Resolution(
        "p", "main", RefKind.BRANCH, SHA["a"], RefSource.DEFAULT,
        "no ref of the list exists; repos.yaml ref gone not found; default branch",
    )  # fmt: skip


def test_a_repos_yaml_branch_shadowing_a_tag_says_so() -> None:
    refs = RepoRefs(branches={"main": SHA["a"], "stable": SHA["b"]}, tags={"stable": SHA["c"]})
    found = resolve_package("p", [], refs, repos_ref="stable")
    assert found == Resolution(
        "p", "stable", RefKind.BRANCH, SHA["b"], RefSource.REPOS_YAML,
        "no ref list; repos.yaml ref; a tag of the same name exists, the branch wins",
    )  # fmt: skip


def test_the_reason_names_every_ref_skipped() -> None:
    refs = RepoRefs(branches={"main": SHA["a"]}, tags={"w.2025.24": SHA["b"]})
    found = resolve_package("p", ["a", "b", "w.2025.24"], refs)
    assert found is not None and found.reason == "ref 3 of the list (a, b not found)"


def test_a_ref_matching_no_package_is_a_full_diagnostic() -> None:
    with pytest.raises(CheckFailed) as failed:
        resolve_refs(["nope", "v29.1.x"], REPOS)
    assert [str(d) for d in failed.value.diagnostics] == [
        "<refs>:1:1: ref-unmatched: ref 'nope' exists in none of the 3 packages"
        " (check the spelling, or drop it from the ref list)"
    ]


@pytest.mark.parametrize(
    ("repos_refs", "message"),
    [
        (None, "no ref of the list, default branch 'trunk' exists"),
        ({"odd": "stable"}, "no ref of the list, repos.yaml ref 'stable' nor default branch"
         " 'trunk' exists"),
    ],
)  # fmt: skip
def test_a_package_without_any_candidate_is_a_full_diagnostic(
    repos_refs: dict[str, str | None] | None, message: str
) -> None:
    repos = {"afw": RepoRefs(branches={"trunk": SHA["a"]}), "odd": RepoRefs(branches={})}
    with pytest.raises(CheckFailed) as failed:
        resolve_refs([], repos, repos_refs=repos_refs, default_branch="trunk")
    assert [str(d) for d in failed.value.diagnostics] == [
        f"odd:1: ref-unresolved: {message}"
        " (push the branch, or give a ref that exists in this package)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    repos = {"afw": RepoRefs(branches={"main": SHA["a"]}), "odd": RepoRefs()}
    with pytest.raises(CheckFailed) as failed:
        resolve_refs(["x", "main", "y"], repos)
    assert [(d.path, d.line, d.column, d.rule) for d in failed.value.diagnostics] == [
        ("<refs>", 1, 1, "ref-unmatched"),
        ("<refs>", 1, 3, "ref-unmatched"),
        ("odd", 1, None, "ref-unresolved"),
    ]


def test_a_resolution_as_a_dict() -> None:
    found = resolve_package("pex", ["w.2025.24"], REPOS["pex"])
    assert found is not None
    assert found.as_dict() == {
        "package": "pex",
        "ref": "w.2025.24",
        "kind": "branch",
        "sha": SHA["g"],
        "source": "ref-list",
        "reason": "ref 1 of the list; a tag of the same name exists, the branch wins",
    }
