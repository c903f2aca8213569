"""What prepare and build return (internal to the rebuild family; the front
:mod:`dmrelease.stages.rebuild` exports them): the manifest with how each package's ref
was chosen, and one outcome per package built, reused or fetched."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dmrelease.core.build import Outcome, count_actions
from dmrelease.core.libraries import Library
from dmrelease.core.manifest import Manifest
from dmrelease.stages.workspace import PackageSource


@dataclass(frozen=True)
class Prepared:
    """The outcome of prepare: the manifest and how each package's ref was chosen."""

    manifest: Manifest
    build_id_reused: bool
    sources: Mapping[str, PackageSource]
    versiondb_steps: tuple[str, ...]
    notes: tuple[str, ...]
    seconds: float
    #: the manifest's packages taken from a library (never cloned): name → its library
    libraries: Mapping[str, Library] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        versions = {e.name: e.version for e in self.manifest.entries}
        packages = {
            n: {**s.resolution.as_dict(), "version": versions[n], "clone": s.action}
            for n, s in self.sources.items()
        }
        for name, library in self.libraries.items():  # its release's commit and version
            entry = library.packages[name]
            packages[name] = {
                "package": name, "ref": library.tag, "kind": "library", "sha": entry.sha,
                "source": "library", "reason": library.shown, "version": entry.version,
                "clone": "library",
            }  # fmt: skip
        return {
            "build_id": self.manifest.build_id,
            "build_id_reused": self.build_id_reused,
            "packages": [packages[n] for n in sorted(packages)],
            "versiondb": list(self.versiondb_steps),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Built:
    """The outcome of build: one outcome per manifest package, in manifest order."""

    build_id: str | None
    outcomes: tuple[Outcome, ...]
    seconds: float
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return count_actions(self.outcomes)

    def as_dict(self) -> dict[str, object]:
        return {
            "build_id": self.build_id,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "packages": {o.package: o.as_dict() for o in self.outcomes},
        }
