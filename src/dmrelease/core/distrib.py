"""The files of the EUPS distribution servers and the plan that writes them (DESIGN.md §6).

Texts are those EUPS 2.2.15 writes (eups/distrib/server.py ``TaggedProductList.write`` and
``Manifest.write``, eupspkg.py and tarball.py ``initServerTree``, lib/eupspkg.sh
``append_pkginfo``), with two documented differences: a tag list may carry ``#BUILD=`` and
``#CONDA_ENV=`` comment lines, and a manifest's comment block names no creator, time or
EUPS version, so that a file made again from the same build has the same bytes. EUPS's
readers skip comment lines, so they read both.

A server file is written once: :func:`plan_files` compares what is wanted with what is
there and refuses any file whose bytes differ, except those that may be replaced (tag lists
and ``index.json``); :func:`write_order` orders the writes so that a client never sees a
file naming another that is not there yet: packages, then manifests, tables and the rest,
then the indexes, tag lists last.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from dmrelease.core.errors import DmReleaseError
from dmrelease.core.manifest import Manifest
from dmrelease.core.packages import EUPS_TAG_RE
from dmrelease.core.tag_kinds import FLOATING_TAGS, InvalidName
from dmrelease.core.tags import parse_eups_tag

__all__ = [
    "BINARY_CONFIG",
    "DIRECTORY",
    "FLOATING",
    "INDEX_NAME",
    "MANIFEST_LINE_FORMAT",
    "SOURCE_CONFIG",
    "TAG_LINE_FORMAT",
    "TAG_LIST_HEADERS",
    "FileAction",
    "FilePlan",
    "PlannedFile",
    "ServerConflict",
    "ServerRow",
    "TagListRows",
    "check_server_path",
    "closure_rows",
    "eups_tag_problem",
    "floating_tags",
    "index_json",
    "is_floating",
    "is_tag_list",
    "needs_texts",
    "package_identity_problem",
    "parse_pkginfo",
    "plan_files",
    "read_tag_list",
    "render_env_file",
    "render_pkginfo",
    "render_server_manifest",
    "render_tag_list",
    "tag_list_problems",
    "tag_list_tag",
    "tarball_name",
    "write_order",
    "write_phase",
]

#: the floating tag each kind of release moves (finals only: never a candidate's), by kind
FLOATING = {str(kind): tag for kind, tag in FLOATING_TAGS.items()}
#: a tag list's row and a server manifest's row, as EUPS writes them
TAG_LINE_FORMAT = "%-20s %-10s %s"
MANIFEST_LINE_FORMAT = "%-15s %-12s %-10s %-25s %-30s %s"
#: the name of the per-directory listing for servers without directory listings
INDEX_NAME = "index.json"
#: the digest a destination gives a directory (a common prefix on object storage): never a
#: file's, so refused
DIRECTORY = "directory"

#: the header lines of a tag list that say what it was made from: a dated tag keeps them
TAG_LIST_HEADERS = ("BUILD", "CONDA_ENV")

#: config.txt of a source (eupspkg) server: eupspkg.py initServerTree
SOURCE_CONFIG = """\
# Configuration for a EupsPkg-based server
DISTRIB_CLASS = eups.distrib.eupspkg.Distrib
EUPSPKG_URL = %(base)s/products/%(path)s
LIST_URL = %(base)s/tags/%(tag)s.list
TAGLIST_DIR = tags
"""

#: config.txt of a binary (tarball) server: tarball.py initServerTree
BINARY_CONFIG = """\
# Configuration for a tarball-based server
MANIFEST_FILE_RE = ^(?P<product>[^-]+)-(?P<version>[^@]+)@(?P<flavor>.*)\\.manifest$
MANIFEST_URL = %(base)s/manifests/%(product)s-%(version)s@%(flavor)s.manifest
TARBALL_URL = %(base)s/%(path)s
DIST_URL = %(base)s/%(path)s
"""

#: EUPS writes who, when and with which EUPS version; a server file made again from the
#: same build must have the same bytes, so the creator is dm-release and the rest is left out
_MANIFEST_CREATOR = "#\n# Creator:      dm-release\n#\n"
_MANIFEST_COLUMNS = (
    "# pkg           flavor       version    tablefile                 "
    "installation_directory         installID\n"
    "#" + "-" * 105 + "\n"
)


class ServerConflict(DmReleaseError):
    """Server files that are there with other bytes and may not be replaced (exit 1)."""

    exit_code = 1

    def __init__(
        self,
        where: str,
        paths: Iterable[str],
        *,
        written: int = 0,
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        self.where = where
        self.paths = tuple(sorted(paths))
        self.written = written
        said = reasons or {}
        lines = [
            f"{where}/{path}: {said.get(path) or 'already there with other bytes'}"
            for path in self.paths
        ]
        count = len(self.paths)
        done = (
            "nothing was written" if written == 0
            else f"stopped after writing {written} new file{'s' if written != 1 else ''}"
        )  # fmt: skip
        lines.append(
            f"{count} server file{'s' if count != 1 else ''} would be rewritten; a published "
            f"file is never changed: {done}"
        )
        super().__init__("\n".join(lines))


def eups_tag_problem(name: str) -> str | None:
    """Why ``name`` cannot be an EUPS tag on a server, or None: letters, digits and ``_``
    only (EUPS ignores a tag list whose name has a ``.``)."""
    if not name:
        return "an EUPS tag cannot be empty"
    if "." in name:
        return f"{name!r}: an EUPS tag cannot contain '.' (EUPS ignores such a tag on servers)"
    if not EUPS_TAG_RE.match(name):
        return f"{name!r}: an EUPS tag has letters, digits and '_' only"
    return None


def floating_tags(eups_tag: str, *, o_latest: bool = True) -> tuple[str, ...]:
    """The floating tags that follow ``eups_tag``: ``w_latest`` for a weekly, ``d_latest``
    for a daily, ``o_latest`` for a final unless ``o_latest`` is false (the O_LATEST
    setting); none for a candidate or any other tag."""
    try:
        floating = FLOATING_TAGS.get(parse_eups_tag(eups_tag).kind)
    except InvalidName:
        return ()
    return (floating,) if floating and (o_latest or floating != "o_latest") else ()


def is_floating(tag: str) -> bool:
    """Whether ``tag`` is a floating tag (``w_latest``, ``d_latest``, ``o_latest``): its
    tag list may be replaced by any other; every other tag list is dated and kept."""
    return tag in FLOATING.values()


@dataclass(frozen=True)
class TagListRows:
    """What a tag list says: its ``#BUILD=`` / ``#CONDA_ENV=`` header values and its rows,
    product → (flavor, version)."""

    headers: Mapping[str, str]
    rows: Mapping[str, tuple[str, str]]


def read_tag_list(text: str) -> TagListRows:
    """The header values and rows of a tag list (EUPS's format; other comment lines and
    lines that are not three words are skipped, as EUPS's reader does)."""
    headers: dict[str, str] = {}
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            key, equals, value = line[1:].partition("=")
            if equals and key in TAG_LIST_HEADERS:
                headers[key] = value.strip()
            continue
        words = line.split()
        if len(words) == 3:
            rows[words[0]] = (words[1], words[2])
    return TagListRows(headers, rows)


def tag_list_problems(tag: str, there: str, wanted: str) -> list[str]:
    """Why the tag list of dated ``tag`` that is ``there`` may not become ``wanted``: a
    dated tag names a version of a product once, so every row there must stay with the
    same version (its flavor may change: EUPS's clients read ``generic`` for any); rows may
    be added (another product published under the same tag). The ``#BUILD=`` and
    ``#CONDA_ENV=`` lines there must stay too (a library's users find its build by them).
    Empty when the replacement only adds."""
    old, new = read_tag_list(there), read_tag_list(wanted)
    problems = []
    for key in TAG_LIST_HEADERS:
        if key in old.headers and new.headers.get(key) != old.headers[key]:
            now = new.headers.get(key)
            became = f"#{key}={now}" if now is not None else f"no #{key} line"
            problems.append(f"#{key}={old.headers[key]} there, {became} in this one")
    for product, (_, version) in sorted(old.rows.items()):
        if product not in new.rows:
            problems.append(f"{product} {version} there, no {product} in this one")
        elif new.rows[product][1] != version:
            problems.append(f"{product} {version} there, {new.rows[product][1]} in this one")
    return problems


def render_tag_list(
    tag: str,
    rows: Iterable[tuple[str, str, str]],
    *,
    build_id: str | None = None,
    conda_env: str | None = None,
) -> str:
    """A tag list ``<tag>.list``: EUPS's header, the optional ``#BUILD=`` and
    ``#CONDA_ENV=`` lines, then ``"%-20s %-10s %s"`` (product, flavor, version) rows sorted
    by product name."""
    lines = [f"EUPS distribution {tag} version list. Version 1.0\n"]
    if build_id is not None:
        lines.append(f"#BUILD={build_id}\n")
    if conda_env is not None:
        lines.append(f"#CONDA_ENV={conda_env}\n")
    lines.append("#product             flavor     version\n")
    lines.append("#" + "-" * 38 + "\n")
    for product, flavor, version in sorted(rows):
        lines.append(TAG_LINE_FORMAT % (product, flavor, version) + "\n")
    return "".join(lines)


@dataclass(frozen=True)
class ServerRow:
    """One line of a server manifest (EUPS's ``Dependency``)."""

    product: str
    flavor: str
    version: str
    table_file: str
    install_dir: str
    dist_id: str

    def __str__(self) -> str:
        return MANIFEST_LINE_FORMAT % (
            self.product, self.flavor, self.version, self.table_file, self.install_dir,
            self.dist_id,
        )  # fmt: skip


def check_server_path(path: str) -> None:
    """ValueError unless ``path`` is a relative, ``/``-joined server path without empty,
    ``.`` or ``..`` parts."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{path!r}: not a relative server path")


def tarball_name(product: str, version: str, flavor: str) -> str:
    """``<p>-<v>@<flavor>.tar.gz``: the dist id of the binary server's manifests."""
    return f"{product}-{version}@{flavor}.tar.gz"


def closure_rows(manifest: Manifest, product: str, *, flavor: str | None) -> list[ServerRow]:
    """The server manifest rows of ``product``: its whole dependency closure in the build
    manifest's order (deepest first), ``product`` last. ``flavor`` None: a source server row
    (``generic``, ``eupspkg:<p>-<v>.eupspkg``); else a binary one (``<p>-<v>@<flavor>.tar.gz``)."""
    entries = manifest.packages
    if product not in entries:
        raise KeyError(product)
    closure = manifest.graph().closure(product) - {product}
    names = [name for name in entries if name in closure] + [product]
    rows = []
    for name in names:
        version = entries[name].version
        if flavor is None:
            row_flavor, dist_id = "generic", f"eupspkg:{name}-{version}.eupspkg"
        else:
            row_flavor, dist_id = flavor, tarball_name(name, version, flavor)
        rows.append(
            ServerRow(name, row_flavor, version, f"{name}-{version}.table",
                      f"{name}/{version}", dist_id)
        )  # fmt: skip
    return rows


def render_server_manifest(product: str, version: str, rows: Iterable[ServerRow]) -> str:
    """A server manifest: EUPS's first line, comment block and column header (creator
    dm-release; no time or EUPS version lines, which would make each rewrite differ), then
    one line per row."""
    head = f"EUPS distribution manifest for {product} ({version}). Version 1.0\n"
    return head + _MANIFEST_CREATOR + _MANIFEST_COLUMNS + "".join(f"{row}\n" for row in rows)


def _shell_value(value: str) -> str:
    """``value`` single-quoted as eupspkg.sh writes it (a ``'`` closed, escaped, reopened)."""
    return "'" + value.replace("'", "'\\''") + "'"


def render_pkginfo(
    product: str, version: str, *, source: str, sha1: str, repository: str, repoversion: str
) -> str:
    """``ups/pkginfo`` of a source package, as ``eupspkg create`` writes it: one
    ``NAME='value'`` line each for PRODUCT, VERSION, FLAVOR (generic), SOURCE, SHA1,
    REPOSITORY and REPOVERSION."""
    fields = (
        ("PRODUCT", product), ("VERSION", version), ("FLAVOR", "generic"), ("SOURCE", source),
        ("SHA1", sha1), ("REPOSITORY", repository), ("REPOVERSION", repoversion),
    )  # fmt: skip
    return "".join(f"{name}={_shell_value(value)}\n" for name, value in fields)


def parse_pkginfo(text: str) -> dict[str, str]:
    """The fields of a ``ups/pkginfo`` as :func:`render_pkginfo` (and eupspkg.sh) write
    them, ``NAME='value'``; lines of another form are skipped."""
    fields = {}
    for line in text.splitlines():
        name, equals, value = line.partition("=")
        if equals and name.isidentifier():
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1].replace("'\\''", "'")
            fields[name] = value
    return fields


