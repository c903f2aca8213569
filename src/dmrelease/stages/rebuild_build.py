"""Build, the second half of rebuild: every package of a manifest reused, fetched or built
(issue 4 "Build"; DESIGN.md §5 "Binary reuse"; DMTN-106 A.2.3).

In manifest order, independent packages run in parallel up to ``jobs``. A failure stops
the scheduling of its dependents; what runs finishes. Each install is atomic (the stack
records a package only once complete), so nothing already built is lost and a rerun
resumes: finished packages are reused by version.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dmrelease.adapters.buildcmd import BuildCommand, dir_variable
from dmrelease.adapters.files import WriteFailed
from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.stack import Stack
from dmrelease.core.build import Action, Outcome, Schedule, choose_action
from dmrelease.core.errors import DmReleaseError
from dmrelease.core.manifest import Manifest, ManifestEntry

if TYPE_CHECKING:  # loaded with the first server (stages.rebuild.builder_for): tarfile…
    from dmrelease.adapters.binaries import BinaryServer

Progress = Callable[[Outcome, Schedule], None]


class LibraryNotOnServer(DmReleaseError):
    """Library packages to install are not on their library's binary server: they are
    never built here, so nothing is built."""


@dataclass(frozen=True)
class Builder:
    """Where packages come from and go to during one build."""

    stack: Stack
    clones: Path
    logs: Path
    command: BuildCommand | None
    server: BinaryServer | None
    build_docs: bool = False
    git_timeout: float = 600.0
    #: the library packages of the manifest: name → (its library, for messages; the
    #: binary server of its release): installed from there, never built
    libraries: Mapping[str, tuple[str, BinaryServer]] = field(default_factory=dict)

    def _server_of(self, name: str) -> BinaryServer | None:
        return self.libraries[name][1] if name in self.libraries else self.server

    def plan(self, manifest: Manifest, jobs: int) -> dict[str, Action]:
        """Reused / fetched / built per package; HEAD requests run ``jobs`` at a time. A
        library package is reused or fetched from its library's server: LibraryNotOnServer
        when it is on neither (before anything is built)."""
        installed = {e.name: self.stack.is_installed(e.name, e.version) for e in manifest.entries}
        missing = [
            e for e in manifest.entries
            if not installed[e.name] and self._server_of(e.name) is not None
        ]  # fmt: skip
        on_server: dict[str, bool] = {}
        if missing:
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                answers = pool.map(lambda e: self._has(e), missing)
                on_server = {e.name: found for e, found in zip(missing, answers, strict=True)}
        absent = [e for e in missing if e.name in self.libraries and not on_server[e.name]]
        if absent:
            lines = [
                f"{e.name} {e.version} of {self.libraries[e.name][0]}: no "
                f"{self.libraries[e.name][1].url(e.name, e.version)}"
                for e in absent
            ]
            raise LibraryNotOnServer(
                f"{len(absent)} library package(s) not on their library's binary server:\n  "
                + "\n  ".join(lines)
                + "\na library's packages are installed from its release, never built here: "
                "publish its binaries (dm-release tarball) or check its tag and server"
            )  # fmt: skip
        return {
            e.name: choose_action(
                installed=installed[e.name],
                on_server=on_server.get(e.name, False),
                fetch_binaries=self._server_of(e.name) is not None,
            )
            for e in manifest.entries
        }

    def _has(self, entry: ManifestEntry) -> bool:
        server = self._server_of(entry.name)
        assert server is not None
        return server.has(entry.name, entry.version)

    def run(self, entry: ManifestEntry, action: Action, deps: Mapping[str, str]) -> Outcome:
        """Fetch or build one package (``deps``: dependency → version, transitive); never
        raises for the package's own failure."""
        started = time.monotonic()
        fetch_failed = None
        if entry.name in self.libraries:  # installed from the library's release or failed
            fetch_failed = self._fetch(entry, library=True)
            done = Action.FAILED if fetch_failed else action
            why = f"library package not installed: {fetch_failed}" if fetch_failed else ""
            return Outcome(entry.name, entry.version, done, time.monotonic() - started, why)
        try:
            if action is Action.FETCHED:
                fetch_failed = self._fetch(entry)
                if fetch_failed is None:
                    return Outcome(entry.name, entry.version, action, time.monotonic() - started)
                action = Action.BUILT
            message = self._build(entry, deps)
        except (OSError, GitError, WriteFailed) as exc:
            message = f"{type(exc).__name__}: {exc}"
        done = Action.FAILED if message else action
        if fetch_failed:  # say it: a bad tarball on the server must not go unnoticed
            message = "; ".join(filter(None, [message, f"binary fetch failed: {fetch_failed}"]))
        return Outcome(entry.name, entry.version, done, time.monotonic() - started, message or "")

    def _fetch(self, entry: ManifestEntry, *, library: bool = False) -> str | None:
        """None when installed from the server; otherwise why not (then it is built, unless
        it is a ``library`` package)."""
        server = self._server_of(entry.name)
        assert server is not None
        from dmrelease.adapters.binaries import BinaryServerError  # loaded with the server

        # a library package is never built: any failure to install it is its outcome
        errors: tuple[type[Exception], ...] = (BinaryServerError, OSError)[: 2 if library else 1]
        try:
            server.install(entry.name, entry.version, self.stack)
        except errors as exc:
            if self.command is None and not library:
                raise OSError(str(exc)) from None
            return str(exc)
        return None

    def _build(self, entry: ManifestEntry, deps: Mapping[str, str]) -> str | None:
        """None on success; otherwise the failure, naming the log."""
        if self.command is None:
            return "no build command configured (build.command in dm-release.toml)"
        clone = self.clones / entry.name
        self._check_out(clone, entry)
        prefix = self.stack.build_prefix(entry.name, entry.version)
        log = self.logs / f"{entry.name}.log"
        result = self.command.run(clone, self._variables(entry, deps, prefix), log)
        if not result.ok:
            self.stack.discard(prefix)
            tail = result.tail()
            return f"build command exited {result.returncode}; log {log}" + (
                f"\n    {tail.replace(chr(10), chr(10) + '    ')}" if tail else ""
            )
        self.stack.install(entry.name, entry.version, prefix, clone / "ups" / f"{entry.name}.table")
        return None

    def _check_out(self, clone: Path, entry: ManifestEntry) -> None:
        git = Git(clone, timeout=self.git_timeout)
        if git.rev_parse("HEAD") != entry.sha:
            git.run("checkout", "--quiet", "--detach", entry.sha)

    def _variables(
        self, entry: ManifestEntry, deps: Mapping[str, str], prefix: Path
    ) -> dict[str, str]:
        variables = {
            "PRODUCT": entry.name,
            "VERSION": entry.version,
            "PREFIX": str(prefix),
            "FLAVOR": self.stack.flavor,
            "BUILD_DOCS": "1" if self.build_docs else "0",
        }
        for dep, version in sorted(deps.items()):
            variables[dir_variable(dep)] = str(self.stack.install_dir(dep, version))
        return variables


