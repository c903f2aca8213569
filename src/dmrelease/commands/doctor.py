"""``dm-release doctor``: is this machine ready to run dm-release?

Every check runs and is reported, the failed ones too; the probes are
:mod:`dmrelease.adapters.probes`, the configuration is found as every verb finds it
(:func:`dmrelease.adapters.config.find_config`). Credentials are named, never shown.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import add_config_option
from dmrelease.commands.machine import add_json_flag, emit, wants_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dmrelease.core.config import Config

_DESCRIPTION = """\
Check what dm-release needs: the Python and git versions (and git-lfs), the
configuration file (where it was found, and that it is valid), which credentials are
set (their names only, never their values), that products are configured and their
repos files exist, that a build command is set, that the binary and source servers
and the versiondb remote answer (each within --timeout seconds), and that the work
directory can be written. Prints one line per check: ok, warn (works, with a caveat)
or fail. A check that needs the configuration is skipped when there is none.

exit status: 0 no check failed, 1 a check failed, 2 a usage error (such as a
--config FILE or DM_RELEASE_CONFIG naming no file).

example:
  $ dm-release doctor
  ok    python: 3.11.7 (needs >=3.11)
  ok    git: 2.39.5 (needs 2.29 or newer)
  ..."""


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "doctor",
        help="check git, Python, credentials, configuration, servers and the work dir",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_option(parser, git=False)
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for each server and remote (default: 5)",
    )
    add_json_flag(parser, "every check")
    parser.set_defaults(handler=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds, more than 0, at most 600")
    return value


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters import probes
    from dmrelease.adapters.probes import Probe

    here = Path.cwd()
    checks: list[tuple[str, Probe]] = [
        ("python", _python()),
        ("git", probes.git_version(here)),
        ("git-lfs", probes.git_lfs_version(here)),
    ]
    config_probe, config, diagnostics = _config(args.config)
    checks += [("config", config_probe), ("credentials", _credentials())]
    if config is None:
        skipped = Probe("skip", "no valid configuration")
        checks += [(name, skipped) for name in _NEEDS_CONFIG]
    else:
        checks += [("products", _products(config)), ("build_command", _build_command(config))]
        timeout = args.timeout
        binary, source, remote = config.binary_server, config.source_server, config.versiondb_remote
        work = config.work_dir.absolute()
        for name, target, probe in (
            ("binary_server", binary,
             probes.reach_server(binary, timeout) if binary else _unset("binary_server")),
            ("source_server", source,
             probes.reach_server(source, timeout) if source else _unset("source_server")),
            ("versiondb_remote", remote,
             probes.reach_git_remote(remote, here, timeout) if remote
             else _unset("no versiondb remote, build ids are kept on this machine only")),
            ("work_dir", str(work), probes.writable_dir(work)),
        ):  # fmt: skip
            probe.data.setdefault("target", target)
            checks.append((name, probe))
    failed = any(probe.status == "fail" for _name, probe in checks)
    if wants_json(args):
        found = [{"name": n, "status": p.status, "detail": p.detail, **p.data} for n, p in checks]
        emit(args, {"checks": found}, diagnostics=diagnostics, ok=not failed)
    else:
        for name, probe in checks:
            target = probe.data.get("target")
            where = f" {target}:" if target else ""
            print(f"{probe.status:<5} {name}:{where} {probe.detail}")
            if name == "config":  # the invalid file's problems, under its line
                for diagnostic in diagnostics:
                    print(f"      {diagnostic}")
    return 1 if failed else 0


_NEEDS_CONFIG = (
    "products", "build_command", "binary_server", "source_server", "versiondb_remote", "work_dir"
)  # fmt: skip


def _unset(what: str) -> Any:
    from dmrelease.adapters.probes import Probe

    return Probe("ok", f"not configured: {what}")


def _products(config: Config) -> Any:
    """Every verb but doctor and config works on a product: none is a failure, and so
    is a product whose repos.yaml is not there (its verbs would stop at once)."""
    from dmrelease.adapters.probes import Probe

    names = [product.name for product in config.products]
    if not names:
        return Probe("fail", "none configured: no verb can run; add a [products.NAME] table "
                     'with repos = "<path of repos.yaml>" to the configuration file')  # fmt: skip
    data = {"products": names}
    missing = [p for p in config.products if not p.repos.absolute().is_file()]
    if missing:
        shown = "; ".join(f"{p.name}: {p.repos.absolute()}: no such file" for p in missing)
        return Probe("fail", shown, data)
    return Probe("ok", f"{len(names)}: {', '.join(names)}", data)


def _build_command(config: Config) -> Any:
    from dmrelease.adapters.probes import Probe

    if not config.build_command:
        return Probe("warn", "not set: rebuild can prepare and reuse binaries, but not build "
                     "a package")  # fmt: skip
    return Probe("ok", "set", {"target": config.build_command})


def _python() -> Any:
    """This interpreter against the package's Requires-Python (its metadata: one source)."""
    from importlib.metadata import PackageNotFoundError, metadata

    from packaging.specifiers import SpecifierSet

    from dmrelease.adapters.probes import Probe

    version = platform.python_version()
    data = {"version": version, "executable": sys.executable}
    try:
        needs = "".join(metadata("dm-release").get_all("Requires-Python") or [])
    except PackageNotFoundError:
        return Probe("warn", f"{version}; dm-release is not installed: no Requires-Python", data)
    data["requires"] = needs
    if needs and version not in SpecifierSet(needs):
        return Probe("fail", f"{version}, but dm-release requires Python {needs}", data)
    return Probe("ok", f"{version} (needs {needs or 'any'})", data)


def _config(path: Path | None) -> tuple[Any, Any, list[Any]]:
    """The configuration's check, the settings (None when it cannot be used) and the
    problems of an invalid file."""
    from dmrelease.adapters.config import config_named, find_config, load_found
    from dmrelease.adapters.probes import Probe
    from dmrelease.core.errors import CheckFailed, DmReleaseError

    try:
        found = find_config(path)
    except DmReleaseError as exc:
        if config_named(path):
            raise  # a file the user named that is not there: a usage error, as for every verb
        return Probe("fail", str(exc)), None, []
    data = {"path": str(found.path.absolute()), "found_by": found.how}
    where = f"{found.path.absolute()} ({found.how})"
    try:
        loaded = load_found(found)
    except CheckFailed as exc:  # ConfigInvalid: a parse error of the file too
        return Probe("fail", f"{where}: invalid", data), None, list(exc.diagnostics)
    except DmReleaseError as exc:
        return Probe("fail", f"{where}: {exc}", data), None, []
    return Probe("ok", where, data), loaded.config, []


def _credentials() -> Any:
    """Which credential variables are set: names only (their values are never read out)."""
    from dmrelease.adapters.config import credentials_set
    from dmrelease.adapters.probes import Probe
    from dmrelease.core.redact import CREDENTIAL_VARIABLES

    given = list(credentials_set())
    missing = [name for name in CREDENTIAL_VARIABLES if name not in given]
    detail = f"set: {', '.join(given) or 'none'}; not set: {', '.join(missing) or 'none'}"
    return Probe("ok", detail, {"set": given, "not_set": missing})
