"""publish and tarball --help say what the shared options mean to them (rebuild's words are
about building), and state the server rules exactly."""

from __future__ import annotations

import contextlib
import io

import pytest

from dmrelease import cli


def _help(verb: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([verb, "--help"])
    return " ".join(out.getvalue().split())


@pytest.mark.parametrize(("verb", "what"), [("publish", "publish"), ("tarball", "pack")])
def test_the_shared_options_are_worded_for_the_verb(verb: str, what: str) -> None:
    text = _help(verb)
    products = (
        f"products whose packages to {what}: their dependency closures in the build "
        "(default: every package of the build)"
    )
    assert f"--products PRODUCT [PRODUCT ...] {products} [env PRODUCTS]" in text
    assert f"PRODUCTS build.products: {products}" in text
    assert "products to build" not in text
    assert "declare over the built versions" not in text
    assert "ever replaced" not in text
    assert "a dated tag's only by one that keeps each of its products at its version" in text
    rebuild = _help("rebuild")
    assert "products to build (default: all configured)" in rebuild


def test_tarball_help_says_how_a_tarball_there_is_judged() -> None:
    text = _help("tarball")
    assert "EUPS_TAG the EUPS tag to publish the build's binaries under (the --tag flag)" in text
    assert "it is kept when its checksum file records its SHA-256" in text
    assert "the tag lists' rows have the flavor generic" in text


def test_publish_help_says_how_a_package_there_is_judged() -> None:
    text = _help("publish")
    assert "EUPS_TAG the EUPS tag to publish the build under (the --tag flag)" in text
    assert "when its ups/pkginfo names the build's PRODUCT, VERSION and SHA1" in text