def package_identity_problem(
    fields: Mapping[str, str] | None, product: str, version: str, sha1: str
) -> str | None:
    """Why a source package on the server, whose ``ups/pkginfo`` says ``fields`` (None:
    it has none), is not ``product`` ``version`` at commit ``sha1``; None when it is (it is
    kept as first published, whatever its SOURCE)."""
    if fields is None:
        return f"not a source package of {product} {version} (no {product}-{version}/ups/pkginfo)"
    wanted = {"PRODUCT": product, "VERSION": version, "SHA1": sha1}
    differ = [
        f"{key} {fields.get(key, '(none)')!s} there, {value} in this build"
        for key, value in wanted.items()
        if fields.get(key) != value
    ]
    if differ:
        return "another package already there: its ups/pkginfo has " + "; ".join(differ)
    return None


def render_env_file(tag: str, conda_env: str | None) -> str:
    """``env/<tag>.env``: the environment the tagged build was made in, as shell lines."""
    lines = [f"EUPS_TAG={_shell_value(tag)}\n"]
    if conda_env is not None:
        lines.append(f"CONDA_ENV={_shell_value(conda_env)}\n")
    return "".join(lines)


def index_json(names: Iterable[str]) -> bytes:
    """A directory's ``index.json``: the sorted JSON array of its other names (files and
    subdirectories), never ``index.json`` itself."""
    listed = sorted({name for name in names if name != INDEX_NAME})
    return (json.dumps(listed) + "\n").encode("utf-8")


