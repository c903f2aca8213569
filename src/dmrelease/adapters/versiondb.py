"""The versiondb repository: ``manifests/bNNNN.txt``, ``manifests/content_sha.db.txt`` and
an annotated tag ``bNNNN`` per build (DESIGN.md §5).

A manifest whose content hash is already recorded reuses that build id and writes nothing
new (the original tool lost this on its Python 3 port). Build ids: highest ``bN`` among the
manifest files and tags, plus one. Every step checks what is already there, so a rerun after
a crash completes the record instead of repeating or contradicting it.

With a remote (``paths.versiondb_remote``, issue 9 §4) the local versiondb is a clone of
it and :meth:`VersionDb.claim` takes the build id there: fetch, choose, record, then one
``git push --atomic`` of ``main`` and the new ``bNNNN`` tag. When another agent pushed
first, the push is refused; the local ``main`` is then reset onto the remote's (the local
record, never published, is redone on top: the same content reuses the other agent's id,
other content takes the next one) and the push tried again. Tags are made locally only
once the remote has them, so no local tag ever disagrees with the remote.

One fetch per command: :meth:`VersionDb.survey` fetches and tells the build id a claim
would give, and :meth:`VersionDb.claim` of that :class:`Preview` starts from what it
fetched (the push stays atomic: had another agent pushed in between, it is refused, and
the claim fetches and retries as above). A fetch reads the remote's and the local refs in
one ``for-each-ref``; the content db is parsed once per text read. A no-change rebuild
costs 4 git processes in a versiondb with a remote (fetch, for-each-ref, status, ls-tree;
13 before), 2 without one (status, the tag check).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dmrelease.adapters.files import WriteFailed, write_atomically
from dmrelease.adapters.git import Git, GitError
from dmrelease.core.errors import Diagnostic, DmReleaseError, UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import (
    BUILD_ID_RE,
    ContentDb,
    Manifest,
    content_hash,
    parse_manifest,
    render_manifest,
    server_name_problems,
)

if TYPE_CHECKING:
    from dmrelease.core.config import Config

CONTENT_DB = "manifests/content_sha.db.txt"
#: what ``git add`` takes: the content db and the manifests, never a temporary file
RECORDED = (CONTENT_DB, "manifests/b*.txt")
MAIN = "refs/heads/main"
#: the remote's main and build tags as last fetched (globs: an empty remote has neither)
TRACKING_MAIN = "refs/remotes/versiondb/heads/main"
TRACKING_TAGS = "refs/remotes/versiondb/tags/"
#: a claim retries once per build another agent pushed meanwhile; past this many, give up
MAX_CLAIMS = 64

__all__ = ["CONTENT_DB", "Preview", "VersionDb", "VersionDbConflict", "read_build"]


class VersionDbConflict(DmReleaseError):
    """A file of the versiondb already holds other bytes than the ones to record."""


@dataclass(frozen=True)
class Remote:
    """What the versiondb remote showed at a fetch: its ``main`` and its build tags."""

    main: str | None
    tags: frozenset[str]


@dataclass(frozen=True)
class Preview:
    """What :meth:`VersionDb.survey` found: the build id a claim would give then and
    whether it is reused; with a remote, the remote as fetched and the local ``main`` once
    brought onto it, where :meth:`VersionDb.claim` starts instead of fetching again."""

    build_id: str
    reused: bool
    remote: Remote | None = None
    main: str | None = None


@dataclass(frozen=True)
class VersionDb:
    path: Path
    git: Git
    remote: str | None = None

    @classmethod
    def of(cls, config: Config) -> VersionDb:
        """The versiondb of ``config``: its path, identity, git timeout and remote."""
        return cls.open(
            config.versiondb, config.user_name, config.user_email, config.git_timeout,
            remote=config.versiondb_remote,
        )  # fmt: skip

    @classmethod
    def open(
        cls,
        path: Path,
        user_name: str,
        user_email: str,
        timeout: float,
        remote: str | None = None,
    ) -> VersionDb:
        """The versiondb at ``path``, created as an empty repository when absent; with a
        ``remote``, that repository becomes its clone at the first :meth:`claim`."""
        identity = {
            "GIT_AUTHOR_NAME": user_name,
            "GIT_AUTHOR_EMAIL": user_email,
            "GIT_COMMITTER_NAME": user_name,
            "GIT_COMMITTER_EMAIL": user_email,
        }
        if not (path / ".git").exists():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WriteFailed(path, exc, "the versiondb") from None
            Git(path, timeout=timeout).run("init", "--quiet", "--initial-branch=main")
        address = None
        if remote:  # remote_state (and the journal's lock it imports) only with a remote
            from dmrelease.adapters.remote_state import remote_address

            address = remote_address(remote)
        return cls(path, Git(path, env=identity, timeout=timeout), address)

    def build_manifest(self, build_id: str) -> str | None:
        """The text of ``manifests/<build_id>.txt`` as recorded (another product's build:
        a library's), None when versiondb has no such build; with a remote, what the remote
        holds (the clone is brought up to date first, as :meth:`survey` does)."""
        if self.remote is not None:
            remote, main = self._fetch()
            self._follow(remote, main)
        file = self.path / "manifests" / f"{build_id}.txt"
        data = _read(file)
        return None if data is None else decode_text(data, str(file))

    def content_db(self) -> ContentDb:
        return _parse_content(self._content_text()[1], str(self.path / CONTENT_DB))

    def _content_text(self) -> tuple[bytes | None, str]:
        """The content db as it is on disk and as it stands once a last line cut short
        (no newline; not committed so) is dropped."""
        file = self.path / CONTENT_DB
        data = _read(file)
        text = "" if data is None else decode_text(data, str(file))
        if text and not text.endswith("\n") and not self._committed(CONTENT_DB):
            text = text[: text.rfind("\n") + 1]
        return data, text

    def _committed(self, relative: str) -> bool:
        """Whether ``relative`` is in HEAD exactly as it is on disk."""
        answer = self.git.run("status", "--porcelain", "--untracked-files=all", "--", relative)
        return not answer and self.git.ok("cat-file", "-e", f"HEAD:{relative}")

    def next_build_id(self, db: ContentDb) -> str:
        """One past the highest ``bN`` of the manifest files, the tags and ``db``."""
        names = [f.stem for f in (self.path / "manifests").glob("b*.txt")]
        names += self.git.run("tag", "--list", "b*").split()
        names += [build for _, build in db.records]  # a killed run's too
        numbers = [int(m[1]) for m in map(BUILD_ID_RE.match, names) if m]
        return f"b{max(numbers, default=0) + 1}"

    def build_id_for(self, manifest: Manifest) -> tuple[str, bool]:
        """The build id to use and whether it is reused (same content hash known)."""
        db = self.content_db()
        known = db.build_for(content_hash(manifest))
        return (known, True) if known else (self.next_build_id(db), False)

    def preview(self, manifest: Manifest) -> tuple[str, bool]:
        """The build id :meth:`claim` would give now and whether it is reused; with a
        remote, against what the remote holds (the clone is brought up to date first)."""
        seen = self.survey(manifest)
        return seen.build_id, seen.reused

    def survey(self, manifest: Manifest) -> Preview:
        """:meth:`preview`, keeping what the fetch saw for :meth:`claim`."""
        if self.remote is None:
            return Preview(*self.build_id_for(manifest))
        remote, main = self._fetch()
        main = self._follow(remote, main)
        return Preview(*self.build_id_for(manifest), remote=remote, main=main)

    def claim(
        self, manifest: Manifest, preview: Preview | None = None
    ) -> tuple[Manifest, bool, list[str]]:
        """Give ``manifest`` its build id and record it: ``(manifest with its build id,
        reused, steps done)``. With a remote, the id is taken there (see the module),
        starting from ``preview`` (this versiondb's :meth:`survey` just before, whose fetch
        is then not repeated) when given."""
        if self.remote is None:
            build_id, reused = self.build_id_for(manifest)
            claimed = dataclasses.replace(manifest, build_id=build_id)
            return claimed, reused, self.record(claimed)
        if preview is not None and preview.remote is not None:
            remote, main, followed = preview.remote, preview.main, True
        else:
            (remote, main), followed = self._fetch(), False
        for _ in range(MAX_CLAIMS):
            if not followed:
                main = self._follow(remote, main)
            followed = False
            build_id, reused = self.build_id_for(manifest)
            claimed = dataclasses.replace(manifest, build_id=build_id)
            steps = self._record(claimed, tag=False)
            if "commit" in steps:
                main = self._commit(MAIN)
            refused = self._publish(remote, steps, main)
            if refused is None:
                return claimed, reused, steps
            seen = remote
            remote, main = self._fetch()
            if remote == seen:  # refused, yet nobody pushed: not a race to retry
                raise refused
        raise VersionDbConflict(
            f"{_shown(self.remote)}: {MAX_CLAIMS} builds were pushed by other agents while "
            f"this one tried to record its build; rerun"
        )

    def _fetch(self) -> tuple[Remote, str | None]:
        """Fetch the remote's ``main`` and build tags into ``refs/remotes/versiondb/``, and
        make a local tag of each build tag the clone lacks; returns what the remote showed
        and the local ``main`` (both read with the local tags in one ``for-each-ref``)."""
        assert self.remote is not None
        self.git.run(
            "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", "--",
            self.remote, "+refs/heads/*:refs/remotes/versiondb/heads/*",
            f"+refs/tags/b*:{TRACKING_TAGS}b*",
        )  # fmt: skip
        refs = self._refs(TRACKING_MAIN, TRACKING_TAGS, "refs/tags/b*", MAIN)
        tags = {n: sha for n, (sha, _) in refs.items() if n.startswith(TRACKING_TAGS)}
        creates = []
        for name, sha in tags.items():
            tag = f"refs/tags/{name.removeprefix(TRACKING_TAGS)}"
            if tag not in refs:
                creates.append(f"create {tag} {sha}\n")
        if creates:
            self.git.run("update-ref", "--stdin", input="".join(creates))
        names = frozenset(name.removeprefix(TRACKING_TAGS) for name in tags)
        return Remote(self._commit_of(refs, TRACKING_MAIN), names), self._commit_of(refs, MAIN)

    def _refs(self, *patterns: str) -> dict[str, tuple[str, str | None]]:
        """Ref name → (the object it names, the commit that is or a tag of it peels to,
        else None), for the refs matching ``patterns``, in one ``for-each-ref``."""
        found: dict[str, tuple[str, str | None]] = {}
        form = "--format=%(refname) %(objectname) %(objecttype) %(*objectname) %(*objecttype)"
        for line in self.git.lines("for-each-ref", form, *patterns):
            name, sha, kind, peeled, peeled_kind = [*line.split(" "), "", "", ""][:5]
            commit = sha if kind == "commit" else peeled if peeled_kind == "commit" else None
            found[name] = (sha, commit)  # a tag of a tag: for-each-ref peels only once
        return found

    def _commit_of(self, refs: dict[str, tuple[str, str | None]], ref: str) -> str | None:
        """The commit of ``ref`` as :meth:`_commit` gives it, from :meth:`_refs`: a ref
        that names neither a commit nor a tag of one is asked of git (``^{commit}``)."""
        if ref not in refs:
            return None
        commit = refs[ref][1]
        return commit if commit is not None else self._commit(ref)

    def _commit(self, ref: str) -> str | None:
        found = self.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return found or None

    def _follow(self, remote: Remote, local: str | None) -> str | None:
        """Bring the local ``main`` (``local``) onto the remote's: fast-forward when it is
        behind, keep it when it is ahead (records not pushed yet), and when the two diverged
        (another agent pushed first) reset it onto the remote's, keeping the local one under
        ``refs/dm-release/unpublished/`` (nothing lost; its record is redone on top).
        Returns the local ``main`` after."""
        if remote.main is None:
            return local  # an empty remote: the local history is published as it is
        if local == remote.main or (local and self.git.is_ancestor(remote.main, local)):
            return local
        if local and not self.git.is_ancestor(local, remote.main):
            self.git.run("update-ref", f"refs/dm-release/unpublished/{local}", local)
        self.git.run("reset", "--quiet", "--hard", remote.main)
        self.git.run("clean", "--quiet", "--force", "--", "manifests")
        return remote.main

    def _publish(self, remote: Remote, steps: list[str], main: str | None) -> GitError | None:
        """Push ``main`` (the local one) and a tag of each recorded build the remote has no
        tag of, in one atomic push; None when done, the push's error when the remote
        refused it."""
        assert self.remote is not None
        if main is None:
            return None
        listed = self.git.lines("ls-tree", "--name-only", main, "--", "manifests/")
        builds = [Path(name).stem for name in listed if BUILD_ID_RE.match(Path(name).stem)]
        pending = [b for b in builds if b not in remote.tags]
        specs = [f"{main}:{MAIN}"] if main != remote.main else []
        made: set[str] = set()
        objects = {b: self._tag_object(b, main, made) for b in pending}
        specs += [f"{sha}:refs/tags/{b}" for b, sha in objects.items()]
        if not specs:
            return None
        try:
            self.git.run("push", "--quiet", "--atomic", "--porcelain", "--", self.remote, *specs)
        except GitError as exc:
            return exc
        self.git.run("update-ref", TRACKING_MAIN, main)
        for build in sorted(made):
            self.git.run("update-ref", f"refs/tags/{build}", objects[build], "")
        steps.append(f"push {_shown(self.remote)} main" + "".join(f" {b}" for b in objects))
        return None

    def _tag_object(self, build_id: str, main: str, made: set[str]) -> str:
        """The annotated tag ``bNNNN`` of the commit that recorded it: the local tag if there
        is one (a versiondb recorded before it had a remote), else a new tag object, made
        without a local ref until the remote has it."""
        local = self.git.run(
            "rev-parse", "--verify", "--quiet", f"refs/tags/{build_id}", check=False
        )
        if local:
            return local
        # the tagger and date are the recording commit's committer and date: a build's tag
        # is made with its record, and a run with pinned dates (the demo) gets the same SHA
        found = self.git.run(
            "log",
            "-1",
            "--date=raw",
            "--format=%H%n%cn <%ce> %cd",
            main,
            "--",
            f"manifests/{build_id}.txt",
        )
        commit, _, tagger = found.partition("\n")
        text = f"object {commit}\ntype commit\ntag {build_id}\ntagger {tagger}\n\n"
        text += f"Build {build_id}\n"
        made.add(build_id)
        return self.git.run("mktag", input=text)

    def record(self, manifest: Manifest) -> list[str]:
        """Write, commit and tag ``manifest``; returns what was done (empty: all there)."""
        return self._record(manifest, tag=True)

    def _record(self, manifest: Manifest, *, tag: bool) -> list[str]:
        build_id = manifest.build_id
        if build_id is None:
            raise DmReleaseError("cannot record a manifest without a build id")
        for stale in (self.path / "manifests").glob(".*.tmp"):  # of a run killed mid-write
            stale.unlink(missing_ok=True)
        # content line first: a run killed after it reuses this build id when rerun
        done = self._write_content(manifest, build_id) + self._write_manifest(manifest, build_id)
        if self.git.run("status", "--porcelain", "--", *RECORDED):  # also a killed run's
            self.git.run("add", "--", *RECORDED)
            self.git.run("commit", "--quiet", "-m", f"Add build {build_id}")
            done.append("commit")
        if tag and not self.git.ok("rev-parse", "--verify", "--quiet", f"refs/tags/{build_id}"):
            self.git.run("tag", "--annotate", "-m", f"Build {build_id}", build_id)
            done.append(f"tag {build_id}")
        return done

    def _write_manifest(self, manifest: Manifest, build_id: str) -> list[str]:
        relative = f"manifests/{build_id}.txt"
        file = self.path / relative
        text = render_manifest(manifest).encode("utf-8")
        there = _read(file)
        if there == text:
            return []
        if there is not None:
            cut_short = text.startswith(there) and not self._committed(relative)
            if not cut_short:
                raise VersionDbConflict(_conflict(file, build_id, self._committed(relative)))
        write_atomically(file, text)
        return [relative]

    def _write_content(self, manifest: Manifest, build_id: str) -> list[str]:
        digest = content_hash(manifest)
        there, text = self._content_text()
        if build_id not in _parse_content(text, str(self.path / CONTENT_DB)).builds_for(digest):
            text += f"{digest}\t{build_id}\n"
        if there == text.encode("utf-8"):
            return []
        write_atomically(self.path / CONTENT_DB, text)
        return [CONTENT_DB]


def read_build(versiondb: Path, build_id: str | None) -> Manifest:
    """The manifest of build ``build_id`` in the versiondb at ``versiondb``
    (``manifests/bNNNN.txt``; None: the last build, the highest number), as publish and
    tarball read it: nothing is fetched nor created. UsageError (exit 2) for a build id
    that is not ``b`` and digits, a versiondb without builds or without that one, and a
    manifest whose names or versions cannot become server file names (``FILE:LINE``
    diagnostics: a path would leave the server tree); ParseError (exit 1) for a manifest
    that cannot be read."""
    folder = versiondb / "manifests"
    if build_id is not None and not BUILD_ID_RE.fullmatch(build_id):
        raise UsageError(f"build {build_id!r}: a build id is b followed by digits (b1234)")
    try:
        stems = [f.stem for f in folder.glob("b*.txt")]
    except OSError:
        stems = []
    builds = sorted((int(m[1]), m[0]) for m in map(BUILD_ID_RE.match, stems) if m)
    if not builds:
        raise UsageError(f"{versiondb}: versiondb has no build yet; run dm-release rebuild first")
    build_id = builds[-1][1] if build_id is None else build_id
    file = folder / f"{build_id}.txt"
    data = _read_build_file(file)
    if data is None:
        raise UsageError(
            f"build {build_id} is not in versiondb {versiondb} "
            f"(its builds: {builds[0][1]} to {builds[-1][1]})"
        )
    manifest = parse_manifest(decode_text(data, str(file)), str(file))
    problems = server_name_problems(manifest, str(file))
    if manifest.build_id is not None and manifest.build_id != build_id:
        said = f"BUILD={_shown_id(manifest.build_id)} in the file of build {build_id}"
        problems.insert(0, Diagnostic(str(file), manifest.build_line, "manifest-build", said))
    if problems:
        raise UsageError(
            "\n".join(map(str, problems)) + f"\nbuild {build_id} cannot be published as "
            "recorded: nothing was read from the clones nor written"
        )
    return dataclasses.replace(manifest, build_id=build_id)


def _shown_id(text: str) -> str:
    return text if BUILD_ID_RE.match(text) else repr(text[:60])


def _read_build_file(file: Path) -> bytes | None:
    try:
        return file.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=4)
def _parse_content(text: str, path: str) -> ContentDb:
    """The content db of ``text``, parsed once per text: a claim reads it 3 times (the
    preview, the claim, the record), and a real one holds 8,000 builds (~12 ms a parse)."""
    return ContentDb.parse(text, path)


def _shown(remote: str) -> str:
    from dmrelease.adapters.remote_state import shown

    return shown(remote)


def _read(file: Path) -> bytes | None:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        return None


def _conflict(file: Path, build_id: str, committed: bool) -> str:
    if committed:
        return (
            f"{file}: already holds another manifest for {build_id}, committed: the content "
            f"db and the manifests disagree; check {CONTENT_DB} against the tags"
        )
    return (
        f"{file}: already holds another manifest for {build_id}, not committed: if no other "
        "rebuild is using this versiondb, a run was cut short; remove the file and rerun"
    )
