"""Loading the configuration: dm-release.toml text, environment and flags, layered.

Precedence is default < file < environment < flag (STYLE.md habit 11); among an option's
environment variables the first one set wins. Every problem is collected with the file,
line and rule (``config-syntax``, ``config-unknown-key``, ``config-type``,
``config-secret``, ``config-product``, ``config-library``, ``config-auxiliary``,
``config-value``). Every integer
is range-checked (``config-value``): timeouts at most :data:`MAX_TIMEOUT` seconds, job
counts at most :data:`MAX_JOBS`, any other number at most :data:`MAX_NUMBER`. Pure: the
adapter reads the file and hands in the process environment.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from dmrelease.core.config import (
    AUXILIARY_KEYS,
    FLAVORS,
    LIBRARY_KEYS,
    PRODUCT_KEYS,
    SECRETS,
    AuxiliaryConfig,
    Config,
    Kind,
    LibraryConfig,
    Loaded,
    ProductConfig,
    RequestOptions,
    Secret,
    options,
    request_options,
    setting_options,
)
from dmrelease.core.errors import CheckFailed, Diagnostic
from dmrelease.core.image_settings import (
    base_image_problem,
    builder_problem,
    platform_problem,
    registry_problem,
    repository_problem,
    tag_prefix_problem,
)
from dmrelease.core.limits import load_toml
from dmrelease.core.packages import BUILD_ID_RE, EUPS_TAG_RE, is_package_name
from dmrelease.core.refnames import MAX_REF_LENGTH, ref_name_problem
from dmrelease.core.requests import bad_refs, parse_ref_list
from dmrelease.core.toml_lines import TomlLines

__all__ = [
    "DEFAULT",
    "MAX_JOBS",
    "MAX_NUMBER",
    "MAX_TIMEOUT",
    "Layers",
    "build_config",
    "build_options",
]

_SECRET_WORDS = ("token", "password", "secret", "credential", "apikey", "api_key")
_ENVIRONMENT = "<environment>"
_COMMAND_LINE = "<command line>"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot name a git tag, or None; whether it is a canonical release tag
    is for the release rules (``tag-canonical``), which know the session."""
    problem = ref_name_problem(tag)
    return f"not a git tag name: {problem}" if problem else None


#: the most digits a build id of the configuration has (as before: b and 1 to 9 digits)
_BUILD_ID_DIGITS = 9


def _eups_tag_problem(tag: str) -> str | None:
    if len(tag) > MAX_REF_LENGTH:
        return f"longer than {MAX_REF_LENGTH} characters (it names a file)"
    if EUPS_TAG_RE.match(tag):
        return None
    return "not an EUPS tag name: letters, digits and '_' only (w_2025_24, v29_1_0_rc1)"


def _build_id_problem(build_id: str) -> str | None:
    match = BUILD_ID_RE.match(build_id)
    if match and len(match[1]) <= _BUILD_ID_DIGITS:
        return None
    return "not a build id: b and digits (b8466)"


def _eupspkg_source_problem(source: str) -> str | None:
    return None if source in ("git", "package") else "not git or package"


def _jobs_problem(jobs: int) -> str | None:
    return None if jobs >= 0 else "not 0 (automatic) or more"


def _timeout_problem(seconds: float) -> str | None:
    return None if seconds > 0 else "not a positive number of seconds"


def _retries_problem(retries: int) -> str | None:
    return None if retries >= 0 else "not 0 (no retry) or more"


#: the largest value of a number setting; larger ones overflow the C types of timeouts
#: (``OverflowError``) and thread pools long before they mean anything
MAX_TIMEOUT = 86_400
MAX_JOBS = 1024
MAX_NUMBER = 1 << 62
_NUMBER_LIMITS = {
    "jobs": MAX_JOBS,
    "git_jobs": MAX_JOBS,
    "git_timeout": MAX_TIMEOUT,
    "download_deadline": MAX_TIMEOUT,
    "jenkins_timeout": MAX_TIMEOUT,
    "jenkins_poll_ms": 1000 * MAX_TIMEOUT,
    "jenkins_retries": 1000,
    "jira_jobs": MAX_JOBS,
    "jira_timeout": MAX_TIMEOUT,
    "jira_retries": 1000,
}


