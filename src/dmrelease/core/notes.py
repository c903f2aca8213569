"""Release notes (pure): what a release contains, from the data, never from memory.

:func:`build_notes` joins the two manifests of a release (or of two builds), the commits of
each changed package between its two SHAs, what Jira says of the tickets those commits
carry (optional), the override map and the human-written narrative into one
:class:`ReleaseNotes`. :func:`render_markdown` and :func:`render_rst` write it for people
(the same notes give the same bytes), :func:`notes_to_json` for programs.

Tickets: a commit carries every ``<project>-N`` key in its subject, so both the merges of
``tickets/DM-N`` branches (``Merge branch 'tickets/DM-12'``, ``Merge pull request #3 from
org/tickets/DM-12``) and ``DM-12: fix ...`` subjects count. Sections: the completed epics
first (Jira type Epic, status category done), then the other issues, then the sections the
overrides name, in name order. Problems (data, not errors): an issue blocking the release
issue that no commit carries (``blocker-not-in-commits``), a ticket Jira does not know
(``ticket-unknown``), an override naming a ticket the notes do not have
(``override-unused``).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import split_lines

__all__ = [
    "DEFAULT_TEMPLATES",
    "EPICS",
    "ISSUES",
    "NOTES_FORMAT",
    "NOTES_WHERE",
    "PLACEHOLDERS",
    "Commit",
    "Facts",
    "IssueFacts",
    "NoteTicket",
    "Override",
    "PackageChange",
    "ReleaseNotes",
    "build_notes",
    "installation_text",
    "issue_facts",
    "key_order",
    "notes_to_json",
    "package_changes",
    "parse_overrides",
    "render",
    "render_markdown",
    "render_rst",
    "ticket_pattern",
    "tickets_of",
]

NOTES_FORMAT = "dm-release-notes/1"
#: the section keys of the two built-in sections
EPICS = "epics"
ISSUES = "issues"
_TITLES = {EPICS: "Completed epics", ISSUES: "Other issues"}
#: the path every problem of the notes is reported at
NOTES_WHERE = "<notes>"


@dataclass(frozen=True)
class Commit:
    """One commit of a package between the two releases (``git log`` order: newest first);
    ``title``: the first line of its body (a GitHub merge's pull request title)."""

    sha: str
    subject: str
    merge: bool = False
    title: str = ""


@dataclass(frozen=True)
class PackageChange:
    """A package new, removed, changed (another commit) or rebuilt (the same commit, other
    dependencies: its EUPS version changed) between the two manifests: old → new EUPS
    version (None on the side it is absent from); ``commits``: how many were logged."""

    name: str
    change: str  # "new" | "removed" | "changed" | "rebuilt"
    old_version: str | None
    new_version: str | None
    old_sha: str | None = None
    new_sha: str | None = None
    commits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "change": self.change, "old_version": self.old_version,
            "new_version": self.new_version, "old_sha": self.old_sha,
            "new_sha": self.new_sha, "commits": self.commits,
        }  # fmt: skip


@dataclass(frozen=True)
class IssueFacts:
    """What the notes need of one Jira issue (H1's ``JiraIssue`` has these attributes)."""

    key: str
    summary: str
    issue_type: str
    status: str
    done: bool


@dataclass(frozen=True)
class NoteTicket:
    """One ticket of the notes: ``section`` is :data:`EPICS`, :data:`ISSUES` or the title an
    override gave; ``packages`` carry it; ``known``: None when Jira was not asked, False
    when it does not know the key; ``hidden`` by an override (kept: it is in the release)."""

    key: str
    summary: str
    section: str = ISSUES
    packages: tuple[str, ...] = ()
    issue_type: str | None = None
    status: str | None = None
    known: bool | None = None
    hidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "summary": self.summary, "section": self.section,
            "packages": list(self.packages), "issue_type": self.issue_type,
            "status": self.status, "known": self.known, "hidden": self.hidden,
        }  # fmt: skip


