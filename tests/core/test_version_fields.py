"""core/version_fields: which version fields are read (moved from the check-version-strings
hook's tests, issue 9 §5)."""

from __future__ import annotations

from dmrelease.core.version_fields import version_fields


def test_only_the_metadata_tables_are_read() -> None:
    text = '[tool.x]\nversion = "a"\n[project]\nversion = "1.0"\n'
    assert list(version_fields("pyproject.toml", text)) == [(4, 12, "1.0", True)]
