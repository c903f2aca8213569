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

from dmrelease.core.errors import CheckFailed, ParseError, UsageError
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
    """The settings and request options of the file :func:`find_config` found;
    :class:`ConfigInvalid` with every problem when they do not load."""
    from pathlib import Path

    from dmrelease.core.config_env import with_environment
    from dmrelease.core.config_layers import build_options

    try:
        loaded = build_options(
            text=_read(found.path),
            path=str(found.path.absolute()),
            environ=os.environ if environ is None else environ,
            flags=flags,
            cwd=Path.cwd(),
        )
        return with_environment(loaded, flavor=machine_flavor())
    except CheckFailed as exc:
        raise ConfigInvalid(exc.diagnostics) from None
    except ParseError as exc:  # not TOML, not UTF-8
        raise ConfigInvalid([exc.diagnostic]) from None


def machine_flavor() -> str | None:
    """The EUPS flavor of this machine (core/config_env's mapping of the platform), the
    default of ``build.flavor``; None on a platform EUPS has no flavor for."""
    import platform

    from dmrelease.core.config_env import flavor_of

    return flavor_of(platform.system(), platform.machine())


class ConfigInvalid(CheckFailed):
    """The configuration (file, environment, flags) does not load: every problem, each
    at its place. An environment error, exit 2 like a bad ``DM_RELEASE_PROGRESS`` or a
    missing file: no check of the work ran, so it is not the 1 of a failed check."""

    exit_code = 2


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
    every place looked at when there is none, for a directory named as the file, and for
    a file found by searching that someone else could have written (:func:`_trusted`)."""
    from pathlib import Path

    environ = os.environ if environ is None else environ
    if path is not None:
        return Found(_named(path, "--config"), "--config")
    named = environ.get(CONFIG_VARIABLE, "").strip()
    if named:
        return Found(_named(Path(named), CONFIG_VARIABLE), CONFIG_VARIABLE)
    cwd = Path.cwd()
    looked = []
    for directory in (cwd, *cwd.parents):
        file = directory / CONFIG_NAME
        how = f"searched from {cwd}"
        if file.is_dir():  # stop: a file further up is not what this directory meant
            raise UsageError(f"{file}: is a directory, not a file ({how}){_HOW_TO_GIVE}")
        if file.is_file():
            _trusted(file, cwd)
            return Found(file, how)
        looked.append(str(file))
    raise NoConfigFound(
        f"no {CONFIG_NAME} found: no --config, {CONFIG_VARIABLE} not set, and none of "
        f"{', '.join(looked)}{_HOW_TO_GIVE}"
    )


class NoConfigFound(UsageError):
    """No file named, and none found by searching."""


def load_options_or_environment(
    path: Path | None = None, flags: Mapping[str, Any] | None = None
) -> Loaded:
    """The settings and request options of the configuration file, or, when none is
    named and none is found, of the defaults and the environment alone: for a verb that
    needs no product (dm-release jenkins, whose settings JENKINS_URL and the credentials
    can give)."""
    try:
        found = find_config(path)
    except NoConfigFound:
        from pathlib import Path

        from dmrelease.core.config_env import with_environment
        from dmrelease.core.config_layers import build_options

        try:
            loaded = build_options(environ=os.environ, flags=flags, cwd=Path.cwd())
            return with_environment(loaded, flavor=machine_flavor())
        except CheckFailed as exc:
            raise ConfigInvalid(exc.diagnostics) from None
    return load_found(found, flags)


def config_named(path: Path | None, *, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user named the configuration file (``path`` from ``--config``, or
    ``$DM_RELEASE_CONFIG``) rather than leaving it to the search."""
    environ = os.environ if environ is None else environ
    return path is not None or bool(environ.get(CONFIG_VARIABLE, "").strip())


def _private_group(gid: int) -> bool:
    """Whether ``gid`` is the user's private group: named after the user, no other
    member (Debian gives each user one and a umask of 002, so the files a user writes
    are group-writable, yet no one else can write them)."""
    import grp
    import pwd

    try:
        group, user = grp.getgrgid(gid), pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return False
    return gid == os.getgid() and group.gr_name == user and set(group.gr_mem) <= {user}