def _range_problem(name: str, number: int) -> str | None:
    """Every integer option is range-checked before its own check."""
    limit = _NUMBER_LIMITS.get(name, MAX_NUMBER)
    return f"larger than {limit}" if number > limit else None


def _flavor_problem(flavor: str) -> str | None:
    return None if flavor in FLAVORS else f"not one of {', '.join(FLAVORS)}"


def _url_problem(url: str | None) -> str | None:
    """Credentials never live in the file or a URL: secrets come from the environment."""
    if url is None or "://" not in url:
        return None
    userinfo = url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
    if ":" in userinfo:
        return "a URL with a password: give the token in DM_RELEASE_BINARY_TOKEN instead"
    return None


def _jenkins_url_problem(url: str) -> str | None:
    """Jenkins is signed in to as the user of the environment, never of the URL (the
    client checks the rest of the URL when it connects)."""
    if "@" in url.partition("://")[2].split("/", 1)[0]:
        return "a URL with credentials: set JENKINS_USER_ID and JENKINS_API_TOKEN instead"
    return None


def _jira_url_problem(url: str) -> str | None:
    """Jira is signed in to with the token of the environment, never of the URL."""
    if "@" in url.partition("://")[2].split("/", 1)[0]:
        return "a URL with credentials: set DM_RELEASE_JIRA_TOKEN instead"
    return None


def _discourse_url_problem(url: str) -> str | None:
    """Discourse takes the API key of the environment in a header, never in the URL."""
    if "@" in url.partition("://")[2].split("/", 1)[0]:
        return "a URL with credentials: set DM_RELEASE_DISCOURSE_API_KEY instead"
    return None


def _issue_key_problem(key: str) -> str | None:
    from dmrelease.core.jira import is_issue_key  # only when one is given

    return None if is_issue_key(key) else "not a Jira issue key (PROJECT-N, as DM-123)"


def _refs_problem(refs: tuple[str, ...]) -> str | None:
    """A ref list reaches git: each ref must be a ref name (core/refnames), each once
    (the rule of core/requests' RefList)."""
    for _column, ref, problem in bad_refs(refs)[:1]:
        return f"not a list of git refs: {ref!r} {problem}"
    return None


def _branch_problem(branch: str) -> str | None:
    problem = ref_name_problem(branch)
    return f"not a git branch name: {problem}" if problem else None


def _positive_problem(number: int) -> str | None:
    return None if number > 0 else "not a positive number"


#: checks of a typed value, by option: the reason it is wrong, or None
_VALUE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "refs": _refs_problem,
    "default_branch": _branch_problem,
    "download_max_bytes": _positive_problem,
    "download_deadline": _positive_problem,
    "unpack_max_bytes": _positive_problem,
    "release_tag": _tag_problem,
    "eups_tag": _eups_tag_problem,
    "jobs": _jobs_problem,
    "git_jobs": _jobs_problem,
    "git_timeout": _timeout_problem,
    "flavor": _flavor_problem,
    "binary_server": _url_problem,
    "source_server": _url_problem,
    "jenkins_url": _jenkins_url_problem,
    "jenkins_timeout": _timeout_problem,
    "jenkins_poll_ms": _positive_problem,
    "jenkins_retries": _retries_problem,
    "jira_url": _jira_url_problem,
    "discourse_url": _discourse_url_problem,
    "discourse_category": _positive_problem,
    "jira_jobs": _positive_problem,
    "jira_timeout": _timeout_problem,
    "jira_retries": _retries_problem,
    "release_issue": _issue_key_problem,
    "build_id": _build_id_problem,
    "eupspkg_source": _eupspkg_source_problem,
    # [docker]: each reaches a Dockerfile, a registry URL or the builder's arguments
    "docker_registry": registry_problem,
    "docker_repository": repository_problem,
    "docker_tag_prefix": tag_prefix_problem,
    "docker_base_image": base_image_problem,
    "docker_builder": builder_problem,
    "docker_platforms": platform_problem,
}

