"""What the release rules know about the world, gathered by the release stage.

The rules (:mod:`dmrelease.core.rules`) are pure: the stage reads every remote (tags,
branches), answers the ancestry questions the rules ask with ``git merge-base
--is-ancestor``, reads the release lock, and hands all of it in as :class:`Facts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dmrelease.core.errors import Diagnostic
from dmrelease.core.journal import Lock
from dmrelease.core.names import InvalidName, parse_tag

__all__ = [
    "Ancestry",
    "Facts",
    "RepoFacts",
    "all_tags",
    "diagnostic",
    "facts_from_remote",
    "parse_or_none",
]

#: (ancestor SHA, descendant SHA): answered by ``git merge-base --is-ancestor``
Ancestry = tuple[str, str]


@dataclass(frozen=True)
class RepoFacts:
    """One package's remote: tag → commit SHA (peeled), branch → SHA."""

    tags: Mapping[str, str] = field(default_factory=dict)
    branches: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """Everything the rules need to know about the world, gathered by the stage.

    ``ancestry`` answers the questions :func:`ancestry_questions` asks, per package;
    ``manifest_checksums`` maps release tags to the manifest checksum their tag message
    carries; ``lock`` is the product's release lock, if held.
    """

    repos: Mapping[str, RepoFacts]
    ancestry: Mapping[str, Mapping[Ancestry, bool]] = field(default_factory=dict)
    manifest_checksums: Mapping[str, str] = field(default_factory=dict)
    lock: Lock | None = None

    def repo(self, package: str) -> RepoFacts:
        return self.repos.get(package, RepoFacts())

    def descends(self, package: str, ancestor: str, sha: str) -> bool:
        """True when ``sha`` is ``ancestor`` or a descendant of it (unknown counts as no)."""
        return ancestor == sha or self.ancestry.get(package, {}).get((ancestor, sha), False)


def diagnostic(where: str, rule: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(where, 1, rule, message, hint=hint)


def parse_or_none(text: str) -> object | None:
    try:
        return parse_tag(text)
    except InvalidName:
        return None


def all_tags(facts: Facts) -> set[str]:
    return {tag for repo in facts.repos.values() for tag in repo.tags}


def facts_from_remote(refs: Mapping[str, str]) -> RepoFacts:
    """RepoFacts from ``git ls-remote --heads --tags`` (full ref name → object; an
    annotated tag's ``^{}`` line gives the commit it points at, which is what counts)."""
    tags: dict[str, str] = {}
    branches: dict[str, str] = {}
    for name, sha in refs.items():
        if name.startswith("refs/heads/"):
            branches[name.removeprefix("refs/heads/")] = sha
        elif name.startswith("refs/tags/") and not name.endswith("^{}"):
            tags[name.removeprefix("refs/tags/")] = refs.get(f"{name}^{{}}", sha)
    return RepoFacts(tags, branches)
