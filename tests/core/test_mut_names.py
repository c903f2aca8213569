"""Bugs in the name parser that mutation testing of the release rules brought up (issue 8)."""

from __future__ import annotations

import pytest

from dmrelease.core.names import InvalidName, classify, parse_tag

# `\d` in the name patterns matches any Unicode decimal digit, so fullwidth or Arabic-Indic
# digits parse as a canonical final: check-pushed-tags lets a fullwidth "29.1.0" through;
# only the release rules' re-serialisation check (tag-canonical) stops it in a session.
OTHER_DIGITS = ["\uff12\uff19.1.0", "v\u0662\u0669.1.0.rc1", "w.2025.\uff12\uff14", "b\u0668"]


@pytest.mark.xfail(strict=True, reason="names: \\d accepts non-ASCII digits (report of H5)")
@pytest.mark.parametrize(
    "text", OTHER_DIGITS, ids=["fullwidth", "arabic-indic-rc", "weekly", "build"]
)
def test_a_tag_in_non_ascii_digits_is_not_a_dm_tag(text: str) -> None:
    with pytest.raises(InvalidName):
        parse_tag(text)


@pytest.mark.xfail(strict=True, reason="names: \\d accepts non-ASCII digits (report of H5)")
def test_a_tag_in_non_ascii_digits_is_not_classified_as_a_final() -> None:
    assert classify("\uff12\uff19.1.0") != "final"