class FileAction(enum.Enum):
    ADD = "add"
    SKIP = "skip"
    REPLACE = "replace"
    REFUSE = "refuse"


@dataclass(frozen=True)
class PlannedFile:
    """What happens to one server file (``path`` relative to the server root, ``/``-joined);
    ``digest`` is the SHA-256 of the wanted bytes."""

    path: str
    action: FileAction
    digest: str
    reason: str


@dataclass(frozen=True)
class FilePlan:
    files: tuple[PlannedFile, ...]

    @cached_property
    def conflicts(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.action is FileAction.REFUSE)

    @cached_property
    def counts(self) -> dict[FileAction, int]:
        found = dict.fromkeys(FileAction, 0)
        for planned in self.files:
            found[planned.action] += 1
        return found


def plan_files(
    wanted: Mapping[str, str],
    existing: Mapping[str, str | None],
    replaceable: Callable[[str], bool],
    *,
    texts: Mapping[str, tuple[str, str]] | None = None,
) -> FilePlan:
    """Each wanted file (path → digest) against what is there (path → digest, None or
    missing when absent): ADD when absent, SKIP when the same, REPLACE when other bytes and
    ``replaceable(path)``, else REFUSE. Sorted by path.

    A dated tag list (any ``<tag>.list`` but a floating tag's) is replaced only when
    :func:`tag_list_problems` finds none between the text there and the one wanted
    (``texts``: path → (there, wanted)); without its texts it is refused. A floating tag's
    list follows ``replaceable`` alone."""
    files = []
    for path in sorted(wanted):
        digest = wanted[path]
        there = existing.get(path)
        tag = tag_list_tag(path)
        if there is None:
            files.append(PlannedFile(path, FileAction.ADD, digest, "new"))
        elif there == digest:
            files.append(PlannedFile(path, FileAction.SKIP, digest, "same bytes"))
        elif not replaceable(path):
            files.append(PlannedFile(path, FileAction.REFUSE, digest, "other bytes"))
        elif tag is None or is_floating(tag):
            files.append(PlannedFile(path, FileAction.REPLACE, digest, "other bytes, replaceable"))
        else:
            pair = (texts or {}).get(path)
            problems = ["its text could not be compared"] if pair is None else (
                tag_list_problems(tag, *pair)
            )  # fmt: skip
            if problems:
                reason = (
                    f"tag {tag} is published already: "
                    + "; ".join(problems)
                    + f" (a dated tag is never moved; only {', '.join(FLOATING.values())} are)"
                )
                files.append(PlannedFile(path, FileAction.REFUSE, digest, reason))
            else:
                files.append(PlannedFile(path, FileAction.REPLACE, digest, "rows added"))
    return FilePlan(tuple(files))


