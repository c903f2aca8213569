"""core/validation: the rules an installed release is judged by, and the changes."""

from __future__ import annotations

from dmrelease.core.validation import (
    Check,
    Install,
    Installed,
    changes_between,
    inspect_install,
)

VERSIONS = {"base": "g1", "afw": "g2"}
SHAS = {"base": "a" * 40, "afw": "b" * 40}


def _install(kind: str, *products: Installed) -> Install:
    return Install(kind, "eups", "srv", "ok", 1.0, None, products)


def test_a_good_source_install_passes_every_rule() -> None:
    install = _install("source", Installed("base", "g1", 10, True, "a" * 40),
                       Installed("afw", "g2", 20, True, "b" * 40))  # fmt: skip
    assert inspect_install(install, VERSIONS, SHAS, "v1.0.0.rc1") == [
        Check("source", "product-version"), Check("source", "table-file"),
        Check("source", "pkginfo-sha"),
    ]  # fmt: skip
    assert install.size == 30


def test_a_wrong_version_a_missing_table_and_a_pkginfo_mismatch_are_named() -> None:
    install = _install("source", Installed("base", "g9", 10, False, "c" * 40))
    assert inspect_install(install, VERSIONS, SHAS, "v1.0.0.rc1") == [
        Check("source", "product-version",
              ("base: installed at g9 (manifest: g1)", "afw: not installed (manifest: g2)")),
        Check("source", "table-file", ("base g9: no ups/base.table",)),
        Check("source", "pkginfo-sha",
              (f"base: ups/pkginfo SHA1 {'c' * 40} (tag v1.0.0.rc1 points at {'a' * 40})",)),
    ]  # fmt: skip


def test_a_binary_install_is_not_judged_by_pkginfo() -> None:
    install = _install("binary", Installed("base", "g1", 1, True), Installed("afw", "g2", 1, True))
    rules = [c.rule for c in inspect_install(install, VERSIONS, SHAS, "v1.0.0.rc1")]
    assert rules == ["product-version", "table-file"]


def test_changes_against_the_previous_release() -> None:
    changes = changes_between("v1.0.0.rc1", {"base": "g1", "old": "g5", "afw": "g0"}, VERSIONS)
    assert changes.to_dict() == {
        "previous": "v1.0.0.rc1", "added": {}, "removed": {"old": "g5"},
        "changed": {"afw": ["g0", "g2"]},
    }  # fmt: skip
    assert changes_between(None, {}, VERSIONS).to_dict()["previous"] is None


def test_a_summary_with_every_install_skipped_fails_naming_why() -> None:
    """Nothing installed is nothing inspected: not a pass."""
    from dmrelease.core.validation import Changes, DemoRun, Summary

    skipped = (
        Install("binary", "-", "-", "skipped", reason="no binary server: none configured"),
        Install("source", "-", "srv", "skipped", reason="no EUPS installation"),
    )
    summary = Summary("meta", "v1.0.0.rc1", "v1_0_0_rc1", "b1", skipped, (),
                      DemoRun("true", reason="no install finished"), Changes(None))  # fmt: skip
    assert (summary.ok, summary.failures) == (
        False, ["no install: every install was skipped, so nothing was inspected"],
    )  # fmt: skip
    one = Summary("meta", "v1.0.0.rc1", "v1_0_0_rc1", "b1", (_install("binary"), skipped[1]),
                  (), DemoRun(None), Changes(None))  # fmt: skip
    assert (one.ok, one.failures) == (True, [])
