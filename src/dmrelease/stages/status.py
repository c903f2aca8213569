"""The release report (``dm-release status RELEASE``): gathers where a release stands, read-only.

What it reads, and nothing else: the release's saved plan and journal in the state dir
(``journal/<product>/<session>-<release>.json`` and its ``.plan.json``, the files the release
sessions write), the release's tags on each package's remote (one ``git ls-remote`` per
package, in parallel, bounded by ``git.jobs``), the manifest of the release's build (the
plan's, else versiondb's) for the dependency graph, the candidate validation's result
(``<state>/validation/<product>/<release>.json``), the ``results.json`` a ``dm-release
docker`` run left in the output dir, and, when ``jira.url`` is set, the release issue and its
blockers (through the Jira client and its cache). It writes nothing but the HTML page asked
for. :mod:`dmrelease.core.status` combines and renders the facts.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from dmrelease.adapters.git import Git, GitError, GitMissing
from dmrelease.adapters.journal import journal_path
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import UsageError
from dmrelease.core.journal import Journal, parse_journal
from dmrelease.core.limits import decode_text
from dmrelease.core.names import InvalidName, parse_tag, read_tag
from dmrelease.core.plan import ReleasePlan, Session, parse_plan, session_making, tags_for
from dmrelease.core.status import (
    ImageState,
    JiraBlocker,
    JiraState,
    ReleaseStatus,
    StatusRequest,
    ValidationState,
    build_status,
    image_state,
    validation_state,
)

__all__ = ["release_status", "status_page", "validation_path"]


def validation_path(config: Config, product: str, release: str) -> Path:
    """Where the candidate validation writes its result for ``release``."""
    return config.state_dir / "validation" / product / f"{release}.json"


def _session(release: str) -> Session | None:
    try:
        return session_making(parse_tag(release))
    except InvalidName:
        return None


def _read(path: Path) -> str | None:
    try:
        return decode_text(path.read_bytes(), str(path))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None


def _json(path: Path) -> Any:
    text = _read(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"unreadable": True}


def _remote_tags(config: Config, url: str, tags: tuple[str, ...]) -> dict[str, str | None] | str:
    """Each of ``tags`` on the remote ``url`` → the commit it names (peeled), None when
    missing; the reason when the remote cannot be listed."""
    if not tags:
        return {}
    patterns = [p for t in tags for p in (f"refs/tags/{t}", f"refs/tags/{t}^{{}}")]
    try:
        lines = Git(Path.cwd(), timeout=config.git_timeout).lines("ls-remote", "--", url, *patterns)
    except GitMissing:
        raise
    except GitError as error:  # git's first line says why (redacted by GitError)
        return (error.stderr.splitlines() or ["git ls-remote failed"])[0]
    direct: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in lines:
        sha, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            peeled[name[:-3]] = sha
        else:
            direct[name] = sha
    return {t: peeled.get(t, direct.get(t)) for t in tags}


def _manifest_graph(
    config: Config, plan: ReleasePlan | None, build_id: str | None
) -> dict[str, tuple[str, ...]]:
    """The dependency graph of the release's manifest: the plan's, else the build's in
    versiondb; empty when neither is recorded."""
    from dmrelease.core.manifest import parse_manifest

    text = plan.manifest if plan is not None and plan.manifest else None
    where = "the plan's manifest"
    if text is None and build_id:
        text = _read(config.versiondb / "manifests" / f"{build_id}.txt")
        where = f"versiondb manifest {build_id}"
    if not text:
        return {}
    manifest = parse_manifest(text, where)
    return {name: tuple(entry.deps) for name, entry in manifest.packages.items()}


def _jira(config: Config, issue: str | None, *, refresh: bool, log: TextIO | None) -> JiraState:
    """The release issue and its blockers, when Jira is configured."""
    if not config.jira_url:
        return JiraState(note="not configured (jira.url)")
    if issue is None:
        return JiraState(note="no release issue given (--release-issue, jira.release_issue)")
    from dmrelease.adapters.jira import JiraClient

    client = JiraClient.of(config, refresh=refresh, log=log)
    found = client.issue(issue)
    if found is None:
        return JiraState(note=f"{issue}: Jira does not know it")
    blockers = tuple(
        JiraBlocker(b.key, b.summary, b.status, b.done) for b in client.blockers(issue)
    )
    return JiraState(issue, found.summary, found.status, found.done, blockers, note="")


def _packages(
    config: Config, product: ProductConfig, session: Session | None, release: str,
    plan: ReleasePlan | None, graph: dict[str, tuple[str, ...]],
) -> list[tuple[str, str | None, tuple[str, ...]]]:  # fmt: skip
    """(name, planned SHA, tags) of each package: the plan's, else the manifest's or
    repos.yaml's packages with the tags a session of this release gives them."""
    if plan is not None:
        return [(p.name, p.sha, p.tags) for p in plan.packages]
    from dmrelease.stages.workspace import load_repos

    names = list(graph) or sorted(load_repos((product,))[0])
    if session is None or not session.tags:
        return [(name, None, ()) for name in names]
    return [
        (name, None, tags_for(session, release, external=name in product.external_repos))
        for name in names
    ]


