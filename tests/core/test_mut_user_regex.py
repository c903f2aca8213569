"""core/user_regex in full: the error a user's regex gives, its text and reason, for each
way Python refuses one (syntax error, FutureWarning, too large or too deep)."""

from __future__ import annotations

import re
import warnings

import pytest

from dmrelease.core.user_regex import BadRegex, compile_user_regex


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("(", "not a regular expression: missing ), unterminated subpattern at position 0"),
        ("a\\", "not a regular expression: bad escape (end of pattern) at position 1"),
        ("[[a]", "an ambiguous regular expression: Possible nested set at position 1"),
        ("[a--b]", "an ambiguous regular expression: Possible set difference at position 2"),
        ("a{4294967296}", "too complex a regular expression"),  # OverflowError
        ("(" * 2000 + ")" * 2000, "too complex a regular expression"),  # RecursionError
    ],
)
def test_each_refusal_in_full(text: str, reason: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the caller's filters do not matter
        with pytest.raises(BadRegex) as exc:
            compile_user_regex(text)
    assert (exc.value.text, exc.value.reason) == (text, reason)
    assert str(exc.value) == f"`{text}` is {reason}"
    assert isinstance(exc.value, ValueError)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_a_good_regex_is_compiled_and_the_warning_filters_are_restored() -> None:
    before = list(warnings.filters)
    assert compile_user_regex("lsst-(dm|sqre)-.*") == re.compile("lsst-(dm|sqre)-.*")
    with pytest.raises(BadRegex):
        compile_user_regex("[[x]")
    assert warnings.filters == before
