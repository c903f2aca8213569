"""Conda environment files: structure and match specs (DESIGN.md §4).

The file is one mapping with ``name`` and ``dependencies`` (``channels``, ``prefix`` and
``variables`` optional). Each dependency is a conda match spec — ``pkg``, ``pkg >=1.2``,
``pkg=1.2``, ``pkg=1.2=build``, ``pkg 1.2 build``, ``channel::pkg`` — or a ``pip:`` list of
PEP 508 requirements (checked like ``check-requirements``). A package listed twice is
reported. ``--pinned`` (a release environment) demands exact versions: ``pkg=1.2=build``,
``pkg==1.2`` or ``pkg 1.2``; conda reads ``pkg=1.2`` as ``1.2*``, so that is not a pin.
The ``check-conda-env`` hook reads the files and calls :func:`check_conda_env`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.requirements import check_requirement

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up)
if TYPE_CHECKING:
    import yaml

__all__ = [
    "KEYS",
    "CondaSpec",
    "check_conda_env",
    "parse_spec",
]

KEYS = ("name", "channels", "dependencies", "prefix", "variables")
_SPEC = re.compile(r"^(?:(?P<channel>[\w.\-/:]+)::)?(?P<name>[A-Za-z0-9_][\w.\-]*)(?P<rest>.*)$")
_VERSION = r"(?:[0-9A-Za-z][0-9A-Za-z._+!]*(?:\.?\*)?|\*)"
_TERM = re.compile(rf"^(?:==|!=|>=|<=|~=|>|<|=)?{_VERSION}$")
_BUILD = re.compile(r"^[A-Za-z0-9_.+*]+$")
#: blanks around operators go (``>= 1.2, < 2`` is ``>=1.2,<2``); blank runs are first made
#: one space, so that no pattern scans a run once per blank (quadratic on 100 KB runs)
_BLANKS = re.compile(r"\s+")
_AROUND_OPERATORS = re.compile(r" ?([,|]|==|!=|>=|<=|~=|>|<) ?")


@dataclass(frozen=True)
class CondaSpec:
    """One conda match spec, split into its parts (conda ``MatchSpec`` string syntax)."""

    name: str
    version: str | None
    build: str | None

    @property
    def exact(self) -> bool:
        """True when one version is allowed: ``=V=B``, ``==V`` or a bare ``V``."""
        version = self.version or ""
        return bool(version) and not re.search(r"[*,|<>!~\[]|^=(?!=)", version)


def parse_spec(text: str) -> CondaSpec | str:
    """The spec, or the reason it is not a valid conda match spec (conda's ``MatchSpec``)."""
    match = _SPEC.match(text.strip())
    if not match:
        return "expected `name`, `name <version>` or `name=<version>=<build>`"
    name = match["name"]
    rest, brackets = _without_brackets(match["rest"])
    rest = _AROUND_OPERATORS.sub(r"\1", _BLANKS.sub(" ", rest)).strip()
    if not rest:
        return CondaSpec(name, "[...]" if brackets else None, None)
    if rest.startswith("=") and not rest.startswith("=="):
        version, pinned_build, build = rest[1:].partition("=")
        version = version if pinned_build else "=" + version  # `=1.2` means `1.2*`
    else:
        words = rest.split()
        if len(words) > 2:
            return f"too many words after {name!r}: write `{name} <version> [<build>]`"
        version, build = words[0], words[1] if len(words) == 2 else ""
    constraint = version[1:] if version.startswith("=") and version[1:2] != "=" else version
    bad = [term for term in re.split(r"[,|]", constraint) if not _TERM.match(term)]
    if bad:
        return f"{bad[0]!r} is not a conda version constraint"
    if build and not _BUILD.match(build):
        return f"{build!r} is not a conda build string"
    return CondaSpec(name, version, build or None)


def _without_brackets(rest: str) -> tuple[str, bool]:
    """``rest`` without a trailing ``[key=value,…]`` (what ``\\[[^\\]]*\\]\\s*$`` removes,
    found in one pass: the regex tries every ``[`` and is quadratic on a run of them)."""
    text = rest.rstrip()
    if not text.endswith("]"):
        return rest, False
    start = text.find("[", text.rfind("]", 0, len(text) - 1) + 1)
    if start < 0 or start == len(text) - 1:
        return rest, False
    return rest[:start], True


def check_conda_env(path: str, text: str, *, pinned: bool = False) -> list[Diagnostic]:
    """Every problem of one environment file, in file order."""
    from dmrelease.core.yaml_nodes import compose

    try:
        root = compose(text, path, "conda-env-syntax")
    except ParseError as exc:
        return [exc.diagnostic]
    return _EnvChecker(path, pinned).check(root)


class _EnvChecker:
    """Walks the composed YAML nodes (which carry lines) of one environment file."""

    def __init__(self, path: str, pinned: bool) -> None:
        self.path, self.pinned = path, pinned
        self.found: list[Diagnostic] = []

    def add(self, node: yaml.Node, rule: str, message: str, hint: str | None = None) -> None:
        mark = node.start_mark
        self.found.append(
            Diagnostic(self.path, mark.line + 1, rule, message, mark.column + 1, hint)
        )

    def check(self, root: yaml.Node | None) -> list[Diagnostic]:
        import yaml

        if not isinstance(root, yaml.MappingNode):
            message = "an environment file is one mapping with `name` and `dependencies`"
            self.found.append(Diagnostic(self.path, 1, "conda-env-structure", message))
            return self.found
        seen: dict[str, yaml.Node] = {}
        for key, value in root.value:
            name = str(key.value)
            if name in seen:
                self.add(key, "conda-env-duplicate", f"`{name}` is given twice; keep one")
            elif name not in KEYS:
                self.add(
                    key, "conda-env-key", f"unknown key `{name}`", f"allowed: {', '.join(KEYS)}"
                )
            seen[name] = value
        for required in ("name", "dependencies"):
            if required not in seen:
                self.add(root, "conda-env-structure", f"no `{required}`", f"add `{required}:`")
        if "name" in seen:
            self.scalar(seen["name"], "name")
        if "channels" in seen:
            for channel in self.sequence(seen["channels"], "channels"):
                self.scalar(channel, "channels")
        if "dependencies" in seen:
            self.dependencies(seen["dependencies"])
        return self.found

    def sequence(self, node: yaml.Node, key: str) -> list[yaml.Node]:
        import yaml

        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        self.add(node, "conda-env-structure", f"`{key}` must be a list")
        return []

    def scalar(self, node: yaml.Node, key: str) -> str | None:
        import yaml

        if isinstance(node, yaml.ScalarNode) and str(node.value).strip():
            return str(node.value)
        self.add(node, "conda-env-structure", f"`{key}` entries must be non-empty strings")
        return None

    def dependencies(self, node: yaml.Node) -> None:
        import yaml

        first: dict[str, int] = {}
        for item in self.sequence(node, "dependencies"):
            if isinstance(item, yaml.MappingNode):
                self.pip_section(item)
                continue
            text = self.scalar(item, "dependencies")
            spec = parse_spec(text) if text is not None else None
            if isinstance(spec, str):
                hint = "write a match spec: `pkg`, `pkg >=1.2,<2`, `pkg=1.2=build` or `pkg 1.2`"
                self.add(item, "conda-env-spec", f"{text!r}: {spec}", hint)
            elif spec is not None:
                self.spec(item, spec, first)

    def spec(self, node: yaml.Node, spec: CondaSpec, first: dict[str, int]) -> None:
        key = spec.name.lower()
        if key in first:
            message = f"{spec.name!r} is already listed on line {first[key]}"
            self.add(node, "conda-env-duplicate", message, "keep one spec per package")
        first.setdefault(key, node.start_mark.line + 1)
        if self.pinned and not spec.exact:
            shown = spec.version or "any version"
            message = f"{spec.name!r} is not pinned to one version ({shown})"
            hint = f"write `{spec.name}=<version>=<build>` or `{spec.name}==<version>`"
            self.add(node, "conda-env-pinned", message, hint)

    def pip_section(self, node: yaml.MappingNode) -> None:
        for key, value in node.value:
            if str(key.value) != "pip":
                message = f"a mapping in `dependencies` may only be `pip:`, not `{key.value}:`"
                self.add(key, "conda-env-structure", message, "write each conda spec as a string")
                continue
            for item in self.sequence(value, "pip"):
                text = self.scalar(item, "pip")
                if text is not None:
                    where = (self.path, item.start_mark.line + 1, item.start_mark.column + 1)
                    self.found.extend(check_requirement(text, where, pinned=self.pinned))
