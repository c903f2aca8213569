"""The one way dm-release reads YAML: composed nodes, which keep lines and duplicate keys.

repos.yaml, conda environment files and products files are composed (not loaded) so that
each problem can point at its node. Every error of PyYAML/libyaml — syntax
(``MarkedYAMLError``), characters YAML forbids such as control characters or NUL
(``ReaderError``, which carries only an offset), anything else of the ``YAMLError``
family — becomes one :class:`~dmrelease.core.errors.ParseError` with the caller's rule id,
a line and a column. Limits (:mod:`dmrelease.core.limits`): files over ``MAX_FILE_BYTES``
are ``file-too-large``, nodes nested deeper than ``MAX_DEPTH`` are ``file-too-deep``.
"""

from __future__ import annotations

import yaml

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import MAX_DEPTH, check_size, position, too_deep

__all__ = [
    "compose",
]

#: libyaml's parser when PyYAML was built with it (about 15 times faster on lsst's repos.yaml)
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NodeLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader used only to compose nodes."""


def compose(text: str, path: str, rule: str) -> yaml.Node | None:
    """The root node of a one-document YAML ``text`` (None for an empty file); raises
    ParseError(``rule``) on anything YAML cannot read, ``file-too-deep`` past the limit."""
    check_size(len(text), path)
    loader: _NodeLoader | None = None
    try:  # the pure-Python reader checks the characters already when the loader is built
        loader = _NodeLoader(text)
        root: yaml.Node | None = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, None)
        message = f"not valid YAML: {exc.problem or exc.context}"
        raise ParseError(Diagnostic(path, line, rule, message, column)) from None
    except yaml.reader.ReaderError as exc:
        line, column = position(text, _character_offset(text, exc))
        message = f"not valid YAML: {exc.reason}: character {exc.character:#04x}"
        hint = "YAML allows no control characters; remove it or write it as an escape"
        raise ParseError(Diagnostic(path, line, rule, message, column, hint)) from None
    except (yaml.YAMLError, UnicodeError) as exc:
        raise ParseError(Diagnostic(path, 1, rule, f"not valid YAML: {exc}", 1)) from None
    except RecursionError:  # the pure-Python composer, without libyaml
        raise too_deep(path, 1, None, "YAML", MAX_DEPTH) from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_depth(root, path)
    return root


def _character_offset(text: str, exc: yaml.reader.ReaderError) -> int:
    """The offset in ``text`` of the refused character: libyaml reports a UTF-8 byte offset,
    the pure-Python reader a character offset."""
    if exc.encoding == "unicode":
        return int(exc.position)
    encoded = text.encode("utf-8", "surrogatepass")[: exc.position]
    return len(encoded.decode("utf-8", "ignore"))


def _check_depth(root: yaml.Node | None, path: str) -> None:
    """``file-too-deep`` at the first node deeper than :data:`MAX_DEPTH` (iterative; an
    aliased node is walked once, so anchors cannot make it exponential or endless)."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)] if root is not None else []
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise too_deep(path, mark.line + 1, mark.column + 1, "YAML", MAX_DEPTH)
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))
