"""Python requirements: PEP 508 strings read with ``packaging`` (DESIGN.md §4).

Reads pip requirements files (``requirements*.txt``/``.in``) and ``pyproject.toml``
(``[project] dependencies``, ``[project.optional-dependencies]``, ``[build-system]
requires``, ``[dependency-groups]``). ``--pinned`` demands one ``==`` (or ``===``) pin per
requirement, as a release environment needs. The ``check-requirements`` hook reads the
files and calls :func:`check_requirements_file`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import load_toml

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up)
if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from dmrelease.core.toml_lines import TomlLines  # for pyproject.toml only, not loaded
    # with a requirements file or a conda environment (their hooks' start-up, issue 10)

__all__ = [
    "check_pyproject",
    "check_requirement",
    "check_requirements_file",
    "check_requirements_txt",
    "is_pin",
    "logical_lines",
]

#: pip options allowed on their own line (pip's requirements-file format)
_OPTIONS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-i",
        "--index-url",
        "--extra-index-url",
        "--no-index",
        "-f",
        "--find-links",
        "--pre",
        "--prefer-binary",
        "--require-hashes",
        "--only-binary",
        "--no-binary",
        "--trusted-host",
        "--use-feature",
        "--config-settings",
        "--global-option",
    }
)
#: pip's ``(^|\s+)#.*$``, written so that a run of blanks is scanned once, not once per
#: blank (pip's pattern is quadratic in the length of a blank run); the blanks before the
#: ``#`` are stripped by :func:`_strip_comment`
_COMMENT = re.compile(r"(?:^|(?<=\s))#")
_PER_REQUIREMENT_OPTION = re.compile(r"(?<!\s)\s+--?[a-z]")
_URL_OR_PATH = re.compile(r"^(\.|/|~|[A-Za-z][\w+.-]*://|git\+|hg\+|svn\+|bzr\+)")


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each requirement line, comments and ``\\`` joins done."""
    start = 0
    parts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        joined = "".join(parts).strip()
        parts = []
        if joined:
            yield start, joined


def _strip_comment(raw: str) -> str:
    """``raw`` without a ``#`` comment that starts the line or follows a blank (pip)."""
    comment = _COMMENT.search(raw)
    return raw if comment is None else raw[: comment.start()].rstrip()


