"""Verify versiondb manifest files: read them, run the core checks, count (DESIGN.md §5).

The checks are :func:`dmrelease.core.manifest_verify.verify_manifest` plus the byte-for-byte
layout (:func:`dmrelease.core.manifest.layout_problems`); this module only reads files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dmrelease.core.errors import Diagnostic, ParseError, UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import ContentDb, layout_problems, parse_manifest
from dmrelease.core.manifest_verify import verify_manifest

__all__ = ["VerifyReport", "verify_files"]


@dataclass(frozen=True)
class VerifyReport:
    """What ``manifest verify`` found: every problem, and how much was checked."""

    diagnostics: tuple[Diagnostic, ...]
    manifests: int
    packages: int

    def __str__(self) -> str:
        return (
            f"verified {self.manifests} manifests, {self.packages} packages, "
            f"{len(self.diagnostics)} problems"
        )


def _read(path: Path) -> bytes:
    """The bytes as they are on disk: no newline translation, so CRLF lines can be reported."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def verify_files(manifests: Sequence[Path], content_db: Path | None = None) -> VerifyReport:
    """Check each manifest file; raises UsageError (exit 2) before checking anything if a
    file cannot be read, ParseError if the content db is malformed."""
    db = None
    if content_db:
        db = ContentDb.parse(decode_text(_read(content_db), str(content_db)), str(content_db))
    texts = [(str(path), _read(path)) for path in manifests]
    diagnostics: list[Diagnostic] = []
    packages = 0
    for name, data in texts:
        try:
            text = decode_text(data, name)  # not UTF-8 or too large: a problem of the file
            manifest = parse_manifest(text, name)
        except ParseError as exc:
            diagnostics.append(exc.diagnostic)
            continue
        packages += len(manifest.entries)
        found = verify_manifest(manifest, name, db) + layout_problems(text, manifest, name)
        diagnostics.extend(sorted(found, key=lambda d: d.line))
    return VerifyReport(tuple(diagnostics), len(texts), packages)
