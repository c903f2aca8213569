"""core/toml_lines in full: every index of one text (headers, sections, keys per section,
key lines, string literals with their columns), the quoted-key spellings a key line is
found under, and the literals whose value only tomllib can decode."""

from __future__ import annotations

from dmrelease.core.toml_lines import TomlLines

TEXT = (
    '[ "a" . b ]\n'  # 1
    "x=1\n"  # 2: a one-letter key right before `=`
    '"q".k = 2\n'  # 3: quoted at the start only
    'k."r" = 3\n'  # 4: quoted at the end only
    "= 4\n"  # 5: no key
    'n = "abc" # c\n'  # 6
    "[Xtool\n"  # 7: a header that does not close
    '"abc" = "x=y"\n'  # 8: a string key; `=` inside the value
    'v = "\'\\t"\n'  # 9: starts with ', holds an escape
    "w = 'C:\\T\x01'\n"  # 10: a literal string with a backslash and a control character
    'u = "x\x01y"\n'  # 11: a basic string with a control character, no escape
    "[[bin]]\n"  # 12: an array of tables is no [section]
)


def test_every_index_of_a_text_in_full() -> None:
    where = TomlLines(TEXT)
    assert where.headers == {
        "[a.b]": 1,
        "x=1": 2,
        "q.k=2": 3,
        "k.r=3": 4,
        "=4": 5,
        "n=abc#c": 6,
        "[Xtool": 7,
        "abc=x=y": 8,
        "v='\\t": 9,
        "w='C:\\T\x01'": 10,
        "u=x\x01y": 11,
        "[[bin]]": 12,
    }
    assert where.sections == {"a . b": 1, "Xtool": 7}
    assert where.keys_in == {
        ("a . b", "x"): 2,
        ("a . b", '"q".k'): 3,
        ("a . b", 'q".k'): 3,
        ("a . b", 'k."r"'): 4,
        ("a . b", 'k."r'): 4,
        ("a . b", "n"): 6,
        ("Xtool", '"abc"'): 8,
        ("Xtool", '"abc'): 8,
        ("Xtool", 'abc"'): 8,
        ("Xtool", "abc"): 8,
        ("Xtool", "v"): 9,
        ("Xtool", "w"): 10,
        ("Xtool", "u"): 11,
    }
    assert where.keys == {key: [line] for (_, key), line in where.keys_in.items()}
    assert where.strings == {
        "q": [(3, 2)],
        "r": [(4, 4)],
        "abc": [(6, 6), (8, 2)],
        "x=y": [(8, 10)],
        "'\t": [(9, 6)],  # decoded by tomllib
        "C:\\T\x01": [(10, 6)],  # a literal string is taken as written
        "x\x01y": [(11, 6)],  # so is a basic string without a backslash
    }


def test_lookups_before_after_and_missing() -> None:
    where = TomlLines(TEXT)
    assert where.key_line("Xtool", "abc") == 8
    assert where.key_line("a . b", "abc") is None
    assert where.section_line("Xtool") == 7
    assert where.section_line("bin") is None
    assert where.key_after("abc", 8) == 8
    assert where.key_after("abc", 9) is None
    assert where.key_after("missing", 1) is None
    assert where.string_after("abc", 6) == (6, 6)
    assert where.string_after("abc", 7) == (8, 2)
    assert where.string_after("abc", 9) is None
    assert where.string_after("missing", 1) is None


def test_a_header_that_does_not_close_names_its_section_without_brackets() -> None:
    assert TomlLines("[tool\n[ x ]]\n").sections == {"tool": 1, "x": 2}
