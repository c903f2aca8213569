"""Requests: what one command was asked to do, parsed once at the edge (STYLE.md habit 14).

:class:`Config` holds settings (paths, servers, git, build command); a request holds the
values of one run: the products, the ordered ref list, the release tag. The command builds
one frozen request from the loaded options and hands it down; no stage rewrites it.

A ref list is validated where it enters: every ref must be a name git reads as a ref (git's
ref-name rules, :func:`dmrelease.core.refnames.ref_name_problem`), never one it would read as
an option (a leading ``-``), and no ref may be given twice. Each bad ref is one ``ref-syntax``
diagnostic whose column is the ref's 1-based position in the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

from dmrelease.core.errors import CheckFailed, Diagnostic
from dmrelease.core.refnames import ref_name_problem

if TYPE_CHECKING:  # annotations only: every command loads the settings, which import
    import datetime as dt
    from pathlib import Path

    from dmrelease.core.plan import Session  # this module, so it loads no tag parser
    from dmrelease.core.tags import Daily, Tag

__all__ = [
    "BackportRequest",
    "BuildRequest",
    "DockerRequest",
    "FixVersionRequest",
    "JoinRequest",
    "NightlyRequest",
    "NotesRequest",
    "PublishRequest",
    "RefList",
    "ReleaseRequest",
    "TarballRequest",
    "ValidationRequest",
    "bad_refs",
    "parse_ref_list",
    "ref_list_problems",
]

_HINT = "give git branch or tag names (or commit SHAs), each once, in order of preference"


@dataclass(frozen=True)
class RefList:
    """An ordered list of git refs, validated by :func:`parse_ref_list`; per package the
    first ref that exists wins (DESIGN.md §2). Behaves like a tuple of its refs."""

    refs: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[str]:
        return iter(self.refs)

    def __len__(self) -> int:
        return len(self.refs)

    def __bool__(self) -> bool:
        return bool(self.refs)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self.refs[index]

    def __str__(self) -> str:
        return " ".join(self.refs)

    def drop_first(self) -> RefList:
        """The list without its first ref (a release's default refs after its branch)."""
        return RefList(self.refs[1:])


def bad_refs(words: Iterable[str]) -> list[tuple[int, str, str]]:
    """(1-based position, ref, why) of each ref of ``words`` that cannot be in a ref list."""
    bad: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for column, ref in enumerate(words, start=1):
        reason = ref_name_problem(ref)
        if reason is None and ref in seen:
            reason = f"given twice (first at position {seen[ref]})"
        if reason is not None:
            bad.append((column, ref, reason))
        seen.setdefault(ref, column)
    return bad


def ref_list_problems(words: Iterable[str], where: str = "<refs>") -> list[Diagnostic]:
    """One ``ref-syntax`` diagnostic per bad ref of ``words``, at its 1-based position."""
    return [
        Diagnostic(where, 1, "ref-syntax", f"{ref!r} is not a git ref: {why}", column, _HINT)
        for column, ref, why in bad_refs(words)
    ]


def parse_ref_list(words: Iterable[str], where: str = "<refs>") -> RefList:
    """The validated :class:`RefList` of ``words``; CheckFailed with every bad ref."""
    refs = tuple(words)
    problems = ref_list_problems(refs, where)
    if problems:
        raise CheckFailed(problems)
    return RefList(refs)


@dataclass(frozen=True)
class BuildRequest:
    """One rebuild: the products (empty: every configured one) from the first ref of
    ``refs`` each package has, optionally declared under ``eups_tag``."""

    products: tuple[str, ...] = ()
    refs: RefList = RefList()
    eups_tag: str | None = None
    prepare_only: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class ReleaseRequest:
    """One release session for ``tag`` (parsed: ``str(tag)`` is the git tag name).

    ``refs`` as given (empty: the session's default, computed by the stage); ``packages``
    limits a backport; ``build`` is False for ``--no-build``. The change control of an rc1
    and a patch (DMTN-106 §3, §4.4): ``release_issue`` (``DM-N``), the ``waivers`` of its
    open blockers (``(DM-N, why)``), the product owner who ``approved_by`` it, a patch's
    ``rfc`` (``RFC-N``).
    """

    session: Session
    tag: Tag
    product: str | None = None
    refs: RefList = RefList()
    packages: tuple[str, ...] = ()
    dry_run: bool = False
    break_lock: bool = False
    build: bool = True
    release_issue: str | None = None
    waivers: tuple[tuple[str, str], ...] = ()
    approved_by: str | None = None
    rfc: str | None = None


@dataclass(frozen=True)
class BackportRequest:
    """One backport: ``ticket`` (``DM-N``) onto ``release_branch`` (``vM.n.x``, checked
    against the product's pattern by the stage) in ``packages``; ``merge`` also
    fast-forwards the release branch."""

    ticket: str
    release_branch: str
    packages: tuple[str, ...]
    product: str | None = None
    merge: bool = False
    dry_run: bool = False
    break_lock: bool = False


@dataclass(frozen=True)
class PublishRequest:
    """One publish of build ``build_id`` (None: the last in versiondb) to the source server
    under EUPS tag ``eups_tag`` (and the ``floating`` tags, e.g. ``w_latest``), its packages'
    sources by ``source`` (``git``: cloned at install; ``package``: embedded). ``server_dir``
    overrides the configured destination."""

    eups_tag: str
    build_id: str | None = None
    products: tuple[str, ...] = ()
    source: str = "git"
    floating: tuple[str, ...] = ()
    server_dir: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class TarballRequest:
    """One pack of build ``build_id`` (None: the last) from the stack onto the binary server
    for ``flavor`` (None: the configured one) under ``eups_tag`` and the ``floating`` tags."""

    eups_tag: str
    build_id: str | None = None
    products: tuple[str, ...] = ()
    flavor: str | None = None
    floating: tuple[str, ...] = ()
    server_dir: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class NightlyRequest:
    """One nightly (issue 12 §6): ``products`` (every configured one when empty) rebuilt
    from the default branch, declared and published under ``daily``'s EUPS tag
    (``d_YYYY_MM_DD``, the date given at the edge) and ``d_latest``; no git tag."""

    daily: Daily
    products: tuple[str, ...] = ()
    dry_run: bool = False


@dataclass(frozen=True)
class DockerRequest:
    """One distribution image of ``eups_tag`` (its tag list on the binary server), built
    at ``when`` (UTC, read at the edge: the dated tag) with ``products`` installed (empty:
    the configured products), tagged also with the ``floating`` tags the release kind
    allows and the ``extra`` ones (DOCKER_TAGS), for ``platforms`` (empty: the configured
    ones, else this machine's). ``build_id`` (MANIFEST_ID) must be the tag list's when
    given. ``per_platform``: push only each platform's ``<prefix>-<tag>_<arch>`` for a later
    join; ``results``: where results.json goes (None: the output dir)."""

    eups_tag: str
    when: dt.datetime
    products: tuple[str, ...] = ()
    build_id: str | None = None
    floating: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    no_push: bool = False
    per_platform: bool = False
    results: Path | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class JoinRequest:
    """One join of per-platform images (the results.json of each platform's run) into one
    manifest list under the image's tags."""

    results: tuple[Path, ...]
    output: Path | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class NotesRequest:
    """The release notes of ``product`` (None: the only configured one) between two
    releases or builds: ``since`` and ``until`` name a release (``29.0.0``,
    ``v29.1.0.rc2``: its annotated tag's build) or a build id (``b1234``); ``since`` None:
    the previous final release of the product, else its first build. ``since_manifest`` and
    ``until_manifest`` (both or neither) give the two manifests as files instead.
    ``narrative`` and ``overrides`` are human-written files; ``release_issue`` adds its
    blockers; ``jira`` False: Jira is not asked even when configured."""

    product: str | None
    since: str | None
    until: str
    since_manifest: Path | None = None
    until_manifest: Path | None = None
    narrative: Path | None = None
    overrides: Path | None = None
    release_issue: str | None = None
    jira: bool = True
    template: Path | None = None


@dataclass(frozen=True)
class ValidationRequest:
    """Candidate validation of a release (``release validate --install``): install it,
    inspect it, run its demo; the summary is also written to ``summary_dir`` when given."""

    summary_dir: Path | None = None


@dataclass(frozen=True)
class FixVersionRequest:
    """The Fix Version of the final ``release`` (``29.1.0``) on every Jira issue of its
    release notes (``product`` None: the only configured one; ``release_issue`` adds its
    blockers)."""

    release: str
    product: str | None = None
    release_issue: str | None = None
    dry_run: bool = False
