"""One EUPS table file in its repository (DESIGN.md §4): it parses as EUPS reads it (the
one table parser, :mod:`dmrelease.core.tables`), is named after its package, lists no
dependency twice, does not depend on itself and, given repos.yaml's names, names only
known packages (``--external`` ones and the ``eups`` version check aside). Pure: the
check-table-file hook reads the files and calls :func:`check_table_file`.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from dmrelease.core.errors import Diagnostic
from dmrelease.core.tables import TableFile, checked_table

__all__ = [
    "check_table_file",
]


def check_table_file(
    path: str, text: str, *, package: str | None = None, known: frozenset[str] | None = None
) -> list[Diagnostic]:
    """Every problem of one table file; ``known`` holds the product names of repos.yaml."""
    table, found = checked_table(text, path, product=package)
    stem = PurePosixPath(path.replace("\\", "/")).name.removesuffix(".table")
    if package is not None and stem != package:
        message = f"the table of package {package!r} must be ups/{package}.table"
        hint = f"git mv {path} ups/{package}.table"
        found.insert(0, Diagnostic(path, 1, "table-file-name", message, hint=hint))
    if known is not None and table is not None:  # a table that does not parse: reported
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
