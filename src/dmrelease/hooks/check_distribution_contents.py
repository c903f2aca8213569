"""check-distribution-contents: the product's contents file is valid and approves every
third-party package the repository uses (DMTN-106 §6).

For metapackage repositories. The contents file (``--contents``, default the one
``ups/*.contents.yaml``) must follow :mod:`dmrelease.core.contents`; then every third-party
EUPS product the table files set up (``--table``, default ``ups/*.table``) and every conda
package of the environment files (``--conda``, default the ``environment*``/``conda*``
YAML files at the top, in ``etc/`` and in ``ups/``) must be approved by it for its delivery.
Which table products are third-party is :mod:`dmrelease.core.contents_uses`'s rule: with
``--repos FILE`` the products repos.yaml lists are git packages (unless the contents file
lists them as third-party); without it only the contents file's ``packages`` are, so every
other product must be approved.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence

from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.hooks._common import HookParser, read_text, run_check

_SUFFIX = ".contents.yaml"
_ENVIRONMENT = re.compile(r"(environment|conda)[^/]*\.ya?ml")


def _check(
    contents_path: str | None,
    repos_path: str | None,
    tables: Sequence[str] | None,
    environments: Sequence[str] | None,
) -> list[Diagnostic]:
    from dmrelease.core.contents import Use, check_third_party, parse_contents
    from dmrelease.core.contents_uses import conda_uses, table_uses
    from dmrelease.core.repos import parse_repos
    from dmrelease.core.tables import TableParseError, parse_table

    path = contents_path or _contents_here()
    text = read_text(path)
    try:
        contents = parse_contents(text, path)
        known = frozenset(parse_repos(read_text(repos_path), repos_path)) if repos_path else None
    except CheckFailed as exc:
        return exc.diagnostics
    product = path.rsplit("/", 1)[-1].removesuffix(_SUFFIX)
    problems: list[Diagnostic] = []
    eups: list[Use] = []
    for table_path in sorted(glob.glob("ups/*.table")) if tables is None else tables:
        try:
            table = parse_table(read_text(table_path), table_path)
        except TableParseError as exc:
            problems += exc.diagnostics
            continue
        eups += table_uses(table, contents, known, product)
    conda: list[Use] = []
    for environment in _environments_here() if environments is None else environments:
        uses, unread = conda_uses(read_text(environment), environment)
        conda += uses
        problems += unread
    return problems + check_third_party(contents, eups, conda, path)


def _contents_here() -> str:
    """The one ``ups/*.contents.yaml`` of the work tree (a usage error otherwise)."""
    found = sorted(glob.glob(f"ups/*{_SUFFIX}"))
    if len(found) != 1:
        what = "no ups/*.contents.yaml here" if not found else f"{len(found)} contents files"
        raise UsageError(f"{what}: give the product's file with --contents FILE")
    return found[0]


def _environments_here() -> list[str]:
    """The conda environment files at the top of the work tree, in etc/ and in ups/."""
    found = (
        path
        for pattern in ("*", "etc/*", "ups/*")
        for path in glob.glob(pattern)
        if _ENVIRONMENT.fullmatch(path.rsplit("/", 1)[-1])
    )
    return sorted(found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-distribution-contents",
        description="Check the product's distribution contents file (its third-party "
        "packages with type, delivery, licence, support and approving RFC, and the git "
        "packages approved into it), and that it approves every third-party EUPS product "
        "the table files set up and every conda package of the environment files.",
    )
    parser.add_argument(
        "--contents",
        metavar="FILE",
        help="the contents file (default: the one ups/*.contents.yaml)",
    )
    parser.add_argument(
        "--repos",
        metavar="FILE",
        help="repos.yaml: the products it lists are git packages, not third-party (without "
        "it, only the contents file's packages are)",
    )
    parser.add_argument(
        "--table",
        action="append",
        metavar="FILE",
        help="a table file to check, repeatable (default: ups/*.table)",
    )
    parser.add_argument(
        "--conda",
        action="append",
        metavar="FILE",
        help="a conda environment file to check, repeatable (default: environment*.yml and "
        "conda*.yml at the top, in etc/ and in ups/)",
    )
    parser.add_argument("filenames", nargs="*", help="ignored (pre-commit's changed files)")
    args = parser.parse_args(argv)
    return run_check(parser.prog, lambda: _check(args.contents, args.repos, args.table, args.conda))


if __name__ == "__main__":
    raise SystemExit(main())
