"""Literal version fields are canonical (DESIGN.md §3, PEP 440): the check-version-strings rule.

Python metadata — ``version`` in ``[project]`` or ``[tool.poetry]`` of ``pyproject.toml``,
in ``[metadata]`` of ``setup.cfg`` — must be a valid PEP 440 version in its normalized
spelling (``1.01`` → ``1.1``, ``1.0-rc1`` → ``1.0rc1``: no zero padding, no variants).
Any other file (``ups/*.cfg``) with a ``version = …`` field must hold a canonical DM
release ``M.n.p``, parsed by :mod:`dmrelease.core.names`. Dynamic versions (``attr:``,
``file:``, no field) are not checked. Pure: the hook reads the files and calls
:func:`check_version_strings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from dmrelease.core.errors import Diagnostic
from dmrelease.core.limits import split_lines

__all__ = [
    "check_version_strings",
    "version_fields",
]

# no lazy quantifier before a blank run: ``\S.*?\s*$`` tries the rest of the line once per
# character and took seconds on a 100 KB line; these patterns are linear
_SECTION = re.compile(r"^\s*\[([^\]]+)\]")
_TOML_VERSION = re.compile(r"""^\s*version\s*=\s*(["'])(?P<value>[^"']*)\1""")
_INI_VERSION = re.compile(r"^\s*version\s*[=:]\s*(?P<value>\S(?:.*\S)?)\s*$")
_CFG_VERSION = re.compile(r"""^\s*(?:__)?version(?:__)?\s*[=:]\s*(["']?)(?P<value>[^"'\s#]+)\1""")
_PYTHON_SECTIONS = {"pyproject.toml": ("project", "tool.poetry"), "setup.cfg": ("metadata",)}


def version_fields(path: str, text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(line, column, value, is Python metadata) of each literal version field."""
    name = os.path.basename(path)
    sections = _PYTHON_SECTIONS.get(name)
    pattern = _TOML_VERSION if name == "pyproject.toml" else _INI_VERSION
    section = ""
    for number, line in enumerate(split_lines(text), start=1):
        header = _SECTION.match(line)
        if header:
            section = header[1].strip()
            continue
        if sections is None:
            match = _CFG_VERSION.match(line)
        else:
            match = pattern.match(line) if section in sections else None
        if match and not match["value"].startswith(("attr:", "file:")):
            yield number, match.start("value") + 1, match["value"], sections is not None


def check_version_strings(path: str, text: str) -> list[Diagnostic]:
    """A diagnostic for each version field that is not in its canonical form."""
    found = []
    for line, column, value, python in version_fields(path, text):
        problem = _pep440_problem(value) if python else _dm_problem(value)
        if problem is not None:
            rule, message, hint = problem
            found.append(Diagnostic(path, line, rule, message, column, hint))
    return found


def _pep440_problem(value: str) -> tuple[str, str, str | None] | None:
    from packaging.version import InvalidVersion, Version

    try:
        normalized = str(Version(value))
    except (InvalidVersion, ValueError):  # ValueError: a number of over 4,300 digits
        hint = "e.g. 29.1.0, 29.1.0rc1, 0.1.dev0"
        return "version-pep440", f"{value!r} is not a PEP 440 version", hint
    if normalized != value:
        message = f"{value!r} is not in normalized PEP 440 form"
        return "version-normalized", message, f"write {normalized}"
    return None


def _dm_problem(value: str) -> tuple[str, str, str | None] | None:
    # imported here: the names load semver, which a pyproject.toml check does not need
    from dmrelease.core.names import InvalidName, Release, parse_tag

    try:
        tag = parse_tag(value)
    except InvalidName as exc:
        return exc.diagnostic.rule, f"version {value!r}: {exc.reason}", "write M.n.p, e.g. 29.1.0"
    if not isinstance(tag, Release):
        return "version-release", f"version {value!r} is not a release M.n.p", "e.g. 29.1.0"
    return None
