"""Where a release stands (``dm-release status RELEASE``), as a pure model and its renderings.

The model joins what exists, and invents nothing: the release's tags on each package's remote
(at the planned SHA, elsewhere, or missing), the journal of the release's operation (each
package's step, the stages done: tagged, pushed, built, published, packed with the flavor of
each binary tree, and the image a ``dm-release docker`` run recorded for the release's EUPS
tag), the candidate validation's result, and the Jira state of the release issue. The stage
layer gathers those facts (git, files, Jira); this module only combines and renders them: a
terminal table, a self-contained HTML page (every text escaped, no external resource) with the
product's dependency graph drawn as inline SVG, or as a nested list when graphviz is missing,
and the ``--json`` document.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dmrelease.core.graph import DependencyGraph
from dmrelease.core.journal import Journal

__all__ = [
    "STATUS_FORMAT",
    "ImageState",
    "JiraBlocker",
    "JiraState",
    "PackageStatus",
    "ReleaseStatus",
    "StageState",
    "StatusRequest",
    "TagState",
    "ValidationState",
    "build_status",
    "graph_dot",
    "image_state",
    "render_html",
    "render_table",
    "status_to_dict",
    "validation_state",
]

STATUS_FORMAT = "dm-release-status/1"

AT_PLAN = "at plan"
ELSEWHERE = "elsewhere"
MISSING = "missing"
PRESENT = "present"  # a tag there while no plan says where it should be
UNREACHABLE = "unreachable"

_FLAVOR = re.compile(r" for (\S+) to ")
#: the node colours of the graph, by package step (the journal's, or none)
_COLOURS = {"pushed": "#c8e6c9", "tagged": "#fff3c4", "planned": "#e3e3e3", "failed": "#ffcdd2"}


@dataclass(frozen=True)
class StatusRequest:
    """``dm-release status``: the ``release`` (a git tag: ``29.1.0``, ``v29.1.0.rc1``,
    ``w.2025.24``) of ``product`` (None: the only configured one); ``release_issue`` the Jira
    issue of the release; ``refresh`` asks Jira again instead of its cache."""

    release: str
    product: str | None = None
    release_issue: str | None = None
    refresh: bool = False


@dataclass(frozen=True)
class TagState:
    """One tag of a package on its remote: ``sha`` the commit it names (None: missing),
    ``state`` at plan, elsewhere, missing, present (no plan to compare) or unreachable."""

    tag: str
    sha: str | None
    state: str

    def __str__(self) -> str:
        if self.state == ELSEWHERE and self.sha:
            return f"{self.tag} elsewhere ({self.sha[:10]})"
        return f"{self.tag} {self.state}"


@dataclass(frozen=True)
class PackageStatus:
    """One package: its planned SHA (None without a plan), its tags, the journal's step
    (None without a journal) and the error of its last attempt."""

    name: str
    planned_sha: str | None
    tags: tuple[TagState, ...]
    step: str | None
    error: str | None = None
    remote_error: str | None = None

    @property
    def shown_step(self) -> str:
        return "failed" if self.error else (self.step or "-")


@dataclass(frozen=True)
class StageState:
    """One stage of the operation: done or not, and what the journal said of it."""

    name: str
    done: bool
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.name}: {self.detail or ('done' if self.done else 'not done')}"


@dataclass(frozen=True)
class ImageState:
    """The distribution image a ``dm-release docker`` run recorded for the EUPS tag."""

    image: str
    outcome: str
    digest: str | None
    tags: tuple[str, ...]

    def __str__(self) -> str:
        digest = f" {self.digest}" if self.digest else ""
        return f"{self.outcome} {self.image}{digest}"


@dataclass(frozen=True)
class ValidationState:
    """The candidate validation's result: ok, failed or absent (or unreadable), where."""

    state: str
    path: str
    checks: int = 0
    failed: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.state == "absent":
            return f"absent (no {self.path})"
        if self.state == "unreadable":
            return f"unreadable ({self.path})"
        counted = f"{self.checks} checks" if self.checks != 1 else "1 check"
        failed = f", failed: {', '.join(self.failed)}" if self.failed else ""
        return f"{self.state} ({counted}{failed}; {self.path})"


