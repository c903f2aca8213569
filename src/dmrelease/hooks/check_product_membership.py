"""check-product-membership: each git package belongs to one product (DMTN-106 A.2.1).

For metapackage repositories. ``--products FILE`` (YAML or TOML) lists the products and
their metapackage tables, relative to the file, and may name repos.yaml::

    products:
      lsst_distrib: ups/lsst_distrib.table
      lsst_sitcom: ../lsst_sitcom/ups/lsst_sitcom.table
    repos: etc/repos.yaml          # or --repos FILE

A package is a member of a product when the product's table lists it (every ``if``
branch; ``--external`` ones and the ``eups`` check aside). Depending on another product
(a library metapackage) is allowed; one package listed by two products is reported, as is
any listed package missing from repos.yaml. The hook sees only this repository's files, so
membership is what the metapackage tables name directly. The rules are
:mod:`dmrelease.core.products`; this hook reads the files and reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.products import membership_diagnostics, parse_products
from dmrelease.hooks._common import HookParser, read_text, run_check


def _check(products_path: str, repos_path: str | None) -> list[Diagnostic]:
    from dmrelease.core.repos import parse_repos

    products = parse_products(products_path, read_text(products_path))
    repos = repos_path or products.repos
    try:
        known = frozenset(parse_repos(read_text(repos), repos)) if repos else None
    except CheckFailed as exc:
        return exc.diagnostics
    tables = {path: _read_or_error(path) for path, _ in products.tables.values()}
    return membership_diagnostics(products, tables, known)


def _read_or_error(path: str) -> str | UsageError:
    try:
        return read_text(path)
    except UsageError as exc:
        return exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-product-membership",
        description="Check that no git package belongs to two products (DMTN-106 A.2.1): "
        "no package may be listed by two of the metapackage tables that --products names, and "
        "every package they list must be in repos.yaml.",
    )
    parser.add_argument("--products", required=True, help="YAML/TOML: product -> table file")
    parser.add_argument(
        "--repos", help="repos.yaml (default: the one the products file names under repos)"
    )
    parser.add_argument("filenames", nargs="*", help="ignored (pre-commit's changed files)")
    args = parser.parse_args(argv)
    return run_check(parser.prog, lambda: _check(args.products, args.repos))


if __name__ == "__main__":
    raise SystemExit(main())
