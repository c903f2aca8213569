"""Table ``if`` conditions, exactly: ordering operators, both sides looked up, every refusal.

Written against mutation testing (issue 8) of core/table_conditions.py, which scored 73.7 %:
``<``, ``<=``, ``>``, ``>=`` were never evaluated, the build type was dropped inside groups,
negations and junctions without a test noticing, and no refusal's message was read.
"""

from __future__ import annotations

import pytest

from dmrelease.core.table_conditions import (
    Comparison,
    ConditionError,
    Constant,
    Junction,
    any_of_flavors,
    evaluate,
    parse_condition,
)


@pytest.mark.parametrize(
    ("condition", "build_type", "expected"),
    [
        # VersionParser compares two integers as integers ...
        ("type < 10", "9", True),
        ("type <= 10", "10", True),
        ("type <= 9", "10", False),
        ("type > 9", "10", True),
        ("type > 10", "10", False),
        ("type >= 10", "10", True),
        ("type >= 11", "10", False),
        ("type < 10", "10", False),
        # ... and anything else as text ("10" sorts before "9")
        ("type < 9", "10a", True),
        ("type > 10", "abc", True),
        ("type <= abc", "abc", True),
        ("type >= abd", "abc", False),
        ("type < abc", "abc", False),
        ("type > abc", "abc", False),
    ],
)
def test_ordering_operators_compare_numbers_as_numbers_and_words_as_text(
    condition: str, build_type: str, expected: bool
) -> None:
    assert evaluate(parse_condition(condition), "Linux64", build_type) is expected


@pytest.mark.parametrize(
    ("condition", "flavor", "build_type", "expected"),
    [
        ("(type == build)", "Linux64", "build", True),
        ("!(type == debug)", "Linux64", "build", True),
        ("! type == build", "Linux64", "build", False),
        ("type == build || flavor == X", "Linux64", "build", True),
        ("flavor == X || type == build", "Linux64", "build", True),
        ("type == build && flavor == Linux64", "Linux64", "build", True),
        ("flavor == Linux64 && type == build", "Linux64", "build", True),
        # the right side is looked up too
        ("build == type", "Linux64", "build", True),
        ("Linux64 == flavor", "Linux64", None, True),
        ("Linux64 != FLAVOR", "DarwinX86", None, True),
        ("'Linux64' == flavor", "Linux64", None, True),
        ("flavor == 'A'", "A", None, True),
        ("flavor !~ Darwin", "Linux64", None, True),
    ],
)
def test_both_sides_of_every_form_see_the_flavor_and_the_build_type(
    condition: str, flavor: str, build_type: str | None, expected: bool
) -> None:
    assert evaluate(parse_condition(condition), flavor, build_type) is expected


@pytest.mark.parametrize(
    ("condition", "offset", "rule", "message"),
    [
        ("", 0, "table-bad-condition", "empty condition: write e.g. `flavor == Linux64`"),
        ("flavor = Linux", 7, "table-bad-condition", "`=` is not a comparison: write `==`"),
        ("flavor | x", 7, "table-bad-condition", "`|` is not an operator: write `||`"),
        ("flavor & x", 7, "table-bad-condition", "`&` is not an operator: write `&&`"),
        (
            "type == build && flavor =~ ^Linux",
            27,
            "table-bad-condition",
            "`^` in a pattern: EUPS reads `=~` patterns as one word of letters, digits, `_`,"
            " `.` and `+` and would search something else; write a word such as `Linux`",
        ),
        (
            "flavor !~ ^Linux",
            10,
            "table-bad-condition",
            "`^` in a pattern: EUPS reads `=~` patterns as one word of letters, digits, `_`,"
            " `.` and `+` and would search something else; write a word such as `Linux`",
        ),
        (
            "flavor == Linux-64",
            15,
            "table-bad-condition",
            "unexpected `-`: EUPS reads values as words of letters, digits, `_`, `.` and `+`"
            " (quoting does not help)",
        ),
        (
            "@flavor == x",
            0,
            "table-bad-condition",
            "unexpected `@`: EUPS reads values as words of letters, digits, `_`, `.` and `+`"
            " (quoting does not help)",
        ),
        (
            "flavor == ${HOME}",
            10,
            "table-bad-condition",
            "environment variable `${HOME}` in a condition: dm-release computes dependencies"
            " without the environment; compare `flavor` or `type` instead",
        ),
        ("flavor == 'Linux", 10, "table-bad-condition", "unterminated quote `'`: close it"),
        ('flavor == "', 10, "table-bad-condition", 'unterminated quote `"`: close it'),
        (
            "flavor == ''",
            10,
            "table-bad-condition",
            "quoted value '' is not one word: EUPS splits values at anything but letters,"
            " digits, `_`, `.` and `+`",
        ),
        (
            "flavor == 'Linux 64'",
            10,
            "table-bad-condition",
            "quoted value 'Linux 64' is not one word: EUPS splits values at anything but"
            " letters, digits, `_`, `.` and `+`",
        ),
        (
            "flavor !~ +x",
            10,
            "table-bad-condition",
            "`+x` is not a regular expression: nothing to repeat at position 0",
        ),
        ("flavor == A)", 11, "table-unbalanced-paren", "unmatched `)`: remove it"),
        ("flavor == A || )", 15, "table-unbalanced-paren", "unmatched `)`: remove it"),
        ("(flavor == A", 0, "table-unbalanced-paren", "`(` is never closed: add `)`"),
        ("flavor ==", 9, "table-bad-condition", "the condition ends too early: complete it"),
        ("flavor == )", 10, "table-bad-condition", "`==` needs a value on its right"),
        (
            "flavor",
            0,
            "table-bad-condition",
            "`flavor` is not a condition: compare it, e.g. `flavor == Linux64`",
        ),
        (
            "== x",
            0,
            "table-bad-condition",
            "expected a comparison such as `flavor == Linux64`, found `==`",
        ),
        (
            "flavor == A flavor == B",
            12,
            "table-bad-condition",
            "unexpected `flavor`: join comparisons with `&&` or `||`",
        ),
    ],
)
def test_a_bad_condition_says_where_and_how_to_write_it(
    condition: str, offset: int, rule: str, message: str
) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(condition)
    error = caught.value
    assert (error.offset, error.rule, error.message, str(error)) == (offset, rule, message, message)


