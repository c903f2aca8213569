"""Loading the configuration: dm-release.toml text, environment and flags, layered.

Precedence is default < file < environment < flag (STYLE.md habit 11); every problem is
collected with the file, line and rule (``config-syntax``, ``config-unknown-key``,
``config-type``, ``config-secret``, ``config-product``, ``config-value``). Pure: the
adapter reads the file and hands in ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmrelease.core.config import (
    FLAVORS,
    PRODUCT_KEYS,
    SECRETS,
    Config,
    Kind,
    ProductConfig,
    Secret,
    options,
)
from dmrelease.core.errors import CheckFailed, Diagnostic, ParseError

_PRODUCT_RE = re.compile(r"^[A-Za-z0-9_]+$")
_SECRET_WORDS = ("token", "password", "secret", "credential", "apikey", "api_key")
_ENVIRONMENT = "<environment>"
_COMMAND_LINE = "<command line>"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class _Origin:
    """Where a value came from, for diagnostics; ``base`` anchors relative paths."""

    path: str
    line: int
    base: Path


def _line_of(text: str, section: str, key: str) -> int:
    """The line of ``key =`` inside ``[section]`` (tomllib gives no positions)."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            current = stripped.strip("[]").strip().replace('"', "")
        elif current == section and re.match(rf"""^["']?{re.escape(key)}["']?\s*=""", stripped):
            return number
    return 1


def _header_line(text: str, section: str) -> int:
    """The line of the ``[section]`` header."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().replace('"', "").replace(" ", "") == f"[{section}]":
            return number
    return 1


def _load_toml(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        line, column = (int(where[1]), int(where[2])) if where else (1, None)
        message = re.sub(r"\s*\(at .*\)$", "", str(exc))
        raise ParseError(Diagnostic(path, line, "config-syntax", message, column)) from None


def _coerce(kind: Kind, value: Any, origin: _Origin) -> Any:
    """The typed value, or raise ValueError with what is expected."""
    if origin.path == _ENVIRONMENT:
        return _from_text(kind, value, origin)
    expected: dict[Kind, type | tuple[type, ...]] = {
        Kind.TEXT: str,
        Kind.INT: int,
        Kind.BOOL: bool,
        Kind.LIST: (list, tuple),
        Kind.PATH: (str, Path),
    }
    if not isinstance(value, expected[kind]) or (kind is Kind.INT and isinstance(value, bool)):
        raise ValueError(f"expected {kind}, got {type(value).__name__}")
    return _typed(kind, value, origin)


def _typed(kind: Kind, value: Any, origin: _Origin) -> Any:
    if kind is Kind.LIST:
        if not all(isinstance(item, str) for item in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    if kind is Kind.PATH:
        return origin.base / value
    return value


def _from_text(kind: Kind, text: str, origin: _Origin) -> Any:
    if kind is Kind.INT:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if kind is Kind.BOOL:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is Kind.LIST:
        return tuple(text.replace(",", " ").split())
    if kind is Kind.PATH:
        return origin.base / text
    return text


class _Builder:
    """Collects values layer by layer and every problem on the way."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.problems: list[Diagnostic] = []
        self.products: list[ProductConfig] = []

    def set(self, name: str, value: Any, origin: _Origin, label: str) -> None:
        try:
            self.values[name] = _coerce(options()[name].kind, value, origin)
        except ValueError as exc:
            self.fail(origin, "config-type", f"{label}: {exc}")

    def fail(self, origin: _Origin, rule: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(origin.path, origin.line, rule, message, hint=hint))


def _by_key() -> dict[str, str]:
    return {spec.key: name for name, spec in options().items() if spec.key}


def _file_layer(builder: _Builder, text: str, path: str, base: Path) -> None:
    by_key = _by_key()
    for section, entries in _load_toml(text, path).items():
        where = _Origin(path, _line_of(text, "", section), base)
        if not isinstance(entries, dict):
            builder.fail(where, "config-unknown-key", f"{section!r} must be a [table]")
        elif section == "products":
            for name, table in entries.items():
                _product(builder, name, table, _Origin(path, where.line, base), text)
        else:
            for key, value in entries.items():
                at = _Origin(path, _line_of(text, section, key), base)
                _file_entry(builder, f"{section}.{key}", value, at, by_key)


def _file_entry(
    builder: _Builder, dotted: str, value: Any, at: _Origin, by_key: dict[str, str]
) -> None:
    if any(word in dotted.lower() for word in _SECRET_WORDS):
        hint = "set it in the environment: " + ", ".join(sorted(SECRETS.values()))
        builder.fail(at, "config-secret", f"{dotted}: secrets are not read from the file", hint)
    elif dotted not in by_key:
        builder.fail(at, "config-unknown-key", f"unknown key {dotted}", _near(dotted, by_key))
    else:
        builder.set(by_key[dotted], value, at, dotted)


