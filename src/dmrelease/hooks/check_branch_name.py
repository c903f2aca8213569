"""check-branch-name: only DM branch names, no direct commits to a release branch (DMTN-106).

Allowed: ``main`` (and ``master``), ``tickets/DM-N``, backports ``tickets/DM-N-vM``,
``u/<user>/<topic>``, release branches of ``--release-branch-pattern`` (default
``v{major}.{minor}.x``; DMTN-106's ``b.{major}.{minor}.x`` works too) and any name matching
an ``--allow`` regex. On a release branch a commit is refused unless it concludes the merge
of a backport branch ``tickets/DM-N-vM`` of the same major (``--allow-release-commits``
relaxes this). At pre-push the branch checked is the remote branch pre-commit reports.

The rule is :func:`dmrelease.core.branch_rules.branch_diagnostics`; git is asked only here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dmrelease.core.branch_rules import branch_diagnostics, merged_branch
from dmrelease.core.branches import BranchKind, InvalidBranch, ReleaseBranchPattern, parse_branch
from dmrelease.core.user_regex import BadRegex, compile_user_regex
from dmrelease.hooks._common import GIT_ELSEWHERE_HELP, HookParser, git_dir_is_plain, run_check

#: what this hook reads from the environment besides the credentials (its --help lists it)
ENVIRONMENT = (
    (("GITHEAD_<sha>",), "the branch being merged, named by git at pre-merge-commit"),
    (("PRE_COMMIT_REMOTE_BRANCH",), "the pushed branch, named by pre-commit at pre-push: the "
     "branch checked then (a pushed tag is not checked here)"),
    GIT_ELSEWHERE_HELP,
)  # fmt: skip


def _git(*args: str) -> str | None:
    from dmrelease.adapters.git import Git, GitError

    try:
        return Git(Path.cwd(), timeout=30).run(*args).strip()
    except GitError:
        return None


def _current_merge() -> str | None:
    """The branch being merged, if this commit concludes a merge.

    At pre-merge-commit git names the merged heads in ``GITHEAD_<sha>`` variables (no
    ``MERGE_HEAD`` yet); a commit concluding a conflicted merge has ``MERGE_HEAD`` and
    ``MERGE_MSG`` (``Merge branch 'x' into y``).
    """
    heads = [os.environ[key] for key in os.environ if key.startswith("GITHEAD_")]
    if heads:
        return heads[0]
    paths = _git("rev-parse", "--git-path", "MERGE_HEAD", "--git-path", "MERGE_MSG")
    merge_head, _, merge_msg = (paths or "").partition("\n")
    if not merge_head or not merge_msg or not os.path.exists(merge_head):
        return None
    try:
        with open(merge_msg, encoding="utf-8") as stream:
            return merged_branch(stream.readline())
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-branch-name",
        variables=ENVIRONMENT,
        description="Check the branch name against DM conventions: main (or master), "
        "tickets/DM-<n>, backports tickets/DM-<n>-v<major>, u/<user>/<topic>, release branches "
        "of --release-branch-pattern, or a name matching --allow. A commit on a release branch "
        "is refused unless it concludes the merge of a backport branch of the same major. "
        "Checks the current branch when committing, the pushed branch when pushing.",
    )
    parser.add_argument(
        "--release-branch-pattern",
        default="v{major}.{minor}.x",
        help="release branch names, with {major} and {minor} (default: %(default)s)",
    )
    parser.add_argument(
        "--allow", action="append", default=[], metavar="REGEX", help="also allow these names"
    )
    parser.add_argument(
        "--allow-release-commits", action="store_true", help="allow commits on release branches"
    )
    parser.add_argument("--branch", help="check this name instead of the current branch")
    args = parser.parse_args(argv)
    try:
        pattern = ReleaseBranchPattern(args.release_branch_pattern)
        allow = [compile_user_regex(regex) for regex in args.allow]
    except InvalidBranch as exc:
        parser.error(f"--release-branch-pattern {exc.text!r}: {exc.reason}")
    except BadRegex as exc:
        parser.error(f"--allow {exc.text!r}: {exc.reason}")
    branch, committing = _branch_to_check(args.branch)
    if branch is None:
        return 0
    return run_check(
        parser.prog,
        lambda: branch_diagnostics(
            branch,
            pattern,
            allow=allow,
            committing=committing,
            merging=_current_merge() if committing and _is_release(branch, pattern) else None,
            allow_release_commits=args.allow_release_commits,
        ),
    )


def _is_release(branch: str, pattern: ReleaseBranchPattern) -> bool:
    """Whether ``branch`` is a release branch, the one kind whose rule reads the merge in
    progress: on any other, git is not asked about it (a commit's hook starts one git
    process, not three)."""
    try:
        return parse_branch(branch, pattern).kind is BranchKind.RELEASE
    except InvalidBranch:
        return False


def _branch_to_check(given: str | None) -> tuple[str | None, bool]:
    """(branch name or None when there is none to judge, whether a commit is being made).

    At pre-push pre-commit names the pushed ref in ``PRE_COMMIT_REMOTE_BRANCH`` (its hook
    interface); a pushed tag is check-pushed-tags' business; a detached HEAD (rebase,
    bisect) has no branch.
    """
    if given:
        return given, False
    pushed = os.environ.get("PRE_COMMIT_REMOTE_BRANCH", "")
    if pushed:
        name = pushed.removeprefix("refs/heads/")
        return (name if name != pushed else None), False
    return _current_branch(), True


_ASK_GIT = "\0"  # not a branch name: the files do not answer plainly
_HEX = frozenset("0123456789abcdef")


def _current_branch() -> str | None:
    """``git symbolic-ref --quiet --short HEAD``: None on a detached HEAD. Read from
    ``./.git/HEAD`` when that is the repository git would use (the hook runs at the top of
    the work tree; the directory is this user's) and the short name is the branch's own
    (no other ref git would read under that name); asked of git otherwise. A commit's
    check then starts no git process (every commit runs this hook)."""
    found = _branch_from_files(Path(".git"))
    if found != _ASK_GIT:
        return found
    return _git("symbolic-ref", "--quiet", "--short", "HEAD")


def _branch_from_files(git_dir: Path) -> str | None:
    try:
        if not git_dir_is_plain() or (git_dir / "reftable").exists():  # HEAD: a placeholder
            return _ASK_GIT
        head = (git_dir / "HEAD").read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return _ASK_GIT
    if len(head) in (40, 64) and set(head) <= _HEX:
        return None  # detached
    name = head.removeprefix("ref: refs/heads/")
    if name == head or not name or any(c.isspace() or c in "\0\\" for c in name):
        return _ASK_GIT
    # git shortens refs/heads/<name> to <name> only if no other ref reads as <name>
    others = [name, f"refs/{name}", f"refs/tags/{name}", f"refs/remotes/{name}",
              f"refs/remotes/{name}/HEAD"]  # fmt: skip
    try:
        if any(os.path.lexists(git_dir / other) for other in others):
            return _ASK_GIT
        packed = (git_dir / "packed-refs").read_bytes() + b"\n"
    except FileNotFoundError:
        packed = b""
    except OSError:
        return _ASK_GIT
    if any(f" {other}\n".encode() in packed for other in others[1:]):
        return _ASK_GIT
    return name


if __name__ == "__main__":
    raise SystemExit(main())
