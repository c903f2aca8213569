"""The release numbers users copy name one release: the ``rev:`` of the hooks README's
examples, the tag of the install commands (README and hooks README), ``dmrelease.__version__``
and the newest version of CHANGELOG.md. dm-release is on no package index, so no text may
suggest installing it by name from one.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import dmrelease

ROOT = Path(__file__).resolve().parents[1]

VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
HOOKS_README = (ROOT / "pre-commit-hooks" / "README.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
#: "## [0.11.0] - 2026-12-01" (Keep a Changelog); "## [Unreleased]" has no version
RELEASE_HEADING = re.compile(r"^## \[([^\]]+)\](?: - ([0-9]{4}-[0-9]{2}-[0-9]{2}))?", re.M)


def changelog_releases() -> list[tuple[str, str | None]]:
    """(version, date) of every release heading of CHANGELOG.md, newest first."""
    return [(m[1], m[2]) for m in RELEASE_HEADING.finditer(CHANGELOG) if m[1] != "Unreleased"]


def test_version_is_semantic_and_the_changelog_newest() -> None:
    assert VERSION.fullmatch(dmrelease.__version__)
    releases = changelog_releases()
    newest, _ = releases[0]
    assert newest == dmrelease.__version__
    for version, date in releases:  # each heading carries a real date (ISO 8601)
        assert datetime.date.fromisoformat(date).isoformat() == date, version


def test_changelog_lists_each_release_once_newest_first() -> None:
    versions = [tuple(map(int, v.split("."))) for v, _ in changelog_releases()]
    assert len(versions) >= 2
    assert versions == sorted(set(versions), reverse=True)
    dates = [date for _, date in changelog_releases()]
    assert dates == sorted(dates, reverse=True)


def test_hooks_readme_pins_the_current_release() -> None:
    revs = re.findall(r"^\s*rev:\s*(\S+)\s*$", HOOKS_README, re.M)
    assert len(revs) == 2  # the package and the metapackage examples
    assert set(revs) == {f"v{dmrelease.__version__}"}


def test_no_install_from_an_index_that_does_not_have_it() -> None:
    """dm-release is on no package index: every install names the git URL at the tag."""
    for text in (README, HOOKS_README):
        assert not re.search(r"pip install\s+dm-release\b", text)
        assert not re.search(r"(?:pipx|uv tool) install\s+dm-release\b", text)


def test_install_commands_name_the_current_tag() -> None:
    tags = re.findall(r"git\+https://[^\s\"'`@]+@(\S+?)[\"'`\s]", README + HOOKS_README)
    assert len(tags) >= 4  # pipx, uv tool, pip in a venv, the hooks README's one-shot guard
    assert set(tags) == {f"v{dmrelease.__version__}"}