def release_status(
    config: Config, request: StatusRequest, log: TextIO | None = None
) -> ReleaseStatus:
    """Where ``request.release`` of its product stands (see the module docstring)."""
    from dmrelease.stages.release import product_of
    from dmrelease.stages.workspace import load_repos

    release = request.release
    try:  # the name reaches paths (journal, validation) and git: a tag's name, nothing else
        read_tag(release)
    except InvalidName:
        raise UsageError(f"{release!r} is not a release tag (as 29.1.0, v29.1.0.rc1, "
                         "w.2025.24)") from None  # fmt: skip
    product = product_of(config, request.product)
    session = _session(release)
    journal: Journal | None = None
    plan: ReleasePlan | None = None
    if session is not None:
        path = journal_path(config.state_dir, product.name, str(session), release)
        text = _read(path)
        journal = parse_journal(text, str(path)) if text is not None else None
        saved = path.with_name(path.stem + ".plan.json")
        plan_text = _read(saved)
        plan = parse_plan(plan_text, str(saved)) if plan_text is not None else None
    built = next(
        (v for k, v in (journal.builds if journal else {}).items() if k.startswith("built")), None
    )
    build_id = (plan.build_id if plan is not None and plan.build_id else None) or built
    graph = _manifest_graph(config, plan, build_id)
    packages = _packages(config, product, session, release, plan, graph)
    entries = load_repos((product,))[0]
    wanted = [(name, tags) for name, _sha, tags in packages if tags and name in entries]
    with ThreadPoolExecutor(max(1, min(config.git_jobs, len(wanted) or 1))) as pool:
        found = dict(zip([n for n, _ in wanted],
                         pool.map(lambda w: _remote_tags(config, entries[w[0]].url, w[1]), wanted),
                         strict=True))  # fmt: skip
    for name, _sha, tags in packages:
        if tags and name not in entries:
            found[name] = "not in repos.yaml"
    try:
        eups = parse_tag(release).eups_tag
    except InvalidName:
        eups = None
    servers = (("published", config.source_server_dir), ("packed", config.binary_server_dir))
    env = f"[{config.env_name}]" if config.env_name else ""  # the environment's stages
    expected = [f"built{env}", *(f"{stage}{env}" for stage, there in servers if there)]
    checked = validation_path(config, product.name, release)
    validation: ValidationState = validation_state(_json(checked), str(checked))
    results = _json(config.outputs / "results.json")
    image: ImageState | None = image_state(results if isinstance(results, dict) else None, eups)
    checksum = journal.plan_checksum if journal is not None else None
    jira = _jira(config, request.release_issue, refresh=request.refresh, log=log)
    return build_status(
        product.name, release, session=str(session) if session else None, eups_tag=eups,
        packages=packages, remote=found, journal=journal,
        plan_checksum=plan.checksum if plan is not None else checksum,
        build_id=build_id, tags=session is not None and session.tags, expected=expected,
        validation=validation, jira=jira, image=image, graph=graph,
    )  # fmt: skip


def status_page(status: ReleaseStatus, *, timeout: float = 60) -> str:
    """The HTML page of ``status``, its graph drawn by graphviz when ``dot`` is installed."""
    from dmrelease.adapters.graphviz import DOT_MISSING, render_svg
    from dmrelease.core.status import graph_dot, render_html

    svg = render_svg(graph_dot(status), timeout=timeout) if status.graph else None
    return render_html(status, svg, graph_note=DOT_MISSING if svg is None else "")