def _near(dotted: str, by_key: dict[str, str]) -> str:
    section, _, leaf = dotted.rpartition(".")
    same = [key for key in by_key if key.rpartition(".")[2] == leaf]
    if same:
        return f"did you mean {same[0]}?"
    known = sorted(key for key in by_key if key.startswith(f"{section}."))
    return f"known keys of [{section}]: {', '.join(known)}" if known else "see --help"


def _product(builder: _Builder, name: str, table: Any, at: _Origin, text: str) -> None:
    line = _line_of(text, f"products.{name}", "repos")
    at = _Origin(at.path, line if line > 1 else _header_line(text, f"products.{name}"), at.base)
    if not _PRODUCT_RE.match(name) or not isinstance(table, dict):
        builder.fail(at, "config-product", f"products.{name}: a table named like a product")
        return
    unknown = sorted(set(table) - PRODUCT_KEYS)
    repos, branch = table.get("repos"), table.get("release_branch", "v{major}.{minor}.x")
    external = table.get("external", [])
    if unknown:
        builder.fail(at, "config-unknown-key", f"products.{name}: unknown key {unknown[0]}")
    elif not isinstance(repos, str):
        builder.fail(at, "config-product", f"products.{name}: repos = <path of repos.yaml>")
    elif not isinstance(branch, str) or not {"{major}", "{minor}"} <= set(
        re.findall(r"\{\w+\}", branch)
    ):
        builder.fail(at, "config-product", f"products.{name}: release_branch needs {{major}}"
                     " and {minor}, e.g. 'v{major}.{minor}.x'")  # fmt: skip
    elif not isinstance(external, list) or not all(isinstance(e, str) for e in external):
        builder.fail(at, "config-product", f"products.{name}: external = [<package>, ...]")
    else:
        product = ProductConfig(name, at.base / repos, branch, tuple(external))
        builder.products.append(product)


def _environment_layer(builder: _Builder, environ: Mapping[str, str], cwd: Path) -> None:
    for name, spec in options().items():
        for variable in spec.env:
            if environ.get(variable, "").strip():
                origin = _Origin(_ENVIRONMENT, 1, cwd)
                builder.set(name, environ[variable].strip(), origin, variable)
                break


def _flag_layer(builder: _Builder, flags: Mapping[str, Any], cwd: Path) -> None:
    known = options()
    for name, value in flags.items():
        if name not in known:
            raise KeyError(f"no option {name!r}")  # a bug in the caller, not a user error
        if value is not None:
            builder.set(name, value, _Origin(_COMMAND_LINE, 1, cwd), known[name].flag or name)


def _anchor_default_paths(builder: _Builder, base: Path) -> None:
    """Default paths are relative to the file's directory, like the file's own paths."""
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    for name, spec in options().items():
        if spec.kind is Kind.PATH and name not in builder.values and defaults[name] is not None:
            builder.values[name] = base / str(defaults[name])


def _secret(environ: Mapping[str, str], name: str) -> Secret | None:
    value = environ.get(SECRETS[name], "")
    return Secret(value) if value else None


def _check(builder: _Builder, config: Config) -> None:
    at = _Origin(config.config_path or _COMMAND_LINE, 1, Path())
    for name in ("jobs", "git_jobs"):
        if getattr(config, name) < 0:
            builder.fail(at, "config-value", f"{name} must be 0 (automatic) or more")
    if config.git_timeout <= 0:
        builder.fail(at, "config-value", "git.timeout must be a positive number of seconds")
    if config.flavor not in FLAVORS:
        builder.fail(at, "config-value", f"flavor {config.flavor!r} is not one of {FLAVORS}")
    configured = {p.name for p in config.products}
    for name in config.selected:
        if name not in configured:
            builder.fail(
                at, "config-product", f"product {name!r} is not configured",
                f"add [products.{name}] to dm-release.toml",
            )  # fmt: skip


def build_config(
    *,
    text: str | None = None,
    path: str = "dm-release.toml",
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path = Path(),
) -> Config:
    """Validate and layer: defaults < file ``text`` < ``environ`` < ``flags``.

    Relative paths of the file are relative to the file's directory; those of the
    environment and flags to ``cwd``. Raises CheckFailed with every problem found.
    """
    builder = _Builder()
    if text is not None:
        _file_layer(builder, text, path, Path(path).parent)
    _environment_layer(builder, environ or {}, cwd)
    _flag_layer(builder, flags or {}, cwd)
    _anchor_default_paths(builder, Path(path).parent if text is not None else cwd)
    config = Config(
        products=tuple(builder.products),
        config_path=path if text is not None else None,
        binary_token=_secret(environ or {}, "binary_token"),
        **builder.values,
    )
    _check(builder, config)
    if builder.problems:
        raise CheckFailed(builder.problems)
    return config