def check_requirement(spec: str, where: tuple[str, int, int], *, pinned: bool) -> list[Diagnostic]:
    """Problems of one PEP 508 string found at ``where`` = (path, line, column of ``spec``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    path, line, column = where
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        message, *context = str(exc).splitlines()
        caret = next((c for c in context if c.strip().startswith(("^", "~"))), "")
        offset = max(caret.find("^") - 4, 0)
        hint = "write `name[extras] <op> version ; marker`, e.g. `numpy >=1.24`"
        return [
            Diagnostic(
                path, line, "requirements-syntax", f"{spec!r}: {message}", column + offset, hint
            )
        ]
    if pinned and requirement.url is None and not is_pin(requirement):
        return [
            Diagnostic(
                path,
                line,
                "requirements-pinned",
                f"{requirement.name!r} is not pinned ({requirement.specifier or 'any version'})",
                column,
                f"pin one version: `{requirement.name}==X.Y.Z`",
            )
        ]
    return []


def is_pin(requirement: Requirement) -> bool:
    """One ``==``/``===`` specifier without a wildcard: exactly one version allowed."""
    specifiers = list(requirement.specifier)
    return (
        len(specifiers) == 1
        and specifiers[0].operator in ("==", "===")
        and not specifiers[0].version.endswith(".*")
    )


def check_requirements_txt(path: str, text: str, *, pinned: bool = False) -> list[Diagnostic]:
    """Every problem of a pip requirements file, in file order."""
    text = text.removeprefix("\ufeff")  # pip decodes a byte order mark away (auto_decode)
    found: list[Diagnostic] = []
    lines = text.splitlines()
    for line, content in logical_lines(text):
        column = lines[line - 1].find(content[:10]) + 1 or 1
        if content.startswith("-"):
            found.extend(_check_option(path, line, content, pinned=pinned))
            continue
        cut = _PER_REQUIREMENT_OPTION.search(content)
        spec = content[: cut.start()] if cut else content
        if _URL_OR_PATH.match(spec):
            if pinned:
                message = f"{spec!r} is a URL or path, not a pinned version"
                hint = "use `name==X.Y.Z` or `name @ URL-of-one-file`"
                found.append(Diagnostic(path, line, "requirements-pinned", message, column, hint))
            continue
        found.extend(check_requirement(spec, (path, line, column), pinned=pinned))
    return found


def _check_option(path: str, line: int, content: str, *, pinned: bool) -> list[Diagnostic]:
    option = re.split(r"[\s=]", content, maxsplit=1)[0]
    if option not in _OPTIONS:
        message = f"unknown pip option {option!r}"
        hint = "see `pip install --help` for requirements-file options"
        return [Diagnostic(path, line, "requirements-option", message, 1, hint)]
    if pinned and option in ("-e", "--editable"):
        message = "an editable install is not a pinned version"
        return [Diagnostic(path, line, "requirements-pinned", message, 1, "use `name==X.Y.Z`")]
    return []


def check_pyproject(path: str, text: str, *, pinned: bool = False) -> list[Diagnostic]:
    """Problems of the dependency lists of a ``pyproject.toml`` (PEP 621, 518, 735)."""
    try:
        data = load_toml(text, path, "toml-syntax")
    except ParseError as exc:
        return [_with_bom_hint(exc.diagnostic, text)]
    from dmrelease.core.toml_lines import TomlLines

    where = TomlLines(text)  # one index of the file: N lists must not scan it N times
    found: list[Diagnostic] = []
    for header, key, specs in _dependency_lists(data):
        found.extend(_check_list(path, where, (header, key), specs, pinned=pinned))
    return found


def _with_bom_hint(problem: Diagnostic, text: str) -> Diagnostic:
    """tomllib (and so pip) refuses a byte order mark: say that is the cause."""
    if problem.line == 1 and problem.rule == "toml-syntax" and text.startswith("\ufeff"):
        hint = "TOML allows no byte order mark: save the file without it"
        return dataclasses.replace(problem, hint=hint)
    return problem


def _dependency_lists(data: dict[str, object]) -> Iterator[tuple[str, str, object]]:
    """(table header, key, value) of every PEP 508 list a pyproject.toml may hold."""
    project = data.get("project")
    if isinstance(project, dict):
        if "dependencies" in project:
            yield "project", "dependencies", project["dependencies"]
        for extra, specs in _mapping(project.get("optional-dependencies")).items():
            yield "project.optional-dependencies", extra, specs
    build = data.get("build-system")
    if isinstance(build, dict) and "requires" in build:
        yield "build-system", "requires", build["requires"]
    for group, specs in _mapping(data.get("dependency-groups")).items():
        yield "dependency-groups", group, specs


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _check_list(
    path: str, where: TomlLines, place: tuple[str, str], specs: object, *, pinned: bool
) -> list[Diagnostic]:
    header, key = place
    cursor = where.section_line(header) or 1
    cursor = where.key_after(key, cursor) or cursor
    if not isinstance(specs, list):
        message = f"`{key}` in [{header}] must be a list of requirement strings"
        return [Diagnostic(path, cursor, "requirements-structure", message)]
    found: list[Diagnostic] = []
    for spec in specs:
        if isinstance(spec, dict) and header == "dependency-groups":
            continue  # {include-group = "..."} (PEP 735)
        if not isinstance(spec, str):
            message = f"`{key}` in [{header}] holds {spec!r}, not a requirement string"
            found.append(Diagnostic(path, cursor, "requirements-structure", message))
            continue
        literal = where.string_after(spec, cursor)
        cursor, column = literal if literal else (cursor, 1)
        found.extend(check_requirement(spec, (path, cursor, column), pinned=pinned))
    return found


def check_requirements_file(path: str, text: str, *, pinned: bool = False) -> list[Diagnostic]:
    """Dispatch on the file name: ``pyproject.toml`` or a pip requirements file."""
    if os.path.basename(path) == "pyproject.toml":
        return check_pyproject(path, text, pinned=pinned)
    return check_requirements_txt(path, text, pinned=pinned)