@dataclass(frozen=True)
class Facts:
    """The technical facts: ``since``/``until`` as asked (a release, a build id or a
    manifest file's name), the git and EUPS tags of ``until`` when it is a release, its
    build id and manifest checksum, the third-party EUPS products and conda packages with
    their versions (name order)."""

    product: str
    since: str
    until: str
    build_id: str
    manifest_checksum: str
    since_build_id: str | None = None
    git_tag: str | None = None
    eups_tag: str | None = None
    third_party: tuple[tuple[str, str], ...] = ()
    conda: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product, "since": self.since, "until": self.until,
            "build_id": self.build_id, "since_build_id": self.since_build_id,
            "manifest_checksum": self.manifest_checksum, "git_tag": self.git_tag,
            "eups_tag": self.eups_tag,
            "third_party": [{"name": n, "version": v} for n, v in self.third_party],
            "conda": [{"name": n, "version": v} for n, v in self.conda],
        }  # fmt: skip


@dataclass(frozen=True)
class Override:
    """One ticket's override: ``hide`` it, give it another ``summary``, ``move`` it to the
    section ``section`` (``epics``, ``issues`` or a title of its own)."""

    key: str
    hide: bool = False
    summary: str | None = None
    section: str | None = None
    line: int = 1


@dataclass(frozen=True)
class ReleaseNotes:
    """The notes of one release. ``tickets`` in section then key order; ``problems`` as
    diagnostics at :data:`NOTES_WHERE`; ``narrative`` None: none was given (the notes say
    where it goes); ``jira``: Jira was asked."""

    facts: Facts
    packages: tuple[PackageChange, ...] = ()
    tickets: tuple[NoteTicket, ...] = ()
    installation: str = ""
    narrative: str | None = None
    problems: tuple[Diagnostic, ...] = ()
    release_issue: str | None = None
    blockers: tuple[str, ...] = ()
    jira: bool = False
    unchanged: int = 0
    commits: int = field(default=0)

    def ticket_keys(self) -> tuple[str, ...]:
        """Every ticket the commits carry (hidden ones too: they are in the release), plus
        the release issue's blockers, in key order: the issues of the release."""
        return tuple(sorted({t.key for t in self.tickets} | set(self.blockers), key=key_order))

    def unknown_keys(self) -> tuple[str, ...]:
        """The tickets Jira said it does not know (empty when Jira was not asked)."""
        return tuple(t.key for t in self.tickets if t.known is False)

    def sections(self) -> list[tuple[str, tuple[NoteTicket, ...]]]:
        """(title, visible tickets) of each section that has one, epics first."""
        shown = [t for t in self.tickets if not t.hidden]
        keys = sorted({t.section for t in shown}, key=_section_order)
        return [(_TITLES.get(k, k), tuple(t for t in shown if t.section == k)) for k in keys]

    def to_dict(self) -> dict[str, Any]:
        return {
            "facts": self.facts.to_dict(),
            "narrative": self.narrative,
            "release_issue": self.release_issue,
            "blockers": list(self.blockers),
            "jira": self.jira,
            "tickets": [t.to_dict() for t in self.tickets],
            "ticket_keys": list(self.ticket_keys()),
            "packages": [p.to_dict() for p in self.packages],
            "unchanged": self.unchanged,
            "commits": self.commits,
            "installation": self.installation,
        }


def key_order(key: str) -> tuple[str, int]:
    """``DM-9`` before ``DM-10``: project, then number."""
    project, _, number = key.rpartition("-")
    return (project, int(number) if number.isdigit() else 0)


def _section_order(section: str) -> tuple[int, str]:
    return ({EPICS: 0, ISSUES: 1}.get(section, 2), section)


def ticket_pattern(project: str) -> re.Pattern[str]:
    """The keys of ``project`` as words: ``DM-12`` in ``tickets/DM-12`` and ``DM-12:``,
    not in ``XDM-12`` or ``DM-123`` when looking for ``DM-12``."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(project)}-[1-9][0-9]*(?![0-9])")


def tickets_of(commit: Commit, pattern: re.Pattern[str]) -> tuple[str, ...]:
    """The keys ``commit``'s subject carries, each once, in order of appearance."""
    return tuple(dict.fromkeys(pattern.findall(commit.subject)))


def package_changes(
    old: Mapping[str, tuple[str, str]], new: Mapping[str, tuple[str, str]]
) -> tuple[list[PackageChange], int]:
    """The new, removed, changed and rebuilt packages between two manifests, each given as
    ``{name: (sha, version)}``, in name order; and how many are unchanged."""
    changes = []
    unchanged = 0
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None and after is not None:
            changes.append(PackageChange(name, "new", None, after[1], None, after[0]))
        elif after is None and before is not None:
            changes.append(PackageChange(name, "removed", before[1], None, before[0], None))
        elif before is not None and after is not None:
            if before == after:
                unchanged += 1
            else:
                kind = "rebuilt" if before[0] == after[0] else "changed"
                changes.append(PackageChange(name, kind, before[1], after[1], before[0], after[0]))
    return changes, unchanged


