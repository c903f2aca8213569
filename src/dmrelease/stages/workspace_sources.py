"""The workspace, part one: bring each package's clone up to date and resolve its ref
(DESIGN.md §2; issue 4 "Prepare", issue 9 §1).

The packages are found while they are fetched: each finished package's table file (at the
resolved commit) names its dependencies, which are submitted at once to the same bounded
pool. A clone is made under a temporary name and renamed when checked out, so an
interrupted run leaves no half-made clone; a clone with local changes is refused, never
overwritten. A package is cloned or fetched at most once per walk, and a walk of
:func:`discover` may skip the fetch of packages already brought up to date by this command
(``synced``): it then re-reads the clone's refs, remote-tracking branches and local tags
alike, so a tag just made in the clone counts. ``lfs: true`` packages get their LFS content
(``git lfs pull``) after each checkout; the others are checked out with the LFS filter off.
Every problem is collected and reported with the package it concerns.

Git runs only for what needs git itself (issue 10): a clone (``--no-checkout``) and its
checkout, or a fetch (no auto maintenance), and a checkout when the resolved commit is not
HEAD. What a git process would only print is read from the clone's files
(adapters/git_refs, adapters/git_index): its refs, HEAD, the origin URL, whether it is clean
(``git status`` when that is not certain), whether HEAD is the tip of a branch or tag
(``git rev-list`` for local work otherwise); each reader asks git on any doubt.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.config import git_attributes_elsewhere
from dmrelease.adapters.git import Git, GitError, GitMissing
from dmrelease.adapters.git_index import is_clean
from dmrelease.adapters.git_refs import is_commit, read_head, read_refs
from dmrelease.adapters.progress import SILENT, Phase
from dmrelease.core.errors import Diagnostic, DmReleaseError, ParseError, UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.refs import RepoRefs, Resolution, looks_like_sha, resolve_package
from dmrelease.core.repos import RepoEntry
from dmrelease.core.tables import ExclusionMap, parse_table

__all__ = ["Discovery", "LfsMissing", "PackageSource", "Remotes", "discover"]

_BRANCHES = "refs/remotes/origin/"
_TAGS = "refs/tags/"
#: the refs a commit must be reachable from not to be work of the clone's own
_ALL_TIPS = ("refs/heads/", "refs/remotes/", _TAGS)
#: fetch every branch and tag, moved or deleted upstream; no auto maintenance (a gc of a
#: clone costs more than the fetch; the work dir is dm-release's), no FETCH_HEAD (unread)
_FETCH = ("fetch", "--quiet", "--prune", "--prune-tags", "--tags", "--force",
          "--no-auto-maintenance", "--no-write-fetch-head")  # fmt: skip
#: checkout without the LFS filter, whatever the user's or system's git config installs:
#: LFS content comes only from ``git lfs pull``, and only for ``lfs: true`` packages
_NO_LFS_FILTER = ("-c", "filter.lfs.smudge=", "-c", "filter.lfs.process=",
                  "-c", "filter.lfs.required=false")  # fmt: skip


SILENT_PHASE = SILENT.phase("fetch", 0)


class PackageProblem(DmReleaseError):
    """One package could not be prepared; carries the diagnostic to report."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(str(diagnostic))


_NO_LFS = "git-lfs is not installed: install it (Debian: apt-get install git-lfs)"


class LfsMissing(UsageError):
    """A package needs its LFS content and git-lfs is not installed (exit 2)."""


@dataclass(frozen=True)
class PackageSource:
    """One package of a workspace: its clone, how it was brought up to date (``cloned``,
    ``fetched``, or ``local`` when re-resolved without a fetch), its refs, the winning ref
    and its dependencies at that ref."""

    name: str
    clone: Path
    action: str
    refs: RepoRefs
    resolution: Resolution
    deps: tuple[str, ...]
    required: frozenset[str]
    dep_lines: Mapping[str, int]
    has_table: bool