@dataclass(frozen=True)
class JiraBlocker:
    key: str
    summary: str
    status: str
    done: bool


@dataclass(frozen=True)
class JiraState:
    """The release issue in Jira: ``note`` says why there is none (not configured, no
    release issue given, Jira does not know it)."""

    issue: str | None = None
    summary: str = ""
    status: str = ""
    done: bool = False
    blockers: tuple[JiraBlocker, ...] = ()
    note: str = "not configured"

    @property
    def open_blockers(self) -> tuple[str, ...]:
        return tuple(b.key for b in self.blockers if not b.done)

    def __str__(self) -> str:
        if self.issue is None:
            return self.note
        opened = self.open_blockers
        count = f"{len(self.blockers)} blocker{'s' if len(self.blockers) != 1 else ''}"
        state = (
            f", open: {', '.join(opened)}" if opened else (", all done" if self.blockers else "")
        )
        return f"{self.issue} {self.status}: {self.summary} ({count}{state})"


@dataclass(frozen=True)
class ReleaseStatus:
    """Where one release of one product stands; see the module docstring."""

    product: str
    release: str
    session: str | None
    eups_tag: str | None
    plan_checksum: str | None
    build_id: str | None
    packages: tuple[PackageStatus, ...]
    stages: tuple[StageState, ...]
    tarballs: tuple[str, ...]
    image: ImageState | None
    validation: ValidationState
    jira: JiraState
    graph: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    journal_found: bool = False

    @property
    def operation(self) -> str:
        return f"{self.session or 'release'} {self.product} {self.release}"

    def problems(self) -> list[str]:
        """What is wrong (not merely unfinished): a tag elsewhere than planned, a remote
        that cannot be listed, a package whose last attempt failed, a failed validation."""
        found = []
        for package in self.packages:
            found += [f"{package.name}: {t}" for t in package.tags if t.state == ELSEWHERE]
            if package.remote_error:
                found.append(f"{package.name}: remote not listed: {package.remote_error}")
            if package.error:
                found.append(f"{package.name}: failed: {package.error}")
        if self.validation.state in ("failed", "unreadable"):
            found.append(f"validation {self.validation}")
        return found

    def counts(self) -> dict[str, int]:
        """Packages per state: each tag state, and each journal step."""
        counts: dict[str, int] = {}
        for package in self.packages:
            for tag in package.tags:
                counts[f"tags {tag.state}"] = counts.get(f"tags {tag.state}", 0) + 1
            counts[package.shown_step] = counts.get(package.shown_step, 0) + 1
        return counts


def tag_state(planned: str | None, found: str | None) -> str:
    if found is None:
        return MISSING
    if planned is None:
        return PRESENT
    return AT_PLAN if found == planned else ELSEWHERE


def _flavors(journal: Journal) -> tuple[str, ...]:
    """The flavor of each binary tree the journal's ``packed`` stages wrote, in order."""
    flavors: list[str] = []
    for event in journal.events:
        if event.subject == journal.operation and event.step.startswith("packed"):
            found = _FLAVOR.search(event.detail)
            if found and found.group(1) not in flavors:
                flavors.append(found.group(1))
    return tuple(flavors)


def _stage_detail(journal: Journal, stage: str) -> str:
    for event in reversed(journal.events):
        if event.subject == journal.operation and event.step == stage:
            return event.detail
    return ""


def _stages(journal: Journal | None, tags: bool, expected: Sequence[str]) -> tuple[StageState, ...]:
    """The operation's stages: those the journal has done, in its order, then those a
    session of this kind still goes through (tagged and pushed for a tagging session, then
    ``expected``: the build and the configured publication stages), not done yet."""
    done = journal.stages if journal is not None else ()
    pending = [*(("tagged", "pushed") if tags else ("pushed",)), *expected]
    found = [StageState(name, True, _stage_detail(journal, name)) for name in done if journal]
    return (*found, *(StageState(name, False) for name in pending if name not in done))


