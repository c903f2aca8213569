"""Names are ASCII: a bug that mutation testing of the release rules brought up (issue 8)."""

from __future__ import annotations

import pytest

from dmrelease.core.names import InvalidName, classify, parse_tag

# `\d` in the name patterns matched any Unicode decimal digit, so fullwidth or Arabic-Indic
# digits parsed as a canonical final and check-pushed-tags let a fullwidth "29.1.0" through.
OTHER_DIGITS = ["\uff12\uff19.1.0", "v\u0662\u0669.1.0.rc1", "w.2025.\uff12\uff14", "b\u0668"]


@pytest.mark.parametrize(
    "text", OTHER_DIGITS, ids=["fullwidth", "arabic-indic-rc", "weekly", "build"]
)
def test_a_tag_in_non_ascii_digits_is_not_a_dm_tag(text: str) -> None:
    with pytest.raises(InvalidName):
        parse_tag(text)


def test_a_tag_in_non_ascii_digits_is_not_classified_as_a_final() -> None:
    with pytest.raises(InvalidName) as caught:
        classify("\uff12\uff19.1.0")
    assert caught.value.diagnostic.rule == "name-syntax"
    assert caught.value.diagnostic.message.startswith("'\uff12\uff19.1.0': not a DM tag name")