#: options whose rejected value is not repeated in the message: it may hold a credential
_UNECHOED = frozenset({
    "binary_server", "source_server", "jenkins_url", "jira_url", "discourse_url", "docker_registry",
})  # fmt: skip


@dataclass(frozen=True)
class _Origin:
    """Where a value came from, for diagnostics; ``base`` anchors relative paths."""

    path: str
    line: int
    base: Path


def _line_of(text: str, section: str, key: str) -> int:
    """The line of ``key =`` inside ``[section]`` (tomllib gives no positions), else 1."""
    return _positions(text).key_line(section, key) or 1


def _header_line(text: str, section: str) -> int:
    """The line of the ``[section]`` header, else 1."""
    return _positions(text).headers.get(f"[{section}]") or 1


@functools.lru_cache(maxsize=4)
def _positions(text: str) -> TomlLines:
    """One index per text: looking up N keys must not scan the file N times."""
    return TomlLines(text)


def _load_toml(text: str, path: str) -> dict[str, Any]:
    return load_toml(text, path, "config-syntax")


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
        self.sources: dict[str, str] = {}
        self.problems: list[Diagnostic] = []
        self.products: list[ProductConfig] = []
        self.libraries: list[LibraryConfig] = []
        self.auxiliaries: list[AuxiliaryConfig] = []

    def set(self, name: str, value: Any, origin: _Origin, label: str) -> None:
        try:
            typed = _coerce(options()[name].kind, value, origin)
        except ValueError as exc:
            self.fail(origin, "config-type", f"{label}: {exc}")
            return
        problem = _range_problem(name, typed) if isinstance(typed, int) else None
        if problem is None and name in _VALUE_CHECKS:
            problem = _VALUE_CHECKS[name](typed)
        if problem:
            shown = "the value" if name in _UNECHOED else repr(typed)
            self.fail(origin, "config-value", f"{label}: {shown} is {problem}")
        else:
            self.values[name] = typed
            self.sources[name] = _source(origin, label)

    def fail(self, origin: _Origin, rule: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(origin.path, origin.line, rule, message, hint=hint))


def _source(origin: _Origin, label: str) -> str:
    """Where a value came from, as ``config show`` prints it: ``FILE:LINE``,
    ``environment VAR``, ``flag --name`` or ``argument NAME``."""
    if origin.path == _ENVIRONMENT:
        return f"environment {label}"
    if origin.path == _COMMAND_LINE:
        return f"flag {label}" if label.startswith("-") else f"argument {label}"
    return f"{origin.path}:{origin.line}"


#: the source of a value nobody gave
DEFAULT = "default"


def _by_key() -> dict[str, str]:
    return {spec.key: name for name, spec in options().items() if spec.key}


def _file_layer(builder: _Builder, text: str, path: str, base: Path) -> None:
    by_key = _by_key()
    for section, entries in _load_toml(text, path).items():
        where = _Origin(path, _line_of(text, "", section), base)
        if _looks_secret(section):  # a top-level key too
            _secret_in_file(builder, section, where)
        elif not isinstance(entries, dict):
            builder.fail(where, "config-unknown-key", f"{section!r} must be a [table]")
        elif section == "products":
            for name, table in entries.items():
                _product(builder, name, table, _Origin(path, where.line, base), text)
        elif section == "libraries":
            for name, table in entries.items():
                _library(builder, name, table, _Origin(path, where.line, base), text)
        elif section == "auxiliary":
            for name, table in entries.items():
                _auxiliary(builder, name, table, _Origin(path, where.line, base), text)
        else:
            for key, value in entries.items():
                at = _Origin(path, _line_of(text, section, key), base)
                _file_entry(builder, f"{section}.{key}", value, at, by_key)
    _check_libraries(builder, text, path, base)
    _check_auxiliaries(builder, text, path, base)


