"""check-product-membership on lsst_distrib's real table and repos.yaml (DMTN-106 A.2.1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dmrelease.hooks.check_product_membership import main

DATA = Path(__file__).resolve().parents[1] / "data"
SITCOM = "setupRequired(lsst_distrib)\nsetupRequired(summit_utils)\nsetupRequired(verify)\n"


@pytest.fixture
def metapackage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A metapackage repo: lsst_distrib's real table, repos.yaml, a second product."""
    (tmp_path / "ups").mkdir()
    (tmp_path / "etc").mkdir()
    shutil.copy(DATA / "tables" / "lsst_distrib.table", tmp_path / "ups")
    shutil.copy(DATA / "repos.yaml", tmp_path / "etc")
    (tmp_path / "ups" / "lsst_sitcom.table").write_text(SITCOM)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def products(root: Path, text: str, name: str = "products.yaml") -> str:
    (root / name).write_text(text)
    return name


def test_the_real_product_passes(call, metapackage: Path) -> None:
    path = products(metapackage, "products:\n  lsst_distrib: ups/lsst_distrib.table\n")
    assert call(main)(["--products", path, "--repos", "etc/repos.yaml"]) == (0, [])


def test_a_package_in_two_products_is_reported_where_the_second_lists_it(
    call, metapackage: Path
) -> None:
    text = (
        "products:\n  lsst_distrib: ups/lsst_distrib.table\n  lsst_sitcom: ups/lsst_sitcom.table\n"
        "repos: etc/repos.yaml\n"
    )
    code, lines = call(main)(["--products", products(metapackage, text)])
    assert code == 1
    assert lines == [
        "ups/lsst_sitcom.table:3: product-membership: `verify` belongs to lsst_distrib "
        "(ups/lsst_distrib.table:18) and to lsst_sitcom: a git package belongs to one product "
        "(DMTN-106 A.2.1) (move it to a library metapackage that both products depend on)"
    ]


def test_a_listed_package_missing_from_repos_yaml_is_reported(call, metapackage: Path) -> None:
    (metapackage / "ups" / "lsst_new.table").write_text("setupRequired(no_such_package)\n")
    text = '[products]\nlsst_new = "ups/lsst_new.table"\n'
    path = products(metapackage, text, "products.toml")
    code, lines = call(main)(["--products", path, "--repos", "etc/repos.yaml"])
    assert code == 1
    assert [line.split(" is not")[0] for line in lines] == [
        "products.toml:2: table-unknown-package: `lsst_new`",
        "ups/lsst_new.table:1:15: table-unknown-package: `no_such_package`",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("products: [a, b]\n", "products.yaml:1: products-structure: no `products` mapping"),
        ("products:\n  a: ups/missing.table\n", "products.yaml:2: products-table: "),
        (
            "products:\n  a: ups/lsst_sitcom.table\n  a: ups/x.table\n",
            "products.yaml:3: products-structure: `a` must appear once",
        ),
    ],
)
def test_a_bad_products_file(call, metapackage: Path, text: str, expected: str) -> None:
    code, lines = call(main)(["--products", products(metapackage, text)])
    assert code == 1
    assert lines[0].startswith(expected), lines


def test_products_is_required(call) -> None:
    with pytest.raises(SystemExit) as exit_:
        call(main)([])
    assert exit_.value.code == 2