def tag_list_tag(path: str) -> str | None:
    """The tag of a tag list's path (``tags/w_2025_24.list`` → ``w_2025_24``), else None."""
    name = path.rpartition("/")[2]
    return name[: -len(".list")] if name.endswith(".list") and len(name) > 5 else None


def needs_texts(path: str) -> bool:
    """Whether :func:`plan_files` needs the texts of ``path`` to judge a replacement: a
    dated tag list."""
    tag = tag_list_tag(path)
    return tag is not None and not is_floating(tag)


def is_tag_list(path: str) -> bool:
    """Whether ``path`` is a tag list (``<tag>.list``): the only files a publish or a
    tarball run may replace with other bytes (an ``index.json`` is the server tree's own)."""
    return path.endswith(".list")


def write_phase(path: str) -> int:
    """Which group of :func:`write_order` a server file belongs to: 0 packages and
    tarballs, 1 manifests, tables, env files and config.txt, 2 index.json, 3 tag lists,
    4 the index.json of the directories holding tag lists (a binary server's root, a
    source server's tags/) and the root's: an index never names a tag list not there yet.
    The files of one group may be written in any order (or at once)."""
    name = path.rsplit("/", 1)[-1]
    if is_tag_list(path):
        return 3
    if name == INDEX_NAME:
        return 4 if path in _LATE_INDEXES else 2
    if name.endswith((".eupspkg", ".tar.gz")):
        return 0
    return 1


#: the indexes written after the tag lists (see :func:`write_phase`)
_LATE_INDEXES = (INDEX_NAME, f"tags/{INDEX_NAME}")


def write_order(plan: FilePlan) -> list[PlannedFile]:
    """The files to write (ADD, REPLACE) in the order that keeps a server consistent at
    every moment: packages and tarballs, then manifests, tables, env files and config.txt,
    then index.json files (deepest directory first), tag lists, and last the indexes
    naming them (tags/ then the root)."""
    writes = [f for f in plan.files if f.action in (FileAction.ADD, FileAction.REPLACE)]
    return sorted(writes, key=lambda f: (write_phase(f.path), -f.path.count("/"), f.path))
