"""check-repos-yaml: repos.yaml follows the lsst/repos schema (DESIGN.md §4).

Product names ``^[A-Za-z0-9_]+$``; each value a git URL or a mapping with ``url`` and at
least one of ``ref`` and ``lfs: true``; no unknown keys; no product listed twice (YAML
would silently keep the last). ``--sorted`` also demands keys in name order. The rules are
:func:`dmrelease.core.repos.check_repos`; this module only runs them over the files.
"""

from __future__ import annotations

from collections.abc import Sequence

from dmrelease.core.errors import Diagnostic
from dmrelease.hooks._common import HookParser, run_checks


def check_repos_yaml(path: str, text: str, *, sorted_keys: bool = False) -> list[Diagnostic]:
    """Every problem of one repos.yaml, in file order."""
    from dmrelease.core.repos import check_repos

    return check_repos(text, path, sorted_keys=sorted_keys)


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-repos-yaml",
        description="Check repos.yaml files (the lsst/repos schema): product names, each value "
        "a git URL or a mapping with url and at least one of ref and lfs: true, no unknown "
        "key, no product listed twice.",
    )
    parser.add_argument("filenames", nargs="*", help="repos.yaml files")
    parser.add_argument("--sorted", action="store_true", help="demand keys sorted by name")
    args = parser.parse_args(argv)
    return run_checks(
        parser.prog,
        args.filenames,
        lambda path, text: check_repos_yaml(path, text, sorted_keys=args.sorted),
    )


if __name__ == "__main__":
    raise SystemExit(main())