def _subject_summary(subject: str, key: str) -> str | None:
    """A subject that starts with ``key`` (``DM-12: Fix``, ``[DM-12] Fix``) as the ticket's
    summary, without the key; None for a subject that names it elsewhere."""
    match = re.match(
        rf"\s*(?:\[{re.escape(key)}\]|\({re.escape(key)}\)|{re.escape(key)}\s*:"
        rf"|{re.escape(key)}\s+-)\s*(.+)",
        subject,
    )
    return match[1].strip() if match else None


def build_notes(
    facts: Facts,
    packages: Sequence[PackageChange],
    commits: Mapping[str, Sequence[Commit]],
    *,
    project: str = "DM",
    issues: Mapping[str, IssueFacts] | None = None,
    release_issue: str | None = None,
    blockers: Sequence[str] = (),
    overrides: Mapping[str, Override] | None = None,
    overrides_path: str = "<overrides>",
    narrative: str | None = None,
    installation: str = "",
    unchanged: int = 0,
) -> ReleaseNotes:
    """The notes: ``commits`` per package (newest first), ``issues`` what Jira said of the
    tickets (None: Jira was not asked; a key absent: Jira does not know it), ``blockers``
    the keys blocking ``release_issue``."""
    pattern = ticket_pattern(project)
    carriers: dict[str, set[str]] = {}
    subjects: dict[str, str] = {}  # a subject starting with the key: the best summary
    merges: dict[str, str] = {}  # a merge's subject (Merge branch 'tickets/DM-N')
    others: dict[str, str] = {}  # a subject naming the key elsewhere
    titles: dict[str, str] = {}  # a pull request's title (a merge's body)
    for package in sorted(commits):
        for commit in reversed(commits[package]):  # oldest first: the first subject wins
            for key in tickets_of(commit, pattern):
                carriers.setdefault(key, set()).add(package)
                if commit.merge and commit.title:  # a pull request's title: the whole work
                    titles.setdefault(key, _subject_summary(commit.title, key) or commit.title)
                    continue
                if commit.merge:
                    merges.setdefault(key, commit.subject)
                    continue
                summary = _subject_summary(commit.subject, key)
                if summary:
                    subjects.setdefault(key, summary)
                else:
                    others.setdefault(key, commit.subject)
    overrides = overrides or {}
    tickets = []
    problems = []
    for key in sorted(carriers, key=key_order):
        summary = titles.get(key) or subjects.get(key) or others.get(key) or merges[key]
        issue_type = status = None
        known: bool | None = None
        section = ISSUES
        if issues is not None:
            issue = issues.get(key)
            known = issue is not None
            if issue is None and not (key in overrides and overrides[key].hide):
                problems.append(Diagnostic(
                    NOTES_WHERE, 1, "ticket-unknown",
                    f"{key} (in {', '.join(sorted(carriers[key]))}) is not known to Jira",
                    hint="fix the commit's ticket or hide it with an override",
                ))  # fmt: skip
            elif issue is not None:
                summary, issue_type, status = issue.summary, issue.issue_type, issue.status
                if issue.issue_type == "Epic" and issue.done:
                    section = EPICS
        override = overrides.get(key)
        hidden = False
        if override is not None:
            summary = override.summary or summary
            section = override.section or section
            hidden = override.hide
        tickets.append(NoteTicket(
            key, summary, section, tuple(sorted(carriers[key])), issue_type, status, known,
            hidden,
        ))  # fmt: skip
    for key in sorted(set(blockers) - set(carriers), key=key_order):
        problems.append(Diagnostic(
            NOTES_WHERE, 1, "blocker-not-in-commits",
            f"{key} blocks {release_issue} but no commit of the release carries it",
            hint="merge its work, or unlink it from the release issue",
        ))  # fmt: skip
    for key in sorted(set(overrides) - set(carriers), key=key_order):
        problems.append(Diagnostic(
            overrides_path, overrides[key].line, "override-unused",
            f"{key} is overridden but no commit of the release carries it",
        ))  # fmt: skip
    tickets.sort(key=lambda t: (_section_order(t.section), key_order(t.key)))
    logged = {p.name: len(commits.get(p.name, ())) for p in packages}
    changes = tuple(
        PackageChange(p.name, p.change, p.old_version, p.new_version, p.old_sha, p.new_sha,
                      logged[p.name])
        for p in packages
    )  # fmt: skip
    return ReleaseNotes(
        facts=facts,
        packages=changes,
        tickets=tuple(tickets),
        installation=installation,
        narrative=narrative,
        problems=tuple(problems),
        release_issue=release_issue,
        blockers=tuple(sorted(set(blockers), key=key_order)),
        jira=issues is not None,
        unchanged=unchanged,
        commits=sum(logged.values()),
    )


