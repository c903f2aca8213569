"""check-pushed-tags: every pushed tag is a canonical DM release name (DESIGN.md §3).

Allowed git tags: finals ``29.1.0``, candidates ``v29.1.0.rc1`` and weeklies ``w.2025.24``,
with no zero padding; ``v29.1.0`` only with ``--external``. Dailies are EUPS tags only and
build ids versiondb tags (``--allow '^b[0-9]+$'`` there). Names matching an ``--allow``
regex are not checked; deleted tags are not checked.

The pushed refs are git's pre-push lines ``<local ref> <local sha> <remote ref> <remote
sha>``, read from stdin (as a plain git hook), else from ``DM_RELEASE_PUSHED_REFS`` (set by
the ``dm-release-pre-push`` guard, because pre-commit gives hooks no stdin), else the one
ref pre-commit reports in ``PRE_COMMIT_REMOTE_BRANCH``. pre-commit runs no pre-push hook at
all when the remote already has every pushed commit — a tag on a pushed commit — which is
why the guard exists (pre-commit-hooks/README.md).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from dmrelease.core.errors import Diagnostic
from dmrelease.core.names import InvalidName, Kind, classify, parse_tag
from dmrelease.core.user_regex import BadRegex, compile_user_regex
from dmrelease.hooks._common import run_check

ZERO_SHA = "0" * 40
TAG_PREFIX = "refs/tags/"
PUSHED_REFS_VARIABLE = "DM_RELEASE_PUSHED_REFS"
#: the FILE of diagnostics: git's pre-push ref list, LINE its line
SOURCE = "<pre-push>"
_GIT_TAG_KINDS = frozenset({Kind.FINAL, Kind.RC, Kind.WEEKLY})
_NOT_GIT_TAGS = {
    Kind.DAILY: "a daily is an EUPS tag only, never a git tag",
    Kind.BUILD: "a build id tags versiondb only (there, use --allow '^b[0-9]+$')",
}


@dataclass(frozen=True)
class PushedRef:
    """One line of git's pre-push input; ``line`` is its 1-based position."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str
    line: int

    @property
    def deleted(self) -> bool:
        return self.local_sha == ZERO_SHA


def parse_pushed_refs(text: str) -> list[PushedRef]:
    """git's pre-push lines (githooks(5)), split from the right: ref names may hold spaces."""
    refs = []
    for number, line in enumerate(text.split("\n"), start=1):  # git ends lines with LF
        parts = line.rsplit(maxsplit=3)
        if len(parts) == 4:
            local_ref, local_sha, remote_ref, remote_sha = parts
            refs.append(PushedRef(local_ref, local_sha, remote_ref, remote_sha, number))
    return refs


def tag_problem(name: str, *, external: bool = False) -> tuple[str, str] | None:
    """(rule, message) when ``name`` may not be a git tag, else None."""
    try:
        parse_tag(name, external=external)
        kind = classify(name, external=external)
    except InvalidName as exc:
        return exc.diagnostic.rule, f"tag {name!r}: {exc.reason}"
    if kind in _GIT_TAG_KINDS:
        return None
    return "tag-kind", f"tag {name!r}: {_NOT_GIT_TAGS.get(kind, 'not a release tag')}"


def pushed_tag_diagnostics(
    refs: Sequence[PushedRef],
    *,
    external: bool = False,
    allow: Sequence[re.Pattern[str]] = (),
    source: str = SOURCE,
) -> list[Diagnostic]:
    """A diagnostic for each pushed tag that is not a canonical name."""
    found = []
    for ref in refs:
        name = ref.remote_ref.removeprefix(TAG_PREFIX)
        if ref.deleted or name == ref.remote_ref or any(r.fullmatch(name) for r in allow):
            continue
        problem = tag_problem(name, external=external)
        if problem is not None:
            hint = f"delete it with `git tag -d {name}`, tag the canonical name and push that"
            found.append(Diagnostic(source, ref.line, problem[0], problem[1], hint=hint))
    return found


def _pushed_refs() -> list[PushedRef]:
    """The refs being pushed (see the module docstring for where they are read from)."""
    text = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if text.strip():
        return parse_pushed_refs(text)
    text = os.environ.get(PUSHED_REFS_VARIABLE, "")
    if text.strip():
        return parse_pushed_refs(text)
    remote_ref = os.environ.get("PRE_COMMIT_REMOTE_BRANCH", "")
    local_ref = os.environ.get("PRE_COMMIT_LOCAL_BRANCH", remote_ref)
    if remote_ref:
        # pre-commit reports only refs that push new commits, never a deletion
        return [PushedRef(local_ref, "-", remote_ref, "-", 1)]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="check-pushed-tags",
        description="Check that every pushed tag is a canonical DM release name.",
    )
    parser.add_argument(
        "--external", action="store_true", help="an external repo: allow finals spelled vM.n.p"
    )
    parser.add_argument(
        "--allow", action="append", default=[], metavar="REGEX", help="do not check these names"
    )
    parser.add_argument("remote", nargs="*", help="git's pre-push arguments (ignored)")
    args = parser.parse_args(argv)
    try:
        allow = [compile_user_regex(regex) for regex in args.allow]
    except BadRegex as exc:
        parser.error(f"--allow {exc.text!r}: {exc.reason}")
    refs = _pushed_refs()
    return run_check(
        parser.prog, lambda: pushed_tag_diagnostics(refs, external=args.external, allow=allow)
    )


if __name__ == "__main__":
    raise SystemExit(main())
