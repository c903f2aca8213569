"""Library products: packages a product takes from another product's release (DMTN-106
§2.1, A.2.1, B).

A library product is built and released on its own; a product that lists it in
``libraries`` takes its packages at the library's EUPS tag instead of cloning or building
them. The binary server's tag list ``<tag>.list`` names the library's build
(``#BUILD=bNNNN``); that build's versiondb manifest gives each library package's SHA-1,
version and dependencies. The two must agree (the tag list's versions are the manifest's),
a package lives in one product only (a library package listed in the product's repos.yaml
is refused, naming both), and two libraries may share a package only at the same commit.

:func:`with_libraries` puts the library packages into the product's dependency graph, so
that the product's manifest records them (their SHAs, versions and deps, DESIGN.md §5
unchanged) and the product's versions hash their SHAs like any other dependency's.
Pure: the adapter (adapters/library_server.py) fetches the tag list and reads versiondb.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from dmrelease.core.errors import CheckFailed, Diagnostic, ParseError
from dmrelease.core.limits import split_lines
from dmrelease.core.manifest import BUILD_ID_RE, Manifest, ManifestEntry

__all__ = [
    "Library",
    "TagList",
    "library_packages",
    "library_problems",
    "overlap_problems",
    "parse_tag_list",
    "resolve_library",
    "version_problems",
    "with_libraries",
]

_HEAD_RE = re.compile(r"^EUPS distribution (\S+) version list\. Version 1\.0$")


@dataclass(frozen=True)
class TagList:
    """A binary server's ``<tag>.list``: product → version (and the line of each)."""

    tag: str
    build_id: str | None
    versions: Mapping[str, str]
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)
    build_line: int = field(default=0, compare=False)


def _bad(path: str, line: int, message: str) -> ParseError:
    return ParseError(Diagnostic(path, line, "library-tag-list", message))


def parse_tag_list(text: str, tag: str, path: str) -> TagList:
    """Read a tag list (EUPS's header naming ``tag``, ``#`` comment lines among which
    ``#BUILD=bNNNN``, then ``product flavor version`` rows); ParseError at the first line
    that is not one of those."""
    lines = split_lines(text)
    head = _HEAD_RE.match(lines[0].strip()) if lines else None
    if head is None:
        raise _bad(path, 1, f"not an EUPS tag list: expected 'EUPS distribution {tag} "
                   "version list. Version 1.0'")  # fmt: skip
    if head[1] != tag:
        raise _bad(path, 1, f"the list of tag {head[1]}, not of {tag}")
    build_id, build_line = None, 0
    versions: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(lines[1:], 2):
        text_line = line.strip()
        if text_line.startswith("#BUILD="):
            if build_id is not None:
                raise _bad(path, number, f"second #BUILD= line (first on line {build_line})")
            build_id, build_line = text_line.removeprefix("#BUILD=").strip(), number
            if not BUILD_ID_RE.match(build_id):
                raise _bad(path, number, f"#BUILD={build_id}: not a build id bNNNN")
            continue
        if not text_line or text_line.startswith("#"):
            continue
        fields = text_line.split()
        if len(fields) != 3:
            raise _bad(path, number, f"expected 'product flavor version', found {len(fields)} "
                       "fields")  # fmt: skip
        name, _, version = fields
        if name in versions:
            raise _bad(path, number, f"{name} listed twice (first on line {where[name]})")
        versions[name], where[name] = version, number
    return TagList(tag, build_id, versions, where, build_line)


@dataclass(frozen=True)
class Library:
    """A library product at its tag: the entries of its build's manifest (build order)."""

    name: str
    tag: str
    build_id: str
    where: str  # the tag list's URL, redacted: for messages
    entries: tuple[ManifestEntry, ...]

    @cached_property
    def packages(self) -> dict[str, ManifestEntry]:
        return {entry.name: entry for entry in self.entries}

    @property
    def shown(self) -> str:
        return f"library {self.name} ({self.tag}, build {self.build_id})"


def library_problems(
    name: str, tag_list: TagList, manifest: Manifest, where: str
) -> list[Diagnostic]:
    """Why the tag list and its build's manifest do not describe one release of ``name``
    (empty when they do): the library's metapackage missing, a version that differs, a
    package in one and not in the other."""
    problems: list[Diagnostic] = []
    build = tag_list.build_id
    in_build = f"build {build} (versiondb manifests/{build}.txt)"

    def problem(line: int, message: str) -> None:
        problems.append(Diagnostic(where, line, "library-version", f"library {name}: {message}"))

    if name not in tag_list.versions:
        problem(1, f"the tag list of {tag_list.tag} does not list {name}")
    if name not in manifest.packages:
        problem(tag_list.build_line, f"{in_build} has no package {name}")
    for entry in manifest.entries:
        listed = tag_list.versions.get(entry.name)
        if listed is None:
            problem(1, f"{entry.name} {entry.version} of {in_build} is not in the tag list")
        elif listed != entry.version:
            line = tag_list.lines.get(entry.name, 1)
            problem(line, f"{entry.name}: version {listed} here, {entry.version} in {in_build}")
    for package in sorted(set(tag_list.versions) - set(manifest.packages)):
        line = tag_list.lines.get(package, 1)
        problem(line, f"{package} is not in {in_build}")
    return problems