# --- overrides ----------------------------------------------------------------------------

_OVERRIDE_KEYS: dict[str, type] = {"hide": bool, "summary": str, "section": str}
_OVERRIDE_HINT = "each ticket maps to hide: true, summary: TEXT and/or section: TITLE"


def parse_overrides(
    text: str, path: str, *, project: str = "DM", toml: bool = False
) -> dict[str, Override]:
    """The override map of ``text`` (YAML, or TOML when ``toml``): per ticket key a mapping
    with ``hide`` (bool), ``summary`` and ``section`` (text); ``epics`` and ``issues`` name
    the two built-in sections. ParseError(``notes-overrides``) at the bad line."""
    pattern = re.compile(rf"{re.escape(project)}-[1-9][0-9]*")
    entries = _toml_entries(text, path) if toml else _yaml_entries(text, path)
    found: dict[str, Override] = {}
    for key, line, values in entries:
        if not isinstance(key, str) or not pattern.fullmatch(key):
            _override_error(path, line, f"{key!r} is not a {project} ticket key")
        if not isinstance(values, Mapping):
            _override_error(path, line, f"{key}: expected a mapping")
        fields: dict[str, Any] = {}
        for name, value in values.items():
            kind = _OVERRIDE_KEYS.get(name)
            if kind is None:
                _override_error(path, line, f"{key}: unknown field {name!r}")
                continue
            if isinstance(value, str) and kind is str and value.strip():
                fields[name] = value.strip()
            elif isinstance(value, bool) and kind is bool:
                fields[name] = value
            else:
                want = "true or false" if kind is bool else "a non-empty text"
                _override_error(path, line, f"{key}.{name}: expected {want}")
        found[key] = Override(key, line=line, **fields)
    return found


def _override_error(path: str, line: int, message: str) -> NoReturn:
    raise ParseError(Diagnostic(path, line, "notes-overrides", message, hint=_OVERRIDE_HINT))


def _toml_entries(text: str, path: str) -> list[tuple[str, int, Any]]:
    from dmrelease.core.limits import load_toml

    data = load_toml(text, path, "notes-overrides")
    lines = split_lines(text)

    def line_of(key: str) -> int:
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            if stripped.startswith(("[", key, f'"{key}"')) and key in stripped:
                return number
        return 1

    return [(key, line_of(key), value) for key, value in data.items()]


def _yaml_entries(text: str, path: str) -> list[tuple[str, int, Any]]:
    import yaml

    from dmrelease.core.yaml_nodes import compose

    root = compose(text, path, "notes-overrides")
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        _override_error(path, root.start_mark.line + 1, "expected a mapping of ticket keys")
    entries = []
    seen: dict[str, int] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
        if key in seen:
            _override_error(path, line, f"{key} given twice (first at line {seen[key]})")
        seen[key] = line
        entries.append((key, line, _yaml_value(value_node, path)))
    return entries


