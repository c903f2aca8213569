"""core/yaml_nodes in full: every diagnostic compose gives (path, line, rule, message,
column, hint), the depth walk over keys, values and aliases, and the offset of a refused
character under both of PyYAML's readers."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
import yaml

from dmrelease.core import limits, yaml_nodes
from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import MAX_DEPTH
from dmrelease.core.yaml_nodes import _character_offset, compose

DEEP = f"YAML nested deeper than {MAX_DEPTH} levels: dm-release reads no deeper"
HINT = "YAML allows no control characters; remove it or write it as an escape"


def diagnostic_of(text: str) -> Diagnostic:
    with pytest.raises(ParseError) as exc:
        compose(text, "r.yaml", "r-syntax")
    return exc.value.diagnostic


@pytest.mark.parametrize(
    ("text", "line", "column", "problem"),
    [
        ("a: b: c\n", 1, 5, "mapping values are not allowed in this context"),
        ("a: *x\n", 1, 4, "found undefined alias"),
        # a problem and a context ("while scanning a quoted scalar"): the problem is said
        ('a: "b\n', 2, 1, "found unexpected end of stream"),
        ("- a\nb: c\n", 2, 1, "did not find expected '-' indicator"),
        ("a: 1\n---\nb: 2\n", 2, 1, "but found another document"),
    ],
)
def test_syntax_errors_in_full(text: str, line: int, column: int, problem: str) -> None:
    assert diagnostic_of(text) == Diagnostic(
        "r.yaml", line, "r-syntax", f"not valid YAML: {problem}", column
    )


def test_a_control_character_in_full() -> None:
    assert diagnostic_of("a: b\x07\n") == Diagnostic(
        "r.yaml",
        1,
        "r-syntax",
        "not valid YAML: control characters are not allowed: character 0x07",
        5,
        HINT,
    )


def test_a_text_over_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 4)
    assert diagnostic_of("a: bc") == Diagnostic(
        "r.yaml", 1, "file-too-large", "5 bytes: larger than dm-release reads (4 bytes)", 1
    )


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_too_deep_in_full_and_empty_documents() -> None:
    assert diagnostic_of("a: " + nested(MAX_DEPTH)) == Diagnostic(
        "r.yaml", 1, "file-too-deep", DEEP, 3 + MAX_DEPTH
    )
    assert compose("a: " + nested(MAX_DEPTH - 1), "r.yaml", "r-syntax") is not None
    assert compose("", "r.yaml", "r-syntax") is None
    assert compose("# only a comment\n", "r.yaml", "r-syntax") is None


def test_keys_are_one_level_below_their_mapping() -> None:
    """The key of the root mapping is level 2, like its value."""
    with pytest.raises(ParseError) as exc:
        compose("? " + nested(MAX_DEPTH) + "\n: v\n", "r.yaml", "r-syntax")
    assert exc.value.diagnostic == Diagnostic("r.yaml", 1, "file-too-deep", DEEP, 2 + MAX_DEPTH)
    assert compose("? " + nested(MAX_DEPTH - 1) + "\n: v\n", "r.yaml", "r-syntax") is not None


def test_a_node_seen_twice_does_not_end_the_walk() -> None:
    """Nodes are walked last-in first-out: the alias of `c` and the anchor of `b` are met
    before the deep value of `deep`, which is still checked."""
    text = f"deep: {nested(MAX_DEPTH)}\nb: &x [1]\nc: *x\n"
    assert diagnostic_of(text) == Diagnostic("r.yaml", 1, "file-too-deep", DEEP, 6 + MAX_DEPTH)


@pytest.mark.xfail(
    strict=True,
    reason="bug: compose builds the loader outside its try, so libyaml's UnicodeEncodeError"
    " on a lone surrogate escapes as a traceback instead of the UnicodeError diagnostic",
)
def test_a_lone_surrogate_is_a_diagnostic() -> None:
    assert diagnostic_of("a: \ud800\n") == Diagnostic(
        "r.yaml",
        1,
        "r-syntax",
        "not valid YAML: 'utf-8' codec can't encode character '\\ud800' in position 3:"
        " surrogates not allowed",
        1,
    )


def reader_error(text: str) -> yaml.reader.ReaderError:
    """The ReaderError of PyYAML's pure-Python reader, which counts characters."""
    with pytest.raises(yaml.reader.ReaderError) as exc:
        yaml.SafeLoader(text).get_single_node()
    return exc.value


def test_the_offset_of_a_refused_character_under_both_readers() -> None:
    text = "é: ab\x07\n"
    python = reader_error(text)
    assert (python.encoding, python.position) == ("unicode", 5)
    assert _character_offset(text, python) == 5
    libyaml = yaml.reader.ReaderError("<r.yaml>", 6, 7, "utf-8", "control characters")
    assert _character_offset(text, libyaml) == 5  # é is two bytes in UTF-8


def test_a_byte_offset_past_a_lone_surrogate_does_not_raise() -> None:
    """A surrogate is encoded (surrogatepass) to count bytes, then dropped: no crash."""
    error = yaml.reader.ReaderError("<r.yaml>", 5, 7, "utf-8", "control characters")
    assert _character_offset("\ud800ab\x07", error) == 2


@pytest.fixture
def without_libyaml(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """yaml_nodes as it is where PyYAML was built without libyaml: the pure-Python loader."""
    monkeypatch.delattr(yaml, "CSafeLoader")
    importlib.reload(yaml_nodes)
    assert not yaml_nodes._BaseLoader.__module__.startswith("yaml.cyaml")
    yield
    monkeypatch.undo()
    importlib.reload(yaml_nodes)


@pytest.mark.usefixtures("without_libyaml")
def test_without_libyaml_too_deep_is_the_same() -> None:
    assert diagnostic_of("a: " + nested(MAX_DEPTH)) == Diagnostic(
        "r.yaml", 1, "file-too-deep", DEEP, 3 + MAX_DEPTH
    )


@pytest.mark.xfail(
    strict=True,
    reason="bug: the pure-Python reader checks characters when the loader is built, which"
    " compose does outside its try: the ReaderError escapes as a traceback",
)
@pytest.mark.usefixtures("without_libyaml")
def test_without_libyaml_a_control_character_is_the_same_diagnostic() -> None:
    assert diagnostic_of("é: ab\x07\n") == Diagnostic(
        "r.yaml",
        1,
        "r-syntax",
        "not valid YAML: special characters are not allowed: character 0x07",
        6,
        HINT,
    )


@pytest.mark.usefixtures("without_libyaml")
def test_without_libyaml_a_stack_deep_text_is_too_deep_not_a_recursion_error() -> None:
    """The pure-Python composer recurses once a level: it runs out of stack first."""
    assert diagnostic_of("a: " + nested(5000)) == Diagnostic(
        "r.yaml", 1, "file-too-deep", DEEP, None
    )