def resolve_library(name: str, tag_list: TagList, manifest: Manifest, where: str) -> Library:
    """The library ``name`` at ``tag_list``'s tag; CheckFailed with every
    :func:`library_problems` when the tag list and the manifest disagree."""
    if tag_list.build_id is None:
        raise CheckFailed([Diagnostic(
            where, 1, "library-tag-list",
            f"library {name}: the tag list of {tag_list.tag} has no #BUILD=bNNNN line, so "
            "its packages' commits are unknown",
            hint="publish the library's binaries with its build id (dm-release tarball)",
        )])  # fmt: skip
    problems = library_problems(name, tag_list, manifest, where)
    if problems:
        raise CheckFailed(problems)
    return Library(name, tag_list.tag, tag_list.build_id, where, manifest.entries)


def _owners(libraries: Iterable[Library]) -> dict[str, tuple[Library, ManifestEntry]]:
    """Each package of ``libraries`` → the first library listing it and its first entry
    there (a package of two libraries is one of them, the one given first)."""
    owners: dict[str, tuple[Library, ManifestEntry]] = {}
    for library in libraries:
        for entry in library.entries:
            owners.setdefault(entry.name, (library, entry))
    return owners


def overlap_problems(
    product: str,
    libraries: Sequence[Library],
    repos: Mapping[str, int],
    repos_path: str,
) -> list[Diagnostic]:
    """A package lives in one product: each library package that ``product``'s repos.yaml
    also lists (``repos``: name → line), the product itself being a library package, and a
    package of two libraries at different commits."""
    problems: list[Diagnostic] = []
    owner = {name: library for name, (library, _) in _owners(libraries).items()}
    for library in libraries:
        for entry in library.entries:
            first = owner[entry.name]
            theirs = first.packages[entry.name]
            if first is not library and (theirs.sha, theirs.version) != (entry.sha, entry.version):
                problems.append(Diagnostic(
                    library.where, 1, "library-overlap",
                    f"{entry.name} is in two libraries at different commits: {entry.version} "
                    f"in {library.shown}, {theirs.version} in {first.shown}",
                ))  # fmt: skip
    hint = "a package lives in one product: remove it from repos.yaml, or from the library"
    if product in owner:
        problems.append(Diagnostic(
            repos_path, 1, "library-overlap",
            f"product {product} is itself a package of {owner[product].shown}", hint=hint,
        ))  # fmt: skip
    for name in sorted(set(repos) & set(owner) - {product}):
        problems.append(Diagnostic(
            repos_path, repos[name] or 1, "library-overlap",
            f"{name} is a package of {owner[name].shown} and of product {product} "
            f"(its repos.yaml): a package in two products", hint=hint,
        ))  # fmt: skip
    return problems


def with_libraries(
    deps: Mapping[str, Iterable[str]],
    shas: Mapping[str, str],
    libraries: Iterable[Library],
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """The product's dependency map and SHAs with the packages of ``libraries`` added:
    the library's deps column as its manifest has it, its SHAs. Only the library packages
    the product reaches are kept (its manifest records what it depends on, not all of
    every library), found by walking from the product's packages."""
    entries = {name: entry for name, (_, entry) in _owners(libraries).items()}
    graph = {name: tuple(d) for name, d in deps.items()}
    reached: set[str] = set()
    pending = [d for ds in graph.values() for d in ds if d in entries and d not in graph]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        pending.extend(d for d in entries[name].deps if d in entries)
    merged_shas = dict(shas)
    for name in sorted(reached):
        graph[name] = entries[name].deps
        merged_shas[name] = entries[name].sha
    return graph, merged_shas


def library_packages(manifest: Manifest, libraries: Iterable[Library]) -> dict[str, Library]:
    """The entries of ``manifest`` that come from a library: name → its library."""
    owners = _owners(libraries)
    return {e.name: owners[e.name][0] for e in manifest.entries if e.name in owners}


def version_problems(manifest: Manifest, libraries: Iterable[Library]) -> list[Diagnostic]:
    """Each library package whose version in the product's ``manifest`` (computed from
    the SHAs) is not the library's released one: the library's binaries would not be
    the ones this manifest names."""
    problems = []
    for name, library in library_packages(manifest, libraries).items():
        ours, theirs = manifest.packages[name].version, library.packages[name].version
        if ours != theirs:
            problems.append(Diagnostic(
                library.where, 1, "library-version",
                f"{name}: its commits give version {ours}, {library.shown} has {theirs}",
                hint="rebuild and release the library with this dm-release",
            ))  # fmt: skip
    return problems
