"""``nox -l`` stands alone like ``--help``: it prints the noxfile's docstring and the first
line of every session's, which a release engineer reads without the design notes."""

from __future__ import annotations

import ast
from pathlib import Path

from test_help_texts import problems

NOXFILE = Path(__file__).resolve().parents[1] / "noxfile.py"


def docstrings() -> dict[str, str]:
    """The module's docstring and each session function's, by name."""
    tree = ast.parse(NOXFILE.read_text())
    found = {"<module>": ast.get_docstring(tree) or ""}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = ast.get_docstring(node) or ""
    return found


def test_the_noxfile_and_every_session_say_what_they_are_without_citations() -> None:
    texts = docstrings()
    assert {"<module>", "tests", "tests_floor", "demo", "validate", "bench"} <= set(texts)
    assert all(texts.values()), [name for name, text in texts.items() if not text]
    assert {name: problems(text) for name, text in texts.items() if problems(text)} == {}