def _check_libraries(builder: _Builder, text: str, path: str, base: Path) -> None:
    """Each library a product names is configured, and is not a product too."""
    libraries = {library.name for library in builder.libraries}
    products = {product.name for product in builder.products}
    for product in builder.products:
        at = _Origin(path, _key_line(text, f"products.{product.name}", "libraries"), base)
        for name in product.libraries:
            if name not in libraries:
                builder.fail(
                    at, "config-library", f"products.{product.name}: library {name!r} is not "
                    "configured", f"add [libraries.{name}] with its tag to dm-release.toml",
                )  # fmt: skip
    for name in sorted(libraries & products):
        at = _Origin(path, _header_line(text, f"libraries.{name}"), base)
        builder.fail(at, "config-library", f"{name} is both a product and a library",
                     "a product is built here or used as a library: keep one table")  # fmt: skip


def _file_entry(
    builder: _Builder, dotted: str, value: Any, at: _Origin, by_key: dict[str, str]
) -> None:
    if _looks_secret(dotted):
        _secret_in_file(builder, dotted, at)
    elif dotted not in by_key:
        builder.fail(at, "config-unknown-key", f"unknown key {dotted}", _near(dotted, by_key))
    else:
        builder.set(by_key[dotted], value, at, dotted)


def _looks_secret(dotted: str) -> bool:
    return any(word in dotted.lower() for word in _SECRET_WORDS)


#: secrets of a table named after what they log in to, not after the secret's name
_SECRET_KEYS = {
    "docker.password": "registry_password",
    "docker.token": "registry_password",
    "jenkins.password": "jenkins_token",
    "discourse.api_key": "discourse_api_key",
}


def _secret_in_file(builder: _Builder, dotted: str, at: _Origin) -> None:
    alias = _SECRET_KEYS.get(dotted.lower())
    variable = SECRETS[alias] if alias else _secret_variable(dotted)
    if variable:
        hint = f"set it in the environment: {variable}"
    else:  # naming the variable of another secret would mislead
        hint = "remove it: dm-release uses no secret of this name"
    builder.fail(at, "config-secret", f"{dotted}: secrets are not read from the file", hint)


def _secret_variable(dotted: str) -> str | None:
    """The variable of the secret ``dotted`` means, or None: a secret ``<server>_<word>``
    (binary_token) is meant by a key whose last part is it (``binary_token``,
    ``servers.binary_token``), or by a ``<word>`` of ``[servers]`` not named after
    another of its keys (``servers.token``, ``servers.api_token``; not
    ``servers.source_token``, nor ``servers.password``), or by a ``<word>`` of the
    ``[<server>]`` table (``jenkins.token``, ``jenkins.api_token``)."""
    section, _, leaf = dotted.lower().rpartition(".")
    keys = {key.partition(".")[2] for key in _by_key() if key.startswith("servers.")}
    for name, variable in SECRETS.items():
        server, _, word = name.rpartition("_")
        others = keys - {server}
        in_its_table = section == server and leaf.endswith(word)
        in_servers = (
            section == "servers"
            and server in keys
            and leaf.endswith(word)
            and not any(leaf.startswith(other) for other in others)
        )
        if leaf == name or in_its_table or in_servers:
            return variable
    return None


def _near(dotted: str, by_key: dict[str, str]) -> str:
    section, _, leaf = dotted.rpartition(".")
    same = [key for key in by_key if key.rpartition(".")[2] == leaf]
    if same:
        return f"did you mean {same[0]}?"
    known = sorted(key for key in by_key if key.startswith(f"{section}."))
    return f"known keys of [{section}]: {', '.join(known)}" if known else "see --help"


