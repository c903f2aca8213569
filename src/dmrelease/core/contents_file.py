"""The distribution contents file's entries, read node by node (:mod:`dmrelease.core.contents`).

The file is composed into YAML nodes (:mod:`dmrelease.core.yaml_nodes`), which keep their
line and column, and checked node by node so that every problem is reported where it is:
the rule ids and the format are :mod:`dmrelease.core.contents`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.spdx import license_problem

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up)
if TYPE_CHECKING:
    import yaml

__all__ = [
    "DELIVERIES",
    "PACKAGE_FIELDS",
    "SUPPORT_LEVELS",
    "THIRD_PARTY_FIELDS",
    "TOP_KEYS",
    "TYPES",
    "ThirdParty",
    "read_contents",
]

#: DMTN-106 §6's three kinds of third-party package
TYPES = {1: "build/run dependency", 2: "convenience for users", 3: "collaborator code"}
DELIVERIES = ("eups", "conda")
SUPPORT_LEVELS = ("full", "best-effort", "none")
THIRD_PARTY_FIELDS = ("name", "type", "delivery", "license", "support", "rfc")
PACKAGE_FIELDS = ("name", "rfc")
TOP_KEYS = ("third_party", "packages")


@dataclass(frozen=True)
class ThirdParty:
    """One approved third-party package; ``line`` is where its entry starts."""

    name: str
    type: int
    delivery: str
    license: str
    support: str
    rfc: str
    line: int = 0

    @property
    def type_text(self) -> str:
        """What the type means: ``build/run dependency`` for 1."""
        return TYPES[self.type]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "delivery": self.delivery,
            "license": self.license,
            "support": self.support,
            "rfc": self.rfc,
        }


_RFC = re.compile(r"(?:RFC|DM)-[1-9][0-9]*")
_EUPS_NAME = re.compile(r"[A-Za-z0-9_]+")
_CONDA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"


def read_contents(
    text: str, path: str
) -> tuple[tuple[ThirdParty, ...], dict[str, str], list[Diagnostic]]:
    """The valid third-party entries and packages of the contents file ``text``, and every
    problem found (file order)."""
    from dmrelease.core.yaml_nodes import compose

    try:
        root = compose(text, path, "contents-syntax")
    except ParseError as exc:
        return (), {}, [exc.diagnostic]
    reader = _Reader(path)
    reader.read(root)
    problems = sorted(reader.problems, key=lambda d: (d.line, d.column or 0))
    return tuple(reader.third_party), reader.packages, problems


class _Reader:
    """Walks the composed nodes of one contents file, collecting entries and problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.third_party: list[ThirdParty] = []
        self.packages: dict[str, str] = {}
        self.lines: dict[str, tuple[int, str]] = {}  # folded name -> (line, list)
        self.problems: list[Diagnostic] = []

    def report(self, node: yaml.Node, rule: str, message: str, hint: str | None = None) -> None:
        mark = node.start_mark
        self.problems.append(
            Diagnostic(self.path, mark.line + 1, rule, message, mark.column + 1, hint)
        )

    def read(self, root: yaml.Node | None) -> None:
        import yaml

        if not isinstance(root, yaml.MappingNode):
            message = "the contents file is one mapping with `third_party` and `packages` lists"
            if root is None:
                self.problems.append(Diagnostic(self.path, 1, "contents-structure", message))
            else:
                self.report(root, "contents-structure", message)
            return
        fields = self.fields(root, TOP_KEYS, "the contents file")
        if "third_party" in fields:
            for entry in self.entries(fields["third_party"], "third_party"):
                self.third_party_entry(entry)
        if "packages" in fields:
            for entry in self.entries(fields["packages"], "packages"):
                self.package_entry(entry)

    def fields(
        self, node: yaml.MappingNode, allowed: tuple[str, ...], what: str
    ) -> dict[str, yaml.Node]:
        """The keys of a mapping; duplicate and unknown keys reported."""
        seen: dict[str, yaml.Node] = {}
        keys: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                line = keys[name].start_mark.line + 1
                message = f"`{name}` is given twice in {what} (first on line {line}); keep one"
                self.report(key, "contents-duplicate", message)
                continue
            if name not in allowed:
                hint = f"allowed: {', '.join(allowed)}"
                self.report(key, "contents-key", f"unknown key `{name}` in {what}", hint)
                continue
            keys[name], seen[name] = key, value
        return seen

    def entries(self, node: yaml.Node, key: str) -> list[yaml.MappingNode]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            hint = f"write `{key}: []` for none"
            self.report(node, "contents-structure", f"`{key}` must be a list of mappings", hint)
            return []
        result: list[yaml.MappingNode] = []
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                result.append(item)
            else:
                fields = ", ".join(THIRD_PARTY_FIELDS if key == "third_party" else PACKAGE_FIELDS)
                self.report(
                    item, "contents-structure", f"a `{key}` entry must be a mapping of {fields}"
                )
        return result

    def required(
        self, entry: yaml.MappingNode, allowed: tuple[str, ...], key: str
    ) -> dict[str, yaml.Node]:
        fields = self.fields(entry, allowed, f"a `{key}` entry")
        missing = [name for name in allowed if name not in fields]
        if missing:
            named = ", ".join(f"`{name}`" for name in missing)
            self.report(entry, "contents-structure", f"the `{key}` entry has no {named}")
        return fields

    def text(self, node: yaml.Node, rule: str, what: str) -> str | None:
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag == _STR and str(node.value).strip():
            return str(node.value)
        self.report(node, rule, f"{what} must be a non-empty string, not {_shown(node)}")
        return None

    def chosen(self, node: yaml.Node, rule: str, what: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(node, rule, what)
        if value is not None and value not in choices:
            self.report(node, rule, f"{what} {value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def third_party_entry(self, entry: yaml.MappingNode) -> None:
        import yaml

        fields = self.required(entry, THIRD_PARTY_FIELDS, "third_party")
        values: dict[str, str | None] = {}
        if "delivery" in fields:
            values["delivery"] = self.chosen(
                fields["delivery"], "contents-delivery", "delivery", DELIVERIES
            )
        if "support" in fields:
            values["support"] = self.chosen(
                fields["support"], "contents-support", "support", SUPPORT_LEVELS
            )
        if "license" in fields:
            values["license"] = self.license(fields["license"])
        if "rfc" in fields:
            values["rfc"] = self.rfc(fields["rfc"])
        kind: int | None = None
        if "type" in fields:
            node = fields["type"]
            if (
                isinstance(node, yaml.ScalarNode)
                and node.tag == _INT
                and node.value in ("1", "2", "3")
            ):
                kind = int(node.value)
            else:
                meanings = f"1 ({TYPES[1]}), 2 ({TYPES[2]}) or 3 ({TYPES[3]})"
                message = f"type must be {meanings}, not {_shown(node)}"
                self.report(node, "contents-type", message)
        name = (
            self.name(fields["name"], values.get("delivery"), "third_party")
            if "name" in fields
            else None
        )
        complete = [values.get(k) for k in ("delivery", "license", "support", "rfc")]
        if name is not None and kind is not None and all(complete):
            delivery, license, support, rfc = (str(v) for v in complete)
            line = entry.start_mark.line + 1
            self.third_party.append(ThirdParty(name, kind, delivery, license, support, rfc, line))

    def package_entry(self, entry: yaml.MappingNode) -> None:
        fields = self.required(entry, PACKAGE_FIELDS, "packages")
        rfc = self.rfc(fields["rfc"]) if "rfc" in fields else None
        name = self.name(fields["name"], "eups", "packages") if "name" in fields else None
        if name is not None and rfc is not None:
            self.packages[name] = rfc

    def name(self, node: yaml.Node, delivery: str | None, key: str) -> str | None:
        name = self.text(node, "contents-name", "name")
        if name is None:
            return None
        pattern = _EUPS_NAME if delivery == "eups" else _CONDA_NAME
        if not pattern.fullmatch(name):
            shape = (
                "[A-Za-z0-9_]+ (an EUPS product)" if delivery == "eups" else "a conda package name"
            )
            self.report(node, "contents-name", f"name {name!r} is not {shape}")
            return None
        folded = name.lower()
        line = node.start_mark.line + 1
        if folded in self.lines:
            first, listed = self.lines[folded]
            message = f"{name!r} is already listed under {listed} on line {first}"
            self.report(node, "contents-duplicate", message, "a name appears once in the file")
            return None
        self.lines[folded] = (line, key)
        return name

    def license(self, node: yaml.Node) -> str | None:
        value = self.text(node, "contents-license", "license")
        if value is None:
            return None
        problem = license_problem(value)
        if problem is not None:
            hint = "e.g. MIT, BSD-3-Clause, GPL-2.0-or-later, MIT OR Apache-2.0, LicenseRef-<name>"
            self.report(
                node,
                "contents-license",
                f"{value!r} is not an SPDX licence expression: {problem}",
                hint,
            )
            return None
        return value

    def rfc(self, node: yaml.Node) -> str | None:
        value = self.text(node, "contents-rfc", "rfc")
        if value is None:
            return None
        if not _RFC.fullmatch(value):
            hint = "the Jira issue of the CCB approval: RFC-N or DM-N"
            self.report(node, "contents-rfc", f"rfc {value!r} is not an issue key", hint)
            return None
        return value


def _shown(node: yaml.Node) -> str:
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return repr(str(node.value)) if node.value != "" else "empty"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
