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

from dmrelease.adapters.files import WriteFailed, write_atomically
from dmrelease.adapters.git import Git
from dmrelease.core.errors import DmReleaseError
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import (
    BUILD_ID_RE,
    ContentDb,
    Manifest,
    content_hash,
    render_manifest,
)

CONTENT_DB = "manifests/content_sha.db.txt"
#: what ``git add`` takes: the content db and the manifests, never a temporary file
RECORDED = (CONTENT_DB, "manifests/b*.txt")


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
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WriteFailed(path, exc, "the versiondb") from None
            Git(path, timeout=timeout).run("init", "--quiet", "--initial-branch=main")
        return cls(path, Git(path, env=identity, timeout=timeout))

    def content_db(self) -> ContentDb:
        return ContentDb.parse(self._content_text()[1], str(self.path / CONTENT_DB))

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

    def record(self, manifest: Manifest) -> list[str]:
        """Write, commit and tag ``manifest``; returns what was done (empty: all there)."""
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
        if not self.git.ok("rev-parse", "--verify", "--quiet", f"refs/tags/{build_id}"):
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
        if build_id not in ContentDb.parse(text, str(self.path / CONTENT_DB)).builds_for(digest):
            text += f"{digest}\t{build_id}\n"
        if there == text.encode("utf-8"):
            return []
        write_atomically(self.path / CONTENT_DB, text)
        return [CONTENT_DB]


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