def _named(path: Path, how: str) -> Path:
    """A file the user named (``--config``, the variable): it must be a file."""
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a file ({how}){_HOW_TO_GIVE}")
    if not path.is_file():
        raise UsageError(f"{path}: no such file ({how}){_HOW_TO_GIVE}")
    return path


def _trusted(file: Path, cwd: Path) -> None:
    """A file found by searching is used only when nobody else could have written it:
    owned by the user or root (the link too, when it is one) and writable by neither
    group (unless it is the user's private group) nor others. A parent such as /tmp is
    anyone's, and the file's build.command runs (as git's safe.directory refuses a
    repository of another user). A file the user names is not checked: naming it is the
    user's consent."""
    import stat

    mine = {os.getuid(), 0} if hasattr(os, "getuid") else None
    if mine is None:  # no owners to compare (Windows)
        return
    reason = None
    for status in (file.lstat(), file.stat()):
        if status.st_uid not in mine:
            reason = f"it is owned by uid {status.st_uid}, neither you nor root"
            break
    else:  # status is the file's own (stat, the last of the two)
        group = status.st_mode & stat.S_IWGRP and not _private_group(status.st_gid)
        if group or status.st_mode & stat.S_IWOTH:
            reason = "it is writable by group or others"
    if reason:
        raise UsageError(
            f"{file}: refused: found by searching from {cwd}, but {reason}, so someone "
            f"else may have written it (its build.command would run); pass --config {file} "
            "to use it anyway, or remove it"
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


#: the environment variable choosing how progress is shown (adapters/progress): auto (a
#: live line on a terminal, plain lines otherwise), tty, plain or off; read by every verb
#: that fetches, builds or pushes
PROGRESS_VARIABLE = "DM_RELEASE_PROGRESS"
PROGRESS_MODES = ("auto", "tty", "plain", "off")
PROGRESS_HELP = (
    "progress of fetches, builds and pushes on stderr: auto (a live line on a terminal, "
    "plain lines otherwise), tty, plain or off"
)


def progress_mode() -> str:
    """``DM_RELEASE_PROGRESS`` (auto when unset or empty); a usage error otherwise."""
    value = os.environ.get(PROGRESS_VARIABLE, "").strip().lower() or "auto"
    if value not in PROGRESS_MODES:
        raise UsageError(f"{PROGRESS_VARIABLE}={value!r}: not one of {', '.join(PROGRESS_MODES)}")
    return value


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process (git, a build command): ours without the
    secrets (a build command could print them into a log Jenkins archives), plus ``extra``."""
    secrets = set(SECRETS.values())
    return {**{k: v for k, v in os.environ.items() if k not in secrets}, **extra}


def known_secrets() -> tuple[str, ...]:
    """The credential values of the environment (``CREDENTIAL_VARIABLES``), for redaction."""
    return tuple(v for v in (os.environ.get(n, "") for n in CREDENTIAL_VARIABLES) if v)


def credentials_set() -> tuple[str, ...]:
    """The names of the credential variables that are set (``dm-release doctor``): their
    values stay here."""
    return tuple(n for n in CREDENTIAL_VARIABLES if os.environ.get(n))


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


def add_option_flags(
    parser: argparse.ArgumentParser,
    names: Iterable[str],
    wording: Mapping[str, str] | None = None,
) -> None:
    """Add the flags of these options, with the help declared once in the config model;
    ``wording``: option name → what it means to this verb (its flag and its environment
    variables then say that, see :func:`word_environment`)."""
    from pathlib import Path

    from dmrelease.core.config import Kind, options

    specs = options()
    said = dict(wording or {})
    for name in names:
        spec = specs[name]
        if spec.flag is None:
            raise KeyError(f"option {name} has no flag")
        env = f" [env {', else '.join(spec.env)}]" if spec.env else ""  # first set wins
        help_text = said.get(name, spec.help) + env
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
    if wording:
        word_environment(parser, wording)


_WORDING = "environment_wording"


def word_environment(parser: argparse.ArgumentParser, wording: Mapping[str, str]) -> None:
    """What the variables of options (option name → text) mean to this verb, in its
    --help's environment section, instead of the shared wording (another verb's)."""
    from dmrelease.core.config import options

    specs = options()
    texts = {
        var: (f"{specs[name].key}: " if specs[name].key else "") + text
        for name, text in wording.items()
        for var in specs[name].env
    }
    parser.set_defaults(**{_WORDING: {**(parser.get_default(_WORDING) or {}), **texts}})


def flag_values(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The flags given on the command line (unset ones are None and do not override)."""
    return {name: getattr(args, name, None) for name in names}


