"""The checks of a parsed versiondb manifest: one diagnostic per cause (DESIGN.md §5).

Every scheme: the ``BUILD=`` line (present, ``bN``, agreeing with a ``bN.txt`` file name),
40-hex SHAs, one line per package, deps naming packages of the manifest, and, with a content
db, the content hash recorded for the build id. Older schemes (before b5927) define only that
dependencies come before dependents; the current scheme also fixes the exact order (Kahn
levels sorted by name) and every version, which is recomputed.

A wrong SHA shows up on many lines: its own ``g`` part (when within the first 10 hex) and the
``+`` part of every transitive dependent. Those mismatches are traced back to the package
whose dependents they are and reported once, at its line (``sha-mismatch``); a SHA is blamed
only when two lines or more agree it is wrong, else the one version is reported
(``eups-version``). Two cases the versions cannot settle: packages with the same dependents
are named together in one ``sha-mismatch``; a SHA wrong past its 10th hex in a package with
a single dependent looks exactly like a wrong ``+`` part of that dependent, and is reported
so. The content hash is checked only when nothing else is wrong, since any problem above
already changes it; it catches a SHA wrong past its 10th hex in a package without dependents.

Rules: manifest-build, manifest-duplicate, manifest-sha, manifest-dep, manifest-cycle,
manifest-order, eups-version, sha-mismatch, content-hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dmrelease.core.errors import Diagnostic
from dmrelease.core.graph import DependencyGraph, render_cycle
from dmrelease.core.manifest import (
    BUILD_ID_RE,
    SHA_RE,
    VERSION_RE,
    ContentDb,
    Manifest,
    content_hash,
    expected_versions,
)

__all__ = [
    "verify_manifest",
]

_FILE_BUILD_RE = re.compile(r"(?:^|[/\\])(b[0-9]+)\.txt$")


def verify_manifest(
    manifest: Manifest, path: str, content_db: ContentDb | None = None
) -> list[Diagnostic]:
    """Every problem of a parsed ``manifest`` read from ``path``, in line order."""
    problems = _build_line(manifest, path)
    problems += _duplicates(manifest, path)
    bad_shas = _bad_shas(manifest, path)
    problems += bad_shas.values()
    unknown = _unknown_deps(manifest, path)
    problems += unknown.values()
    graph = manifest.graph()
    cycle = _cycle(manifest, graph, path)
    problems += cycle
    if cycle:
        pass  # no order and no closure exist; the cycle says why
    elif manifest.is_current_scheme:
        # a misspelt dependency moves its package in the order: report the name alone
        problems += [] if unknown else _kahn_order(manifest, graph, path)
        problems += _Versions(manifest, graph, path, set(bad_shas), set(unknown)).problems()
    else:
        problems += _dependency_order(manifest, graph, path)
    if content_db is not None and not problems:
        problems += _content(manifest, path, content_db)
    return sorted(problems, key=lambda d: d.line)


def _build_line(manifest: Manifest, path: str) -> list[Diagnostic]:
    build_id, line = manifest.build_id, manifest.build_line
    if build_id is None:
        return [Diagnostic(path, 2, "manifest-build", "no `BUILD=bNNNN` line after the header")]
    if not BUILD_ID_RE.match(build_id):
        return [Diagnostic(path, line, "manifest-build", f"`{build_id}` is not a build id bN")]
    named = _FILE_BUILD_RE.search(path)
    if named and named[1] != build_id:
        message = f"BUILD={build_id} in a file named {named[1]}.txt: they must agree"
        return [Diagnostic(path, line, "manifest-build", message)]
    return []


def _duplicates(manifest: Manifest, path: str) -> list[Diagnostic]:
    first = manifest.packages
    return [
        Diagnostic(
            path,
            e.line,
            "manifest-duplicate",
            f"`{e.name}` is already listed on line {first[e.name].line}; keep one line",
        )
        for e in manifest.entries
        if first[e.name] is not e
    ]


def _bad_shas(manifest: Manifest, path: str) -> dict[str, Diagnostic]:
    return {
        e.name: Diagnostic(
            path, e.line, "manifest-sha", f"`{e.sha}` is not a SHA-1 (40 lowercase hex digits)"
        )
        for e in manifest.packages.values()
        if not SHA_RE.match(e.sha)
    }


def _unknown_deps(manifest: Manifest, path: str) -> dict[str, Diagnostic]:
    found = {}
    for e in manifest.packages.values():
        missing = sorted({d for d in e.deps if d not in manifest.packages})
        if missing:
            names = ", ".join(f"`{d}`" for d in missing)
            message = f"depends on {names}, not listed in this manifest; add the package(s)"
            found[e.name] = Diagnostic(path, e.line, "manifest-dep", message)
    return found


def _cycle(manifest: Manifest, graph: DependencyGraph, path: str) -> list[Diagnostic]:
    cycle = graph.find_cycle()
    if cycle is None:
        return []
    line = min(manifest.packages[name].line for name in cycle)
    message = f"dependency cycle {render_cycle(cycle)}; a build needs a DAG"
    return [Diagnostic(path, line, "manifest-cycle", message)]


def _kahn_order(manifest: Manifest, graph: DependencyGraph, path: str) -> list[Diagnostic]:
    """The first line where the order departs from Kahn levels sorted by name (one report:
    after that line every other line is shifted)."""
    listed = list(manifest.packages.values())
    position = {name: index for index, name in enumerate(graph.build_order())}
    for entry, want in zip(listed, position, strict=True):
        if entry.name != want:
            belongs = listed[position[entry.name]].line
            message = (
                f"expected `{want}` here, found `{entry.name}` (its place is line "
                f"{belongs}): the build order is Kahn levels, each sorted by name"
            )
            return [Diagnostic(path, entry.line, "manifest-order", message)]
    return []


def _dependency_order(manifest: Manifest, graph: DependencyGraph, path: str) -> list[Diagnostic]:
    """Older schemes: each package below every dependency it lists."""
    problems = []
    for e in manifest.packages.values():
        later = [d for d in graph.internal_deps(e.name) if manifest.packages[d].line > e.line]
        if later:
            names = ", ".join(f"`{d}` (line {manifest.packages[d].line})" for d in later)
            message = f"`{e.name}` is listed before its dependencies {names}"
            problems.append(Diagnostic(path, e.line, "manifest-order", message))
    return problems


def _content(manifest: Manifest, path: str, db: ContentDb) -> list[Diagnostic]:
    build_id = manifest.build_id
    if build_id is None:
        return []
    digest = content_hash(manifest)
    builds = db.builds_for(digest)
    if build_id in builds:
        return []
    if builds:
        message = f"content hash {digest} is recorded for {', '.join(builds)}, not {build_id}"
    elif db.hashes_for(build_id):
        message = (
            f"content hash {digest} differs from {db.hashes_for(build_id)[0]}, recorded "
            f"for {build_id}: a SHA, version or line has changed"
        )
    else:
        message = f"neither {build_id} nor its content hash {digest} is in the content db"
    return [Diagnostic(path, manifest.build_line or 1, "content-hash", message)]


@dataclass
class _Versions:
    """Recomputes every version and traces mismatches back to their causes."""

    manifest: Manifest
    graph: DependencyGraph
    path: str
    bad_shas: set[str]
    unknown_deps: set[str]
    expected: dict[str, str] = field(init=False)
    closures: dict[str, frozenset[str]] = field(init=False)
    own: set[str] = field(init=False, default_factory=set)  # `g` part ≠ its SHA
    plus: set[str] = field(init=False, default_factory=set)  # `+` part ≠ its deps' SHAs
    malformed: set[str] = field(init=False, default_factory=set)
    unchecked: set[str] = field(init=False, default_factory=set)  # `+` part not comparable
    _down: dict[str, set[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.expected = expected_versions(self.manifest, self.graph)
        self.closures = self.graph.closures()
        self.unchecked = self.unknown_deps | self.graph.downstream_of(self.unknown_deps)
        for name, entry in self.manifest.packages.items():
            want = self.expected[name]
            match = VERSION_RE.match(entry.version)
            if entry.version == want:
                continue
            if match is None:
                self.malformed.add(name)
                continue
            if match[1] != want[1:11] and name not in self.bad_shas:
                self.own.add(name)
            if match[2] != (want[12:] or None) and name not in self.unchecked:
                self.plus.add(name)

    def problems(self) -> list[Diagnostic]:
        roots, unexplained = self._roots()
        found = [self._root_problem(root) for root in roots if root not in self.bad_shas]
        lone = (self.own - set(roots)) | unexplained | self.malformed
        found += [self._version_problem(name, unexplained) for name in lone]
        return found

    def _roots(self) -> tuple[list[str], set[str]]:
        """Greedy cover of the wrong ``+`` parts by packages all of whose dependents are
        wrong, most explained lines first (a wrong SHA changes every dependent's hash); on a
        tie, the one covering more wrong ``+`` parts, then the first line."""
        allowed = self.plus | self.malformed | self.unchecked
        suspects = {dep for name in self.plus for dep in self.closures[name]}
        self._down = {x: self.graph.downstream_of([x]) for x in sorted(suspects)}
        valid = [x for x, down in self._down.items() if down and down <= allowed]
        uncovered, roots = set(self.plus), []
        while uncovered and valid:
            best = max(
                valid,
                key=lambda x: (
                    self._evidence(x, uncovered),
                    len(self._down[x] & uncovered),
                    -self.manifest.packages[x].line,
                ),
            )
            if not self._down[best] & uncovered or self._evidence(best, uncovered) < 2:
                break
            roots.append(best)
            uncovered -= self._down[best]
            valid.remove(best)
        return roots, uncovered

    def _evidence(self, name: str, uncovered: set[str]) -> int:
        """Lines that say the SHA of ``name`` is wrong (a malformed SHA counts twice)."""
        agree = len(self._down[name] & uncovered) + (name in self.own)
        return agree + 2 * (name in self.bad_shas)

    def _root_problem(self, root: str) -> Diagnostic:
        down = sorted(self._down[root], key=lambda n: self.manifest.packages[n].line)
        shown = ", ".join(down[:3]) + (", …" if len(down) > 3 else "")
        its = "its"
        if root in self.own:
            whose = f"`{root}` disagrees with its own version and"
        else:
            # packages with the same dependents cannot be told apart by the versions
            twins = [x for x, d in self._down.items() if d == self._down[root] and x != root]
            whose = " or ".join(f"`{x}`" for x in [root, *twins])
            whose += " (same dependents) disagrees with" if twins else " disagrees with"
            its = "their" if twins else "its"
        message = (
            f"the SHA-1 of {whose} the versions of {its} {len(down)} "
            f"{'dependent' if len(down) == 1 else 'dependents'} "
            f"({shown}); correct the SHA or recompute the versions"
        )
        line = self.manifest.packages[root].line
        return Diagnostic(self.path, line, "sha-mismatch", message)

    def _version_problem(self, name: str, unexplained: set[str]) -> Diagnostic:
        """The one version of ``name``; its ``+`` part is named only when no wrong SHA
        upstream explains it."""
        entry, want = self.manifest.packages[name], self.expected[name]
        if name in self.plus and name not in unexplained:
            want = want[:11] + entry.version[11:]  # its `+` part is right once the SHA is
        if name in self.malformed:
            why = "it is not of the form g<10 hex>[+<10 hex>]"
        else:
            reasons = []
            if name in self.own:
                reasons.append("its `g` part is not the first 10 hex of its SHA-1")
            if name in unexplained:
                count = len(self.closures[name])
                whose = "dependency's" if count == 1 else "dependencies'"
                reasons.append(f"its `+` part is not the hash of its {count} {whose} SHA-1s")
            why = " and ".join(reasons)
        hint = "or a dependency's SHA is wrong" if name not in self.own | self.malformed else None
        message = f"version `{entry.version}` should be `{want}`: {why}"
        return Diagnostic(self.path, entry.line, "eups-version", message, hint=hint)
