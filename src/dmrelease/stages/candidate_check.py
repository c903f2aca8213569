"""``release validate --install``: install a release (a candidate, or any release tag)
from the binary server and from the source server, each into a fresh stack, inspect
what was installed, run the product's demo command, and write the characterization
summary (DMTN-106 §4.6).

The servers are ``servers.binary`` and ``servers.source`` (URLs), else the directories
publish writes (``paths.binary_server``, ``paths.source_server``), served over HTTP on
127.0.0.1 for the time of the install. The installs use the real EUPS client
(``validate.eups``, else $EUPS_DIR's); without one the binary install is dm-release's own
binary fetch (a rebuild of the release's refs into a fresh stack with no build command,
so every package must come from the server) and the source install is skipped: the
summary says so. The summary goes to ``<state_dir>/validation/<product>/<release>.json``
and ``.md`` beside it (and to ``--summary DIR``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.eups_client import EupsClient, EupsRun, find_setups
from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.local_http import serve_directory
from dmrelease.adapters.versiondb import read_build
from dmrelease.core.config import Config
from dmrelease.core.distrib import parse_pkginfo, read_tag_list
from dmrelease.core.errors import DmReleaseError, UsageError
from dmrelease.core.names import Candidate, Release, eups_tag, read_tag, release_key
from dmrelease.core.plan import ReleasePlan
from dmrelease.core.redact import redact, url_secrets
from dmrelease.core.requests import BuildRequest, RefList, ValidationRequest
from dmrelease.core.validation import (
    Changes,
    Check,
    DemoRun,
    Install,
    Installed,
    Summary,
    changes_between,
    inspect_install,
    render_markdown,
    summary_to_json,
)

__all__ = ["candidate_check", "install_root", "stack_exports", "summary_paths"]

NO_EUPS = (
    "no EUPS installation (set validate.eups, or set up EUPS so that $EUPS_DIR is set): "
    "building the source packages needs the EUPS client"
)


def install_root(config: Config, product: str, release: str) -> Path:
    """Where the fresh stacks of a validation are: ``<work_dir>/validate/<product>/
    <release>/{binary,source}/stack``, emptied when a validation starts."""
    return config.work_dir / "validate" / product / release


def summary_paths(config: Config, product: str, release: str) -> tuple[Path, Path]:
    """Where the validation summary of ``release`` is kept: its JSON and Markdown."""
    folder = config.state_dir / "validation" / product
    return folder / f"{release}.json", folder / f"{release}.md"


def _size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _installed(name: str, version: str, folder: Path) -> Installed:
    pkginfo = folder / "ups" / "pkginfo"
    sha = (
        parse_pkginfo(pkginfo.read_text(errors="replace")).get("SHA1")
        if pkginfo.is_file()
        else None
    )
    table = (folder / "ups" / f"{name}.table").is_file()
    return Installed(name, version, _size(folder), table, sha)


def _last_line(output: str) -> str:
    """The line that says why: EUPS's last fatal one (eupspkg's), else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    fatal = [line for line in lines if "(fatal)" in line]
    return fatal[-1] if fatal else lines[-1] if lines else "no output"


@contextlib.contextmanager
def _served(url: str | None, directory: str | None) -> Iterator[tuple[str | None, str]]:
    """The server's URL (serving ``directory`` when only it is configured) and how the
    summary names it; (None, why) when there is none."""
    if url:
        yield url, redact(url)
        return
    if directory and "://" not in directory and Path(directory).is_dir():
        with serve_directory(Path(directory)) as served:
            yield served, directory
        return
    yield None, "none configured" if not directory else f"{directory}: not a local directory"


def _eups_install(
    client: EupsClient, kind: str, url: str, shown: str, stack: Path, product: str, tag: str
) -> Install:
    done = client.distrib_install(stack, url, product, tag)
    if not done.ok:
        reason = redact(  # EUPS names the URL it failed on, credentials and all
            f"eups distrib install exited {done.exit_code}: {_last_line(done.output)}",
            url_secrets(url),
        )
        return Install(kind, "eups", shown, "failed", done.seconds, reason)
    found = tuple(_installed(r.product, r.version, r.directory) for r in client.listed(stack))
    return Install(kind, "eups", shown, "ok", done.seconds, None, found)


