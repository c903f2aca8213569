"""core/exclusions: what EXCLUDE_FROM_BUILDS / EXCLUDE_FROM_TARBALLS leave of a request."""

from __future__ import annotations

import pytest

from dmrelease.core.exclusions import Excluded, exclude

CONFIGURED = ("lsst_distrib", "pipelines_check", "lsst_sitcom")


@pytest.mark.parametrize(
    ("asked", "excluded", "expected"),
    [
        ((), (), Excluded((), ())),  # nothing excluded: every product, as asked
        (("lsst_distrib",), (), Excluded(("lsst_distrib",), ())),
        ((), ("lsst_sitcom",), Excluded(("lsst_distrib", "pipelines_check"), ("lsst_sitcom",))),
        ((), ("other",), Excluded((), ())),  # excluding what is not asked changes nothing
        (("lsst_sitcom", "lsst_distrib"), ("lsst_sitcom",),
         Excluded(("lsst_distrib",), ("lsst_sitcom",))),
        (("lsst_sitcom",), ("lsst_distrib", "lsst_sitcom"), Excluded((), ("lsst_sitcom",))),
        ((), CONFIGURED, Excluded((), CONFIGURED)),
    ],
)  # fmt: skip
def test_exclude(asked: tuple[str, ...], excluded: tuple[str, ...], expected: Excluded) -> None:
    assert exclude(asked, CONFIGURED, excluded) == expected


def test_nothing_asked_nor_configured_has_nothing_to_take_out() -> None:
    assert exclude((), (), ("lsst_sitcom",)) == Excluded((), ())


def test_the_notes() -> None:
    assert exclude((), CONFIGURED, ()).note("tarball", "EXCLUDE_FROM_TARBALLS", "pack") is None
    some = exclude((), CONFIGURED, ("lsst_sitcom", "pipelines_check"))
    assert not some.nothing_left
    assert some.note("tarball", "EXCLUDE_FROM_TARBALLS", "pack") == (
        "tarball: not packing pipelines_check lsst_sitcom (EXCLUDE_FROM_TARBALLS)"
    )
    every = exclude(("lsst_distrib",), CONFIGURED, ("lsst_distrib",))
    assert every.nothing_left
    assert every.note("rebuild", "EXCLUDE_FROM_BUILDS", "build") == (
        "rebuild: every product asked is in EXCLUDE_FROM_BUILDS (lsst_distrib): nothing to build"
    )