#: what a verb reads from the environment, by group: ``config`` (the options' variables,
#: the configuration file's and the secrets), ``git`` (where git would read configuration
#: from elsewhere, :func:`git_attributes_elsewhere`); every verb reads ``credentials``
#: (their values are redacted from its output)
ENVIRONMENT_GROUPS = ("config", "git", "credentials", "object_storage")
_GROUPS_DEFAULT = "environment_groups"


def add_config_option(parser: argparse.ArgumentParser, *, git: bool = True) -> None:
    """``--config FILE``, for a verb that loads the configuration; its ``--help`` then
    lists the configuration's environment variables (and git's, with ``git``: a verb that
    clones or fetches)."""
    from pathlib import Path

    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the configuration file (default: ${CONFIG_VARIABLE}, else {CONFIG_NAME} in "
        "this directory or the nearest parent that has one)",
    )
    reads_environment(parser, "config", *(("git",) if git else ()))


def reads_environment(parser: argparse.ArgumentParser, *groups: str) -> None:
    """Declare that the verb of ``parser`` reads these groups of variables
    (:data:`ENVIRONMENT_GROUPS`): its ``--help`` lists them."""
    unknown = set(groups) - set(ENVIRONMENT_GROUPS)
    if unknown:
        raise KeyError(f"no environment group {sorted(unknown)}")  # a bug of the caller
    declared = parser.get_default(_GROUPS_DEFAULT) or ()
    parser.set_defaults(**{_GROUPS_DEFAULT: tuple(dict.fromkeys((*declared, *groups)))})


class HelpParser(argparse.ArgumentParser):
    """The parser of dm-release and of each of its verbs (sub-parsers take their parent's
    class): ``--help`` ends with the environment variables the verb reads, made when help
    is printed (start-up loads nothing for it). A verb group lists what its commands read."""

    def format_help(self) -> str:
        return f"{super().format_help()}\n{self.environment_section()}"

    def environment_section(self) -> str:
        """The "environment variables:" section (a hook's parser lists its own too)."""
        width = self._get_formatter()._width  # argparse's own: the terminal's less 2
        wording = self.get_default(_WORDING) or {}
        return environment_help(self._environment_groups(), width, wording=wording)

    def _get_formatter(self) -> argparse.HelpFormatter:
        """The verb's formatter, wrapping lines at spaces only: argparse's default also
        breaks at hyphens, which cut ``dm-release.toml`` and ``--dry-run`` in two."""
        return _whole_words(self.formatter_class)(prog=self.prog)

    def _environment_groups(self) -> set[str]:
        groups = set(self.get_default(_GROUPS_DEFAULT) or ()) | {"credentials"}
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    if isinstance(sub, HelpParser):
                        groups |= sub._environment_groups()
        return groups


