"""Library products at their release: the tag list from the binary server, the build's
manifest from versiondb (core/libraries.py judges them).

``<server>/<tag>.list`` is fetched like a tarball (adapters/binaries.py: the same session
and token, the download size and time limits, every message redacted); its
``#BUILD=bNNNN`` line names the library's build in the versiondb the product shares, whose
``manifests/bNNNN.txt`` gives each library package's SHA-1, version and dependencies.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from dmrelease.core.config import Config, LibraryConfig
from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError, UsageError
from dmrelease.core.libraries import Library, parse_tag_list, resolve_library
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import Manifest, parse_manifest
from dmrelease.core.redact import redact

if TYPE_CHECKING:
    from dmrelease.adapters.binaries import BinaryServer, BinaryServerError

__all__ = [
    "LibraryServerUnreachable",
    "LibraryUnavailable",
    "binary_server_at",
    "fetch_tag_list",
    "library_server",
    "resolve_libraries",
    "server_url",
]

#: a tag list is a line per package: far below any tarball's limit
TAG_LIST_MAX_BYTES = 16 << 20


class LibraryUnavailable(DmReleaseError):
    """A library's release cannot be read (its tag list, its build)."""


class LibraryServerUnreachable(UsageError):
    """A library's binary server does not answer (exit 2: the environment, not the
    release, is wrong)."""


def server_url(config: Config, library: LibraryConfig) -> str:
    """The binary server of ``library``: its own ``server``, else ``servers.binary``."""
    url = library.server or config.binary_server
    if not url:
        raise UsageError(
            f"library {library.name}: no binary server: set server in [libraries."
            f"{library.name}] or servers.binary (DM_RELEASE_BINARY_SERVER)"
        )
    return url


def library_server(config: Config, library: LibraryConfig) -> BinaryServer:
    """The binary server ``library`` is installed from, with the binary fetch's session,
    token and limits."""
    return binary_server_at(config, server_url(config, library))


def binary_server_at(config: Config, url: str) -> BinaryServer:
    """The binary server at ``url`` with the binary fetch's session, token and limits."""
    from dmrelease.adapters.binaries import BinaryServer, http_session

    return BinaryServer(
        url, config.flavor, http_session(config.binary_token),
        max_bytes=config.download_max_bytes, deadline=float(config.download_deadline),
        unpack_max_bytes=config.unpack_max_bytes,
    )  # fmt: skip


def fetch_tag_list(server: BinaryServer, tag: str, *, what: str) -> tuple[str, str]:
    """The text of ``<tag>.list`` on ``server`` and its URL (redacted, for messages),
    fetched like a tarball (the session, token and deadline of the binary fetch) but
    capped at :data:`TAG_LIST_MAX_BYTES`; ``what`` begins each message. BinaryServerError
    (its ``status``, ``unreachable``) when it cannot be fetched: the caller says what
    that means for it."""
    name = f"{tag}.list"
    where = redact(f"{server.base_url.rstrip('/')}/{name}")
    limited = server if server.max_bytes <= TAG_LIST_MAX_BYTES else _capped(server)
    work = Path(tempfile.mkdtemp(prefix=".dm-release-tag-list-"))
    try:
        target = work / name
        limited.download(name, target, what=what)
        return decode_text(target.read_bytes(), where), where
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _tag_list_text(server: BinaryServer, library: LibraryConfig) -> tuple[str, str]:
    """The library's tag list's text and its URL (redacted) for messages."""
    from dmrelease.adapters.binaries import BinaryServerError

    try:
        return fetch_tag_list(server, library.tag, what=f"library {library.name}")
    except BinaryServerError as exc:
        where = redact(f"{server.base_url.rstrip('/')}/{library.tag}.list")
        raise _unavailable(exc, library, where) from None


def _unavailable(exc: BinaryServerError, library: LibraryConfig, where: str) -> DmReleaseError:
    """Why the tag list could not be fetched: no answer (exit 2, the URL alone), not there
    (404: is the library released at that tag?), or another answer or a bad download."""
    if exc.unreachable:
        return LibraryServerUnreachable(f"library {library.name}: cannot reach {where}")
    if exc.status in (404, 410):
        return LibraryUnavailable(
            f"{exc}\n  the tag list of {library.tag} on the binary server names the "
            f"library's build: is {library.name} released at {library.tag} there?"
        )
    return LibraryUnavailable(str(exc))


def _capped(server: BinaryServer) -> BinaryServer:
    import dataclasses

    return dataclasses.replace(server, max_bytes=TAG_LIST_MAX_BYTES)


def resolve_libraries(config: Config, names: Iterable[str]) -> tuple[Library, ...]:
    """Each library of ``names`` (configured: the loader checked it) at its tag: its tag
    list read from its server, the build it names read from versiondb, both checked to
    agree. CheckFailed with every problem (core/libraries), LibraryUnavailable when the
    tag list cannot be fetched or versiondb lacks the build."""
    from dmrelease.adapters.versiondb import VersionDb

    by_name = {library.name: library for library in config.libraries}
    wanted = [by_name[name] for name in dict.fromkeys(names)]
    if not wanted:
        return ()
    # without a remote, a versiondb that is not there holds no build: none is created
    local = config.versiondb_remote is None and not (config.versiondb / ".git").is_dir()
    versiondb = None if local else VersionDb.of(config)
    found: list[Library] = []
    problems: list[Diagnostic] = []
    for library in wanted:
        text, where = _tag_list_text(library_server(config, library), library)
        tag_list = parse_tag_list(text, library.tag, where)
        build = tag_list.build_id
        if build is None:
            manifest = Manifest(None, ())  # resolve_library says why it cannot be used
        else:
            recorded = versiondb.build_manifest(build) if versiondb else None
            if recorded is None:
                raise LibraryUnavailable(
                    f"library {library.name}: {where} names build {build}, which versiondb "
                    f"{config.versiondb} does not hold (manifests/{build}.txt): the library "
                    "and its products share one versiondb (paths.versiondb, "
                    "paths.versiondb_remote)"
                )
            path = str(config.versiondb / "manifests" / f"{build}.txt")
            manifest = parse_manifest(recorded, path)
        try:
            found.append(resolve_library(library.name, tag_list, manifest, where))
        except CheckFailed as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise CheckFailed(problems)
    return tuple(found)