def run_build(
    manifest: Manifest,
    actions: Mapping[str, Action],
    builder: Builder,
    jobs: int,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Run every package in dependency order; returns outcomes in manifest order."""
    graph = manifest.graph()
    order = [e.name for e in manifest.entries]
    schedule = Schedule(order, {name: graph.internal_deps(name) for name in order})
    entries = manifest.packages
    closures = graph.closures()
    outcomes: dict[str, Outcome] = {}

    def finish(outcome: Outcome) -> None:
        outcomes[outcome.package] = outcome
        schedule.finish(outcome.package, outcome.action is not Action.FAILED)
        if progress:
            progress(outcome, schedule)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running: dict[Future[Outcome], str] = {}
        while True:
            batch = schedule.take_ready(max(0, jobs - len(running)))
            for name in batch:
                entry = entries[name]
                if actions[name] is Action.REUSED:
                    finish(Outcome(name, entry.version, Action.REUSED))
                else:
                    deps = {dep: entries[dep].version for dep in closures[name]}
                    running[pool.submit(builder.run, entry, actions[name], deps)] = name
            if batch:
                continue
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                del running[future]
                finish(future.result())
    failed = {name for name, o in outcomes.items() if o.action is Action.FAILED}
    return [
        outcomes.get(name) or _skipped(entries[name], sorted(failed & closures[name]))
        for name in order
    ]


def _skipped(entry: ManifestEntry, failed: list[str]) -> Outcome:
    message = f"not built: dependency {', '.join(failed)} failed"
    return Outcome(entry.name, entry.version, Action.SKIPPED, 0.0, message)
