"""Candidate validation (DMTN-106 §4.6): what an installed release is judged by, and its
characterization summary in JSON and Markdown. Pure: the stage installs, lists and runs;
this module says what the facts mean and writes them down.

A release is installed from the binary server and from the source server, each into a
fresh stack (:class:`Install`: what the client saw installed, product -> version and
directory facts). :func:`inspect_install` compares that with the release's manifest:
every product at its manifest version (``product-version``), its table file present
(``table-file``), and for a source install its ``ups/pkginfo`` SHA1 the SHA the release
tag points at (``pkginfo-sha``). The demo command runs in a set-up stack (``demo``).
:func:`summary_to_json` and :func:`render_markdown` write the same facts; the JSON's
``format`` is ``dm-release-validation/1``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "VALIDATION_FORMAT",
    "Changes",
    "Check",
    "DemoRun",
    "Install",
    "Installed",
    "Summary",
    "changes_between",
    "inspect_install",
    "render_markdown",
    "summary_to_json",
]

VALIDATION_FORMAT = "dm-release-validation/1"
#: the demo's output kept in the summary: its last lines
DEMO_TAIL = 20


@dataclass(frozen=True)
class Installed:
    """One product as an install found it: its version, its size in bytes, whether its
    table file is there and (source installs) the SHA1 its ups/pkginfo records."""

    name: str
    version: str
    size: int
    table: bool
    pkginfo_sha: str | None = None


@dataclass(frozen=True)
class Install:
    """One install of the release into a fresh stack. ``kind``: binary or source;
    ``client``: eups (the real EUPS client) or dm-release (its own binary fetch);
    ``status``: ok, failed or skipped (``reason`` says why for the last two)."""

    kind: str
    client: str
    server: str
    status: str
    seconds: float = 0.0
    reason: str | None = None
    products: tuple[Installed, ...] = ()

    @property
    def size(self) -> int:
        return sum(p.size for p in self.products)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "client": self.client,
            "server": self.server,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "bytes": self.size,
            "products": [
                {"name": p.name, "version": p.version, "bytes": p.size, "table": p.table,
                 "pkginfo_sha1": p.pkginfo_sha}
                for p in self.products
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One rule judged on one install: ``problems`` name each product that breaks it."""

    install: str
    rule: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"install": self.install, "rule": self.rule, "ok": self.ok,
                "problems": list(self.problems)}  # fmt: skip


@dataclass(frozen=True)
class DemoRun:
    """The product's demo command run in a set-up stack (``command`` None: none is
    configured; ``exit_code`` None: not run, ``reason`` says why)."""

    command: str | None
    install: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    output: str = ""
    reason: str | None = None

    @property
    def ok(self) -> bool | None:
        return None if self.exit_code is None else self.exit_code == 0

    def tail(self) -> list[str]:
        return self.output.splitlines()[-DEMO_TAIL:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "install": self.install,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "output": self.tail(),
        }


@dataclass(frozen=True)
class Changes:
    """What changed against the previous release's manifest (``previous`` None: none)."""

    previous: str | None
    added: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, str] = field(default_factory=dict)
    changed: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "previous": self.previous,
            "added": dict(sorted(self.added.items())),
            "removed": dict(sorted(self.removed.items())),
            "changed": {k: list(v) for k, v in sorted(self.changed.items())},
        }


def changes_between(
    previous: str | None, before: Mapping[str, str], after: Mapping[str, str]
) -> Changes:
    """Products added, removed and changed (old -> new version) from ``before`` to
    ``after`` (product -> version)."""
    if previous is None:
        return Changes(None)
    return Changes(
        previous,
        {n: v for n, v in after.items() if n not in before},
        {n: v for n, v in before.items() if n not in after},
        {n: (before[n], v) for n, v in after.items() if n in before and before[n] != v},
    )


def inspect_install(
    install: Install, versions: Mapping[str, str], shas: Mapping[str, str], tag: str
) -> list[Check]:
    """The checks of one finished install against the manifest (``versions``: product ->
    version) and the SHAs the release tag ``tag`` points at (``shas``: product -> SHA1;
    judged on source installs, which carry ups/pkginfo)."""
    found = {p.name: p for p in install.products}
    wrong, tables, pkginfo = [], [], []
    for name, version in versions.items():
        got = found.get(name)
        if got is None:
            wrong.append(f"{name}: not installed (manifest: {version})")
            continue
        if got.version != version:
            wrong.append(f"{name}: installed at {got.version} (manifest: {version})")
        if not got.table:
            tables.append(f"{name} {got.version}: no ups/{name}.table")
        sha = shas.get(name)
        if install.kind == "source" and sha and got.pkginfo_sha != sha:
            said = got.pkginfo_sha or "no SHA1"
            pkginfo.append(f"{name}: ups/pkginfo SHA1 {said} (tag {tag} points at {sha})")
    checks = [
        Check(install.kind, "product-version", tuple(wrong)),
        Check(install.kind, "table-file", tuple(tables)),
    ]
    if install.kind == "source":
        checks.append(Check(install.kind, "pkginfo-sha", tuple(pkginfo)))
    return checks


