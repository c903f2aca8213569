"""EUPS table files (``ups/<product>.table``) and the dependencies they declare (DESIGN.md §4).

Read as EUPS reads them (RobertLuptonTheGood/eups, ``python/eups/table.py``: ``Table._read``
for the directives, ``Table.actions`` for ``if`` blocks, ``Action.processArgs`` for the
arguments of ``setupRequired``/``setupOptional``). The line syntax is in
:mod:`~dmrelease.core.table_syntax`, the statements in :mod:`~dmrelease.core.table_statements`,
``if`` conditions in :mod:`~dmrelease.core.table_conditions`; this module is the public face.

- ``setupRequired(afw >= 1.0)`` / ``setupOptional(…)``: the first argument that is not a
  flag is the product; the rest (versions, ``[>= 27.0]``, ``&& < 1.15``, flags ``-j -k -f X
  -t T --vro X -r DIR -T TYPE --external``) is kept as :attr:`Dependency.constraint` and does
  not change the build order. ``setupRequired(eups …)`` is a version check of EUPS itself,
  never a dependency; ``--external`` products are not packages of the product.
- ``unsetupRequired(x)``/``unsetupOptional(x)`` drop ``x`` from the dependencies so far.
- other EUPS directives (``envPrepend``, ``envSet``, ``addAlias``, ``declareOptions``,
  ``prodDir``, ``setupEnv``, ``sourceRequired``, …) are kept and ignored for dependencies.

Where EUPS raises, dm-release reports: wrong argument counts of ``env*``/``path*``
directives, a setup without a product, ``-n`` on anything but eups, a flag missing its
value, legacy ``File =``/``Action =`` other than table/setup. Where EUPS only warns or
silently misreads, dm-release reports too, because a misread table drops a dependency:
unknown directives, unbalanced parentheses, unclosed or nested ``if`` blocks, ``else``
without ``if``, bad conditions, stray text, single quotes in setup arguments (EUPS would
look for a product literally named ``'afw'``). Rule ids: ``table-syntax``,
``table-unbalanced-paren``, ``table-unknown-directive``, ``table-unclosed-block``,
``table-unmatched-brace``, ``table-else-without-if``, ``table-nested-block``,
``table-bad-condition``, ``table-empty-product``, ``table-bad-product-name``,
``table-quoting``, ``table-bad-flag``, ``table-bad-constraint``, ``table-arguments``,
``table-legacy``, ``table-tab``, ``table-bom``; checks add ``table-duplicate-dependency``,
``table-self-dependency``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import split_lines
from dmrelease.core.table_statements import (
    DIRECTIVES,
    UNSETUP,
    Action,
    Branch,
    Dependency,
    Directive,
    IfBlock,
    Statement,
    build_statements,
    setup_product,
)
from dmrelease.core.table_syntax import scan
from dmrelease.core.user_regex import HINT as REGEX_HINT
from dmrelease.core.user_regex import BadRegex, compile_user_regex

_BOM = "\ufeff"

__all__ = [
    "DIRECTIVES",
    "Action",
    "Branch",
    "Dependency",
    "Directive",
    "Exclusion",
    "ExclusionMap",
    "IfBlock",
    "Statement",
    "TableFile",
    "TableParseError",
    "check_duplicate_dependencies",
    "check_exclusion_map",
    "check_self_dependency",
    "check_table",
    "checked_table",
    "parse_table",
]


@dataclass(frozen=True)
class TableFile:
    """A parsed table file; ``str()`` is its canonical text (comments dropped)."""

    path: str
    statements: tuple[Statement, ...] = ()

    @property
    def product_name(self) -> str | None:
        """``afw`` for ``…/ups/afw.table``; None when the path does not say."""
        name = PurePosixPath(self.path.replace("\\", "/")).name
        return name[: -len(".table")] if name.endswith(".table") and len(name) > 6 else None

    def actions(self, flavor: str = "Linux64", build_type: str | None = None) -> list[Action]:
        """The directives that apply to a flavor and build type, in table order."""
        result: list[Action] = []
        for statement in self.statements:
            if isinstance(statement, IfBlock):
                result += statement.actions(flavor, build_type)
            else:
                result.append(statement)
        return result

    def dependencies(
        self,
        flavor: str = "Linux64",
        build_type: str | None = None,
        *,
        include_external: bool = False,
        exclusions: ExclusionMap | None = None,
        product: str | None = None,
    ) -> list[Dependency]:
        """The packages this table needs for ``flavor``/``build_type``, in table order.

        Never the ``eups`` version check; ``--external`` ones only with
        ``include_external``; optional ones that ``exclusions`` exclude for ``product``
        (default :attr:`product_name`) are dropped, as ``lsst-build prepare`` does.
        """
        owner = product or self.product_name
        if exclusions is not None and owner is None:
            raise ValueError(f"{self.path}: exclusions need the product name; pass product=")
        result: list[Dependency] = []
        for action in self.actions(flavor, build_type):
            if isinstance(action, Directive):
                if action.name in UNSETUP:
                    gone = setup_product(action.arguments)
                    result = [d for d in result if d.name != gone]
            elif action.is_version_check or (action.external and not include_external):
                continue
            elif not _excluded(action, exclusions, owner):
                result.append(action)
        return result

    def version_checks(
        self, flavor: str = "Linux64", build_type: str | None = None
    ) -> list[Dependency]:
        """The ``setupRequired(eups …)`` checks that apply (their ``constraint``)."""
        return [
            a
            for a in self.actions(flavor, build_type)
            if isinstance(a, Dependency) and a.is_version_check
        ]

    def all_dependencies(self) -> list[Dependency]:
        """Every setup line in every branch, in text order (for checks)."""
        return [dependency for dependency, _scope in _scoped_dependencies(self)]

    def __str__(self) -> str:
        return "".join(f"{statement}\n" for statement in self.statements)


class TableParseError(ParseError):
    """A table or exclusion map with problems: the first is ``diagnostic``, all are
    ``diagnostics`` (the message lists them one per line)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0])
        self.diagnostics = tuple(diagnostics)
        self.args = ("\n".join(str(d) for d in diagnostics),)


