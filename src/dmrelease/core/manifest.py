"""versiondb build manifests, EUPS versions and content hashes (DESIGN.md §5, DMTN-106 §2.3).

A manifest ``manifests/bNNNN.txt`` is the header line, ``BUILD=bNNNN``, then one line per
package ``"%-25s %-40s  %-40s %s" % (name, sha1, version, ",".join(direct_deps))`` in build
order. Readers split on whitespace; :func:`render_manifest` writes the current layout byte
for byte. The checks of a parsed manifest are
:func:`dmrelease.core.manifest_verify.verify_manifest`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dmrelease.core.errors import Diagnostic, DmReleaseError, ParseError
from dmrelease.core.graph import DependencyGraph
from dmrelease.core.limits import split_lines
from dmrelease.core.packages import BUILD_ID_RE, MAX_NAME_LENGTH, is_package_name

__all__ = [
    "BUILD_ID_RE",
    "HEADER",
    "LINE_FORMAT",
    "MAX_VERSION_LENGTH",
    "SERVER_VERSION_RE",
    "SHA_RE",
    "VERSION_RE",
    "ContentDb",
    "Manifest",
    "ManifestEntry",
    "content_hash",
    "dependency_hash",
    "eups_version_for",
    "expected_versions",
    "layout_problems",
    "make_manifest",
    "parse_manifest",
    "render_manifest",
    "server_name_problems",
]

#: line 1 of every versiondb manifest: 98 characters, trailing spaces kept (DESIGN.md §5)
HEADER = "# product".ljust(26) + "SHA1".ljust(42) + "Version".ljust(30)
LINE_FORMAT = "%-25s %-40s  %-40s %s"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
#: the EUPS version of every build since b5927: ``g<sha[:10]>[+<dependency hash[:10]>]``
VERSION_RE = re.compile(r"^g([0-9a-f]{10})(?:\+([0-9a-f]{10}))?$")
_BOM = "\ufeff"


@dataclass(frozen=True)
class ManifestEntry:
    """One package line; ``line`` is where it was read (1-based) and takes no part in ``==``."""

    name: str
    sha: str
    version: str
    deps: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return LINE_FORMAT % (self.name, self.sha, self.version, ",".join(self.deps))


@dataclass(frozen=True)
class Manifest:
    """The snapshot of one build; ``str()`` is the versiondb file text (DESIGN.md §5).

    ``build_id`` is None when the file has no ``BUILD=`` line; ``build_line`` is where the
    ``BUILD=`` line was read (0 when absent).
    """

    build_id: str | None
    entries: tuple[ManifestEntry, ...]
    build_line: int = field(default=2, compare=False)

    def __str__(self) -> str:
        return render_manifest(self)

    @cached_property
    def packages(self) -> dict[str, ManifestEntry]:
        """Name → entry, the first line of a name winning (duplicates are a verify problem)."""
        found: dict[str, ManifestEntry] = {}
        for entry in self.entries:
            found.setdefault(entry.name, entry)
        return found

    @property
    def shas(self) -> dict[str, str]:
        return {name: entry.sha for name, entry in self.packages.items()}

    def graph(self) -> DependencyGraph:
        """The dependency graph of the deps column (first line of each name)."""
        return DependencyGraph({name: e.deps for name, e in self.packages.items()})

    @property
    def is_current_scheme(self) -> bool:
        """True when most versions are ``g<10 hex>[+<10 hex>]`` (builds since b5927).

        A majority, not all: one mistyped version must not turn off the version checks.
        """
        current = sum(1 for e in self.entries if VERSION_RE.match(e.version))
        return 2 * current > len(self.entries)


def _syntax(path: str, line: int, message: str) -> ParseError:
    return ParseError(Diagnostic(path, line, "manifest-syntax", message))


def _parse_entry(text: str, number: int, path: str) -> ManifestEntry:
    fields = text.split()
    if len(fields) not in (3, 4):
        raise _syntax(
            path, number, f"expected `name sha1 version [deps]`, found {len(fields)} fields"
        )
    deps = tuple(fields[3].split(",")) if len(fields) == 4 else ()
    if "" in deps:
        raise _syntax(path, number, "empty name in the deps column; separate names by one `,`")
    return ManifestEntry(fields[0], fields[1], fields[2], deps, number)


def parse_manifest(text: str, path: str = "<manifest>") -> Manifest:
    """Read a manifest of any scheme; raises ParseError at the first line it cannot split.

    ``#`` lines are comments (line 1 is the header), ``BUILD=<id>`` names the build; every
    other line is ``name sha1 version [dep,dep,…]`` separated by whitespace. A UTF-8 byte
    order mark and CRLF line ends are read through (:func:`layout_problems` reports them).
    """
    text = text.removeprefix(_BOM)
    if not text.strip():
        raise _syntax(path, 1, "empty file: a manifest is the header, `BUILD=bNNNN`, the packages")
    build_id: str | None = None
    build_line = 0
    entries: list[ManifestEntry] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if line.startswith("BUILD="):
            if build_id is not None:
                raise _syntax(path, number, f"second `BUILD=` line (first on line {build_line})")
            build_id, build_line = line[len("BUILD=") :].strip(), number
        elif not line.strip():
            raise _syntax(path, number, "blank line; a manifest has one line per package")
        else:
            entries.append(_parse_entry(line, number, path))
    return Manifest(build_id, tuple(entries), build_line)


def render_manifest(manifest: Manifest) -> str:
    """The versiondb writer's text, byte for byte (DESIGN.md §5)."""
    lines = [HEADER]
    if manifest.build_id is not None:
        lines.append(f"BUILD={manifest.build_id}")
    lines.extend(str(entry) for entry in manifest.entries)
    return "\n".join(lines) + "\n"


