"""The build environment in the settings: ``{env}`` in the stack's and the servers' paths,
and the flavor of this machine (DESIGN.md §5: the conda environment is not in the version,
so each environment has its own stack and servers; §6: the flavors).

Pure: the adapter (adapters/config) hands in the loaded settings and the platform it read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import PurePath

from dmrelease.core.config import LibraryConfig, Loaded, options
from dmrelease.core.errors import CheckFailed, Diagnostic

__all__ = [
    "ENV_PLACEHOLDER",
    "ENV_SETTINGS",
    "env_name_problem",
    "flavor_of",
    "with_environment",
]

#: what is replaced by the environment's name (``build.env``) in the settings below
ENV_PLACEHOLDER = "{env}"
#: the settings in which ``{env}`` is the environment's name: one stack and one pair of
#: servers per environment
ENV_SETTINGS = ("stack", "source_server_dir", "binary_server_dir", "binary_server", "source_server")

_ENV_NAME_RE = re.compile(r"^[A-Za-z0-9._+-]+$")
_MAX_ENV_NAME = 100

#: (system, machine) as Python's platform module names them -> the EUPS flavor
_FLAVORS = {
    ("Linux", "x86_64"): "Linux64",
    ("Linux", "amd64"): "Linux64",
    ("Linux", "aarch64"): "Linux",
    ("Linux", "arm64"): "Linux",
    ("Darwin", "x86_64"): "DarwinX86",
    ("Darwin", "arm64"): "Darwin",
}


def flavor_of(system: str, machine: str) -> str | None:
    """The EUPS flavor of a machine (``platform.system()``, ``platform.machine()``):
    Linux64 on x86_64 Linux, Linux on aarch64 Linux, DarwinX86 on x86_64 macOS, Darwin on
    arm64 macOS; None for any other (the declared default then stays)."""
    return _FLAVORS.get((system, machine.lower()))


def env_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an environment, or None: it becomes part of paths, so
    letters, digits and ``._-+`` only, not ``.`` or ``..``, at most 100 characters."""
    if len(name) > _MAX_ENV_NAME:
        return f"longer than {_MAX_ENV_NAME} characters"
    if not _ENV_NAME_RE.match(name) or set(name) == {"."}:
        return "not an environment name: letters, digits and ._-+ only (e.g. 9.0.0)"
    return None


def with_environment(loaded: Loaded, *, flavor: str | None = None) -> Loaded:
    """``loaded`` with ``{env}`` replaced by ``build.env`` in :data:`ENV_SETTINGS` and in
    each ``[libraries.NAME].server`` (a library's binary server, like servers.binary), and
    ``flavor`` (this machine's) as the flavor when none was given; a relative
    ``paths.source_server`` or ``paths.binary_server`` of the file is made relative to the
    file's directory, like the file's other paths. CheckFailed naming each
    setting and where it was given when ``{env}`` is used and ``build.env`` is unset, and
    when ``build.env`` is not an environment name (``config-env``)."""
    config, sources = loaded.config, loaded.sources
    problems = []
    name = config.env_name
    if name is not None and (problem := env_name_problem(name)):
        problems.append(_at(sources, "env_name", f"{name!r} is {problem}"))
    changed: dict[str, object] = {}
    for setting in ENV_SETTINGS:
        value = getattr(config, setting)
        if value is None or ENV_PLACEHOLDER not in str(value):
            continue
        if name is None:
            variables = ", ".join(options()["env_name"].env)
            problems.append(
                _at(
                    sources, setting, f"{ENV_PLACEHOLDER} is used but build.env is unset",
                    hint=f"set build.env in the file or one of {variables}",
                )
            )  # fmt: skip
        else:
            text = str(value).replace(ENV_PLACEHOLDER, name)
            changed[setting] = type(value)(text)
    libraries = tuple(_library_server(library, name, sources, problems)
                      for library in config.libraries)  # fmt: skip
    if libraries != config.libraries:
        changed["libraries"] = libraries
    if problems:
        raise CheckFailed(problems)
    for setting in _DESTINATIONS:
        value = changed.get(setting, getattr(config, setting))
        anchored = _anchored(value, sources.get(setting, "default"))
        if anchored != value:
            changed[setting] = anchored
    if flavor is not None and sources.get("flavor", "default") == "default":
        changed["flavor"] = flavor
    if not changed:
        return loaded
    return dataclasses.replace(loaded, config=dataclasses.replace(config, **changed))  # type: ignore[arg-type]


def _library_server(
    library: LibraryConfig, name: str | None, sources: Mapping[str, str],
    problems: list[Diagnostic],
) -> LibraryConfig:  # fmt: skip
    """``library`` with ``{env}`` in its server replaced by ``name``; with ``name`` None,
    a ``config-env`` problem at its table (appended to ``problems``)."""
    server = library.server
    if server is None or ENV_PLACEHOLDER not in server:
        return library
    if name is not None:
        return dataclasses.replace(library, server=server.replace(ENV_PLACEHOLDER, name))
    key = f"libraries.{library.name}.server"
    variables = ", ".join(options()["env_name"].env)
    path, _, line = sources.get(f"libraries.{library.name}", "").rpartition(":")
    where = (path, int(line)) if path and line.isdigit() else ("<command line>", 1)
    problems.append(Diagnostic(
        *where, "config-env", f"{key}: {ENV_PLACEHOLDER} is used but build.env is unset",
        hint=f"set build.env in the file or one of {variables}",
    ))  # fmt: skip
    return library


#: the write destinations: a directory or an object store URL (text, not paths)
_DESTINATIONS = ("source_server_dir", "binary_server_dir")


def _anchored(value: object, source: str) -> object:
    """A relative directory given in the file, relative to the file's directory like the
    file's other paths (a URL, an absolute path, or one from the environment as given)."""
    if not isinstance(value, str) or "://" in value or PurePath(value).is_absolute():
        return value
    path, _, line = source.rpartition(":")
    if not path or not line.isdigit():
        return value
    return str(PurePath(path).parent / value)


def _at(
    sources: Mapping[str, str], setting: str, message: str, hint: str | None = None
) -> Diagnostic:
    """A ``config-env`` diagnostic at the place ``setting`` was given: ``FILE:LINE`` of
    the file, or the environment variable."""
    key = options()[setting].key or setting
    source = sources.get(setting, "default")
    if source.startswith("environment "):
        variable = source.removeprefix("environment ")
        return Diagnostic("<environment>", 1, "config-env", f"{variable} ({key}): {message}",
                          hint=hint)  # fmt: skip
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return Diagnostic(path, int(line), "config-env", f"{key}: {message}", hint=hint)
    return Diagnostic("<command line>", 1, "config-env", f"{key}: {message}", hint=hint)
