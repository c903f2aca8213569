"""``--json``: the one machine-output convention of every verb that reports.

With ``--json`` a verb writes exactly one JSON document on stdout and its human text
(progress, dry-run commands, summaries) on stderr. Every document has the same head::

    {"verb": "table deps", "ok": true, "diagnostics": [], ...the verb's own data}

``diagnostics`` holds one ``{"file", "line", "column", "rule", "message", "hint"}`` per
problem (``column`` and ``hint`` may be null). A failure is a document too: a failed check
exits 1 with ``"ok": false`` and its diagnostics; an error of usage or environment (a file
that cannot be read, a missing credential) exits 2 with ``"ok": false`` and ``"error"``, the
message. Only a command line that the argument parser itself rejects prints nothing on
stdout (its usage goes to stderr, exit 2). docs/json.md documents each verb's data.

The document is written in one write: the redacting stdout of :mod:`dmrelease.cli` redacts
each write, and ``json.dump`` writes every token (18,000 for a 300-package rebuild).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from dmrelease.core.errors import CheckFailed, Diagnostic, DmReleaseError, ParseError

__all__ = [
    "add_json_flag",
    "diagnostic_dict",
    "emit",
    "emit_failure",
    "human",
    "verb_name",
    "wants_json",
]


def add_json_flag(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """``--json`` on ``parser``, with the same help everywhere."""
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print {what} as one JSON document on stdout; human text goes to stderr",
    )


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def verb_name(args: argparse.Namespace) -> str:
    """The verb as typed: ``rebuild``, ``release plan``, ``tag classify`` (a verb group's
    sub-command is in ``<verb>_command``)."""
    verb = str(getattr(args, "verb", "") or "")
    command = getattr(args, f"{verb}_command", None)
    return f"{verb} {command}" if command else verb


def human(args: argparse.Namespace) -> Any:
    """The stream of a verb's human report: stdout, or stderr under ``--json``."""
    return sys.stderr if wants_json(args) else sys.stdout


def diagnostic_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "file": diagnostic.path,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "rule": diagnostic.rule,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
    }


def _write(document: Mapping[str, Any]) -> None:
    import json  # only with --json: tag and table verbs start without it

    sys.stdout.write(json.dumps(document, indent=2) + "\n")  # one write (module docstring)


def emit(
    args: argparse.Namespace,
    data: Mapping[str, Any],
    *,
    diagnostics: Iterable[Diagnostic] = (),
    ok: bool | None = None,
) -> None:
    """Write the verb's document: the head, then ``data``; ``ok`` is "no diagnostic"
    unless given."""
    found = [diagnostic_dict(d) for d in diagnostics]
    head = {
        "verb": verb_name(args),
        "ok": not found if ok is None else ok,
        "diagnostics": found,
        "error": None,  # the message of a usage or environment error (emit_failure)
    }
    _write({**head, **data})


def emit_failure(args: argparse.Namespace, error: BaseException) -> None:
    """The document of a verb that raised: its diagnostics (a failed check, a parse error,
    a configuration that does not load) or its message (any other error). The exit status
    is not in it: the process exits with it (docs/json.md's table)."""
    diagnostics: list[Diagnostic] = []
    if isinstance(error, CheckFailed):
        diagnostics = list(error.diagnostics)
    elif isinstance(error, ParseError):
        diagnostics = [error.diagnostic]
    message: str | None
    if isinstance(error, KeyboardInterrupt):
        message = "interrupted"
    elif diagnostics:
        message = None
    elif isinstance(error, DmReleaseError):
        message = str(error)
    else:  # a bug: its traceback is on stderr
        message = f"internal error: {type(error).__name__}"
    emit(args, {"error": message}, diagnostics=diagnostics, ok=False)  # the one head
