"""core/products: the products file of a metapackage repository (moved from the
check-product-membership hook's tests, issue 9 §5)."""

from __future__ import annotations

from dmrelease.core.errors import UsageError
from dmrelease.core.products import membership_diagnostics, parse_products


def test_table_paths_are_relative_to_the_products_file() -> None:
    parsed = parse_products("meta/products.yaml", "products:\n  x: ups/x.table\nrepos: r.yaml\n")
    assert parsed.tables == {"x": ("meta/ups/x.table", 2)}
    assert parsed.repos == "meta/r.yaml"


def test_membership_is_computed_from_texts_alone() -> None:
    """The rule reads no file: the hook hands it each table's text or its read error."""
    products = parse_products(
        "products.yaml", "products:\n  a: a.table\n  b: b.table\n  c: c.table\n"
    )
    tables: dict[str, str | UsageError] = {
        "a.table": "setupRequired(utils)\nsetupRequired(b)\n",
        "b.table": "# b\nsetupRequired(utils)\n",
        "c.table": UsageError("c.table: No such file or directory"),
    }
    found = membership_diagnostics(products, tables, frozenset({"utils", "a", "b"}))
    assert [(d.path, d.line, d.column, d.rule) for d in found] == [
        ("b.table", 2, None, "product-membership"),
        ("products.yaml", 4, None, "table-unknown-package"),
        ("products.yaml", 4, None, "products-table"),
    ]
    assert found[2].message == "c.table: No such file or directory"