def _yaml_value(node: Any, path: str) -> Any:
    """A composed override entry as plain values (``true``/``false`` unquoted: booleans)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(value_node, yaml.ScalarNode):
            values[str(key_node.value)] = None
            continue
        value: Any = value_node.value
        if not value_node.style and value in ("true", "false"):  # YAML 1.2 booleans:
            value = value == "true"  # yes/on/True stay texts, refused for hide
        values[str(key_node.value)] = value
    return values


# --- installation -------------------------------------------------------------------------

#: the placeholders an installation template may use
PLACEHOLDERS = (
    "product", "version", "git_tag", "eups_tag", "build_id", "manifest_checksum",
)  # fmt: skip

DEFAULT_TEMPLATES = {
    "md": (
        "Install {product} {version} from the source server with EUPS:\n\n"
        "```bash\n"
        "eups distrib install -t {eups_tag} {product}\n"
        "setup -t {eups_tag} {product}\n"
        "```\n"
    ),
    "rst": (
        "Install {product} {version} from the source server with EUPS:\n\n"
        ".. code-block:: bash\n\n"
        "   eups distrib install -t {eups_tag} {product}\n"
        "   setup -t {eups_tag} {product}\n"
    ),
}


def installation_text(template: str, facts: Facts, path: str = "<template>") -> str:
    """``template`` with its ``{placeholders}`` (:data:`PLACEHOLDERS`) filled from
    ``facts`` (``-`` for a fact the notes do not have); ``{{`` and ``}}`` are braces.
    ParseError(``notes-template``) at an unknown or malformed placeholder's line."""
    values = {
        "product": facts.product, "version": facts.until, "git_tag": facts.git_tag or "-",
        "eups_tag": facts.eups_tag or facts.build_id, "build_id": facts.build_id,
        "manifest_checksum": facts.manifest_checksum,
    }  # fmt: skip
    hint = "placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    out = []
    for number, line in enumerate(split_lines(template), start=1):
        try:
            parts = list(string.Formatter().parse(line))
        except ValueError as exc:
            raise ParseError(
                Diagnostic(path, number, "notes-template", f"bad placeholder: {exc}", hint=hint)
            ) from None
        text = []
        for literal, name, spec, conversion in parts:
            text.append(literal)
            if name is None:
                continue
            if name not in values or spec or conversion:
                raise ParseError(Diagnostic(
                    path, number, "notes-template", f"unknown placeholder {{{name}}}",
                    hint=hint,
                ))  # fmt: skip
            text.append(values[name])
        out.append("".join(text))
    return "\n".join(out).strip("\n") + "\n"


# --- rendering ----------------------------------------------------------------------------

_NO_NARRATIVE = (
    "No narrative yet: write it (what this release brings, for its users) in a text file "
    "and give it with --narrative FILE."
)
#: what would start markup: emphasis, code, links, HTML, table cells; an underscore only
#: at a word's edge (``lsst_distrib`` stays as it is)
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|]|(?<!\w)_|_(?!\w))")
_RST_SPECIAL = re.compile(r"([\\`*|]|(?<!\w)_|_(?!\w))")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _rst(text: str) -> str:
    return _RST_SPECIAL.sub(r"\\\1", text)


def _title(notes: ReleaseNotes) -> str:
    return f"{notes.facts.product} {notes.facts.until} release notes"


def _change_text(change: PackageChange) -> tuple[str, str, str]:
    return change.change, change.old_version or "-", change.new_version or "-"


def _fact_lines(facts: Facts) -> list[tuple[str, str | None]]:
    return [
        ("Since", facts.since),
        ("Since build", facts.since_build_id if facts.since_build_id != facts.since else None),
        ("Git tag", facts.git_tag),
        ("EUPS tag", facts.eups_tag),
        ("Build", facts.build_id),
        ("Manifest checksum", facts.manifest_checksum),
    ]


def _rebuilt_note(notes: ReleaseNotes) -> list[str]:
    """What "rebuilt" means, when a package is."""
    if not any(p.change == "rebuilt" for p in notes.packages):
        return []
    return ["Rebuilt: the same commit, built again on changed dependencies.", ""]


def _count(number: int, word: str) -> str:
    return f"{number} {word}" + ("" if number == 1 else "s")


def _summary_line(notes: ReleaseNotes) -> str:
    counts = {"new": 0, "removed": 0, "changed": 0, "rebuilt": 0}
    for change in notes.packages:
        counts[change.change] += 1
    tickets = len([t for t in notes.tickets if not t.hidden])
    return (
        f"{_count(tickets, 'ticket')}, {_count(notes.commits, 'commit')}; packages: "
        f"{counts['new']} new, {counts['removed']} removed, {counts['changed']} changed, "
        f"{counts['rebuilt']} rebuilt, {notes.unchanged} unchanged."
    )


