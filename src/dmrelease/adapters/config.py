"""Loading ``dm-release.toml``: the only place that reads ``os.environ`` (STYLE.md habit 11).

The file is ``--config FILE``, else ``$DM_RELEASE_CONFIG``, else the first
``dm-release.toml`` of the working directory and its parents (:func:`find_config`); the
environment carries Jenkins parameters and secrets; the flags come from argparse. The
layering and validation are :func:`dmrelease.core.config_layers.build_options`: the
settings (:class:`~dmrelease.core.config.Config`) and the request options, from which the
command builds its one frozen request.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Iterable, Mapping

from dmrelease.core.errors import UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.redact import CREDENTIAL_VARIABLES, SECRETS

#: typing.TYPE_CHECKING without importing typing: a hook (known_secrets) or a git call
#: (child_environment) loads neither it, nor pathlib, nor the model of the settings
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from dmrelease.core.config import Config, Loaded

CONFIG_NAME = "dm-release.toml"
#: the environment variable naming the configuration file (after --config, before the search)
CONFIG_VARIABLE = "DM_RELEASE_CONFIG"
MAX_AUTO_JOBS = 8
GIT_JOBS_PER_CPU = 4
MAX_AUTO_GIT_JOBS = 16


def load_config(
    path: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """The validated settings; UsageError when there is no file to read."""
    return load_options(path, flags, environ=environ).config


def load_options(
    path: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """The validated settings and request options (the command makes its request of
    these); UsageError when there is no file to read."""
    return load_found(find_config(path, environ=environ), flags, environ=environ)


def load_found(
    found: Found,
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """The settings and request options of the file :func:`find_config` found."""
    from pathlib import Path

    from dmrelease.core.config_layers import build_options

    return build_options(
        text=_read(found.path),
        path=str(found.path.absolute()),
        environ=os.environ if environ is None else environ,
        flags=flags,
        cwd=Path.cwd(),
    )


class Found:
    """The configuration file and how it was found (``how``: ``--config``, the variable,
    or the directory searched from)."""

    def __init__(self, path: Path, how: str) -> None:
        self.path = path
        self.how = how


def find_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Found:
    """The configuration file: ``path`` (``--config``), else ``$DM_RELEASE_CONFIG``, else
    ``dm-release.toml`` in the working directory or the nearest parent that has one (up to
    the filesystem root). Relative names are relative to the working directory; a nox
    session runs dm-release from the directory nox was invoked from. UsageError naming
    every place looked at when there is none."""
    from pathlib import Path

    environ = os.environ if environ is None else environ
    if path is not None:
        if not path.is_file():
            raise UsageError(f"{path}: no such file (--config){_HOW_TO_GIVE}")
        return Found(path, "--config")
    named = environ.get(CONFIG_VARIABLE, "").strip()
    if named:
        if not Path(named).is_file():
            raise UsageError(f"{named}: no such file ({CONFIG_VARIABLE}){_HOW_TO_GIVE}")
        return Found(Path(named), CONFIG_VARIABLE)
    cwd = Path.cwd()
    looked = []
    for directory in (cwd, *cwd.parents):
        file = directory / CONFIG_NAME
        if file.is_file():
            return Found(file, f"searched from {cwd}")
        looked.append(str(file))
    raise UsageError(
        f"no {CONFIG_NAME} found: no --config, {CONFIG_VARIABLE} not set, and none of "
        f"{', '.join(looked)}{_HOW_TO_GIVE}"
    )


_HOW_TO_GIVE = (
    f"; give the configuration with --config FILE or {CONFIG_VARIABLE}=FILE, put a "
    f"{CONFIG_NAME} in this directory or a parent, or write one with 'dm-release config init'"
)


def _read(file: Path) -> str:
    """The file's text within the readers' limits (core/limits): UTF-8, at most 32 MiB."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror or exc}") from None
    return decode_text(data, str(file.absolute()))


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process (git, a build command): ours without the
    secrets (a build command could print them into a log Jenkins archives), plus ``extra``."""
    secrets = set(SECRETS.values())
    return {**{k: v for k, v in os.environ.items() if k not in secrets}, **extra}


def known_secrets() -> tuple[str, ...]:
    """The credential values of the environment (``CREDENTIAL_VARIABLES``), for redaction."""
    return tuple(v for v in (os.environ.get(n, "") for n in CREDENTIAL_VARIABLES) if v)


#: variables through which git would read configuration, attributes or a repository from
#: elsewhere than the clone and the usual files
_GIT_ELSEWHERE = (
    "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM", "GIT_ATTR_NOSYSTEM", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR",
)  # fmt: skip


@functools.cache
def git_attributes_elsewhere() -> bool:
    """False only when git plainly reads no attributes from outside a clone (which could
    convert a file's content when git compares it with the index): none of the variables
    that point git at other configuration, no global or system attributes file, and no
    global or system config naming one (``core.attributesFile``) or including another.
    Read once per process."""
    import shutil  # here: only the fetch path asks

    if any(name in os.environ for name in _GIT_ELSEWHERE):
        return True
    home = os.environ.get("HOME", "")
    xdg = os.environ.get("XDG_CONFIG_HOME") or (os.path.join(home, ".config") if home else "")
    git = shutil.which("git")
    prefixes = {"/usr", "/usr/local"}
    if git:
        prefixes.add(os.path.dirname(os.path.dirname(os.path.realpath(git))))
    etc = [("/etc" if prefix == "/usr" else os.path.join(prefix, "etc")) for prefix in prefixes]
    attributes = [os.path.join(d, "gitattributes") for d in etc]
    configs = [os.path.join(d, "gitconfig") for d in etc]
    if xdg:
        attributes.append(os.path.join(xdg, "git", "attributes"))
        configs.append(os.path.join(xdg, "git", "config"))
    if home:
        configs.append(os.path.join(home, ".gitconfig"))
    if any(os.path.lexists(path) for path in attributes):
        return True
    for path in configs:
        try:
            with open(path, "rb") as file:
                text = file.read().lower()
        except FileNotFoundError:
            continue
        except OSError:
            return True
        if b"attributesfile" in text or b"[include" in text:
            return True
    return False


def auto_jobs(jobs: int) -> int:
    """``jobs``, or ``min(cpu, 8)`` when it is 0 (automatic): builds are bound by cores."""
    return jobs if jobs > 0 else min(os.cpu_count() or 1, MAX_AUTO_JOBS)


def auto_git_jobs(jobs: int) -> int:
    """``jobs``, or ``min(4 * cpu, 16)`` when it is 0 (automatic): a git process mostly
    starts and waits (on the remote, on the disk), so more run at once than there are
    cores; bounded, since each is a connection to the git server (issue 10)."""
    return jobs if jobs > 0 else min(GIT_JOBS_PER_CPU * (os.cpu_count() or 1), MAX_AUTO_GIT_JOBS)


def add_option_flags(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """Add the flags of these options, with the help declared once in the config model."""
    from pathlib import Path

    from dmrelease.core.config import Kind, options

    specs = options()
    for name in names:
        spec = specs[name]
        if spec.flag is None:
            raise KeyError(f"option {name} has no flag")
        env = f" [env {', else '.join(spec.env)}]" if spec.env else ""  # first set wins
        help_text = spec.help + env
        if spec.kind is Kind.BOOL:
            parser.add_argument(spec.flag, dest=name, action="store_true", default=None,
                                help=help_text)  # fmt: skip
        elif spec.kind is Kind.LIST:
            parser.add_argument(spec.flag, dest=name, nargs="+", metavar=spec.metavar or "NAME",
                                help=help_text)  # fmt: skip
        else:
            kind = {Kind.INT: int, Kind.PATH: Path}.get(spec.kind, str)
            parser.add_argument(spec.flag, dest=name, type=kind, metavar=spec.metavar,
                                help=help_text)  # fmt: skip


def flag_values(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The flags given on the command line (unset ones are None and do not override)."""
    return {name: getattr(args, name, None) for name in names}