def layout_problems(text: str, manifest: Manifest, path: str) -> list[Diagnostic]:
    """Lines of ``text`` that :func:`render_manifest` would write differently (rule
    ``manifest-format``), so a file passing this and the checks is byte-for-byte canonical.
    """
    expected = {1: HEADER}
    if manifest.build_id is not None:
        expected[manifest.build_line] = f"BUILD={manifest.build_id}"
    expected.update((entry.line, str(entry)) for entry in manifest.entries)
    problems = _encoding_problems(text, path)
    text = text.removeprefix(_BOM).replace("\r\n", "\n")
    lines = text.split("\n")
    for number, line in enumerate(lines[:-1] if lines[-1] == "" else lines, 1):
        want = expected.get(number)
        if want is None:
            message = "a line the versiondb writer never writes; remove it"
        elif line == want:
            continue
        elif number == 1:
            message = "not the versiondb header `# product  SHA1  Version` (98 characters)"
        else:
            message = (
                "spacing differs from the versiondb layout: name padded to 25, SHA-1 to "
                "40 and two spaces, version to 40, one space, the deps"
            )
        problems.append(Diagnostic(path, number, "manifest-format", message))
    if text and not text.endswith("\n"):
        problems.append(Diagnostic(path, len(lines), "manifest-format", "no newline at the end"))
    return problems


def _encoding_problems(text: str, path: str) -> list[Diagnostic]:
    """A byte order mark and CRLF line ends, each reported once: versiondb writes neither."""
    problems = []
    if text.startswith(_BOM):
        message = "the file starts with a UTF-8 byte order mark; versiondb writes none: remove it"
        problems.append(Diagnostic(path, 1, "manifest-format", message))
    if "\r\n" in text:
        line = text[: text.index("\r\n")].count("\n") + 1
        message = "CRLF line ends; versiondb writes LF only: convert the file (`dos2unix`)"
        problems.append(Diagnostic(path, line, "manifest-format", message))
    return problems


def dependency_hash(dep_shas: Mapping[str, str]) -> str:
    """First 10 hex of SHA-1 over ``"<name>\\t<sha>\\n"`` per dependency sorted by name (§5)."""
    text = "".join(f"{name}\t{dep_shas[name]}\n" for name in sorted(dep_shas))
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def eups_version_for(sha: str, dep_shas: Mapping[str, str]) -> str:
    """The EUPS version of a package (DESIGN.md §5): ``g<sha[:10]>``, then ``+<hash>`` when
    it has dependencies; ``dep_shas`` is its **transitive** dependency set, name → SHA-1.
    """
    version = f"g{sha[:10]}"
    return f"{version}+{dependency_hash(dep_shas)}" if dep_shas else version


def expected_versions(manifest: Manifest, graph: DependencyGraph) -> dict[str, str]:
    """Name → the version its SHA and its dependencies' SHAs give (raises CycleError)."""
    shas = manifest.shas
    return {
        name: eups_version_for(shas[name], {dep: shas[dep] for dep in closure})
        for name, closure in graph.closures().items()
    }


def content_hash(manifest: Manifest) -> str:
    """SHA-1 over ``"<name>\\t<sha>\\t<version>\\n"`` per line in manifest order (DMTN-106 §2.3)."""
    text = "".join(f"{e.name}\t{e.sha}\t{e.version}\n" for e in manifest.entries)
    return hashlib.sha1(text.encode()).hexdigest()