def render_markdown(notes: ReleaseNotes) -> str:
    """The notes in Markdown (CommonMark with pipe tables); same notes, same bytes."""
    out = [f"# {_md(_title(notes))}", ""]
    out += [notes.narrative.strip() if notes.narrative is not None else f"_{_NO_NARRATIVE}_"]
    out += ["", _summary_line(notes), ""]
    for title, tickets in notes.sections():
        out += [f"## {_md(title)}", ""]
        for t in tickets:
            out.append(f"- **{t.key}**: {_md(t.summary)} ({', '.join(t.packages)})")
        out.append("")
    if notes.packages:
        out += ["## Package changes", "", *_rebuilt_note(notes)]
        out.append("| Package | Change | Old version | New version |")
        out.append("| --- | --- | --- | --- |")
        for change in notes.packages:
            kind, old, new = _change_text(change)
            out.append(f"| {_md(change.name)} | {kind} | `{old}` | `{new}` |")
        out.append("")
    out += ["## Technical details", ""]
    for label, value in _fact_lines(notes.facts):
        if value is not None:
            out.append(f"- {label}: `{value}`")
    for label, items in (("Third-party EUPS products", notes.facts.third_party),
                         ("Conda environment", notes.facts.conda)):  # fmt: skip
        if items:
            out.append(f"- {label}: " + ", ".join(f"{_md(n)} `{v}`" for n, v in items))
    out += ["", "## Installation", "", notes.installation.strip(), ""]
    if notes.problems:
        out += ["## Problems", ""]
        out += [f"- {_md(p.rule)}: {_md(p.message)}" for p in notes.problems]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _rst_heading(text: str, char: str) -> list[str]:
    return [text, char * len(text), ""]


def render_rst(notes: ReleaseNotes) -> str:
    """The notes in reStructuredText (what a Sphinx documentation site takes); same notes,
    same bytes."""
    out = _rst_heading(_rst(_title(notes)), "=")
    out += [notes.narrative.strip() if notes.narrative is not None else f"*{_NO_NARRATIVE}*"]
    out += ["", _summary_line(notes), ""]
    for title, tickets in notes.sections():
        out += _rst_heading(_rst(title), "-")
        for t in tickets:
            out.append(f"- **{t.key}**: {_rst(t.summary)} ({', '.join(map(_rst, t.packages))})")
        out.append("")
    if notes.packages:
        out += _rst_heading("Package changes", "-")
        out += _rebuilt_note(notes)
        out += [".. list-table::", "   :header-rows: 1", ""]
        out += ["   * - Package", "     - Change", "     - Old version", "     - New version"]
        for change in notes.packages:
            kind, old, new = _change_text(change)
            out += [f"   * - {_rst(change.name)}", f"     - {kind}", f"     - ``{old}``",
                    f"     - ``{new}``"]  # fmt: skip
        out.append("")
    out += _rst_heading("Technical details", "-")
    for label, value in _fact_lines(notes.facts):
        if value is not None:
            out.append(f"- {label}: ``{value}``")
    for label, items in (("Third-party EUPS products", notes.facts.third_party),
                         ("Conda environment", notes.facts.conda)):  # fmt: skip
        if items:
            out.append(f"- {label}: " + ", ".join(f"{_rst(n)} ``{v}``" for n, v in items))
    out += ["", *_rst_heading("Installation", "-"), notes.installation.strip(), ""]
    if notes.problems:
        out += _rst_heading("Problems", "-")
        out += [f"- {_rst(p.rule)}: {_rst(p.message)}" for p in notes.problems]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def notes_to_json(notes: ReleaseNotes) -> dict[str, Any]:
    """The notes as the JSON document's data (``format`` first), problems apart (they are
    the document's diagnostics)."""
    return {"format": NOTES_FORMAT, **notes.to_dict()}


def render(notes: ReleaseNotes, form: str) -> str:
    """``md``, ``rst`` or ``json`` text of the notes (JSON sorted, one trailing newline)."""
    if form == "md":
        return render_markdown(notes)
    if form == "rst":
        return render_rst(notes)
    body = {**notes_to_json(notes), "problems": [_problem_dict(p) for p in notes.problems]}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _problem_dict(problem: Diagnostic) -> dict[str, Any]:
    return {"file": problem.path, "line": problem.line, "rule": problem.rule,
            "message": problem.message, "hint": problem.hint}  # fmt: skip


def issue_facts(issues: Iterable[Any]) -> dict[str, IssueFacts]:
    """``{key: IssueFacts}`` of objects with H1's ``JiraIssue`` attributes (key, summary,
    issue_type, status, done)."""
    return {
        i.key: IssueFacts(i.key, i.summary, i.issue_type, i.status, bool(i.done)) for i in issues
    }
