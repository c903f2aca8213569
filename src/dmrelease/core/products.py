"""The products file of a metapackage repository and the rule that each git package
belongs to one product (DMTN-106 A.2.1).

The products file (YAML or TOML) lists the products and their metapackage tables, relative
to the file, and may name repos.yaml::

    products:
      lsst_distrib: ups/lsst_distrib.table
      lsst_sitcom: ../lsst_sitcom/ups/lsst_sitcom.table
    repos: etc/repos.yaml

A package is a member of a product when the product's table lists it (every ``if``
branch; ``--external`` ones and the ``eups`` check aside). Depending on another product
(a library metapackage) is allowed; one package listed by two products is reported, as is
any listed package missing from repos.yaml. The ``check-product-membership`` hook reads
the files and calls :func:`membership_diagnostics`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dmrelease.core.errors import Diagnostic, ParseError, UsageError

__all__ = [
    "ProductsFile",
    "membership_diagnostics",
    "parse_products",
]


@dataclass(frozen=True)
class ProductsFile:
    """The products file: product → (table path, line of the entry), and repos.yaml."""

    path: str
    tables: dict[str, tuple[str, int]]
    repos: str | None


def parse_products(path: str, text: str) -> ProductsFile:
    """Read the products file; paths become relative to the current directory."""
    entries, repos = (_read_toml if path.endswith(".toml") else _read_yaml)(path, text)
    base = os.path.dirname(path)
    tables = {name: (os.path.join(base, table), line) for name, (table, line) in entries.items()}
    return ProductsFile(path, tables, os.path.join(base, repos) if repos else None)


def _structure(path: str, line: int, message: str) -> ParseError:
    hint = "write `products:` mapping each product to its table file"
    return ParseError(Diagnostic(path, line, "products-structure", message, hint=hint))


def _read_yaml(path: str, text: str) -> tuple[dict[str, tuple[str, int]], str | None]:
    import yaml

    from dmrelease.core.yaml_nodes import compose

    root = compose(text, path, "products-syntax")
    fields = {str(k.value): v for k, v in root.value} if isinstance(root, yaml.MappingNode) else {}
    products = fields.get("products")
    if not isinstance(products, yaml.MappingNode):
        raise _structure(path, 1, "no `products` mapping")
    entries: dict[str, tuple[str, int]] = {}
    for key, value in products.value:
        if not isinstance(value, yaml.ScalarNode) or str(key.value) in entries:
            message = f"`{key.value}` must appear once, with a table file path"
            raise _structure(path, key.start_mark.line + 1, message)
        entries[str(key.value)] = (str(value.value), key.start_mark.line + 1)
    repos = fields.get("repos")
    return entries, str(repos.value) if isinstance(repos, yaml.ScalarNode) else None


def _read_toml(path: str, text: str) -> tuple[dict[str, tuple[str, int]], str | None]:
    from dmrelease.core.limits import load_toml
    from dmrelease.core.toml_lines import TomlLines

    data = load_toml(text, path, "products-syntax")
    products = data.get("products")
    if not isinstance(products, dict) or not all(isinstance(v, str) for v in products.values()):
        raise _structure(path, 1, "no `[products]` table of product = table path")
    where = TomlLines(text)  # one index: N products must not scan the file N times
    repos = data.get("repos")
    entries = {
        name: (table, where.key_line("products", name) or 1) for name, table in products.items()
    }
    return entries, repos if isinstance(repos, str) else None


def membership_diagnostics(
    products: ProductsFile,
    tables: Mapping[str, str | UsageError],
    known: frozenset[str] | None,
) -> list[Diagnostic]:
    """Packages listed by two products, and listed packages missing from repos.yaml (when
    ``known``, its package names, is given); ``tables`` holds the text of each table file
    of ``products``, or the error its reading raised."""
    from dmrelease.core.tables import TableParseError, parse_table

    found: list[Diagnostic] = []
    owner: dict[str, tuple[str, str, int]] = {}  # package -> (product, table, line)
    for product, (table_path, entry_line) in products.tables.items():
        if known is not None and product not in known:
            found.append(_unknown(products.path, entry_line, None, product))
        text = tables[table_path]
        if isinstance(text, UsageError):
            found.append(Diagnostic(products.path, entry_line, "products-table", str(text)))
            continue
        try:
            table = parse_table(text, table_path)
        except TableParseError as exc:
            found.extend(exc.diagnostics)
            continue
        for dep in table.all_dependencies():
            if dep.external or dep.is_version_check:
                continue
            if known is not None and dep.name not in known:
                found.append(_unknown(table_path, dep.line, dep.column, dep.name))
            if dep.name in products.tables:
                continue  # a library metapackage: a product may depend on another
            first = owner.setdefault(dep.name, (product, table_path, dep.line))
            if first[0] != product:
                found.append(_two_products(dep.name, first, (product, table_path, dep.line)))
    return found


def _unknown(path: str, line: int, column: int | None, name: str) -> Diagnostic:
    message = f"`{name}` is not a package of repos.yaml"
    hint = "fix the name or add the package to repos.yaml"
    return Diagnostic(path, line, "table-unknown-package", message, column, hint)


def _two_products(
    name: str, first: tuple[str, str, int], second: tuple[str, str, int]
) -> Diagnostic:
    message = (
        f"`{name}` belongs to {first[0]} ({first[1]}:{first[2]}) and to {second[0]}: "
        "a git package belongs to one product (DMTN-106 A.2.1)"
    )
    hint = "move it to a library metapackage that both products depend on"
    return Diagnostic(second[1], second[2], "product-membership", message, hint=hint)
