"""The versiondb repository: ``manifests/bNNNN.txt``, ``manifests/content_sha.db.txt`` and
an annotated tag ``bNNNN`` per build (DESIGN.md §5).

A manifest whose content hash is already recorded reuses that build id and writes nothing
new (the original tool lost this on its Python 3 port). Build ids: highest ``bN`` among the
manifest files and tags, plus one. Every step checks what is already there, so a rerun after
a crash completes the record instead of repeating or contradicting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dmrelease.adapters.git import Git
from dmrelease.core.errors import DmReleaseError
from dmrelease.core.manifest import (
    BUILD_ID_RE,
    ContentDb,
    Manifest,
    content_hash,
    render_manifest,
)

CONTENT_DB = "manifests/content_sha.db.txt"


class VersionDbConflict(DmReleaseError):
    """A file of the versiondb already holds other bytes than the ones to record."""


@dataclass(frozen=True)
class VersionDb:
    path: Path
    git: Git

    @classmethod
    def open(cls, path: Path, user_name: str, user_email: str, timeout: float) -> VersionDb:
        """The versiondb at ``path``, created as an empty repository when absent."""
        identity = {
            "GIT_AUTHOR_NAME": user_name,
            "GIT_AUTHOR_EMAIL": user_email,
            "GIT_COMMITTER_NAME": user_name,
            "GIT_COMMITTER_EMAIL": user_email,
        }
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            Git(path, timeout=timeout).run("init", "--quiet", "--initial-branch=main")
        return cls(path, Git(path, env=identity, timeout=timeout))

    def content_db(self) -> ContentDb:
        file = self.path / CONTENT_DB
        if not file.is_file():
            return ContentDb(())
        return ContentDb.parse(file.read_text(encoding="utf-8"), str(file))

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

    def record(self, manifest: Manifest) -> list[str]:
        """Write, commit and tag ``manifest``; returns what was done (empty: all there)."""
        build_id = manifest.build_id
        if build_id is None:
            raise DmReleaseError("cannot record a manifest without a build id")
        # content line first: a run killed after it reuses this build id when rerun
        done = self._write_content(manifest, build_id) + self._write_manifest(manifest, build_id)
        if self.git.run("status", "--porcelain", "--", "manifests"):  # also a killed run's
            self.git.run("add", "manifests")
            self.git.run("commit", "--quiet", "-m", f"Add build {build_id}")
            done.append("commit")
        if not self.git.ok("rev-parse", "--verify", "--quiet", f"refs/tags/{build_id}"):
            self.git.run("tag", "--annotate", "-m", f"Build {build_id}", build_id)
            done.append(f"tag {build_id}")
        return done

    def _write_manifest(self, manifest: Manifest, build_id: str) -> list[str]:
        file = self.path / "manifests" / f"{build_id}.txt"
        text = render_manifest(manifest)
        if file.is_file():
            if file.read_text(encoding="utf-8") != text:
                raise VersionDbConflict(f"{file}: already holds another manifest for {build_id}")
            return []
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
        return [f"manifests/{build_id}.txt"]

    def _write_content(self, manifest: Manifest, build_id: str) -> list[str]:
        digest = content_hash(manifest)
        if build_id in self.content_db().builds_for(digest):
            return []
        file = self.path / CONTENT_DB
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("a", encoding="utf-8") as out:
            out.write(f"{digest}\t{build_id}\n")
        return [CONTENT_DB]