def _check_name(row: Mapping[str, Any]) -> str:
    """A check row's name: the validation's own rows are ``{"install", "rule", ...}``
    (``binary pkginfo-sha1``); a row with a ``name`` or ``check`` is named by it."""
    rule, install = row.get("rule"), row.get("install")
    if not row.get("name") and not row.get("check") and isinstance(rule, str) and rule:
        return f"{install} {rule}" if isinstance(install, str) and install else rule
    return str(row.get("name") or row.get("check") or "?")


def validation_state(data: Any, path: str) -> ValidationState:
    """The validation result file's state (``None``: there is none)."""
    if data is None:
        return ValidationState("absent", path)
    if not isinstance(data, Mapping) or not isinstance(data.get("ok"), bool):
        return ValidationState("unreadable", path)
    checks = data.get("checks")
    rows = checks if isinstance(checks, list) else []
    failed = tuple(
        _check_name(row) for row in rows if isinstance(row, Mapping) and row.get("ok") is False
    )
    return ValidationState("ok" if data["ok"] else "failed", path, len(rows), failed)


def image_state(data: Mapping[str, Any] | None, eups_tag: str | None) -> ImageState | None:
    """The image of a docker results.json when it is of ``eups_tag``, else None."""
    if not data or eups_tag is None or data.get("eups_tag") != eups_tag:
        return None
    digest = data.get("list_digest") or data.get("digest")
    return ImageState(str(data.get("image", "")), str(data.get("outcome", "")),
                      str(digest) if digest else None,
                      tuple(str(t) for t in data.get("tags") or ()))  # fmt: skip