def make_manifest(build_id: str, graph: DependencyGraph, shas: Mapping[str, str]) -> Manifest:
    """A current-scheme manifest: build order, versions from SHAs, deps column as the table
    lists them minus externals (DESIGN.md §5). Raises DmReleaseError for a missing or
    malformed SHA and CycleError for a cycle.
    """
    for name in graph:
        if not SHA_RE.match(shas.get(name, "")):
            raise DmReleaseError(f"no 40-hex SHA-1 for package {name}: {shas.get(name)!r}")
    closures = graph.closures()
    entries = tuple(
        ManifestEntry(
            name,
            shas[name],
            eups_version_for(shas[name], {dep: shas[dep] for dep in closures[name]}),
            tuple(dep for dep in graph.deps(name) if dep in graph),
            number,
        )
        for number, name in enumerate(graph.build_order(), 3)
    )
    return Manifest(build_id, entries)


@dataclass(frozen=True)
class ContentDb:
    """versiondb ``content_sha.db.txt``: ``<content sha1>\\t<build id>`` lines (DESIGN.md §5).

    One content hash may name several builds (b8184 and b8245 share one since the original
    tool lost build reuse); :meth:`build_for` gives the first, the one to reuse.
    """

    records: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str, path: str = "content_sha.db.txt") -> ContentDb:
        records = []
        for number, line in enumerate(split_lines(text), 1):
            fields = line.split()
            if len(fields) != 2 or not SHA_RE.match(fields[0]) or not BUILD_ID_RE.match(fields[1]):
                raise ParseError(
                    Diagnostic(
                        path,
                        number,
                        "content-db-syntax",
                        "expected `<40-hex content sha1><TAB>b<N>`",
                    )
                )
            records.append((fields[0], fields[1]))
        return cls(tuple(records))

    def __str__(self) -> str:
        return "".join(f"{digest}\t{build}\n" for digest, build in self.records)

    @cached_property
    def _builds(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for digest, build in self.records:
            found.setdefault(digest, []).append(build)
        return {digest: tuple(builds) for digest, builds in found.items()}

    @cached_property
    def _hashes(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for digest, build in self.records:
            found.setdefault(build, []).append(digest)
        return {build: tuple(digests) for build, digests in found.items()}

    def builds_for(self, digest: str) -> tuple[str, ...]:
        """Every build id recorded for a content hash, in file order."""
        return self._builds.get(digest, ())

    def build_for(self, digest: str) -> str | None:
        """The build id to reuse for this content (the first recorded), or None."""
        return next(iter(self.builds_for(digest)), None)

    def hashes_for(self, build_id: str) -> tuple[str, ...]:
        """The content hashes recorded for a build id (normally one)."""
        return self._hashes.get(build_id, ())


#: an EUPS version as it reaches server file names (``<p>-<v>.eupspkg``,
#: ``<p>-<v>@<flavor>.tar.gz``), tag list rows and URLs: letters, digits, ``.``, ``_``,
#: ``+``, ``-``, starting with a letter or a digit (so never ``.`` nor ``..``); no ``/``,
#: ``@``, ``:``, whitespace or control character
SERVER_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
#: with a package name (at most 100 characters), a server file name stays under 255 bytes
MAX_VERSION_LENGTH = 100
_SHOWN = 60


def _shown(text: str) -> str:
    """``text`` quoted with its control characters escaped, cut to a readable length."""
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def server_name_problems(manifest: Manifest, path: str) -> list[Diagnostic]:
    """Every package name, dependency name and version of ``manifest`` (read from
    ``path``) that cannot become a distribution server's file name (rule
    ``manifest-name``): names are EUPS product names (letters, digits, ``_``, at most 100
    characters), versions :data:`SERVER_VERSION_RE` (at most 100 characters)."""
    name_rule = f"letters, digits and '_', at most {MAX_NAME_LENGTH} characters"
    version_rule = (
        "letters, digits, '.', '_', '+' and '-', starting with a letter or a digit, at most "
        f"{MAX_VERSION_LENGTH} characters"
    )
    problems = []
    for entry in manifest.entries:
        found = []
        if not is_package_name(entry.name):
            found.append(f"package name {_shown(entry.name)} is not an EUPS name: {name_rule}")
        bad_deps = [d for d in entry.deps if not is_package_name(d)]
        if bad_deps:
            shown = ", ".join(_shown(d) for d in bad_deps)
            found.append(f"dependency name {shown} is not an EUPS name: {name_rule}")
        version = entry.version
        if len(version) > MAX_VERSION_LENGTH or not SERVER_VERSION_RE.fullmatch(version):
            found.append(f"version {_shown(version)} is not an EUPS version: {version_rule}")
        problems += [Diagnostic(path, entry.line, "manifest-name", text) for text in found]
    return problems