def _product(builder: _Builder, name: str, table: Any, at: _Origin, text: str) -> None:
    section = f"products.{name}"
    at = _Origin(at.path, _key_line(text, section, "repos"), at.base)
    if not is_package_name(name) or not isinstance(table, dict):
        builder.fail(at, "config-product", f"{section}: a table named like a product")
        return
    before = len(builder.problems)
    unknown = sorted(set(table) - PRODUCT_KEYS)
    repos, branch = table.get("repos"), table.get("release_branch", "v{major}.{minor}.x")
    if unknown:
        builder.fail(at, "config-unknown-key", f"{section}: unknown key {unknown[0]}")
    if not isinstance(repos, str):
        builder.fail(at, "config-product", f"{section}: repos = <path of repos.yaml>")
    if not isinstance(branch, str) or not {"{major}", "{minor}"} <= set(
        re.findall(r"\{\w+\}", branch)
    ):
        builder.fail(at, "config-product", f"{section}: release_branch needs {{major}}"
                     " and {minor}, e.g. 'v{major}.{minor}.x'")  # fmt: skip
    lists = {key: _package_list(builder, table, section, key, text, at) for key in _LISTS}
    both = sorted(set(lists["external"]) & set(lists["external_repos"]))
    if both:
        where = _Origin(at.path, _key_line(text, section, "external_repos"), at.base)
        message = f"{section}: in both external and external_repos: {', '.join(both)}"
        builder.fail(where, "config-product", message, _LISTS_HINT)
    demo = table.get("demo")
    if demo is not None and (not isinstance(demo, str) or not demo.strip()):
        where = _Origin(at.path, _key_line(text, section, "demo"), at.base)
        builder.fail(where, "config-product", f"{section}: demo = <a shell command>")
    if len(builder.problems) == before:
        product = ProductConfig(name, at.base / str(repos), str(branch), **lists, demo=demo)
        builder.products.append(product)
        builder.sources[section] = _source(at, section)
        for key in PRODUCT_KEYS:  # each key its own line; one not given, the header's
            line = _key_line(text, section, key) if key in table else _header_line(text, section)
            builder.sources[f"{section}.{key}"] = _source(_Origin(at.path, line, at.base), key)


def _library(builder: _Builder, name: str, table: Any, at: _Origin, text: str) -> None:
    """``[libraries.NAME]``: ``tag`` (an EUPS tag name), optional ``server`` (a URL)."""
    section = f"libraries.{name}"
    at = _Origin(at.path, _key_line(text, section, "tag"), at.base)
    if not is_package_name(name) or not isinstance(table, dict):
        builder.fail(at, "config-library", f"{section}: a table named like a product")
        return
    before = len(builder.problems)
    unknown = sorted(set(table) - LIBRARY_KEYS)
    if unknown:
        builder.fail(at, "config-unknown-key", f"{section}: unknown key {unknown[0]}")
    tag, server = table.get("tag"), table.get("server")
    problem = _eups_tag_problem(tag) if isinstance(tag, str) else "missing"
    if problem:
        builder.fail(at, "config-library", f"{section}: tag = <EUPS tag>: {problem}",
                     "the EUPS tag the library is released at, e.g. v1_2_0")  # fmt: skip
    if server is not None and not (isinstance(server, str) and server.strip()):
        where = _Origin(at.path, _key_line(text, section, "server"), at.base)
        builder.fail(where, "config-library", f"{section}: server = <binary server URL>")
    if len(builder.problems) == before:
        builder.libraries.append(LibraryConfig(name, str(tag), server))
        builder.sources[section] = _source(at, section)


#: an auxiliary repository's name: a repository's name (it names its clone's directory)
_AUXILIARY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: a URL git reads as one: ``scheme://...`` or scp-like ``user@host:path``
_SCP_URL = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")