def build_status(
    product: str,
    release: str,
    *,
    session: str | None,
    eups_tag: str | None,
    packages: Sequence[tuple[str, str | None, Sequence[str]]],
    remote: Mapping[str, Mapping[str, str | None] | str],
    journal: Journal | None,
    plan_checksum: str | None,
    build_id: str | None,
    tags: bool,
    expected: Sequence[str],
    validation: ValidationState,
    jira: JiraState,
    image: ImageState | None = None,
    graph: Mapping[str, Sequence[str]] | None = None,
) -> ReleaseStatus:
    """The status of a release from its facts: ``packages`` (name, planned SHA, the tags
    it gets) in plan order; ``remote`` each package's tag → commit on its remote (None:
    missing), or the reason it could not be listed; ``journal`` the operation's;
    ``expected`` the stages after the pushes (the build, the publication) the session has."""
    rows = []
    for name, planned, wanted in packages:
        found = remote.get(name, {})
        remote_error = found if isinstance(found, str) else None
        if isinstance(found, str):
            states = tuple(TagState(t, None, UNREACHABLE) for t in wanted)
        else:
            states = tuple(
                TagState(t, found.get(t), tag_state(planned, found.get(t))) for t in wanted
            )
        step = str(journal.packages[name]) if journal and name in journal.packages else None
        error = journal.errors.get(name) if journal else None
        rows.append(PackageStatus(name, planned, states, step, error, remote_error))
    built = None
    if journal is not None:
        built = next((v for k, v in journal.builds.items() if k.startswith("built")), None)
    return ReleaseStatus(
        product=product,
        release=release,
        session=session,
        eups_tag=eups_tag,
        plan_checksum=plan_checksum,
        build_id=build_id or built,
        packages=tuple(rows),
        stages=_stages(journal, tags, expected),
        tarballs=_flavors(journal) if journal is not None else (),
        image=image,
        validation=validation,
        jira=jira,
        graph={name: tuple(deps) for name, deps in (graph or {}).items()},
        journal_found=journal is not None,
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _package_cells(package: PackageStatus) -> list[str]:
    return [
        package.name,
        package.planned_sha[:10] if package.planned_sha else "-",
        "; ".join(str(t) for t in package.tags) or "-",
        package.shown_step,
    ]


def _facts(status: ReleaseStatus) -> list[tuple[str, str]]:
    """The lines below the package table, for the terminal and the page alike."""
    done = [s for s in status.stages if s.done]
    journal = (
        "none" if not status.journal_found else f"{len(done)} of {len(status.stages)} stages done"
    )
    facts = [("journal", journal)]
    facts += [(stage.name, stage.detail or ("done" if stage.done else "not done"))
              for stage in status.stages]  # fmt: skip
    facts.append(("tarballs", ", ".join(status.tarballs) or "none"))
    facts.append(("image", str(status.image) if status.image else "none recorded"))
    facts.append(("validation", str(status.validation)))
    facts.append(("release issue", str(status.jira)))
    return facts


def _head(status: ReleaseStatus) -> str:
    plan = status.plan_checksum[:19] if status.plan_checksum else "none"
    eups = status.eups_tag or "-"
    build = status.build_id or "-"
    return f"status of {status.operation}: plan {plan}, build {build}, EUPS tag {eups}"


def render_table(status: ReleaseStatus) -> str:
    """The terminal report: a head line, one row per package, the stages and facts, the
    problems."""
    lines = [_head(status)]
    rows = [_package_cells(p) for p in status.packages]
    lines += ["  " + line for line in _table(("package", "planned", "tags", "step"), rows)]
    width = max(len(name) for name, _ in _facts(status))
    lines += [f"{name.ljust(width)}  {value}" for name, value in _facts(status)]
    if status.jira.blockers:
        lines += [f"  {b.key:<12} {'done' if b.done else 'open':<4}  {b.status}: {b.summary}"
                  for b in status.jira.blockers]  # fmt: skip
    problems = status.problems()
    lines.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    lines += [f"  {p}" for p in problems]
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_dot(status: ReleaseStatus) -> str:
    """The dependency graph in graphviz's DOT, each node coloured by its package's step
    (an edge from a package to each of its dependencies), deterministic."""
    steps = {p.name: p.shown_step for p in status.packages}
    node = 'shape=box, style="rounded,filled", fontname="sans-serif", fillcolor="#ffffff"'
    lines = [f"digraph {_dot_id(status.product)} {{", "  rankdir=BT;", f"  node [{node}];"]
    for name in status.graph:
        colour = _COLOURS.get(steps.get(name, ""), "#ffffff")
        lines.append(f'  {_dot_id(name)} [fillcolor="{colour}"];')
    for name, deps in status.graph.items():
        for dep in dict.fromkeys(deps):
            if dep in status.graph:
                lines.append(f"  {_dot_id(name)} -> {_dot_id(dep)};")
    return "\n".join(lines) + "\n}\n"


def _nested_list(graph: Mapping[str, tuple[str, ...]]) -> str:
    """The graph without graphviz: each package (in build order when there is one) with
    the list of its direct dependencies."""
    try:
        order = DependencyGraph(graph).build_order()
    except Exception:  # a cycle: the manifest's order
        order = list(graph)
    items = []
    for name in order:
        deps = [d for d in dict.fromkeys(graph[name])]
        inner = "".join(f"<li>{html.escape(d)}</li>" for d in deps)
        sub = f"<ul>{inner}</ul>" if inner else ""
        items.append(f'<li class="node">{html.escape(name)}{sub}</li>')
    return '<ul class="graph">' + "".join(items) + "</ul>"


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: left; }
th { background: #eee; }
td.pushed { background: #c8e6c9; } td.tagged { background: #fff3c4; }
td.failed, li.problem { background: #ffcdd2; }
code { font-family: monospace; }
.graph svg { max-width: 100%; height: auto; }
"""


def render_html(status: ReleaseStatus, svg: str | None, *, graph_note: str = "") -> str:
    """The page: the head, the package table, the facts, the problems, the graph (``svg``
    inline, else ``graph_note`` and the nested list). Every text is escaped; the page loads
    nothing from elsewhere."""
    e = html.escape
    title = f"{status.product} {status.release}"
    rows = []
    for package in status.packages:
        cells = _package_cells(package)
        step_class = f' class="{e(package.shown_step)}"' if package.shown_step != "-" else ""
        rows.append(
            f"<tr><td>{e(cells[0])}</td><td><code>{e(cells[1])}</code></td>"
            f"<td>{e(cells[2])}</td><td{step_class}>{e(cells[3])}</td></tr>"
        )
    facts = "".join(
        f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>" for name, value in _facts(status)
    )
    blockers = "".join(
        f"<tr><td>{e(b.key)}</td><td>{'done' if b.done else 'open'}</td><td>{e(b.status)}</td>"
        f"<td>{e(b.summary)}</td></tr>"
        for b in status.jira.blockers
    )
    problems = status.problems()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(_head(status))}</p>",
        '<h2>Packages</h2><table id="packages"><thead><tr><th>package</th><th>planned</th>'
        "<th>tags</th><th>step</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
        f'<h2>Stages</h2><table id="facts">{facts}</table>',
    ]
    if blockers:
        parts.append('<h2>Blockers of the release issue</h2><table id="blockers"><thead><tr>'
                     "<th>issue</th><th>state</th><th>status</th><th>summary</th></tr></thead>"
                     f"<tbody>{blockers}</tbody></table>")  # fmt: skip
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    items = "".join(f'<li class="problem">{e(p)}</li>' for p in problems)
    parts.append(
        f'<h2>Problems</h2><p id="problems">{count}</p>' + (f"<ul>{items}</ul>" if items else "")
    )
    parts.append("<h2>Dependency graph</h2>")
    if not status.graph:
        parts.append("<p>no manifest recorded for this release: no graph</p>")
    elif svg is not None:
        parts.append(f'<div class="graph" id="graph">{svg}</div>')
    else:
        parts.append(f"<p>{e(graph_note)}</p>" if graph_note else "")
        parts.append(f'<div id="graph">{_nested_list(status.graph)}</div>')
    parts.append("</body></html>")
    return "\n".join(part for part in parts if part) + "\n"


def _image_dict(image: ImageState | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {"image": image.image, "outcome": image.outcome, "digest": image.digest,
            "tags": list(image.tags)}  # fmt: skip


def status_to_dict(status: ReleaseStatus) -> dict[str, Any]:
    """The ``--json`` data of the report."""
    validation = status.validation
    return {
        "format": STATUS_FORMAT,
        "product": status.product,
        "release": status.release,
        "session": status.session,
        "eups_tag": status.eups_tag,
        "plan_checksum": status.plan_checksum,
        "build_id": status.build_id,
        "journal": status.journal_found,
        "packages": [
            {
                "name": p.name,
                "planned_sha": p.planned_sha,
                "step": p.step,
                "error": p.error,
                "remote_error": p.remote_error,
                "tags": [{"tag": t.tag, "sha": t.sha, "state": t.state} for t in p.tags],
            }
            for p in status.packages
        ],
        "stages": [{"name": s.name, "done": s.done, "detail": s.detail} for s in status.stages],
        "tarballs": list(status.tarballs),
        "image": _image_dict(status.image),
        "validation": {
            "state": validation.state,
            "path": validation.path,
            "checks": validation.checks,
            "failed": list(validation.failed),
        },
        "jira": {
            "issue": status.jira.issue,
            "summary": status.jira.summary,
            "status": status.jira.status,
            "done": status.jira.done,
            "note": status.jira.note,
            "blockers": [
                {"key": b.key, "summary": b.summary, "status": b.status, "done": b.done}
                for b in status.jira.blockers
            ],
        },
        "graph": {name: list(deps) for name, deps in status.graph.items()},
        "problems": status.problems(),
    }