@dataclass(frozen=True)
class Remotes:
    """What to fetch from where, and how a package's table is read."""

    root: Path
    repos: Mapping[str, RepoEntry]
    repos_path: Mapping[str, str]
    default_branch: str
    flavor: str
    exclusions: ExclusionMap | None
    timeout: float

    def prepare(self, name: str, ref_list: Sequence[str], *, sync: bool) -> PackageSource:
        """Clone or fetch ``name`` (unless not ``sync``), resolve its ref, check it out,
        read its table."""
        clone = self.root / name
        try:
            git, action = self._sync(name, clone) if sync else (self._git(clone), "local")
            refs = self._refs(git, ref_list)
            resolution = resolve_package(
                name, ref_list, refs,
                repos_ref=self.repos[name].ref, default_branch=self.default_branch,
            )  # fmt: skip
            if resolution is None:
                raise self._problem(name, "ref-unresolved", self._no_ref(name, ref_list))
            self._check_out(name, git, resolution.sha, action)
            if action == "cloned":
                shutil.move(git.repo, clone)
                git = self._git(clone)
        except GitMissing:
            raise  # no package can be fetched: the environment's error, not this package's
        except GitError as exc:
            raise self._problem(name, "git", " ".join((exc.stderr or str(exc)).split())) from None
        except OSError as exc:
            raise self._problem(name, "clone-io", f"{clone}: {exc.strerror or exc}") from None
        return self._with_table(name, git, action, refs, resolution)

    def _git(self, repo: Path) -> Git:
        return Git(repo, timeout=self.timeout)

    def _sync(self, name: str, clone: Path) -> tuple[Git, str]:
        url = self.repos[name].url
        if clone.exists() and not (clone / ".git").is_dir():
            raise self._problem(
                name, "not-a-clone", f"{clone} exists but is not a git clone", "remove it"
            )
        if not clone.exists():
            partial = self.root / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            self._git(self.root).run("clone", "--quiet", "--no-checkout", "--", url, str(partial))
            return self._git(partial), "cloned"
        git = self._git(clone)
        racy_by_content = not git_attributes_elsewhere()
        clean = is_clean(clone, racy_by_content=racy_by_content)
        changed = [] if clean else git.changed_files()  # git asked on any doubt
        if changed:
            shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
            raise self._problem(
                name, "dirty-clone", f"clone {clone} has local changes ({shown})",
                "commit or discard them, or remove the clone; dm-release never overwrites work",
            )  # fmt: skip
        local = self._local_commits(git)
        if local:
            raise self._problem(
                name, "dirty-clone", f"clone {clone} has commits on no branch ({local[:10]})",
                "push them or put them on a branch (git branch <name>), or remove the clone",
            )  # fmt: skip
        if git.origin_url() != url:
            git.run("remote", "set-url", "origin", url)
        git.run(*_FETCH, "--", "origin")
        return git, "fetched"

    def _local_commits(self, git: Git) -> str:
        """The first commit of HEAD on no branch or tag: work made in the clone, which
        checking out another commit would leave behind (reachable only from the reflog).
        None when HEAD is the tip of a branch, remote branch or tag (read in-process);
        git is asked otherwise."""
        head = read_head(git.repo / ".git")
        if head is not None:
            tips = read_refs(git.repo / ".git", _ALL_TIPS)
            if tips is not None and head in tips.values():
                return ""
        return git.run("rev-list", "-n", "1", "HEAD", "--not", "--branches", "--remotes", "--tags")

    def _check_out(self, name: str, git: Git, sha: str, action: str) -> None:
        """Check out ``sha`` with the LFS filter off, then, for an ``lfs: true`` package,
        pull its LFS content; a clone re-resolved to the commit it is at is left alone."""
        if action == "cloned" or git.head() != sha:
            git.run(*_NO_LFS_FILTER, "checkout", "--quiet", "--detach", sha)
        elif action == "local":
            return
        if self.repos[name].lfs:  # after each fetch: an interrupted pull is finished
            if shutil.which("git-lfs") is None:
                raise LfsMissing(f"{name} has lfs: true in repos.yaml, but {_NO_LFS}")
            git.run("lfs", "pull")

    def _refs(self, git: Git, ref_list: Sequence[str]) -> RepoRefs:
        found = git.local_refs(_BRANCHES, _TAGS)
        branches = {
            n[len(_BRANCHES) :]: s
            for n, s in found.items()
            if n.startswith(_BRANCHES) and n != f"{_BRANCHES}HEAD"
        }
        tags = {n[len(_TAGS) :]: s for n, s in found.items() if n.startswith(_TAGS)}
        commits = {}
        for ref in filter(looks_like_sha, ref_list):
            if len(ref) == 40 and is_commit(git.repo / ".git", ref):
                commits[ref] = ref  # what rev-parse --verify would print, read in-process
                continue
            try:
                commits[ref] = git.rev_parse(ref)
            except GitError:
                continue  # not a commit of this package
        return RepoRefs(branches, tags, commits)

    def _with_table(
        self, name: str, git: Git, action: str, refs: RepoRefs, res: Resolution
    ) -> PackageSource:
        clone = git.repo
        shown = f"{name}@{res.ref}:ups/{name}.table"
        data = self._table_bytes(git, res.sha, name)
        if data is None:
            return PackageSource(name, clone, action, refs, res, (), frozenset(), {}, False)
        try:
            table = parse_table(decode_text(data, shown), shown)
        except ParseError as exc:  # TableParseError carries every problem: report the first
            raise PackageProblem(exc.diagnostic) from None
        deps = table.dependencies(self.flavor, exclusions=self.exclusions, product=name)
        names = tuple(d.name for d in deps)
        required = frozenset(d.name for d in deps if d.required)
        lines = {d.name: d.line for d in deps}
        return PackageSource(name, clone, action, refs, res, names, required, lines, True)

    def _table_bytes(self, git: Git, sha: str, name: str) -> bytes | None:
        """The table file at ``sha`` as checked out (the clone's work tree is at ``sha``),
        None when the package has none."""
        path = git.repo / "ups" / f"{name}.table"
        try:
            return path.read_bytes() if path.is_file() else None
        except OSError as exc:
            raise self._problem(name, "clone-io", f"{path}: {exc.strerror or exc}") from None

    def _no_ref(self, name: str, ref_list: Sequence[str]) -> str:
        tried = [*ref_list, self.repos[name].ref or "", self.default_branch]
        return "none of the refs " + ", ".join(r for r in tried if r) + " exists"

    def _problem(
        self, name: str, rule: str, message: str, hint: str | None = None
    ) -> PackageProblem:
        entry = self.repos[name]
        path = self.repos_path.get(name, "repos.yaml")
        return PackageProblem(
            Diagnostic(path, entry.line or 1, rule, f"{name}: {message}", hint=hint)
        )