def _auxiliary(builder: _Builder, name: str, table: Any, at: _Origin, text: str) -> None:
    """``[auxiliary.NAME]``: ``url`` (a git URL or a path, relative to the file), optional
    ``ref`` (a branch name) and ``products`` (configured products)."""
    section = f"auxiliary.{name}"
    at = _Origin(at.path, _key_line(text, section, "url"), at.base)
    if not _AUXILIARY_NAME.match(name) or name.endswith(".lock") or not isinstance(table, dict):
        hint = "letters, digits, '.', '_' and '-', starting with a letter or digit"
        builder.fail(at, "config-auxiliary", f"{section}: a table named like a repository", hint)
        return
    before = len(builder.problems)
    unknown = sorted(set(table) - AUXILIARY_KEYS)
    if unknown:
        builder.fail(at, "config-unknown-key", f"{section}: unknown key {unknown[0]}")
    url, ref, products = table.get("url"), table.get("ref"), table.get("products", [])
    if not isinstance(url, str) or not url.strip() or url.startswith("-"):
        builder.fail(at, "config-auxiliary", f"{section}: url = <git URL or path>",
                     "e.g. https://github.com/lsst/lsst-texmf or ../aux/texmf.git")  # fmt: skip
    elif _url_problem(url):
        builder.fail(at, "config-auxiliary", f"{section}: url: a URL with a password",
                     "credentials come from git's own helpers, never the file")  # fmt: skip
    where = _Origin(at.path, _key_line(text, section, "ref"), at.base)
    if ref is not None and not (isinstance(ref, str) and _branch_problem(ref) is None):
        shown = _branch_problem(ref) if isinstance(ref, str) else "not text"
        builder.fail(where, "config-auxiliary", f"{section}: ref = <branch>: {shown}")
    where = _Origin(at.path, _key_line(text, section, "products"), at.base)
    if not isinstance(products, list) or not all(
        isinstance(p, str) and is_package_name(p) for p in products
    ):
        builder.fail(where, "config-auxiliary", f"{section}: products = [<product>, ...]")
    if len(builder.problems) == before:
        assert isinstance(url, str)
        located = url if "://" in url or _SCP_URL.match(url) else str(at.base / url)
        auxiliary = AuxiliaryConfig(name, located, ref, tuple(products))
        builder.auxiliaries.append(auxiliary)
        builder.sources[section] = _source(at, section)
        for key in AUXILIARY_KEYS:  # each key its own line; one not given is a default
            line = _key_line(text, section, key)
            given = _source(_Origin(at.path, line, at.base), key)
            builder.sources[f"{section}.{key}"] = given if key in table else DEFAULT


def _check_auxiliaries(builder: _Builder, text: str, path: str, base: Path) -> None:
    """Each product an auxiliary repository names is configured."""
    products = {product.name for product in builder.products}
    for auxiliary in builder.auxiliaries:
        section = f"auxiliary.{auxiliary.name}"
        at = _Origin(path, _key_line(text, section, "products"), base)
        for name in auxiliary.products:
            if name not in products:
                message = f"{section}: product {name!r} is not configured"
                hint = f"add [products.{name}] or drop it from products"
                builder.fail(at, "config-auxiliary", message, hint)


_LISTS = ("external", "external_repos", "libraries")
_NAME_HINT = "a package name is letters, digits and '_', as the keys of repos.yaml"
_LISTS_HINT = (
    "external: dependencies that are not packages of the product (not built); "
    "external_repos: packages of the product on external forks (finals also get vM.n.p)"
)


def _key_line(text: str, section: str, key: str) -> int:
    """The line of ``key`` in ``[section]``, else of the section's header."""
    line = _line_of(text, section, key)
    return line if line > 1 else _header_line(text, section)


def _package_list(
    builder: _Builder, table: dict[str, Any], section: str, key: str, text: str, at: _Origin
) -> tuple[str, ...]:
    """``key = [<package>, ...]`` of a product: a list of valid package names."""
    names = table.get(key, [])
    where = _Origin(at.path, _key_line(text, section, key), at.base)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        builder.fail(where, "config-product", f"{section}: {key} = [<package>, ...]")
        return ()
    bad = ", ".join(repr(n) for n in names if not is_package_name(n))
    if bad:
        message = f"{section}: {key}: not package names: {bad}"
        builder.fail(where, "config-product", message, _NAME_HINT)
    return tuple(names)


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
            label = known[name].flag or known[name].metavar or name
            builder.set(name, value, _Origin(_COMMAND_LINE, 1, cwd), label)