def _fetch_install(
    config: Config, plan: ReleasePlan, url: str, shown: str, scratch: Path, log: TextIO
) -> Install:
    """The binary install without EUPS: rebuild the release's refs into a fresh stack
    with nothing to build, so that every package is fetched from the server."""
    from dmrelease.stages.rebuild import rebuild

    versiondb = scratch / "versiondb"
    shutil.copytree(config.versiondb, versiondb, symlinks=True)
    fresh = dataclasses.replace(
        config, stack=scratch / "stack", binary_server=url, build_command=None,
        no_binary_fetch=False, work_dir=scratch / "work", state_dir=scratch / "state",
        output_dir=scratch / "out", versiondb=versiondb, versiondb_remote=None,
    )  # fmt: skip
    started = time.monotonic()
    try:
        request = BuildRequest(products=(plan.product,), refs=RefList((plan.release,)))
        _prepared, built = rebuild(fresh, request, log)
    except DmReleaseError as exc:
        reason = f"dm-release's binary fetch failed: {_last_line(str(exc))}"
        return Install("binary", "dm-release", shown, "failed", time.monotonic() - started, reason)
    assert built is not None
    root = fresh.stack / config.flavor
    found = tuple(
        _installed(o.package, o.version, root / o.package / o.version) for o in built.outcomes
    )
    return Install("binary", "dm-release", shown, "ok", time.monotonic() - started, None, found)