def parse_table(text: str, path: str = "<string>") -> TableFile:
    """Parse a table file; raises :class:`TableParseError` with every problem found."""
    table, problems = _parse(text, path)
    if problems:
        raise TableParseError(problems)
    return table


def check_table(
    text: str, path: str = "<string>", *, product: str | None = None
) -> list[Diagnostic]:
    """Every problem of a table file: syntax, duplicated dependencies and, given the
    product's name, a dependency on itself. Empty when the file is fine."""
    return checked_table(text, path, product=product)[1]


def checked_table(
    text: str, path: str = "<string>", *, product: str | None = None
) -> tuple[TableFile | None, list[Diagnostic]]:
    """The table (None when it does not parse) and :func:`check_table`'s problems, from
    one parse, for a caller that goes on to check what the table names."""
    table, problems = _parse(text, path)
    parsed = not problems
    problems += check_duplicate_dependencies(table)
    if product is not None:
        problems += check_self_dependency(table, product)
    return (table if parsed else None), sorted(problems, key=lambda d: (d.line, d.column or 0))


def check_duplicate_dependencies(table: TableFile) -> list[Diagnostic]:
    """A product set up twice where both lines apply (same block, or one outside any
    block); reported at the second line. Different branches of one ``if`` are fine."""
    seen: dict[str, _Earlier] = {}
    problems: list[Diagnostic] = []
    for dependency, scope in _scoped_dependencies(table):
        earlier = seen.setdefault(dependency.name, _Earlier())
        clash = earlier.clash(scope)
        if clash is not None:
            problems.append(
                Diagnostic(
                    table.path,
                    dependency.line,
                    "table-duplicate-dependency",
                    f"`{dependency.name}` is already set up at line {clash.line}: "
                    "keep one of the two lines",
                    dependency.column,
                )
            )
        earlier.add(dependency, scope)
    return problems


@dataclass
class _Earlier:
    """The earlier setups of one product: the first of all, the first outside any block,
    the first in each (block, branch). Enough to find the first clash in constant time
    (a table of 20,000 blocks took 70 s with a list scan per line)."""

    first: Dependency | None = None
    unscoped: Dependency | None = None
    scoped: dict[tuple[int, int], Dependency] = field(default_factory=dict)

    def clash(self, scope: tuple[int, int] | None) -> Dependency | None:
        """The first earlier setup that applies together with one in ``scope``."""
        if scope is None:
            return self.first
        found = [d for d in (self.unscoped, self.scoped.get(scope)) if d is not None]
        return min(found, key=lambda d: (d.line, d.column)) if found else None

    def add(self, dependency: Dependency, scope: tuple[int, int] | None) -> None:
        self.first = self.first or dependency
        if scope is None:
            self.unscoped = self.unscoped or dependency
        else:
            self.scoped.setdefault(scope, dependency)


