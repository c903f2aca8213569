"""The release notes stage: the data of a release's notes, gathered once.

:func:`release_notes` resolves the two ends (a release: its annotated tag's ``build:``
line in the product's repository, then versiondb's manifest of that build; a build id:
versiondb's manifest; two manifest files as given), lists per changed package the commits
between its two SHAs (one ``git log`` per package in the clones the workspace discovery
makes or fetches, ``git.jobs`` at once), asks Jira about the tickets they carry and the
blockers of the release issue when jira.url is set, and builds the pure
:class:`~dmrelease.core.notes.ReleaseNotes`. Nothing is written anywhere.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.config import auto_git_jobs
from dmrelease.adapters.git import Git, GitError
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import Diagnostic, ParseError, UsageError
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import Manifest, content_hash, parse_manifest
from dmrelease.core.notes import (
    DEFAULT_TEMPLATES,
    NOTES_WHERE,
    Commit,
    Facts,
    IssueFacts,
    NoteTicket,
    Override,
    PackageChange,
    ReleaseNotes,
    build_notes,
    installation_text,
    issue_facts,
    notes_to_json,
    package_changes,
    parse_overrides,
    render,
    render_markdown,
    render_rst,
)
from dmrelease.core.plan import read_tag_message
from dmrelease.core.requests import NotesRequest, RefList

__all__ = [
    "End",
    "NoteTicket",
    "ReleaseNotes",
    "notes_to_json",
    "release_notes",
    "render",
    "render_markdown",
    "render_rst",
]

_BUILD = "b"
_SEP = "\x1f"
_END = "\x1e"


@dataclass(frozen=True)
class End:
    """One end of the notes: as asked (``label``), its manifest, the build id, and for a
    release its git tag, EUPS tag and recorded manifest checksum."""

    label: str
    manifest: Manifest
    build_id: str
    git_tag: str | None = None
    eups_tag: str | None = None
    checksum: str | None = None


def release_notes(
    config: Config, request: NotesRequest, log: TextIO | None = None, *, form: str = "md"
) -> ReleaseNotes:
    """The notes ``request`` asks for. ``form`` (``md``, ``rst``, ``json``) chooses the
    built-in installation template when no template file is given. UsageError (exit 2) for
    an end that cannot be found, JiraError (exit 2) for a Jira that does not answer."""
    from dmrelease.stages.workspace import open_workspace, work_dir_lock

    log = sys.stderr if log is None else log
    product = config.one_product(request.product, what="the notes are")
    project = config.jira_project
    # the files a person wrote are read (and refused) before anything is fetched
    narrative = None if request.narrative is None else _read_text(request.narrative, "narrative")
    overrides, overrides_path = _overrides(config, request, project)
    template_path = request.template or config.notes_template
    if template_path is not None:
        where = str(template_path)
        template = _read_text(Path(template_path), "template")
    else:
        where, template = "<template>", DEFAULT_TEMPLATES.get(form, DEFAULT_TEMPLATES["md"])
    installation_text(template, Facts(product.name, "", "", "", ""), where)  # its placeholders
    since: End | None = None
    until: End | None = None
    refs = RefList()
    if request.until_manifest is not None or request.since_manifest is not None:
        since, until = _manifest_files(request)
    elif not _is_build(request.until):
        refs = RefList((request.until,))
    with work_dir_lock(config):
        workspace = open_workspace(config, [product.name], refs, log=log)
        clones = workspace.clones()
        if since is None or until is None:
            top = clones.get(product.name)
            until = _end(config, top, request.until)
            since = _end(config, top, request.since or _previous_final(config, top, until))
    changes, unchanged = package_changes(_versions(since.manifest), _versions(until.manifest))
    commits, problems = _logs(config, clones, changes)
    issues, blockers, release_issue = _jira(config, request, commits, project, log)
    facts = _facts(config, product, since, until, clones)
    notes = build_notes(
        facts, changes, commits, project=project, issues=issues,
        release_issue=release_issue, blockers=blockers, overrides=overrides,
        overrides_path=overrides_path, narrative=narrative,
        installation=installation_text(template, facts, where), unchanged=unchanged,
    )  # fmt: skip
    if problems:
        import dataclasses

        notes = dataclasses.replace(notes, problems=tuple(problems) + notes.problems)
    return notes


def _is_build(name: str) -> bool:
    return name.startswith(_BUILD) and name[1:].isdigit()


def _read_text(path: Path, what: str) -> str:
    try:
        return decode_text(path.read_bytes(), str(path))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def _manifest_files(request: NotesRequest) -> tuple[End, End]:
    if request.since_manifest is None or request.until_manifest is None:
        raise UsageError("--manifests takes two files: the older manifest, then the newer")
    ends = []
    for path in (request.since_manifest, request.until_manifest):
        manifest = parse_manifest(_read_text(path, "manifest"), str(path))
        ends.append(End(path.name, manifest, manifest.build_id or path.stem))
    return ends[0], ends[1]


def _tag_fields(top: Path | None, config: Config, name: str) -> dict[str, str]:
    """The ``key: value`` lines of release ``name``'s annotated tag in the product's
    repository (``name`` as given, or its ``v`` form)."""
    if top is None:
        raise UsageError(f"release {name}: the product's repository is not cloned")
    git = Git(top, timeout=config.git_timeout)
    for tag in dict.fromkeys((name, name.removeprefix("v"), f"v{name}")):
        ref = f"refs/tags/{tag}"
        if git.ok("rev-parse", "--verify", "--quiet", ref):
            kind = git.run("cat-file", "-t", ref).strip()
            if kind != "tag":
                raise UsageError(f"release {name}: {tag} is a lightweight tag, not a release's")
            fields = read_tag_message(git.run("for-each-ref", "--format=%(contents)", ref))
            fields["tag"] = tag
            return fields
    raise UsageError(f"release {name}: no such tag in {top.name}")


def _end(config: Config, top: Path | None, name: str) -> End:
    from dmrelease.adapters.versiondb import read_build

    if _is_build(name):
        return End(name, read_build(config.versiondb, name), name)
    fields = _tag_fields(top, config, name)
    build = fields.get("build", "-")
    if not _is_build(build):
        raise UsageError(f"release {name}: its tag records no build (build: {build})")
    checksum = fields.get("manifest")
    return End(
        name, read_build(config.versiondb, build), build, fields["tag"],
        fields.get("eups-tag"), None if checksum in (None, "-") else checksum,
    )  # fmt: skip


def _previous_final(config: Config, top: Path | None, until: End) -> str:
    """The highest final release of the product below ``until`` (by version), else the
    first build of versiondb."""
    from dmrelease.core.names import Candidate, Release, parse_tag

    current: Release | Candidate | None = None
    if until.git_tag is not None:
        parsed = parse_tag(until.git_tag)
        current = parsed if isinstance(parsed, Release | Candidate) else None
    finals: list[Release] = []
    if top is not None:
        for ref in Git(top, timeout=config.git_timeout).refs("refs/tags/"):
            name = ref.removeprefix("refs/tags/")
            try:
                parsed = parse_tag(name)
            except ParseError:
                continue
            if isinstance(parsed, Release) and (current is None or parsed < current):
                if isinstance(current, Candidate) and parsed == current.release:
                    continue
                finals.append(parsed)
    if finals:
        return str(max(finals))
    folder = config.versiondb / "manifests"
    numbers = sorted(int(f.stem[1:]) for f in folder.glob("b*.txt") if _is_build(f.stem))
    if not numbers:
        raise UsageError(f"{config.versiondb}: versiondb has no build yet")
    return f"b{numbers[0]}"


def _versions(manifest: Manifest) -> dict[str, tuple[str, str]]:
    return {e.name: (e.sha, e.version) for e in manifest.entries}


def _logs(
    config: Config, clones: Mapping[str, Path], changes: Sequence[PackageChange]
) -> tuple[dict[str, list[Commit]], list[Diagnostic]]:
    """Per changed package its commits ``old..new`` (newest first), one ``git log`` each,
    ``git.jobs`` at once; a package without a clone or without the SHAs is a problem."""
    wanted = [c for c in changes if c.change == "changed"]
    problems = []
    jobs: dict[str, Path] = {}
    for change in wanted:
        clone = clones.get(change.name)
        if clone is None:
            problems.append(Diagnostic(
                NOTES_WHERE, 1, "commits-unavailable",
                f"{change.name}: no clone of it (it is not in the product's graph now)",
            ))  # fmt: skip
        else:
            jobs[change.name] = clone

    def log_of(change: PackageChange) -> list[Commit] | str:
        git = Git(jobs[change.name], timeout=config.git_timeout)
        span = f"{change.old_sha}..{change.new_sha}"
        try:  # subjects are one line each; a body may hold anything but the separators
            out = git.run("log", f"--format=%H{_SEP}%P{_SEP}%s{_SEP}%b{_END}", span, "--")
        except GitError as exc:
            return exc.stderr.strip().splitlines()[0] if exc.stderr.strip() else str(exc)
        commits = []
        for record in out.split(_END):
            if not record.strip():
                continue
            sha, parents, subject, body = record.lstrip("\n").split(_SEP, 3)
            title = next((line.strip() for line in body.splitlines() if line.strip()), "")
            commits.append(Commit(sha, subject, len(parents.split()) > 1, title))
        return commits

    todo = [c for c in wanted if c.name in jobs]
    with ThreadPoolExecutor(max_workers=max(1, auto_git_jobs(config.git_jobs))) as pool:
        results = list(pool.map(log_of, todo))
    found: dict[str, list[Commit]] = {}
    for change, result in zip(todo, results, strict=True):
        if isinstance(result, str):
            problems.append(Diagnostic(
                NOTES_WHERE, 1, "commits-unavailable",
                f"{change.name}: git log {change.old_sha}..{change.new_sha}: {result}",
            ))  # fmt: skip
        else:
            found[change.name] = result
    return found, problems


def _jira(
    config: Config,
    request: NotesRequest,
    commits: Mapping[str, Sequence[Commit]],
    project: str,
    log: TextIO,
) -> tuple[dict[str, IssueFacts] | None, list[str], str | None]:
    """What Jira says of the commits' tickets, and the release issue's blockers (None,
    [] when jira.url is unset or ``request.jira`` is False)."""
    release_issue = request.release_issue
    if not request.jira or not config.jira_url:
        return None, [], release_issue
    from dmrelease.adapters.jira import JiraClient  # requests: only when Jira is asked
    from dmrelease.core.notes import ticket_pattern, tickets_of

    pattern = ticket_pattern(project)
    keys = sorted({k for cs in commits.values() for c in cs for k in tickets_of(c, pattern)})
    client = JiraClient.of(config, refresh=True, log=log)  # the state now, not a cached one
    issues = issue_facts(client.issues(keys).values())
    blockers = [i.key for i in client.blockers(release_issue)] if release_issue else []
    return issues, blockers, release_issue


def _overrides(
    config: Config, request: NotesRequest, project: str
) -> tuple[dict[str, Override], str]:
    path = request.overrides or config.notes_overrides
    if path is None:
        return {}, "<overrides>"
    path = Path(path)
    text = _read_text(path, "overrides")
    return parse_overrides(text, str(path), project=project, toml=path.suffix == ".toml"), str(path)


def _facts(
    config: Config, product: ProductConfig, since: End, until: End, clones: Mapping[str, Path]
) -> Facts:
    third_party, conda = _third_party(config, product, until, clones)
    return Facts(
        product=product.name,
        since=since.label,
        until=until.label,
        build_id=until.build_id,
        manifest_checksum=until.checksum or content_hash(until.manifest),
        since_build_id=since.build_id,
        git_tag=until.git_tag,
        eups_tag=until.eups_tag,
        third_party=third_party,
        conda=conda,
    )


def _third_party(
    config: Config, product: ProductConfig, until: End, clones: Mapping[str, Path]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """At the release's commit of the product's repository: the third-party EUPS products
    of its contents file (at their manifest versions) and the packages of its conda
    environment files (name, version as pinned; ``-`` when not pinned), each in name order."""
    top = clones.get(product.name)
    sha = {e.name: e.sha for e in until.manifest.entries}.get(product.name)
    if top is None or sha is None:
        return (), ()
    from dmrelease.core.contents import CONTENTS_PATH, parse_contents

    git = Git(top, timeout=config.git_timeout)
    path = CONTENTS_PATH.format(product=product.name)
    eups: list[tuple[str, str]] = []
    if git.ok("cat-file", "-e", f"{sha}:{path}"):
        contents = parse_contents(git.show_file(sha, path), f"{product.name}/{path}")
        versions = {e.name: e.version for e in until.manifest.entries}
        eups = [
            (item.name, versions.get(item.name, "not in the manifest"))
            for item in contents.third_party
            if item.delivery == "eups"
        ]
    return tuple(sorted(eups)), tuple(sorted(_conda_packages(git, sha).items()))


_CONDA_FILE = re.compile(r"(^|/)(environment|conda)[^/]*\.ya?ml$")


def _conda_packages(git: Git, sha: str) -> dict[str, str]:
    """Name → version of the dependencies of the conda environment files at ``sha`` (the
    files the check-conda-env hook checks; one it cannot read is that hook's to report)."""
    import yaml

    from dmrelease.core.conda_env import CondaSpec, parse_spec

    found: dict[str, str] = {}
    for path in git.lines("ls-tree", "-r", "--name-only", sha):
        if not _CONDA_FILE.search(path):
            continue
        try:
            data = yaml.safe_load(git.show_file(sha, path))
        except yaml.YAMLError:
            continue
        deps = data.get("dependencies") if isinstance(data, dict) else None
        for item in deps if isinstance(deps, list) else ():
            spec = parse_spec(item) if isinstance(item, str) else None
            if isinstance(spec, CondaSpec):
                found.setdefault(spec.name, (spec.version or "-").lstrip("="))
    return found
