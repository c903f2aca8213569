"""The release plan: what a release session will write, computed before anything is written.

Per package: the source ref that won and why, its SHA, the tags to create (a final gets
``M.n.p``, plus ``vM.n.p`` on external repos, DESIGN.md §3) and the release branch to create
where one is needed (DESIGN.md §1, DMTN-106 §4.5). For a tagging session the plan also holds
the manifest and its content hash (DMTN-106 §2.3). The plan serialises to JSON with a
checksum over its content, so ``apply`` executes exactly the plan that was reviewed
(STYLE.md habit 3).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import load_json, split_lines
from dmrelease.core.names import (
    Candidate,
    InvalidName,
    Release,
    ReleaseBranchPattern,
    Tag,
    Weekly,
    eups_tag,
    parse_tag,
)
from dmrelease.core.packages import is_package_name
from dmrelease.core.refs import Resolution

__all__ = [
    "PLAN_FORMAT",
    "ChangeControl",
    "PackagePlan",
    "ReleasePlan",
    "Session",
    "candidates_of",
    "default_candidate_refs",
    "make_plan",
    "parse_plan",
    "plan_to_json",
    "previous_of",
    "read_tag_message",
    "render_plan",
    "session_making",
    "session_of",
    "tag_message",
    "tags_for",
]

PLAN_FORMAT = "dm-release-plan/1"


class Session(enum.StrEnum):
    """The release sessions of DESIGN.md §1 that write tags or branches."""

    WEEKLY = "weekly"
    CANDIDATE = "release_candidate"
    FINAL = "final_release"
    PATCH = "patch_release"  # release branches from the final tags of impacted packages
    BACKPORT = "backport"  # release branches from vM.n.0.rc1 where a backport needs one

    @property
    def tags(self) -> bool:
        """Whether the session creates tags (the others create release branches only)."""
        return self in (Session.WEEKLY, Session.CANDIDATE, Session.FINAL)


@dataclass(frozen=True)
class PackagePlan:
    """One package: the ref that won, its SHA, and the refs to create at that SHA."""

    name: str
    ref: str
    ref_kind: str
    reason: str
    sha: str
    tags: tuple[str, ...] = ()
    branch: str | None = None

    def new_refs(self) -> tuple[str, ...]:
        """Full names of the refs this package gets: tags first, then the branch."""
        refs = tuple(f"refs/tags/{tag}" for tag in self.tags)
        return (*refs, f"refs/heads/{self.branch}") if self.branch else refs

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ref": self.ref,
            "ref_kind": self.ref_kind,
            "reason": self.reason,
            "sha": self.sha,
            "tags": list(self.tags),
            "branch": self.branch,
        }


@dataclass(frozen=True)
class ChangeControl:
    """What the change-control rules were given and found (DMTN-106 §3, §4.4): the
    release issue, its blockers as Jira showed them (key, status), the waived ones (key,
    why), the product owner's approval, the source weekly judged green (``w.YYYY.WW bN``),
    a patch's RFC and its status, and each package new to the product's closure with the
    RFC that approved it. Empty (false) when none applied: the plan then has no record."""

    release_issue: str | None = None
    blockers: tuple[tuple[str, str], ...] = ()
    waivers: tuple[tuple[str, str], ...] = ()
    approved_by: str | None = None
    weekly: str | None = None
    rfc: str | None = None
    rfc_status: str | None = None
    approvals: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))

    def to_dict(self) -> dict[str, Any]:
        return {
            "release_issue": self.release_issue,
            "blockers": [{"key": k, "status": s} for k, s in self.blockers],
            "waivers": [{"key": k, "why": w} for k, w in self.waivers],
            "approved_by": self.approved_by,
            "weekly": self.weekly,
            "rfc": self.rfc,
            "rfc_status": self.rfc_status,
            "approvals": [{"package": p, "rfc": r} for p, r in self.approvals],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeControl:
        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        def pairs(key: str, first: str, second: str) -> tuple[tuple[str, str], ...]:
            return tuple((str(i[first]), str(i[second])) for i in data.get(key, ()))

        return cls(
            text("release_issue"),
            pairs("blockers", "key", "status"),
            pairs("waivers", "key", "why"),
            text("approved_by"),
            text("weekly"),
            text("rfc"),
            text("rfc_status"),
            pairs("approvals", "package", "rfc"),
        )

    def lines(self) -> list[str]:
        """The record for people, one fact a line (the plan's ``change control`` part)."""
        waived = dict(self.waivers)
        lines = []
        if self.release_issue:
            lines.append(f"release issue {self.release_issue}")
        for key, status in self.blockers:
            why = f": waived ({waived[key]})" if key in waived else ""
            lines.append(f"blocker {key} {status}{why}")
        lines += [f"waiver {k} ({w})" for k, w in self.waivers if k not in dict(self.blockers)]
        if self.approved_by:
            lines.append(f"approved by {self.approved_by}")
        if self.weekly:
            lines.append(f"source weekly {self.weekly}: green")
        if self.rfc:
            lines.append(f"rfc {self.rfc} {self.rfc_status or '-'}")
        lines += [f"new package {p}: approved in {r}" for p, r in self.approvals]
        return lines


@dataclass(frozen=True)
class ReleasePlan:
    """A reviewed, checksummed description of one session's writes.

    ``release`` is the name the session is about: the tag for weekly, candidate and final
    sessions, the coming patch ``M.n.p`` for patch_release, the release branch for backport.
    """

    product: str
    session: Session
    release: str
    source_refs: tuple[str, ...]
    packages: tuple[PackagePlan, ...]
    branch_pattern: str = "v{major}.{minor}.x"
    build_id: str = ""
    manifest: str = ""
    manifest_checksum: str = ""
    change_control: ChangeControl = ChangeControl()

    @property
    def operation(self) -> str:
        return f"{self.session} {self.product} {self.release}"

    @functools.cached_property
    def tag(self) -> Tag | None:
        """``release`` parsed once (a plan read from a file carries text): the tag the
        rules judge; None for a backport's branch or a name ``tag-canonical`` refuses."""
        try:
            return None if self.session is Session.BACKPORT else parse_tag(self.release)
        except InvalidName:
            return None

    @property
    def pattern(self) -> ReleaseBranchPattern:
        return ReleaseBranchPattern(self.branch_pattern)

    def package(self, name: str) -> PackagePlan:
        for package in self.packages:
            if package.name == name:
                return package
        raise KeyError(name)

    def shas(self) -> dict[str, str]:
        return {p.name: p.sha for p in self.packages}

    def to_dict(self) -> dict[str, Any]:
        """The plan's content; ``change_control`` only when there is a record (a plan
        without one has the content, and so the checksum, it always had)."""
        data: dict[str, Any] = {
            "product": self.product,
            "session": str(self.session),
            "release": self.release,
            "source_refs": list(self.source_refs),
            "branch_pattern": self.branch_pattern,
            "build_id": self.build_id,
            "manifest_checksum": self.manifest_checksum,
            "manifest": self.manifest,
            "packages": [p.to_dict() for p in self.packages],
        }
        if self.change_control:
            data["change_control"] = self.change_control.to_dict()
        return data

    @functools.cached_property
    def checksum(self) -> str:
        """``sha256:`` over the canonical JSON of the plan: what a reviewer approved
        (computed once: every tag message of the plan carries it)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def session_of(tag: str) -> Session | None:
    """The session that makes ``tag``, decided by parsing it (weekly, candidate, final)."""
    try:
        parsed = parse_tag(tag)
    except InvalidName:
        return None
    return session_making(parsed)


def session_making(parsed: Tag) -> Session | None:
    """The session that makes a parsed tag: weekly, candidate or final (None for others)."""
    if isinstance(parsed, Weekly):
        return Session.WEEKLY
    if isinstance(parsed, Candidate):
        return Session.CANDIDATE
    return Session.FINAL if isinstance(parsed, Release) else None


def tags_for(session: Session, release: str, *, external: bool) -> tuple[str, ...]:
    """The tags one package gets (DESIGN.md §3: a final gets ``vM.n.p`` too on external
    repos); branch-only sessions create none."""
    if session is Session.FINAL:
        return Release.parse(release).git_tags(external=external)
    return (release,) if session.tags else ()


def make_plan(
    product: str,
    session: Session,
    release: str,
    source_refs: Sequence[str],
    resolutions: Mapping[str, Resolution],
    *,
    order: Sequence[str] | None = None,
    external: Iterable[str] = (),
    branch: str | None = None,
    branch_pattern: str = "v{major}.{minor}.x",
    build_id: str = "",
    manifest: str = "",
    manifest_checksum: str = "",
) -> ReleasePlan:
    """Assemble the plan from the resolved refs; ``order`` is the manifest order (default:
    by name); ``branch`` is the release branch to create in every package of a branch-only
    session. The tag name is not validated here: :mod:`dmrelease.core.rules` does that."""
    externals = set(external)
    names = list(order) if order is not None else sorted(resolutions)
    packages = tuple(
        PackagePlan(
            name,
            resolutions[name].ref,
            str(resolutions[name].kind),
            resolutions[name].reason,
            resolutions[name].sha,
            _safe_tags(session, release, external=name in externals),
            None if session.tags else branch,
        )
        for name in names
    )
    return ReleasePlan(
        product,
        session,
        release,
        tuple(source_refs),
        packages,
        branch_pattern,
        build_id,
        manifest,
        manifest_checksum,
    )


def _safe_tags(session: Session, release: str, *, external: bool) -> tuple[str, ...]:
    """:func:`tags_for`, or the bare name when it does not parse (the rules report it)."""
    try:
        return tags_for(session, release, external=external)
    except ParseError:
        return (release,) if session.tags else ()


def tag_message(plan: ReleasePlan, tag: str) -> str:
    """The annotated tag message: version, EUPS tag, build id, manifest and plan checksums."""
    return (
        f"{plan.product} {tag}\n\n"
        f"version: {tag}\n"
        f"eups-tag: {eups_tag(tag)}\n"
        f"session: {plan.session}\n"
        f"build: {plan.build_id or '-'}\n"
        f"manifest: {plan.manifest_checksum or '-'}\n"
        f"plan: {plan.checksum}\n"
    )


def read_tag_message(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a :func:`tag_message` (``manifest``, ``plan``, …)."""
    fields: dict[str, str] = {}
    for line in split_lines(text):
        key, sep, value = line.partition(": ")
        if sep and (key.isidentifier() or key == "eups-tag"):
            fields[key] = value.strip()
    return fields


def render_plan(plan: ReleasePlan) -> str:
    """The plan for people: what each package gets, at which SHA, from which ref."""
    refs = " ".join(plan.source_refs) or "(none: repos.yaml ref, then default branch)"
    lines = [
        f"plan: {plan.operation}",
        f"  source refs: {refs}",
        f"  build: {plan.build_id or '-'}   manifest: {plan.manifest_checksum or '-'}",
        f"  checksum: {plan.checksum}",
        *(f"  change control: {line}" for line in plan.change_control.lines()),
        "",
        f"  {'package':<25} {'sha':<12} {'creates':<28} source ref (why)",
    ]
    for p in plan.packages:
        creates = " ".join([*p.tags, *([f"branch {p.branch}"] if p.branch else [])])
        lines.append(
            f"  {p.name:<25} {p.sha[:12]:<12} {creates or '-':<28} "
            f"{p.ref} ({p.ref_kind}; {p.reason})"
        )
    return "\n".join(lines) + "\n"


def plan_to_json(plan: ReleasePlan) -> str:
    body = {"format": PLAN_FORMAT, "checksum": plan.checksum, "plan": plan.to_dict()}
    return json.dumps(body, indent=1) + "\n"


def _plan_error(path: str, rule: str, message: str, hint: str) -> ParseError:
    return ParseError(Diagnostic(path, 1, rule, message, hint=hint))


def parse_plan(text: str, path: str = "<plan>") -> ReleasePlan:
    """Read a plan file; refuse it when its content no longer matches its checksum."""
    data = load_json(text, path, "plan-format")
    try:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a {PLAN_FORMAT} file")
        plan = _plan_from_dict(data["plan"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _plan_error(
            path, "plan-format", f"unreadable plan: {exc}", "write it with `release plan`"
        ) from None
    if data.get("checksum") != plan.checksum:
        raise _plan_error(
            path,
            "plan-checksum",
            f"the plan's content does not match its checksum {data.get('checksum')}",
            "a plan is applied exactly as reviewed: make a new one with `release plan`",
        )
    for package in plan.packages:
        problem = _inconsistent(plan, package)
        if problem:
            raise _plan_error(path, "plan-format", problem, "write it with `release plan`")
    return plan


def _inconsistent(plan: ReleasePlan, package: PackagePlan) -> str | None:
    """Why ``package`` is not what :func:`make_plan` makes for the plan's session and
    release (a package name reaches paths; a tag or branch reaches the remotes)."""
    if not is_package_name(package.name):
        return f"{package.name!r} is not a package name"
    expected = {_safe_tags(plan.session, plan.release, external=e) for e in (False, True)}
    if package.tags not in expected:
        return f"{package.name}: tags {list(package.tags)} are not those of {plan.operation}"
    branch_ok = (
        package.branch is None
        if plan.session.tags
        else package.branch is not None and plan.pattern.match(package.branch) is not None
    )
    return None if branch_ok else f"{package.name}: branch {package.branch!r} is not planned here"


def _plan_from_dict(data: Mapping[str, Any]) -> ReleasePlan:
    packages = tuple(
        PackagePlan(
            str(p["name"]),
            str(p["ref"]),
            str(p["ref_kind"]),
            str(p["reason"]),
            str(p["sha"]),
            tuple(str(t) for t in p["tags"]),
            None if p["branch"] is None else str(p["branch"]),
        )
        for p in data["packages"]
    )
    return ReleasePlan(
        product=str(data["product"]),
        session=Session(data["session"]),
        release=str(data["release"]),
        source_refs=tuple(str(r) for r in data["source_refs"]),
        packages=packages,
        branch_pattern=str(data["branch_pattern"]),
        build_id=str(data["build_id"]),
        manifest=str(data["manifest"]),
        manifest_checksum=str(data["manifest_checksum"]),
        change_control=ChangeControl.from_dict(data.get("change_control") or {}),
    )


def previous_of(candidate: Candidate) -> Candidate | Release | None:
    """The release rcN follows (DESIGN.md §1, DMTN-106 §4.5): ``vM.n.p.rc(N-1)``, for a
    patch's rc1 the previous final ``M.n.(p-1)``; None for ``vM.n.0.rc1`` (from a weekly)."""
    if candidate.rc > 1:
        return Candidate(candidate.release, candidate.rc - 1)
    if candidate.patch > 0:
        return Release(candidate.major, candidate.minor, candidate.patch - 1)
    return None


def default_candidate_refs(candidate: Candidate, pattern: ReleaseBranchPattern) -> tuple[str, ...]:
    """The refs rcN is made from when none are given: ``<release branch>``, then
    :func:`previous_of`; empty for ``vM.n.0.rc1``, made from a weekly the caller names."""
    previous = previous_of(candidate)
    return (pattern.render(candidate.release), str(previous)) if previous else ()


def candidates_of(release: Release, tag_names: Iterable[str]) -> list[Candidate]:
    """The existing candidates of ``release`` among ``tag_names``, in rc order."""
    found = []
    for name in tag_names:
        try:
            tag = parse_tag(name)
        except InvalidName:
            continue
        if isinstance(tag, Candidate) and tag.release == release:
            found.append(tag)
    return sorted(set(found))