def _derive_state_dir(builder: _Builder) -> None:
    """``state_dir`` defaults to ``<work_dir>/state``, wherever ``work_dir`` came from."""
    if "state_dir" not in builder.values and "work_dir" in builder.values:
        builder.values["state_dir"] = builder.values["work_dir"] / "state"
        builder.sources["state_dir"] = f"{DEFAULT} (<work_dir>/state)"


def _anchor_default_paths(builder: _Builder, base: Path) -> None:
    """Default paths are relative to the file's directory, like the file's own paths."""
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    for name, spec in setting_options().items():
        if spec.kind is Kind.PATH and name not in builder.values and defaults[name] is not None:
            builder.values[name] = base / str(defaults[name])


def _secret(environ: Mapping[str, str], name: str) -> Secret | None:
    value = environ.get(SECRETS[name], "")
    return Secret(value) if value else None


def _check(builder: _Builder, config: Config, request: RequestOptions) -> None:
    at = _Origin(config.config_path or _COMMAND_LINE, 1, Path())
    configured = {p.name for p in config.products}
    for name in request.selected:
        if name not in configured:
            builder.fail(
                at, "config-product", f"product {name!r} is not configured",
                f"add [products.{name}] to dm-release.toml",
            )  # fmt: skip


def build_options(
    *,
    text: str | None = None,
    path: str = "dm-release.toml",
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path = Path(),
) -> Loaded:
    """Validate and layer: defaults < file ``text`` < ``environ`` < ``flags``, into the
    settings (:class:`Config`) and the :class:`RequestOptions`.

    Relative paths of the file are relative to the file's directory; those of the
    environment and flags to ``cwd``. Raises CheckFailed with every problem found.
    ``Loaded.sources`` says where each value came from (every option and secret by name,
    each product as ``products.NAME``, the line of its ``repos``, and each of its keys as
    ``products.NAME.KEY``, its own line or, left at its default, the table header's):
    ``default``, ``FILE:LINE``, ``environment VAR``, ``flag --name`` or ``argument NAME``.
    """
    builder = _Builder()
    if text is not None:
        _file_layer(builder, text, path, Path(path).parent)
    _environment_layer(builder, environ or {}, cwd)
    _flag_layer(builder, flags or {}, cwd)
    _derive_state_dir(builder)
    _anchor_default_paths(builder, Path(path).parent if text is not None else cwd)
    asked = {n: v for n, v in builder.values.items() if n in request_options()}
    if "refs" in asked:  # checked by the layer (config-value), so this cannot fail
        asked["refs"] = parse_ref_list(asked["refs"])
    request = RequestOptions(**asked)
    settings: dict[str, Any] = {n: v for n, v in builder.values.items() if n in setting_options()}
    settings.update((name, _secret(environ or {}, name)) for name in SECRETS)
    config = Config(
        products=tuple(builder.products),
        libraries=tuple(builder.libraries),
        auxiliaries=tuple(builder.auxiliaries),
        config_path=path if text is not None else None,
        **settings,
    )
    _check(builder, config, request)
    if builder.problems:
        raise CheckFailed(builder.problems)
    for name, variable in SECRETS.items():
        if getattr(config, name) is not None:
            builder.sources[name] = f"environment {variable}"
    sources = {name: builder.sources.get(name, DEFAULT) for name in (*options(), *SECRETS)}
    tables = ("products.", "libraries.", "auxiliary.")
    products = {k: v for k, v in builder.sources.items() if k.startswith(tables)}
    return Loaded(config, request, {**sources, **products})


class Layers(TypedDict, total=False):
    """The arguments of :func:`build_options`."""

    text: str | None
    path: str
    environ: Mapping[str, str] | None
    flags: Mapping[str, Any] | None
    cwd: Path


def build_config(**layers: Unpack[Layers]) -> Config:
    """The settings of :func:`build_options` (the request options are validated too)."""
    return build_options(**layers).config
