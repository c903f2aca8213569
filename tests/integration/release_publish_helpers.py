"""Shared setup of the tests of the release sessions' and the nightly's publish: the
release tests' product with local server directories, and readers of what they hold."""

from __future__ import annotations

import tarfile
from pathlib import Path

from release_helpers import Setup, make_setup

from dmrelease.core.manifest import parse_manifest


def publishing(root: Path, *, binary: bool = True) -> Setup:
    """The release tests' product with a source server (and a binary server) directory."""
    setup = make_setup(root)
    servers = 'source_server = "srv/src"\n' + ('binary_server = "srv/bin"\n' if binary else "")
    text = setup.config.read_text().replace('stack = "stack"\n', f'stack = "stack"\n{servers}')
    setup.config.write_text(text)
    return setup


def source(setup: Setup) -> Path:
    return setup.root / "srv" / "src"


def binary(setup: Setup) -> Path:
    return setup.root / "srv" / "bin"


def versions(setup: Setup, build: str) -> dict[str, str]:
    """Package -> EUPS version of versiondb's build ``build``."""
    path = setup.root / "versiondb" / "manifests" / f"{build}.txt"
    manifest = parse_manifest(path.read_text(), str(path))
    return {entry.name: entry.version for entry in manifest.entries}


def tag_list(tag: str, build: str, flavor: str, found: dict[str, str]) -> str:
    """A tag list as the EUPS client reads it (its products sorted by name)."""
    rows = "".join(f"{name:<20} {flavor:<10} {found[name]}\n" for name in sorted(found))
    return (
        f"EUPS distribution {tag} version list. Version 1.0\n#BUILD={build}\n"
        f"#product             flavor     version\n#{'-' * 38}\n{rows}"
    )


def pkginfo(setup: Setup, name: str, version: str) -> dict[str, str]:
    """The ``ups/pkginfo`` of a published source package, as KEY -> value."""
    path = source(setup) / "products" / f"{name}-{version}.eupspkg"
    with tarfile.open(path) as archive:
        member = archive.extractfile(f"{name}-{version}/ups/pkginfo")
        assert member is not None
        text = member.read().decode()
    return dict(line.split("=", 1) for line in text.splitlines())


def tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``root``: its inode, mtime and bytes (a rewrite changes one)."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
