"""core/requirements: pip's logical lines, comments and continuations (moved from the
check-requirements hook's tests, issue 9 §5; the hostile-text cases are issue 8's)."""

from __future__ import annotations

import pytest

from dmrelease.core.requirements import logical_lines


def test_continuations_and_comments() -> None:
    text = "a \\\n  >=1  # why\n\n# only a comment\nb#not-a-comment\n"
    assert list(logical_lines(text)) == [(1, "a   >=1"), (5, "b#not-a-comment")]


@pytest.mark.parametrize(
    ("raw", "joined"),
    [
        ("a # c", "a"),
        ("a# c", "a# c"),  # pip: a comment starts the line or follows a blank
        ("# c", None),
        ("a \t # c # d", "a"),
        ("a\u3000# c", "a"),  # any Unicode blank, as `\s`
    ],
)
def test_comments_are_stripped_as_pip_strips_them(raw: str, joined: str | None) -> None:
    assert [text for _line, text in logical_lines(raw + "\n")] == ([joined] if joined else [])


def test_requirement_lines_split_as_pip_splits_them() -> None:
    """pip's ``preprocess`` uses ``str.splitlines``: U+0085 ends a requirement line there."""
    assert list(logical_lines("a\x85b\n")) == [(1, "a"), (2, "b")]
