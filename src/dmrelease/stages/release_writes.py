"""The git commands the apply runs in a clone (release_apply): the writer, which runs the
commands that write or, in a dry run, prints them (``git push --atomic`` is run with
``--porcelain``, whose per-ref report verifies the push), and the reader of the clone's
tags, from its files (adapters/git_refs) or else one ``for-each-ref``.

A dry run's commands are also kept, when the caller hands the stage a :class:`WouldRun`:
the same commands as the printed lines, in their order, as data (``--json`` puts them in
its document; the stage knows nothing of that).
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from dmrelease.adapters.git import Git, GitError
from dmrelease.adapters.git_refs import read_tag
from dmrelease.core.redact import redact

REMOTE = "origin"


class WouldRun:
    """The git commands a dry run shows, kept in the order they are printed: one
    ``(package, ("git", *args))`` a command, each argument redacted (core/redact: a URL's
    credentials never reach the list, as the printed line's never reach the screen)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: list[tuple[str, tuple[str, ...]]] = []

    def show(
        self, out: TextIO, package: str, commands: Sequence[Sequence[str]], prefix: str = "git"
    ) -> None:
        """Print ``commands`` and keep them under one lock: the pool's threads show at
        once, and the list is in the order of the lines (``prefix``: the program, git's
        arguments by default; "" when each command names its program)."""
        with self._lock:
            _write(out, package, commands, prefix=prefix)
            head = (prefix,) if prefix else ()
            self.commands += [(package, (*head, *map(redact, args))) for args in commands]


def show_command(
    out: TextIO, package: str, commands: Sequence[Sequence[str]], would: WouldRun | None = None
) -> None:
    """Print each of ``commands`` (a whole command line, e.g. ``dm-release publish ...``) as
    ``<package>: <command>``; kept in ``would`` too when there is one."""
    if would is None:
        _write(out, package, commands, prefix="")
    else:
        would.show(out, package, commands, prefix="")


def show(
    out: TextIO, package: str, commands: Sequence[Sequence[str]], would: WouldRun | None = None
) -> None:
    """Print each of ``commands`` (git's arguments) as ``<package>: git <args>``; kept in
    ``would`` too when there is one."""
    if would is None:
        _write(out, package, commands)
    else:
        would.show(out, package, commands)


def _write(
    out: TextIO, package: str, commands: Sequence[Sequence[str]], *, prefix: str = "git"
) -> None:
    """The lines of ``commands`` in one write: the pool's threads print at once (print's
    text and newline were two writes, and came out spliced), adapters/output keeps a write
    whole."""
    head = f"{prefix} " if prefix else ""
    out.write("".join(f"{package}: {head}{shlex.join(args)}\n" for args in commands))
    out.flush()


@dataclass(frozen=True)
class Writer:
    """Runs the git commands that write, or with ``dry_run`` prints them instead."""

    dry_run: bool
    out: TextIO
    would: WouldRun | None = None  # where a dry run's commands are kept too

    def __call__(self, package: str, git: Git, *args: str) -> None:
        if self.dry_run:
            self._show(package, args)
        else:
            git.run(*args)

    def _show(self, package: str, args: Sequence[str]) -> None:
        show(self.out, package, [args], self.would)

    def push(
        self, package: str, git: Git, refspecs: Sequence[str], options: Sequence[str] = ()
    ) -> Pushed:
        """``git push --atomic`` of ``refspecs`` (with ``options``, e.g. a lease); what the
        remote reported of each ref (nothing in a dry run). A refused push is no error
        here: its report says why."""
        shown = ("push", "--atomic", *options, REMOTE, *refspecs)
        if self.dry_run:
            self._show(package, shown)
            return Pushed({}, "")
        try:
            out = git.run("push", "--porcelain", "--atomic", *options, REMOTE, *refspecs)
        except GitError as exc:
            return Pushed(_porcelain(exc.stdout), exc.stderr)
        return Pushed(_porcelain(out), "")


@dataclass(frozen=True)
class Pushed:
    """The remote's report of a push: per destination ref, its flag (``*`` new, ``=``
    up to date, ``!`` rejected, …) and summary; ``stderr`` when the push failed."""

    refs: Mapping[str, tuple[str, str]]
    stderr: str

    def problem(self, refspecs: Sequence[str]) -> str | None:
        """Why the push did not leave every ref of ``refspecs`` created or already there
        (None when it did)."""
        wrong = []
        for spec in refspecs:
            destination = spec.rpartition(":")[2]
            flag, summary = self.refs.get(destination, ("?", "not reported by git"))
            if flag not in "*=":
                wrong.append(f"{destination}: {summary}")
        if not wrong and not self.stderr:
            return None
        return "; ".join(wrong) or "push failed"


def _porcelain(out: str) -> dict[str, tuple[str, str]]:
    """``git push --porcelain`` lines ``<flag>\\t<from>:<to>\\t<summary>`` by ``<to>``."""
    refs = {}
    for line in out.split("\n"):
        fields = line.split("\t")
        if len(fields) == 3 and len(fields[0]) == 1:
            refs[fields[1].rpartition(":")[2]] = (fields[0], fields[2])
    return refs


@dataclass(frozen=True)
class LocalTag:
    """A tag of a clone as ``for-each-ref`` shows it: its object's type, the object it
    points at, and for an annotated tag its tagger and message."""

    kind: str
    commit: str
    tagger: str = ""
    message: str = ""


_TAG_FIELDS = ("%(refname)", "%(objecttype)", "%(objectname)", "%(*objectname)",
               "%(taggername) %(taggeremail)", "%(contents)")  # fmt: skip


def read_tags(git: Git, tags: Sequence[str]) -> dict[str, LocalTag]:
    """The clone's ``tags`` that exist, read from its files (adapters/git_refs), else in
    one ``for-each-ref``."""
    found = {}
    for tag in tags:
        read = read_tag(git.repo / ".git", tag)
        if read is None:
            return _listed_tags(git, tags)
        kind, sha, body = read
        found[tag] = _tag_object(body) if kind == "tag" else LocalTag(kind, sha)
    return found


def _tag_object(body: bytes) -> LocalTag:
    """An annotated tag's object, header lines (``object``, ``type``, ``tag``, ``tagger``)
    then a blank line and the message, as ``for-each-ref`` shows it."""
    text = body.decode("utf-8", "replace")
    header, _, message = text.partition("\n\n")
    fields = dict(line.partition(" ")[::2] for line in header.split("\n"))
    who = fields.get("tagger", "")
    tagger = who[: who.find(">") + 1] if ">" in who else who
    return LocalTag("tag", fields.get("object", ""), tagger, message)


def _listed_tags(git: Git, tags: Sequence[str]) -> dict[str, LocalTag]:
    if not tags:
        return {}
    fields = len(_TAG_FIELDS)
    out = git.run(
        "for-each-ref", "--format=" + "".join(f"{f}%00" for f in _TAG_FIELDS),
        *(f"refs/tags/{t}" for t in tags),
    )  # fmt: skip
    values = out.split("\0")
    found = {}
    for at in range(0, len(values) - fields + 1, fields):
        ref, kind, sha, peeled, tagger, message = values[at : at + fields]
        name = ref.lstrip("\n").removeprefix("refs/tags/")
        annotated = kind == "tag"
        found[name] = LocalTag(
            kind, peeled or sha, tagger if annotated else "", message if annotated else ""
        )
    return found
