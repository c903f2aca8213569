"""The package dependency graph: build order, cycles, closures (DESIGN.md §5).

The build order is the versiondb writer's: Kahn's algorithm by levels, each level sorted by
name in Python ``str`` order. Dependencies that name no package of the graph (externals,
e.g. ``--external`` table dependencies or conda packages) are kept and reportable but do not
take part in ordering, closures or cycles. Every walk is linear in packages + edges; only the
per-level sort adds ``L log L``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from dmrelease.core.errors import DmReleaseError

__all__ = [
    "CycleError",
    "DependencyGraph",
    "render_cycle",
]


class CycleError(DmReleaseError):
    """The graph has a dependency cycle; ``cycle`` lists its members, each depending on the next.

    The message names the cycle closed on its first member, e.g. ``a -> b -> c -> a``.
    """

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle: tuple[str, ...] = tuple(cycle)
        super().__init__(f"dependency cycle: {render_cycle(self.cycle)}")


def render_cycle(cycle: Sequence[str]) -> str:
    """``a -> b -> a`` for the members ``[a, b]`` (a self-loop renders ``a -> a``)."""
    return " -> ".join([*cycle, cycle[0]])


class DependencyGraph:
    """Packages and their direct dependencies, in the order a table file lists them.

    ``deps`` maps every package to its direct dependencies; duplicates are allowed (the
    versiondb deps column has them) and count once for ordering.
    """

    def __init__(self, deps: Mapping[str, Sequence[str]]) -> None:
        self._deps: dict[str, tuple[str, ...]] = {n: tuple(ds) for n, ds in deps.items()}
        self._internal: dict[str, tuple[str, ...]] = {}
        self._externals: dict[str, tuple[str, ...]] = {}
        self._dependents: dict[str, list[str]] = {}
        for name, ds in self._deps.items():
            unique = tuple(dict.fromkeys(ds))
            self._internal[name] = tuple(d for d in unique if d in self._deps)
            outside = tuple(d for d in unique if d not in self._deps)
            if outside:
                self._externals[name] = outside
            for dep in unique:
                self._dependents.setdefault(dep, []).append(name)
        self._levels: list[list[str]] | None = None
        self._closures: dict[str, frozenset[str]] | None = None

    def __contains__(self, name: object) -> bool:
        return name in self._deps

    def __iter__(self) -> Iterator[str]:
        return iter(self._deps)

    def __len__(self) -> int:
        return len(self._deps)

    @property
    def edge_count(self) -> int:
        """Distinct dependency edges between packages of the graph."""
        return sum(len(ds) for ds in self._internal.values())

    def deps(self, name: str) -> tuple[str, ...]:
        """The direct dependencies of ``name`` as given (table order, duplicates, externals)."""
        return self._deps[name]

    def internal_deps(self, name: str) -> tuple[str, ...]:
        """The distinct direct dependencies of ``name`` that are packages of the graph."""
        return self._internal[name]

    def dependents(self, name: str) -> tuple[str, ...]:
        """The packages that list ``name`` (a package or an external) as a direct dependency."""
        return tuple(self._dependents.get(name, ()))

    @property
    def externals(self) -> dict[str, tuple[str, ...]]:
        """Package → its dependencies outside the graph, for packages that have any."""
        return dict(self._externals)

    def external_names(self) -> set[str]:
        """Every dependency name that is not a package of the graph."""
        return {d for ds in self._externals.values() for d in ds}

    def levels(self) -> list[list[str]]:
        """Kahn levels, each sorted by name; raises :class:`CycleError` (DESIGN.md §5)."""
        if self._levels is None:
            self._levels = self._kahn_levels()
        return [list(level) for level in self._levels]

    def build_order(self) -> list[str]:
        """The versiondb build order: the levels, concatenated (DESIGN.md §5)."""
        return [name for level in self.levels() for name in level]

    def _kahn_levels(self) -> list[list[str]]:
        pending = {name: len(ds) for name, ds in self._internal.items()}
        level = sorted(name for name, count in pending.items() if count == 0)
        levels: list[list[str]] = []
        placed = 0
        while level:
            levels.append(level)
            placed += len(level)
            ready = []
            for name in level:
                for dependent in self._dependents.get(name, ()):
                    pending[dependent] -= 1
                    if pending[dependent] == 0:
                        ready.append(dependent)
            level = sorted(ready)
        if placed != len(self._deps):
            raise CycleError(self._cycle_among({n for n, c in pending.items() if c > 0}))
        return levels

    def find_cycle(self) -> list[str] | None:
        """The members of one dependency cycle (first member the smallest name), or None."""
        try:
            self.levels()
        except CycleError as exc:
            return list(exc.cycle)
        return None

    def _cycle_among(self, stuck: set[str]) -> list[str]:
        """Walk dependencies inside the nodes Kahn could not place until one repeats.

        Every stuck node has at least one stuck dependency, so the walk never ends outside
        ``stuck`` and meets a cycle within ``len(stuck)`` steps.
        """
        seen: dict[str, int] = {}
        path: list[str] = []
        node = min(stuck)
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = min(d for d in self._internal[node] if d in stuck)
        cycle = path[seen[node] :]
        first = cycle.index(min(cycle))
        return cycle[first:] + cycle[:first]

    def closure(self, name: str) -> set[str]:
        """Every package ``name`` depends on, directly or not (not ``name`` itself).

        Externals are left out; a self-loop does not put ``name`` in its own closure.
        """
        seen: set[str] = set()
        stack = list(self._internal[name])
        while stack:
            dep = stack.pop()
            if dep not in seen and dep != name:
                seen.add(dep)
                stack.extend(self._internal[dep])
        return seen

    def closures(self) -> dict[str, frozenset[str]]:
        """:meth:`closure` of every package, built once in build order (raises CycleError)."""
        if self._closures is None:
            self._closures = self._build_closures()
        return dict(self._closures)

    def _build_closures(self) -> dict[str, frozenset[str]]:
        result: dict[str, frozenset[str]] = {}
        for name in self.build_order():
            members: set[str] = set()
            for dep in self._internal[name]:
                members.add(dep)
                members |= result[dep]
            result[name] = frozenset(members)
        return result

    def downstream_of(self, changed: Iterable[str]) -> set[str]:
        """Every package that depends, directly or not, on one of ``changed``.

        ``changed`` may name packages or externals. A changed package is in the result only
        when it depends on another changed package; a rebuild needs
        ``set(changed) | downstream_of(changed)``. Raises KeyError for an unknown name.
        """
        start = list(changed)
        for name in start:
            if name not in self._deps and name not in self._dependents:
                raise KeyError(f"{name!r} is neither a package nor a dependency of the graph")
        seen: set[str] = set()
        stack = start
        while stack:
            for dependent in self._dependents.get(stack.pop(), ()):
                if dependent not in seen:
                    seen.add(dependent)
                    stack.append(dependent)
        return seen
