"""repos.yaml: product name → git repository (DESIGN.md §4, lsst/repos ``etc/repos.yaml``).

A value is a URL string or a mapping with ``url`` and at least one of ``ref`` (the default
branch or tag) and ``lfs: true``. Keys match ``^[A-Za-z0-9_]+$``; no other keys exist.
PyYAML keeps the last of duplicate keys without a word, so the file is composed into nodes
(which carry their line and column, :mod:`dmrelease.core.yaml_nodes`) and checked node by
node: every problem is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import yaml

from dmrelease.core.errors import CheckFailed, Diagnostic, ParseError
from dmrelease.core.packages import is_package_name
from dmrelease.core.redact import redact
from dmrelease.core.refnames import ref_name_problem, url_problem
from dmrelease.core.yaml_nodes import compose

__all__ = [
    "FIELDS",
    "RepoEntry",
    "check_repos",
    "parse_repos",
]

FIELDS = ("url", "ref", "lfs")
_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"


@dataclass(frozen=True)
class RepoEntry:
    """One product's repository; ``str()`` is its canonical repos.yaml text."""

    name: str
    url: str
    ref: str | None = None
    lfs: bool = False
    line: int = 0

    def __str__(self) -> str:
        if self.ref is None and not self.lfs:
            return f"{self.name}: {self.url}"
        text = f"{self.name}:\n  url: {self.url}"
        if self.ref is not None:
            text += f"\n  ref: {_scalar(self.ref)}"
        if self.lfs:
            text += "\n  lfs: true"
        return text


def _scalar(text: str) -> str:
    """``text`` plain when YAML reads it back as that string, else single-quoted."""
    try:
        plain = yaml.safe_load(text) == text
    except yaml.YAMLError:
        plain = False
    return text if plain else "'" + text.replace("'", "''") + "'"