@dataclass
class Discovery:
    """The packages found so far and the problems met, while the pool runs."""

    sources: dict[str, PackageSource]
    problems: list[Diagnostic]
    skipped_optional: list[str]


@dataclass(frozen=True)
class _Walk:
    remotes: Remotes
    ref_list: Sequence[str]
    synced: frozenset[str]

    def prepare(self, name: str) -> PackageSource:
        return self.remotes.prepare(name, self.ref_list, sync=name not in self.synced)


def discover(
    roots: Iterable[str],
    remotes: Remotes,
    ref_list: Sequence[str],
    jobs: int,
    external: frozenset[str] = frozenset(),
    synced: frozenset[str] = frozenset(),
    phase: Phase = SILENT_PHASE,
) -> Discovery:
    """Prepare ``roots`` and everything their tables reach, ``jobs`` git operations at once;
    the packages of ``synced`` (brought up to date earlier in this command) are not fetched.
    ``phase`` counts each package submitted and each one done (by this thread, which
    collects the results: the workers only run git)."""
    walk = _Walk(remotes, tuple(ref_list), synced)
    found = Discovery({}, [], [])
    seen = set(roots)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: dict[Future[PackageSource], str] = {}
        for name in sorted(seen):
            _submit(pool, pending, walk, name, None, found, phase)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                source = _collect(future, found)
                for dep in source.deps if source is not None else ():
                    if dep not in seen and dep not in external:
                        seen.add(dep)
                        _submit(pool, pending, walk, dep, source, found, phase)
                phase.advance(name, failed=source is None)  # after its deps are counted
    return found


def _submit(
    pool: ThreadPoolExecutor,
    pending: dict[Future[PackageSource], str],
    walk: _Walk,
    name: str,
    parent: PackageSource | None,
    found: Discovery,
    phase: Phase,
) -> None:
    if name in walk.remotes.repos:
        pending[pool.submit(walk.prepare, name)] = name
        phase.grow()
    elif parent is not None and name not in parent.required:
        found.skipped_optional.append(f"{name} (optional for {parent.name}, not in repos.yaml)")
    else:
        found.problems.append(_missing(name, parent))


def _missing(name: str, parent: PackageSource | None) -> Diagnostic:
    hint = "add it to repos.yaml, or list it as external of the product in dm-release.toml"
    if parent is None:
        return Diagnostic(
            "repos.yaml", 1, "repos-missing", f"product {name} is not in repos.yaml", hint=hint
        )
    path = f"{parent.name}@{parent.resolution.ref}:ups/{parent.name}.table"
    message = f"{name} (required by {parent.name}) is not in repos.yaml"
    return Diagnostic(path, parent.dep_lines.get(name, 1), "repos-missing", message, hint=hint)


def _collect(future: Future[PackageSource], found: Discovery) -> PackageSource | None:
    try:
        source = future.result()
    except PackageProblem as exc:
        found.problems.append(exc.diagnostic)
        return None
    found.sources[source.name] = source
    return source
