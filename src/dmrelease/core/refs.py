"""Ref resolution: which commit of each package a build takes (DESIGN.md §2, DMTN-106 §4.1).

Per package, the first ref of the ref list that exists wins; a name that exists as a branch
and as a tag resolves to the branch (then the tag, then a commit of that name). A package
that matches no ref of the list takes its repos.yaml ``ref``, then the default branch
(``main``). A ref list with a ref that exists in no package is refused: it is almost always
a typo, and building without it would silently produce another release.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dmrelease.core.errors import CheckFailed, Diagnostic

__all__ = [
    "RefKind",
    "RefSource",
    "RepoRefs",
    "Resolution",
    "looks_like_sha",
    "resolve_package",
    "resolve_refs",
    "unmatched_problems",
    "unmatched_refs",
]

_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


class RefKind(enum.StrEnum):
    BRANCH = "branch"
    TAG = "tag"
    COMMIT = "commit"


class RefSource(enum.StrEnum):
    """Where the winning ref came from, in the order they are tried."""

    REF_LIST = "ref-list"
    REPOS_YAML = "repos.yaml"
    DEFAULT = "default"


def looks_like_sha(ref: str) -> bool:
    """True for a (possibly abbreviated, >= 7 hex) commit name worth asking git about."""
    return bool(_SHA_RE.match(ref))


@dataclass(frozen=True)
class RepoRefs:
    """What one package's remote has: branch and tag names to commit SHAs.

    ``commits`` maps the commit-looking names of the ref list that exist in the repository
    to their full SHA (the adapter asks git; core cannot).
    """

    branches: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    commits: Mapping[str, str] = field(default_factory=dict)

    def lookup(self, ref: str) -> tuple[RefKind, str] | None:
        """The kind and SHA of ``ref`` here: branch before tag before commit (§2)."""
        if ref in self.branches:
            return RefKind.BRANCH, self.branches[ref]
        if ref in self.tags:
            return RefKind.TAG, self.tags[ref]
        if ref in self.commits:
            return RefKind.COMMIT, self.commits[ref]
        return None


@dataclass(frozen=True)
class Resolution:
    """The ref that won for one package, its kind, its commit and why it won."""

    package: str
    ref: str
    kind: RefKind
    sha: str
    source: RefSource
    reason: str

    def __str__(self) -> str:
        return f"{self.package}: {self.ref} ({self.kind}) {self.sha[:10]}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {
            "package": self.package,
            "ref": self.ref,
            "kind": str(self.kind),
            "sha": self.sha,
            "source": str(self.source),
            "reason": self.reason,
        }


def _explain(ref: str, kind: RefKind, refs: RepoRefs, why: str) -> str:
    if kind is RefKind.BRANCH and ref in refs.tags:
        return f"{why}; a tag of the same name exists, the branch wins"
    return why


def _from_ref_list(package: str, ref_list: Sequence[str], refs: RepoRefs) -> Resolution | None:
    for position, ref in enumerate(ref_list, start=1):
        found = refs.lookup(ref)
        if found is None:
            continue
        kind, sha = found
        skipped = ", ".join(ref_list[: position - 1])
        why = f"ref {position} of the list" + (f" ({skipped} not found)" if skipped else "")
        return Resolution(
            package, ref, kind, sha, RefSource.REF_LIST, _explain(ref, kind, refs, why)
        )
    return None


def _fallback(
    package: str, ref_list: Sequence[str], refs: RepoRefs, repos_ref: str | None, default: str
) -> Resolution | None:
    missed = "no ref of the list exists" if ref_list else "no ref list"
    candidates = [(repos_ref, RefSource.REPOS_YAML)] if repos_ref else []
    candidates.append((default, RefSource.DEFAULT))
    for ref, source in candidates:
        assert ref is not None
        found = refs.lookup(ref)
        if found is None:
            missed += f"; {source} ref {ref} not found"
            continue
        kind, sha = found
        label = "repos.yaml ref" if source is RefSource.REPOS_YAML else "default branch"
        why = _explain(ref, kind, refs, f"{missed}; {label}")
        return Resolution(package, ref, kind, sha, source, why)
    return None


def resolve_package(
    package: str,
    ref_list: Sequence[str],
    refs: RepoRefs,
    *,
    repos_ref: str | None = None,
    default_branch: str = "main",
) -> Resolution | None:
    """The winning ref of one package, or None when not even the default branch exists."""
    return _from_ref_list(package, ref_list, refs) or _fallback(
        package, ref_list, refs, repos_ref, default_branch
    )


def unmatched_refs(ref_list: Sequence[str], repos: Mapping[str, RepoRefs]) -> list[str]:
    """Refs of the list that exist in no package (DESIGN.md §2: such a list is refused)."""
    return [ref for ref in ref_list if all(r.lookup(ref) is None for r in repos.values())]


def unmatched_problems(
    ref_list: Sequence[str], repos: Mapping[str, RepoRefs], where: str = "<refs>"
) -> list[Diagnostic]:
    """One ``ref-unmatched`` diagnostic per ref of the list that exists in no package, its
    column the ref's 1-based position in the list (as ``ref-syntax`` counts it)."""
    missing = set(unmatched_refs(ref_list, repos))
    return [
        Diagnostic(
            where,
            1,
            "ref-unmatched",
            f"ref {ref!r} exists in none of the {len(repos)} packages",
            column=position,
            hint="check the spelling, or drop it from the ref list",
        )
        for position, ref in enumerate(ref_list, start=1)
        if ref in missing
    ]


def resolve_refs(
    ref_list: Sequence[str],
    repos: Mapping[str, RepoRefs],
    *,
    repos_refs: Mapping[str, str | None] | None = None,
    default_branch: str = "main",
) -> dict[str, Resolution]:
    """Resolve every package; raise CheckFailed naming each unmatched ref and each package
    that has none of its candidate refs (rules ``ref-unmatched``, ``ref-unresolved``)."""
    problems = unmatched_problems(ref_list, repos)
    resolved: dict[str, Resolution] = {}
    for package in sorted(repos):
        repos_ref = (repos_refs or {}).get(package)
        found = resolve_package(
            package, ref_list, repos[package], repos_ref=repos_ref, default_branch=default_branch
        )
        if found is None:
            problems.append(_unresolved(package, repos_ref, default_branch))
        else:
            resolved[package] = found
    if problems:
        raise CheckFailed(problems)
    return resolved


def _unresolved(package: str, repos_ref: str | None, default_branch: str) -> Diagnostic:
    tried = f"repos.yaml ref {repos_ref!r} nor " if repos_ref else ""
    return Diagnostic(
        package,
        1,
        "ref-unresolved",
        f"no ref of the list, {tried}default branch {default_branch!r} exists",
        hint="push the branch, or give a ref that exists in this package",
    )
