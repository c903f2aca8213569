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
why the guard exists (pre-commit-hooks/README.md). The rule is
:mod:`dmrelease.core.pushed_tags`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from dmrelease.core.pushed_tags import PushedRef, parse_pushed_refs, pushed_tag_diagnostics
from dmrelease.core.user_regex import BadRegex, compile_user_regex
from dmrelease.hooks._common import HookParser, run_check

PUSHED_REFS_VARIABLE = "DM_RELEASE_PUSHED_REFS"
#: what this hook reads from the environment besides the credentials (its --help lists it)
ENVIRONMENT = (
    ((PUSHED_REFS_VARIABLE,), "git's pre-push lines when stdin has none: set by the "
     "dm-release-pre-push guard"),
    (("PRE_COMMIT_REMOTE_BRANCH",), "else the one pushed ref, named by pre-commit at pre-push"),
    (("PRE_COMMIT_LOCAL_BRANCH",), "the local ref pushed to it (default: the same name)"),
)  # fmt: skip


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
    parser = HookParser(
        prog="check-pushed-tags",
        variables=ENVIRONMENT,
        description="Check that every pushed tag is a canonical DM release name: a final "
        "M.n.p (29.1.0), a release candidate vM.n.p.rcN (v29.1.0.rc1) or a weekly w.YYYY.WW "
        "(w.2025.24), with no zero padding. Reads git's pre-push lines from stdin, else from "
        "DM_RELEASE_PUSHED_REFS (set by the dm-release-pre-push guard); deleted tags are not "
        "checked.",
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