def _run_shell(script: str, args: list[str], cwd: Path, timeout: int) -> EupsRun:
    """``script`` in bash, in an environment without dm-release's secrets (the product's
    demo command is its code: its output goes to the summary)."""
    from dmrelease.adapters.config import child_environment

    started = time.monotonic()
    try:
        done = subprocess.run(
            ["bash", "-c", script, "demo", *args], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", cwd=cwd, timeout=timeout,
            check=False, env=child_environment({}),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return EupsRun(124, f"timed out after {timeout} s\n", timeout)
    return EupsRun(done.returncode, done.stdout, time.monotonic() - started)


def stack_exports(root: Path, products: Iterable[Installed]) -> str:
    """The bash lines that set each product's ``<NAME>_DIR`` and put its ``bin/`` on PATH;
    the paths quoted (a ``$``, a quote or a backtick in the work dir stays text)."""
    return "".join(
        f"export {p.name.upper()}_DIR={shlex.quote(str(root / p.name / p.version))}\n"
        f'PATH={shlex.quote(str(root / p.name / p.version / "bin"))}:"$PATH"\n'
        for p in products
    )


def _demo(
    config: Config, product: str, installs: list[tuple[Install, Path]], client: EupsClient | None
) -> DemoRun:
    command = next((p.demo for p in config.products if p.name == product), None)
    if command is None:
        return DemoRun(None, reason=f"no demo command configured (products.{product}.demo)")
    usable = [(i, stack) for i, stack in installs if i.status == "ok"]
    if not usable:
        return DemoRun(command, reason="no install finished")
    install, stack = usable[0]
    version = next((p.version for p in install.products if p.name == product), None)
    if version is None:
        return DemoRun(command, install.kind, reason=f"{product} is not installed")
    if client is not None and install.client == "eups":
        done = client.setup_and_run(stack, product, version, command)
    else:  # dm-release's stack: each product's <NAME>_DIR, and their bin/ on PATH
        done = _run_shell(stack_exports(stack / config.flavor, install.products) +
                          'export PATH\neval "$1"\n', [command], stack.parent,
                          config.validate_timeout)  # fmt: skip
    return DemoRun(command, install.kind, done.exit_code, done.seconds, done.output)


def _previous(config: Config, plan: ReleasePlan) -> str | None:
    """The product's release before this one (finals and candidates, by version), from
    its remote's tags; None when it has none."""
    from dmrelease.stages.workspace import load_repos

    this = read_tag(plan.release)
    if not isinstance(this, Release | Candidate):
        return None
    entries, _origin = load_repos(config.products_named((plan.product,)))
    entry = entries.get(plan.product)
    if entry is None:
        return None
    try:
        lines = Git(Path.cwd(), timeout=config.git_timeout).lines(
            "ls-remote", "--tags", "--refs", "--", entry.url
        )
    except GitError:
        return None
    earlier = []
    for line in lines:
        name = line.partition("\trefs/tags/")[2]
        try:
            tag = read_tag(name)
        except DmReleaseError:
            continue
        except ValueError:
            continue
        if isinstance(tag, Release | Candidate) and release_key(tag) < release_key(this):
            earlier.append((release_key(tag), name))
    return max(earlier)[1] if earlier else None


def _tag_list_versions(url: str, path: str, timeout: int) -> dict[str, str] | None:
    """Each product's version in the tag list ``path`` of the server at ``url``; None when
    the server has no such list (404 or 410: the release is not published there yet).
    UsageError (exit 2) when it cannot be read: no answer, or another status (a server
    that is down or misconfigured is not a release that is on no server yet)."""
    where = redact(f"{url.rstrip('/')}/{path}")
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/{path}", timeout=timeout) as answer:
            text = answer.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        if error.code in (404, 410):
            return None
        raise UsageError(f"{where}: the server answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        raise UsageError(f"{where}: the server cannot be reached ({reason})") from None
    return {name: version for name, (_flavor, version) in read_tag_list(text).rows.items()}


def _changes(
    config: Config, plan: ReleasePlan, versions: Mapping[str, str], servers: Mapping[str, str]
) -> Changes:
    previous = _previous(config, plan)
    if previous is None:
        return Changes(None)
    tag = eups_tag(previous)
    found = None
    if "source" in servers:
        found = _tag_list_versions(servers["source"], f"tags/{tag}.list", config.git_timeout)
    if found is None and "binary" in servers:
        found = _tag_list_versions(servers["binary"], f"{tag}.list", config.git_timeout)
    if found is None:
        return Changes(f"{previous} (its tag list is on no server)")
    return changes_between(previous, found, versions)


def candidate_check(
    config: Config, request: ValidationRequest, plan: ReleasePlan, log: TextIO = sys.stderr
) -> Summary | None:
    """Install ``plan``'s release from both servers, inspect, run the demo, write the
    summary (``request.summary_dir`` too) and return it; its ``failures`` name each
    problem. None, said on ``log``, when no server has the release's tag list yet (a
    release being prepared: nothing to install)."""
    setups = find_setups(config.validate_eups, config.eups_dir)
    if setups is not None and not setups.is_file():
        raise UsageError(f"{setups}: no such setups.sh (validate.eups, or $EUPS_DIR/bin)")
    client = EupsClient(setups, config.validate_timeout) if setups is not None else None
    tag = eups_tag(plan.release)
    installs: list[tuple[Install, Path]] = []
    checks: list[Check] = []
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as serving:
        servers = {
            kind: serving.enter_context(_served(url, directory))
            for kind, url, directory in (
                ("binary", config.binary_server, config.binary_server_dir),
                ("source", config.source_server, config.source_server_dir),
            )
        }
        urls = {kind: url for kind, (url, _shown) in servers.items() if url is not None}
        lists = {"binary": f"{tag}.list", "source": f"tags/{tag}.list"}
        timeout = config.git_timeout
        if not any(
            _tag_list_versions(url, lists[k], timeout) is not None for k, url in urls.items()
        ):
            where = ", ".join(f"{k} {shown}" for k, (_u, shown) in servers.items())
            if urls:  # with no server configured there is nothing to say
                print(f"validate --install: {plan.release} is on no server yet (no tag list "
                      f"{tag}; servers: {where}): nothing to install", file=log)  # fmt: skip
            return None
        manifest = read_build(config.versiondb, plan.build_id or None)  # the tag's build
        versions = {e.name: e.version for e in manifest.entries}
        shas = {p.name: p.sha for p in plan.packages}
        scratch = install_root(config, plan.product, plan.release)
        shutil.rmtree(scratch, ignore_errors=True)  # each install into a fresh stack
        scratch.mkdir(parents=True)
        for kind, (served, shown) in servers.items():
            stack = scratch / kind / "stack"
            if served is None:
                install = Install(kind, "-", "-", "skipped", reason=f"no {kind} server: {shown}")
            elif client is not None:
                print(f"validate: eups distrib install {plan.product} --tag {tag} "
                      f"from the {kind} server {shown}", file=log)  # fmt: skip
                install = _eups_install(client, kind, served, shown, stack, plan.product, tag)
            elif kind == "binary":
                print(f"validate: dm-release's binary fetch of {plan.release} from "
                      f"{shown} (no EUPS installation)", file=log)  # fmt: skip
                install = _fetch_install(config, plan, served, shown, scratch / kind, log)
            else:
                install = Install(kind, "-", shown, "skipped", reason=NO_EUPS)
            installs.append((install, stack))
            if install.status == "ok":
                checks += inspect_install(install, versions, shas, plan.release)
        demo = _demo(config, plan.product, installs, client)
        changes = _changes(config, plan, versions, urls)
    summary = Summary(
        plan.product, plan.release, tag, plan.build_id,
        tuple(i for i, _ in installs), tuple(checks), demo, changes,
    )  # fmt: skip
    text, markdown = summary_to_json(summary), render_markdown(summary)
    kept = summary_paths(config, plan.product, plan.release)
    targets = [kept]
    if request.summary_dir is not None:
        folder = request.summary_dir
        targets.append((folder / f"{plan.release}.json", folder / f"{plan.release}.md"))
    for json_path, md_path in targets:
        write_atomically(json_path, text, what="the validation summary")
        write_atomically(md_path, markdown, what="the validation summary")
    return summary