def test_legacy_flavor_lines_become_a_chain_of_flavor_comparisons() -> None:
    assert any_of_flavors(["Linux", "ANY"]) == Junction(
        "||", Comparison("FLAVOR", "==", "Linux"), Comparison("FLAVOR", "==", "ANY")
    )
    assert any_of_flavors(["Linux", "any"], group=True) == Junction(
        "||", Comparison("FLAVOR", "==", "Linux"), Constant(True)
    )
    assert str(any_of_flavors(["Linux", "Darwin"])) == "FLAVOR == Linux || FLAVOR == Darwin"


@pytest.mark.parametrize(
    ("condition", "build_type", "expected"),
    [
        ("type < 10", "\u00b2", False),  # a digit, but not ASCII: compared as text
        ("type < 100", "ab", False),  # words compare as text ("ab" sorts after "100")
        ("type <= 10", "010", True),  # leading zeros do not count
        ("type < 1", "000", True),
    ],
    ids=["superscript-two", "word", "leading-zero", "zeros"],
)
def test_only_ascii_digits_compare_as_numbers(
    condition: str, build_type: str, expected: bool
) -> None:
    assert evaluate(parse_condition(condition), "Linux64", build_type) is expected


DEEP = (
    "the condition is nested deeper than 32 levels of `(`, `!` and `||`/`&&`:"
    " dm-release reads no deeper"
)


@pytest.mark.parametrize(
    ("condition", "offset"),
    [
        ("(" * 31 + "flavor == A" + ")" * 31, None),
        (" && ".join(f"(flavor == F{i})" for i in range(31)), None),
        (" || ".join(f"flavor == F{i}" for i in range(32)), None),
        ("!" * 31 + " flavor == A", None),
        ("(" * 32 + "flavor == A" + ")" * 32, 32),
        ("!" * 32, 32),
        (" || ".join(f"flavor == F{i}" for i in range(33)), 534),
    ],
    ids=["31-groups", "31-groups-in-a-row", "32-comparisons", "31-negations", "32-groups",
         "32-negations", "33-comparisons"],
)  # fmt: skip
def test_a_condition_may_nest_32_levels_and_no_deeper(condition: str, offset: int | None) -> None:
    from dmrelease.core.limits import MAX_CONDITION_DEPTH

    assert MAX_CONDITION_DEPTH == 32
    if offset is None:
        parse_condition(condition)
        return
    with pytest.raises(ConditionError) as caught:
        parse_condition(condition)
    assert (caught.value.offset, caught.value.rule, caught.value.message) == (
        offset,
        "file-too-deep",
        DEEP,
    )


def test_the_depth_after_a_closed_group_is_the_depth_before_it() -> None:
    """A group that closes gives back exactly the levels it took."""

    def deep(levels: int) -> str:
        return "((flavor == A) && " + "(" * levels + "flavor == B" + ")" * levels + ")"

    parse_condition(deep(29))
    with pytest.raises(ConditionError) as caught:
        parse_condition(deep(30))
    assert (caught.value.offset, caught.value.rule) == (48, "file-too-deep")