class _Reader:
    """Walks the composed nodes of one file, collecting entries and diagnostics."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: dict[str, RepoEntry] = {}
        self.problems: list[Diagnostic] = []

    def report(self, node: yaml.Node, rule: str, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Diagnostic(self.path, mark.line + 1, rule, message, mark.column + 1))

    def read(self, root: yaml.Node | None) -> None:
        if not isinstance(root, yaml.MappingNode):
            message = "the file must be one mapping of product name to repository"
            if root is None:
                self.problems.append(Diagnostic(self.path, 1, "repos-structure", message))
            else:
                self.report(root, "repos-structure", message)
            return
        first_line: dict[str, int] = {}
        for key, value in root.value:
            name = str(key.value)
            if name in first_line:
                self.report(
                    key,
                    "repos-duplicate",
                    f"`{name}` is already defined on line "
                    f"{first_line[name]}; keep one entry (YAML keeps the last)",
                )
                continue
            first_line[name] = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode) or not is_package_name(name):
                self.report(
                    key, "repos-key", f"`{name}` is not a product name: use letters, digits and `_`"
                )
                continue
            entry = self.entry(name, key, value)
            if entry is not None:
                self.entries[name] = entry

    def entry(self, name: str, key: yaml.Node, value: yaml.Node) -> RepoEntry | None:
        line = key.start_mark.line + 1
        if isinstance(value, yaml.ScalarNode) and value.tag == _STR:
            url = self.url(value)
            return None if url is None else RepoEntry(name, url, line=line)
        if isinstance(value, yaml.MappingNode):
            return self.mapping_entry(name, key, value)
        self.report(
            value,
            "repos-value",
            f"`{name}` needs a URL string or a mapping with `url` and `ref` or `lfs`",
        )
        return None

    def mapping_entry(self, name: str, key: yaml.Node, node: yaml.MappingNode) -> RepoEntry | None:
        fields: dict[str, yaml.Node] = {}
        for field_key, field_value in node.value:
            field = str(field_key.value)
            if field in fields:
                self.report(field_key, "repos-duplicate", f"`{name}` has `{field}` twice")
            elif field not in FIELDS:
                self.report(
                    field_key,
                    "repos-unknown-key",
                    f"`{name}` has unknown key `{field}`; allowed: url, ref, lfs",
                )
            else:
                fields[field] = field_value
        if "url" not in fields:
            self.report(key, "repos-url", f"`{name}` has no `url`")
        if "ref" not in fields and "lfs" not in fields:
            self.report(
                key,
                "repos-ref-or-lfs",
                f"`{name}` is a mapping without `ref` or "
                "`lfs: true`; write the URL as a plain string instead",
            )
        url = self.url(fields["url"]) if "url" in fields else None
        ref = self.ref(name, fields["ref"]) if "ref" in fields else None
        lfs = self.lfs(name, fields["lfs"]) if "lfs" in fields else False
        if url is None or ("ref" in fields and ref is None) or lfs is None:
            return None
        return RepoEntry(name, url, ref, lfs, key.start_mark.line + 1)

    def url(self, node: yaml.Node) -> str | None:
        """The URL reaches ``git clone`` (after ``--``): no option, no hidden host option;
        the message shows it redacted, as a URL may carry a password (issue 8 §4, §5)."""
        scalar = isinstance(node, yaml.ScalarNode) and node.tag == _STR
        problem = url_problem(node.value) if scalar else "is not a git URL (https://…, git@host:…)"
        if problem is None:
            return str(node.value)
        shown = (
            f"`{redact(node.value)}`"
            if isinstance(node, yaml.ScalarNode) and node.value
            else "this"
        )
        self.report(node, "repos-url", f"{shown} {problem}")
        return None

    def ref(self, name: str, node: yaml.Node) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR and node.value.strip():
            problem = ref_name_problem(node.value)
            if problem is None:
                return str(node.value)
            self.report(
                node, "repos-ref", f"the `ref` of `{name}` is not a git ref name: {problem}"
            )
            return None
        self.report(
            node,
            "repos-ref",
            f"the `ref` of `{name}` must be a branch or tag name; "
            "quote it if YAML reads it as a number or boolean",
        )
        return None

    def lfs(self, name: str, node: yaml.Node) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL and node.value == "true":
            return True
        self.report(
            node,
            "repos-lfs",
            f"`lfs` of `{name}` must be `true` (lowercase); remove the key otherwise",
        )
        return None


def _compose(text: str, path: str) -> tuple[yaml.Node | None, list[Diagnostic]]:
    try:
        return compose(text, path, "repos-syntax"), []
    except ParseError as exc:
        return None, [exc.diagnostic]


def _unsorted(entries: dict[str, RepoEntry], path: str) -> list[Diagnostic]:
    names = list(entries)
    return [
        Diagnostic(
            path,
            entries[name].line,
            "repos-sorted",
            f"`{name}` should come before `{previous}` (keys sorted by name)",
            1,
        )
        for previous, name in pairwise(names)
        if name < previous
    ]


def _read(text: str, path: str, sorted_keys: bool) -> tuple[dict[str, RepoEntry], list[Diagnostic]]:
    root, problems = _compose(text, path)
    if problems:
        return {}, problems
    reader = _Reader(path)
    reader.read(root)
    if sorted_keys:
        reader.problems.extend(_unsorted(reader.entries, path))
    return reader.entries, sorted(reader.problems, key=lambda d: (d.line, d.column or 0))


def check_repos(
    text: str, path: str = "repos.yaml", *, sorted_keys: bool = False
) -> list[Diagnostic]:
    """Every problem of a repos.yaml text, in file order (DESIGN.md §4).

    With ``sorted_keys`` each key that sorts (Python ``str`` order) before the key above it
    is reported too.
    """
    return _read(text, path, sorted_keys)[1]


def parse_repos(text: str, path: str = "repos.yaml") -> dict[str, RepoEntry]:
    """The entries of a repos.yaml text in file order; raises CheckFailed with every problem."""
    entries, problems = _read(text, path, sorted_keys=False)
    if problems:
        raise CheckFailed(problems)
    return entries
