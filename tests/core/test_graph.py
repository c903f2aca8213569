"""DependencyGraph: the versiondb build order, cycles, closures, downstream (DESIGN.md §5)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dmrelease.core.errors import DmReleaseError
from dmrelease.core.graph import CycleError, DependencyGraph

MANIFESTS = Path(__file__).parents[1] / "data" / "versiondb" / "manifests"
CURRENT = sorted(p for p in MANIFESTS.glob("b*.txt") if int(p.stem[1:]) >= 5927)

# afw-like: a diamond over a base, plus a leaf with no dependents and an external dep
DIAMOND = {
    "sconsUtils": [],
    "base": ["sconsUtils"],
    "utils": ["base", "sconsUtils"],
    "pex_exceptions": ["base"],
    "afw": ["utils", "pex_exceptions", "boost"],
    "afwdata": [],
}


@pytest.mark.parametrize(
    ("deps", "levels"),
    [
        ({}, []),
        ({"a": []}, [["a"]]),
        ({"b": [], "a": [], "C": []}, [["C", "a", "b"]]),  # Python str order: upper first
        ({"b": ["a"], "a": []}, [["a"], ["b"]]),
        ({"z": [], "y": ["z"], "a": ["y"]}, [["z"], ["y"], ["a"]]),
        (
            DIAMOND,
            [["afwdata", "sconsUtils"], ["base"], ["pex_exceptions", "utils"], ["afw"]],
        ),
        # a package waits for its deepest dependency, not its first one
        ({"d": ["a", "c"], "c": ["b"], "b": ["a"], "a": []}, [["a"], ["b"], ["c"], ["d"]]),
        # duplicate dependencies (the deps column has them) count once
        ({"a": [], "b": ["a", "a"]}, [["a"], ["b"]]),
    ],
)
def test_levels_are_kahn_levels_sorted_by_name(
    deps: dict[str, list[str]], levels: list[list[str]]
) -> None:
    graph = DependencyGraph(deps)
    assert graph.levels() == levels
    assert graph.build_order() == [name for level in levels for name in level]


@pytest.mark.parametrize(
    ("deps", "cycle", "message"),
    [
        ({"a": ["a"]}, ["a"], "a -> a"),
        ({"a": ["b"], "b": ["a"]}, ["a", "b"], "a -> b -> a"),
        ({"c": ["a"], "a": ["b"], "b": ["c"]}, ["a", "b", "c"], "a -> b -> c -> a"),
        ({"x": ["z"], "z": ["y"], "y": ["x"]}, ["x", "z", "y"], "x -> z -> y -> x"),
        # packages that only depend on a cycle are not named in it
        (
            {"base": [], "top": ["m"], "m": ["n", "base"], "n": ["m"]},
            ["m", "n"],
            "m -> n -> m",
        ),
    ],
)
def test_a_cycle_is_named_in_dependency_order(
    deps: dict[str, list[str]], cycle: list[str], message: str
) -> None:
    graph = DependencyGraph(deps)
    assert graph.find_cycle() == cycle
    with pytest.raises(CycleError) as caught:
        graph.build_order()
    assert caught.value.cycle == tuple(cycle)
    assert str(caught.value) == f"dependency cycle: {message}"
    assert isinstance(caught.value, DmReleaseError)


def test_an_acyclic_graph_has_no_cycle() -> None:
    assert DependencyGraph(DIAMOND).find_cycle() is None


@pytest.mark.parametrize(
    ("name", "closure"),
    [
        ("sconsUtils", set()),
        ("base", {"sconsUtils"}),
        ("utils", {"base", "sconsUtils"}),
        ("afw", {"utils", "pex_exceptions", "base", "sconsUtils"}),
    ],
)
def test_closure_is_every_transitive_dependency_without_externals(
    name: str, closure: set[str]
) -> None:
    graph = DependencyGraph(DIAMOND)
    assert graph.closure(name) == closure
    assert graph.closures()[name] == closure


@pytest.mark.parametrize(
    ("changed", "downstream"),
    [
        (["sconsUtils"], {"base", "utils", "pex_exceptions", "afw"}),
        (["pex_exceptions"], {"afw"}),
        (["afw"], set()),
        (["afwdata"], set()),
        (["boost"], {"afw"}),  # an external changes: its dependents are downstream
        (["base", "utils"], {"utils", "pex_exceptions", "afw"}),
        ([], set()),
    ],
)
def test_downstream_of_a_change(changed: list[str], downstream: set[str]) -> None:
    assert DependencyGraph(DIAMOND).downstream_of(changed) == downstream


def test_downstream_of_an_unknown_name_is_an_error() -> None:
    with pytest.raises(KeyError, match="afw_typo"):
        DependencyGraph(DIAMOND).downstream_of(["afw_typo"])


def test_externals_are_reported_and_ignored_for_ordering() -> None:
    graph = DependencyGraph({"a": ["numpy", "b"], "b": ["eups", "numpy"]})
    assert graph.externals == {"a": ("numpy",), "b": ("eups", "numpy")}
    assert graph.external_names() == {"numpy", "eups"}
    assert graph.build_order() == ["b", "a"]
    assert graph.deps("a") == ("numpy", "b")
    assert graph.internal_deps("a") == ("b",)
    assert graph.closure("a") == {"b"}


def _manifest_deps(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    names, deps = [], {}
    for line in path.read_text().splitlines()[2:]:
        fields = line.split()
        names.append(fields[0])
        deps[fields[0]] = fields[3].split(",") if len(fields) == 4 else []
    return names, deps


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: p.stem)
def test_reproduces_the_order_of_every_current_manifest(path: Path) -> None:
    names, deps = _manifest_deps(path)
    reversed_input = dict(reversed(deps.items()))  # the order must come from the deps alone
    assert DependencyGraph(reversed_input).build_order() == names


def test_there_are_43_current_scheme_manifests() -> None:
    assert len(CURRENT) == 43


def _layered(count: int, seed: int) -> dict[str, list[str]]:
    """Package i depends on 1-8 earlier packages; names in random order."""
    rng = random.Random(seed)
    names = [f"p{rng.randrange(10**9):09d}_{i}" for i in range(count)]
    deps: dict[str, list[str]] = {names[0]: []}
    for i in range(1, count):
        deps[names[i]] = [names[j] for j in rng.sample(range(i), min(i, rng.randint(1, 8)))]
    return deps


def test_a_10k_package_graph_orders_by_longest_path_then_name() -> None:
    deps = _layered(10_000, seed=106)
    depth: dict[str, int] = {}
    for name, ds in deps.items():  # dependencies come earlier in insertion order
        depth[name] = 1 + max((depth[d] for d in ds), default=-1)
    graph = DependencyGraph(deps)
    assert graph.build_order() == sorted(deps, key=lambda n: (depth[n], n))
    assert [len(level) for level in graph.levels()] == [
        sum(1 for d in depth.values() if d == k) for k in range(max(depth.values()) + 1)
    ]


def test_closures_and_downstream_of_a_2k_package_graph_agree() -> None:
    deps = _layered(2_000, seed=29)
    graph = DependencyGraph(deps)
    closures = graph.closures()
    root = next(iter(deps))
    assert graph.downstream_of([root]) == {n for n, c in closures.items() if root in c}
    last = next(reversed(deps))
    assert graph.closure(last) == closures[last]


def test_dependents_are_the_direct_dependents_in_declaration_order() -> None:
    graph = DependencyGraph(DIAMOND)
    assert graph.dependents("base") == ("utils", "pex_exceptions")
    assert graph.dependents("sconsUtils") == ("base", "utils")
    assert graph.dependents("boost") == ("afw",)  # an external has dependents too
    assert graph.dependents("afw") == ()  # a leaf
    assert graph.dependents("nowhere") == ()
