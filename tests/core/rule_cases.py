"""One release-rule case for the rule tests: a session, its tag and source refs, what each
package resolved to and what its remote shows; it makes the plan, the facts and the
diagnostics that :func:`dmrelease.core.rules.check_plan` gives for them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from dmrelease.core.journal import Lock
from dmrelease.core.plan import ReleasePlan, Session, make_plan
from dmrelease.core.refs import RefKind, RefSource, Resolution
from dmrelease.core.rules import Facts, RepoFacts, ancestry_questions, check_plan


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


W24, RC1, RC2, RC3, RC4 = (sha(x) for x in ("w24", "rc1", "rc2", "rc3", "rc4"))
F0, F1, MAIN, FIX, OTHER = (sha(x) for x in ("f0", "f1", "main", "fix", "other"))


@dataclass
class Case:
    session: Session
    release: str
    refs: tuple[str, ...]
    resolved: Mapping[str, tuple[str, str]]  # package -> (ref that won, sha), manifest order
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    branches: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    descends: Mapping[str, bool] = field(default_factory=dict)  # package -> answer
    branch: str | None = None
    external: tuple[str, ...] = ()
    lock: Lock | None = None
    checksums: Mapping[str, str] = field(default_factory=dict)
    manifest_checksum: str = ""

    def plan(self) -> ReleasePlan:
        resolutions = {
            name: Resolution(name, ref, RefKind.TAG, sha_, RefSource.REF_LIST, "first")
            for name, (ref, sha_) in self.resolved.items()
        }
        return make_plan(
            "demo", self.session, self.release, self.refs, resolutions,
            order=list(self.resolved), branch=self.branch, external=self.external,
            manifest_checksum=self.manifest_checksum,
        )  # fmt: skip

    def facts(self, plan: ReleasePlan) -> Facts:
        repos = {
            n: RepoFacts(self.tags.get(n, {}), self.branches.get(n, {})) for n in self.resolved
        }
        answers = {
            name: {pair: self.descends.get(name, True) for pair in pairs}
            for name, pairs in ancestry_questions(plan, Facts(repos)).items()
        }
        return Facts(repos, answers, self.checksums, self.lock)

    def diagnostics(self) -> list[str]:
        plan = self.plan()
        return [str(d) for d in check_plan(plan, self.facts(plan))]