@functools.cache
def _whole_words(formatter: type[argparse.HelpFormatter]) -> type[argparse.HelpFormatter]:
    """``formatter`` wrapping at spaces only (text a raw formatter keeps stays as it is)."""
    import textwrap

    raw = formatter._fill_text is not argparse.HelpFormatter._fill_text

    class WholeWords(formatter):  # type: ignore[misc, valid-type]
        def _split_lines(self, text: str, width: int) -> list[str]:
            text = " ".join(text.split())
            return textwrap.wrap(text, width, break_on_hyphens=False)

        def _fill_text(self, text: str, width: int, indent: str) -> str:
            if raw:
                return super()._fill_text(text, width, indent)
            text = " ".join(text.split())
            return textwrap.fill(
                text, width, initial_indent=indent, subsequent_indent=indent,
                break_on_hyphens=False,
            )  # fmt: skip

    return WholeWords


def environment_variables(groups: Iterable[str]) -> list[tuple[tuple[str, ...], str]]:
    """(variables, what they are) of ``groups``, in the order --help lists them: the
    configuration file, each option's (in their order of declaration), the secrets, the
    credentials redacted, git's."""
    from dmrelease.core.config import options

    chosen = set(groups)
    found: list[tuple[tuple[str, ...], str]] = []
    if "config" in chosen:
        found.append(((CONFIG_VARIABLE,), "the configuration file when --config is not given"))
        for spec in options().values():
            where = f"{spec.key}: " if spec.key else ""
            for position, variable in enumerate(spec.env):
                also = f" (when {' and '.join(spec.env[:position])} unset)" if position else ""
                found.append(((variable,), f"{where}{spec.help}{also}"))
        from dmrelease.core.config import SECRET_HELP

        for name, variable in SECRETS.items():
            text = f"{SECRET_HELP[name]}: a secret, from the environment only, never printed"
            found.append(((variable,), text))
    if "credentials" in chosen:
        secrets = set(SECRETS.values()) if "config" in chosen else set()
        others = tuple(v for v in CREDENTIAL_VARIABLES if v not in secrets)
        found.append((others, "credentials: their values are shown as **** in all output"))
    if "object_storage" in chosen:  # a verb that writes a server tree: s3://, gs://
        from dmrelease.adapters.object_store import ENVIRONMENT

        found += ENVIRONMENT
    if "git" in chosen:  # a verb that clones or fetches: its phases show their progress
        found.append(((PROGRESS_VARIABLE,), PROGRESS_HELP))
        text = (
            "when any is set, git may read configuration or attributes from elsewhere, so "
            "files that may have changed are compared by git rather than by content"
        )
        found.append((_GIT_ELSEWHERE, text))
        found.append((("HOME", "XDG_CONFIG_HOME"), "where git's own configuration is looked for"))
    return found


def environment_help(
    groups: Iterable[str],
    width: int | None = None,
    extra: Iterable[tuple[tuple[str, ...], str]] = (),
    *,
    wording: Mapping[str, str] | None = None,
) -> str:
    """The "environment variables:" section of a verb's --help: a variable and what it
    is on one line; a list of variables wrapped, then what they are, indented. ``extra``
    (variables, what they are) come first: those of one command only (a hook's). Filled
    to ``width`` columns, by default argparse's (the terminal's width less 2), so that it
    lines up with the options above it."""
    import shutil
    import textwrap

    if width is None:
        width = shutil.get_terminal_size().columns - 2
    column = 32
    room = max(width - column, 20)  # a narrow terminal: lines overflow rather than vanish
    lines = ["environment variables:"]
    said = wording or {}
    for variables, text in [*extra, *environment_variables(groups)]:
        if len(variables) == 1 and variables[0] in said:
            text = said[variables[0]]
        if len(variables) == 1 and len(variables[0]) < column - 3:
            wrapped = textwrap.wrap(text, room, break_on_hyphens=False)
            lines.append(f"  {variables[0]:<{column - 3}} {wrapped[0]}")
        else:
            lines += textwrap.wrap(", ".join(variables), max(width, column), initial_indent="  ",
                                   subsequent_indent="  ", break_on_hyphens=False)  # fmt: skip
            wrapped = ["", *textwrap.wrap(text, room, break_on_hyphens=False)]
        lines += [" " * column + more for more in wrapped[1:]]
    return "\n".join(lines) + "\n"
