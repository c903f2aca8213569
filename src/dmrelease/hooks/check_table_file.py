"""check-table-file: an EUPS table file parses and describes its own package (DESIGN.md §4).

Each ``ups/<package>.table`` must parse as EUPS reads it (the one table parser,
:mod:`dmrelease.core.tables`), be named after the package (the repository:
``--package``, else the name of the ``origin`` remote, else the directory), list no
dependency twice and not depend on itself. ``--known-packages repos.yaml`` also reports
dependencies that are not in repos.yaml (``--external`` ones and the ``eups`` version
check aside). The rule is :mod:`dmrelease.core.table_file`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.table_file import check_table_file
from dmrelease.hooks._common import (
    GIT_ELSEWHERE_HELP,
    HookParser,
    git_dir_is_plain,
    read_text,
    run_check,
)

_REPO_NAME = re.compile(r"([^/:]+?)(?:\.git)?/*$")


def repository_name() -> str:
    """The package a repository holds: its ``origin`` URL's last part, else the directory."""
    url = _origin_url()
    match = _REPO_NAME.search(url)
    return match[1] if match else os.path.basename(os.getcwd())


def _origin_url() -> str:
    """``git config --get remote.origin.url``: read from ``./.git/config`` when that is the
    repository git would use (the hook runs at its top, as pre-commit runs it), owned by
    this user (git ignores another's) and holding plainly one value (adapters/git_refs);
    asked of git otherwise. Most commits then start no git process for this hook."""
    from dmrelease.adapters.git_refs import read_origin_url

    if git_dir_is_plain():
        found = read_origin_url(Path(".git"))
        if found is not None:
            return found.strip()
    from dmrelease.adapters.git import Git, GitError

    try:
        return Git(Path.cwd(), timeout=30).run("config", "--get", "remote.origin.url").strip()
    except GitError:
        return ""


def known_packages(path: str) -> frozenset[str]:
    """The product names of a repos.yaml (its problems are reported as findings)."""
    from dmrelease.core.repos import parse_repos

    return frozenset(parse_repos(read_text(path), path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-table-file",
        description="Check EUPS table files (ups/<package>.table).",
        variables=[GIT_ELSEWHERE_HELP],  # reading the origin remote's URL
    )
    parser.add_argument("filenames", nargs="*", help="table files")
    parser.add_argument("--package", help="the package name (default: the repository's name)")
    parser.add_argument(
        "--known-packages", metavar="REPOS_YAML", help="report dependencies not in this file"
    )
    args = parser.parse_args(argv)
    if not args.filenames:
        return 0
    package = args.package or repository_name()
    return run_check(parser.prog, lambda: _check_all(args.filenames, package, args.known_packages))


def _check_all(paths: Sequence[str], package: str, repos_yaml: str | None) -> list[Diagnostic]:
    known = known_packages(repos_yaml) if repos_yaml else None
    found: list[Diagnostic] = []
    for path in paths:
        try:
            text = read_text(path)
        except ParseError as exc:  # not UTF-8: report it and check the other files
            found.append(exc.diagnostic)
            continue
        found += check_table_file(path, text, package=package, known=known)
    return found


if __name__ == "__main__":
    raise SystemExit(main())