def check_self_dependency(table: TableFile, product: str) -> list[Diagnostic]:
    """A table that sets up its own product."""
    return [
        Diagnostic(
            table.path,
            d.line,
            "table-self-dependency",
            f"`{product}` depends on itself: remove this line",
            d.column,
        )
        for d in table.all_dependencies()
        if d.name == product
    ]


def _scoped_dependencies(table: TableFile) -> Iterator[tuple[Dependency, tuple[int, int] | None]]:
    """Each dependency with its scope: None outside blocks, (block, branch) inside."""
    for index, statement in enumerate(table.statements):
        if isinstance(statement, Dependency):
            yield statement, None
        elif isinstance(statement, IfBlock):
            bodies = [b.body for b in statement.branches] + [statement.otherwise]
            for number, body in enumerate(bodies):
                for action in body:
                    if isinstance(action, Dependency):
                        yield action, (index, number)


def _excluded(dependency: Dependency, exclusions: ExclusionMap | None, owner: str | None) -> bool:
    """As in ``lsst-build prepare``, only optional dependencies can be excluded."""
    if exclusions is None or owner is None or dependency.required:
        return False
    return exclusions.excludes(dependency.name, owner)


def _parse(text: str, path: str) -> tuple[TableFile, list[Diagnostic]]:
    lines, problems = scan(text.removeprefix(_BOM), path)
    if text.startswith(_BOM):  # EUPS keeps it as text in line 1, which it then misreads
        message = "the file starts with a UTF-8 byte order mark (BOM), which EUPS reads as text"
        problems.append(Diagnostic(path, 1, "table-bom", message, 1, "save it without a BOM"))
    statements = build_statements(lines, path, problems)
    problems.sort(key=lambda d: (d.line, d.column or 0))
    return TableFile(path, statements), problems


@dataclass(frozen=True)
class Exclusion:
    """One exclusion-map line: ``<dependency regex> <product regex>``."""

    dependency: re.Pattern[str]
    product: re.Pattern[str]
    line: int = 0


@dataclass(frozen=True)
class ExclusionMap:
    """Optional dependencies to leave out of the build, per product (lsst/lsst_build
    ``python/lsst/ci/prepare.py``, ``ExclusionResolver``): as there, both regular
    expressions match at the start of the name (``re.match``; ``afw`` also matches
    ``afwdata``, write ``afw$`` for the name alone), and only ``setupOptional`` lines can
    be excluded."""

    rules: tuple[Exclusion, ...] = ()

    @classmethod
    def parse(cls, text: str, path: str = "<string>") -> ExclusionMap:
        """Lines of two whitespace-separated regexes; blank lines and ``#`` comments skipped.
        Raises :class:`TableParseError` with every bad line."""
        rules, problems = _parse_exclusions(text, path)
        if problems:
            raise TableParseError(problems)
        return cls(tuple(rules))

    def excludes(self, dependency_name: str, product_name: str) -> bool:
        return any(
            rule.product.match(product_name) and rule.dependency.match(dependency_name)
            for rule in self.rules
        )


def check_exclusion_map(text: str, path: str = "<string>") -> list[Diagnostic]:
    """Every problem of an exclusion map."""
    return _parse_exclusions(text, path)[1]


def _parse_exclusions(text: str, path: str) -> tuple[list[Exclusion], list[Diagnostic]]:
    rules: list[Exclusion] = []
    problems: list[Diagnostic] = []
    for number, raw in enumerate(split_lines(text), start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2:
            problems.append(
                Diagnostic(
                    path,
                    number,
                    "exclusion-syntax",
                    f"expected `<dependency regex> <product regex>`, found {len(fields)} field(s)",
                    1,
                    "e.g. `cuda_toolkit .*` excludes cuda_toolkit from every product",
                )
            )
            continue
        patterns = [_user_regex(f) for f in fields]
        for index, pattern in enumerate(patterns):
            if isinstance(pattern, str):
                column = _field_column(raw, fields, index)
                problems.append(
                    Diagnostic(path, number, "exclusion-bad-regex", pattern, column, REGEX_HINT)
                )
        if not isinstance(patterns[0], str) and not isinstance(patterns[1], str):
            rules.append(Exclusion(patterns[0], patterns[1], number))
    return rules, problems


def _user_regex(text: str) -> re.Pattern[str] | str:
    try:
        return compile_user_regex(text)
    except BadRegex as exc:
        return str(exc)


def _field_column(raw: str, fields: list[str], index: int) -> int:
    """1-based column of ``fields[index]`` (the second is looked for after the first)."""
    first = raw.index(fields[0])
    return first + 1 if index == 0 else raw.index(fields[1], first + len(fields[0])) + 1
