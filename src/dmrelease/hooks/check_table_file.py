"""check-table-file: an EUPS table file parses and describes its own package (DESIGN.md §4).

Each ``ups/<package>.table`` must parse as EUPS reads it (the one table parser,
:mod:`dmrelease.core.tables`), be named after the package (the repository:
``--package``, else the name of the ``origin`` remote, else the directory), list no
dependency twice and not depend on itself. ``--known-packages repos.yaml`` also reports
dependencies that are not in repos.yaml (``--external`` ones and the ``eups`` version
check aside).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.hooks._common import read_text, run_check

if TYPE_CHECKING:
    from dmrelease.core.tables import TableFile

_REPO_NAME = re.compile(r"([^/:]+?)(?:\.git)?/*$")


def check_table_file(
    path: str, text: str, *, package: str | None = None, known: frozenset[str] | None = None
) -> list[Diagnostic]:
    """Every problem of one table file; ``known`` holds the product names of repos.yaml."""
    from dmrelease.core.tables import check_table, parse_table

    found = check_table(text, path, product=package)
    stem = PurePosixPath(path.replace("\\", "/")).name.removesuffix(".table")
    if package is not None and stem != package:
        message = f"the table of package {package!r} must be ups/{package}.table"
        hint = f"git mv {path} ups/{package}.table"
        found.insert(0, Diagnostic(path, 1, "table-file-name", message, hint=hint))
    if known is not None:
        try:
            table = parse_table(text, path)
        except ParseError:
            return found  # already reported by check_table
        found += _unknown_packages(table, known)
    return found


def _unknown_packages(table: TableFile, known: frozenset[str]) -> list[Diagnostic]:
    found = []
    for dependency in table.all_dependencies():
        if dependency.external or dependency.is_version_check or dependency.name in known:
            continue
        message = f"`{dependency.name}` is not a package of repos.yaml"
        hint = "fix the name, add the package to repos.yaml or mark it --external"
        found.append(
            Diagnostic(
                table.path,
                dependency.line,
                "table-unknown-package",
                message,
                dependency.column,
                hint,
            )
        )
    return found


def repository_name() -> str:
    """The package a repository holds: its ``origin`` URL's last part, else the directory."""
    from dmrelease.adapters.git import Git, GitError

    try:
        url = Git(Path.cwd(), timeout=30).run("config", "--get", "remote.origin.url").strip()
    except GitError:
        url = ""
    match = _REPO_NAME.search(url)
    return match[1] if match else os.path.basename(os.getcwd())


def known_packages(path: str) -> frozenset[str]:
    """The product names of a repos.yaml (its problems are reported as findings)."""
    from dmrelease.core.repos import parse_repos

    return frozenset(parse_repos(read_text(path), path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="check-table-file", description="Check EUPS table files (ups/<package>.table)."
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