@dataclass(frozen=True)
class Summary:
    """The characterization summary of one validated release."""

    product: str
    release: str
    eups_tag: str
    build_id: str | None
    installs: tuple[Install, ...]
    checks: tuple[Check, ...]
    demo: DemoRun
    changes: Changes

    @property
    def failures(self) -> list[str]:
        """Each failure, named: a failed install, a broken rule's products, the demo."""
        found = [f"{i.kind} install: {i.reason}" for i in self.installs if i.status == "failed"]
        if not any(i.status == "ok" for i in self.installs) and not found:
            found.append("no install: every install was skipped, so nothing was inspected")
        for check in self.checks:
            found += [f"{check.install} {check.rule}: {p}" for p in check.problems]
        if self.demo.ok is False:
            found.append(
                f"demo: `{self.demo.command}` exited {self.demo.exit_code} "
                f"in the {self.demo.install} install"
            )
        return found

    @property
    def ok(self) -> bool:
        return not self.failures


def summary_to_json(summary: Summary) -> str:
    """The summary as its JSON document (``dm-release-validation/1``), keys in order."""
    data = {
        "format": VALIDATION_FORMAT,
        "release": summary.release,
        "product": summary.product,
        "eups_tag": summary.eups_tag,
        "build": summary.build_id,
        "ok": summary.ok,
        "failures": summary.failures,
        "checks": [c.to_dict() for c in summary.checks],
        "installs": [i.to_dict() for i in summary.installs],
        "demo": summary.demo.to_dict(),
        "changes": summary.changes.to_dict(),
    }
    return json.dumps(data, indent=2) + "\n"


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render_markdown(summary: Summary) -> str:
    """The summary for people: installs, checks, demo, products, changes."""
    verdict = "passed" if summary.ok else "FAILED"
    lines = [
        f"# Validation of {summary.product} {summary.release}: {verdict}",
        "",
        f"EUPS tag {summary.eups_tag}, build {summary.build_id or '-'}.",
        "",
        "## Installs",
        "",
        *_table(
            ("install", "client", "server", "result", "products", "size", "seconds"),
            [
                (
                    i.kind,
                    i.client,
                    i.server,
                    i.status + (f": {i.reason}" if i.reason else ""),
                    str(len(i.products)),
                    _size(i.size),
                    f"{i.seconds:.1f}",
                )
                for i in summary.installs
            ],
        ),
        "",
        "## Checks",
        "",
    ]
    for check in summary.checks:
        lines.append(f"- {check.install} {check.rule}: {'ok' if check.ok else 'FAILED'}")
        lines += [f"  - {problem}" for problem in check.problems]
    if not summary.checks:
        lines.append("- none: no install finished")
    demo = summary.demo
    lines += ["", "## Demo", ""]
    if demo.exit_code is None:
        lines.append(f"Not run: {demo.reason}.")
    else:
        result = "ok" if demo.ok else "FAILED"
        lines.append(
            f"`{demo.command}` in the {demo.install} install: exit {demo.exit_code} "
            f"({result}) in {demo.seconds:.1f} s."
        )
        if demo.output:
            lines += ["", "```", *demo.tail(), "```"]
    kinds = [i for i in summary.installs if i.products]
    names = sorted({p.name for i in kinds for p in i.products})
    if names:
        by_kind = {i.kind: {p.name: p for p in i.products} for i in kinds}
        rows = []
        for name in names:
            seen = [by_kind[i.kind].get(name) for i in kinds]
            version = next(p.version for p in seen if p is not None)
            rows.append((name, version, *(_size(p.size) if p else "-" for p in seen)))
        lines += ["", "## Products", ""]
        lines += _table(("product", "version", *(f"{i.kind} size" for i in kinds)), rows)
    changes = summary.changes
    lines += ["", "## Changes", ""]
    if changes.previous is None:
        lines.append("No previous release to compare with.")
    elif not (changes.added or changes.removed or changes.changed):
        lines.append(f"Against {changes.previous}: no product changed.")
    else:
        lines.append(f"Against {changes.previous}:")
        lines += [f"- added {n} {v}" for n, v in sorted(changes.added.items())]
        lines += [f"- removed {n} {v}" for n, v in sorted(changes.removed.items())]
        lines += [f"- {n}: {a} -> {b}" for n, (a, b) in sorted(changes.changed.items())]
    return "\n".join(lines) + "\n"
