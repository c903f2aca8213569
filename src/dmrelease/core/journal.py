"""The journal of a release operation and the release lock, as pure values (DESIGN.md §2).

A journal records, per package, how far the writes of one reviewed plan have got
(``planned`` → ``tagged`` → ``pushed``) and, for the operation, which stages are done
(``tagged``, ``built``, …), so that a rerun resumes and never repeats a write (DESIGN.md §7,
STYLE.md habit 3). The journal is a record, not the truth: a rerun re-verifies every
repository before it skips a step. Times are parameters (STYLE.md habit 13); reading and
writing the file is :mod:`dmrelease.adapters.journal`'s job.

On disk a journal is JSON Lines (``dm-release-journal/2``): a first line holding the whole
journal as it started (:meth:`Journal.to_lines`), then one line per change, each the
difference between two successive journals (:func:`change_line`), so that a step costs one
appended line, not a rewrite of the file. A writer killed in the middle of a line leaves
that line without its newline: :func:`read_journal` ignores it and says so. The previous
format, one JSON document (``dm-release-journal/1``, :meth:`Journal.to_json`), is still
read (a release begun by an older dm-release is finished by this one) and is the form a
journal is stored in on a versiondb remote.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.limits import MAX_DEPTH, check_size, load_json, too_deep

__all__ = [
    "JOURNAL_FORMAT",
    "LINES_FORMAT",
    "LOCK_FORMAT",
    "Event",
    "Journal",
    "JournalRead",
    "Lock",
    "Step",
    "change_line",
    "journal_change",
    "parse_journal",
    "parse_lock",
    "read_journal",
    "replay",
]

JOURNAL_FORMAT = "dm-release-journal/1"
LINES_FORMAT = "dm-release-journal/2"
LOCK_FORMAT = "dm-release-lock/1"


class Step(enum.StrEnum):
    """How far one package has got; each step implies the ones before it."""

    PLANNED = "planned"
    TAGGED = "tagged"  # annotated tag (and branch) exist in the local clone, verified
    PUSHED = "pushed"  # the remote has them at the planned SHA, verified

    @property
    def rank(self) -> int:
        return list(Step).index(self)


@dataclass(frozen=True)
class Event:
    """One line of the journal's history: when, what (package or operation), which step."""

    at: str
    subject: str
    step: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.at}  {self.subject:<25} {self.step}"
        return f"{text}  {self.detail}" if self.detail else text


@dataclass(frozen=True)
class Journal:
    """The record of one operation (``operation`` names it, e.g. ``demo v29.1.0.rc1``).

    ``plan_checksum`` ties the journal to exactly one reviewed plan; ``packages`` maps each
    package to its step, ``errors`` the packages whose last attempt failed to the reason;
    ``builds`` the build id each stage that made or chose a build recorded (``built``,
    ``built[<env>]``), so that a rerun publishes that build. Methods return a new
    journal; nothing is changed in place.
    """

    operation: str
    plan_checksum: str
    packages: Mapping[str, Step]
    errors: Mapping[str, str] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    builds: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, operation: str, plan_checksum: str, packages: Iterable[str], at: str) -> Journal:
        names = list(packages)
        event = Event(at, operation, "planned", f"{len(names)} packages")
        return cls(operation, plan_checksum, dict.fromkeys(names, Step.PLANNED), events=(event,))

    def including(self, packages: Iterable[str]) -> Journal:
        """The journal with the ``packages`` it lacks added as planned (a later run of the
        same operation, e.g. a backport of the same ticket, may name more packages)."""
        new = [name for name in packages if name not in self.packages]
        if not new:
            return self
        return dataclasses.replace(
            self, packages={**self.packages, **dict.fromkeys(new, Step.PLANNED)}
        )

    def step_of(self, package: str) -> Step:
        return self.packages[package]

    def advance(self, package: str, step: Step, at: str, detail: str = "") -> Journal:
        """Record ``package`` at ``step`` (a re-verification may also set an earlier step)."""
        if package not in self.packages:
            raise KeyError(f"{package} is not in the journal of {self.operation}")
        errors = {k: v for k, v in self.errors.items() if k != package}
        return dataclasses.replace(
            self,
            packages={**self.packages, package: step},
            errors=errors,
            events=(*self.events, Event(at, package, str(step), detail)),
        )

    def fail(self, package: str, reason: str, at: str) -> Journal:
        """Record that the last attempt on ``package`` failed; its step is unchanged."""
        return dataclasses.replace(
            self,
            errors={**self.errors, package: reason},
            events=(*self.events, Event(at, package, "failed", reason)),
        )

    def finish_stage(
        self, stage: str, at: str, detail: str = "", *, build_id: str | None = None
    ) -> Journal:
        """Record an operation-level stage as done (``tagged``, ``built``, …); idempotent.
        ``build_id``: the build the stage made or chose, kept in :attr:`builds`."""
        stages = self.stages if stage in self.stages else (*self.stages, stage)
        event = Event(at, self.operation, stage, detail)
        builds = self.builds if build_id is None else {**self.builds, stage: build_id}
        return dataclasses.replace(self, stages=stages, events=(*self.events, event), builds=builds)

    def has_stage(self, stage: str) -> bool:
        return stage in self.stages

    def pending(self, step: Step) -> list[str]:
        """Packages that have not reached ``step`` yet, in journal order."""
        return [name for name, done in self.packages.items() if done.rank < step.rank]

    def complete(self) -> bool:
        return not self.pending(Step.PUSHED)

    def summary(self) -> dict[str, int]:
        counts = {str(step): 0 for step in Step}
        for step in self.packages.values():
            counts[str(step)] += 1
        counts["failed"] = len(self.errors)
        return counts

    def render(self) -> str:
        """The journal for people: header, counts, then every event in order."""
        counts = ", ".join(f"{n} {k}" for k, n in self.summary().items())
        lines = [f"journal of {self.operation} (plan {self.plan_checksum[:19]}): {counts}"]
        if self.stages:
            lines.append(f"  stages done: {', '.join(self.stages)}")
        lines += [f"  {event}" for event in self.events]
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """The journal as one JSON document (``dm-release-journal/1``)."""
        return json.dumps(self._body(JOURNAL_FORMAT), indent=1) + "\n"

    def to_lines(self) -> str:
        """The first line of a JSON Lines journal file: the whole journal, to which the
        lines of :func:`change_line` are appended."""
        return json.dumps(self._body(LINES_FORMAT), ensure_ascii=False) + "\n"

    def _body(self, fmt: str) -> dict[str, Any]:
        body = {
            "format": fmt,
            "operation": self.operation,
            "plan_checksum": self.plan_checksum,
            "packages": {name: str(step) for name, step in self.packages.items()},
            "errors": dict(self.errors),
            "stages": list(self.stages),
            "events": [_event_list(e) for e in self.events],
        }
        # only when there are some: a journal without builds reads as before, and an older
        # dm-release reading one with them ignores the key
        return {**body, "builds": dict(self.builds)} if self.builds else body


def _event_list(event: Event) -> list[str]:
    return [event.at, event.subject, event.step, event.detail]


def _suffix(longer: tuple[Event, ...], shorter: tuple[Event, ...]) -> tuple[Event, ...] | None:
    """What ``longer`` adds after ``shorter`` when it starts with it, else None."""
    if longer[: len(shorter)] != shorter:
        return None
    return longer[len(shorter) :]


def journal_change(before: Journal, after: Journal) -> dict[str, Any] | None:
    """What :func:`replay` needs to make ``after`` of ``before``: the packages whose step is
    new or changed, the errors set and cleared, the stages and events added (``earlier``:
    events put before all the others); None when ``after`` is not such a change (another
    operation or plan, a package dropped): then the file is written anew."""
    if (before.operation, before.plan_checksum) != (after.operation, after.plan_checksum):
        return None
    if any(name not in after.packages for name in before.packages):
        return None
    if any(name not in after.builds for name in before.builds):
        return None
    stages = after.stages[len(before.stages) :]
    if after.stages[: len(before.stages)] != before.stages:
        return None
    earlier: tuple[Event, ...] = ()
    events = _suffix(after.events, before.events)
    if events is None:
        cut = len(after.events) - len(before.events)
        if cut < 0 or after.events[cut:] != before.events:
            return None
        events, earlier = (), after.events[:cut]
    change: dict[str, Any] = {
        "packages": {
            name: str(step)
            for name, step in after.packages.items()
            if before.packages.get(name) != step
        },
        "errors": {k: v for k, v in after.errors.items() if before.errors.get(k) != v},
        "cleared": [k for k in before.errors if k not in after.errors],
        "stages": list(stages),
        "builds": {k: v for k, v in after.builds.items() if before.builds.get(k) != v},
        "events": [_event_list(e) for e in events],
        "earlier": [_event_list(e) for e in earlier],
    }
    return {key: value for key, value in change.items() if value}


def change_line(before: Journal, after: Journal) -> str | None:
    """The line to append to a journal file holding ``before`` so that it holds ``after``
    ("" when they are the same; None: write it anew, see :func:`journal_change`)."""
    change = journal_change(before, after)
    if change is None:
        return None
    return json.dumps(change, ensure_ascii=False) + "\n" if change else ""


def replay(journal: Journal, change: Mapping[str, Any]) -> Journal:
    """``journal`` with one :func:`journal_change` applied."""
    cleared = set(change.get("cleared", ()))
    errors = {k: v for k, v in journal.errors.items() if k not in cleared}
    errors.update((str(k), str(v)) for k, v in change.get("errors", {}).items())
    packages = {
        **journal.packages,
        **{str(k): Step(v) for k, v in change.get("packages", {}).items()},
    }
    return dataclasses.replace(
        journal,
        packages=packages,
        errors=errors,
        stages=(*journal.stages, *(str(s) for s in change.get("stages", ()))),
        events=(*_events(change.get("earlier", ())), *journal.events,
                *_events(change.get("events", ()))),
        builds={**journal.builds, **{str(k): str(v) for k, v in change.get("builds", {}).items()}},
    )  # fmt: skip


def _events(rows: Any) -> tuple[Event, ...]:
    return tuple(Event(*(str(x) for x in row)) for row in rows)


_MOVE_ASIDE = "move the file aside and rerun"


def _bad(path: str, rule: str, message: str) -> ParseError:
    return ParseError(Diagnostic(path, 1, rule, message, hint=_MOVE_ASIDE))


def _load(text: str, path: str, fmt: str) -> dict[str, Any]:
    data = load_json(text, path, "journal-format")
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise _bad(path, "journal-format", f"not a {fmt} file")
    return data


@dataclass(frozen=True)
class JournalRead:
    """A journal file as read: the journal, whether more lines may be appended to it
    (``lines``: it is in the JSON Lines format), and ``torn``, the text of a last line a
    killed writer left without its newline, which is ignored ("" when there is none)."""

    journal: Journal
    lines: bool
    torn: str = ""


def read_journal(text: str, path: str = "<journal>") -> JournalRead:
    """Read a journal file in either format; raise ParseError on anything else (a torn
    last line of the JSON Lines format excepted: see :class:`JournalRead`)."""
    head = _first_line(text.partition("\n")[0])
    if head is None or head.get("format") != LINES_FORMAT:
        return JournalRead(_journal_of(_load(text, path, JOURNAL_FORMAT), path), lines=False)
    check_size(len(text), path)
    whole, newline, torn = text.rpartition("\n")
    if not newline:  # the first line is written whole, with its newline, or not at all
        raise _bad(path, "journal-format", "its first line is cut short")
    journal = _journal_of(head, path)
    for number, row in enumerate(whole.split("\n")[1:], 2):
        journal = _replayed(journal, row, path, number)
    return JournalRead(journal, lines=True, torn=torn)


def _replayed(journal: Journal, row: str, path: str, number: int) -> Journal:
    """``journal`` with the change on line ``number`` of the file applied."""
    try:
        change = json.loads(row)
    except json.JSONDecodeError as exc:
        problem = Diagnostic(path, number, "journal-format", f"not JSON: {exc.msg}",
                             exc.colno, _MOVE_ASIDE)  # fmt: skip
        raise ParseError(problem) from None
    except RecursionError:
        raise too_deep(path, number, None, "JSON", MAX_DEPTH) from None
    try:
        if not isinstance(change, dict):
            raise TypeError(f"{type(change).__name__}, not an object")
        return replay(journal, change)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        message = f"malformed journal line: {exc!r}"
        raise ParseError(
            Diagnostic(path, number, "journal-format", message, hint=_MOVE_ASIDE)
        ) from None


def _first_line(line: str) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def parse_journal(text: str, path: str = "<journal>") -> Journal:
    """Read :meth:`Journal.to_json` or a JSON Lines journal file back (a torn last line
    ignored); raise ParseError on anything else."""
    return read_journal(text, path).journal


def _journal_of(data: Mapping[str, Any], path: str) -> Journal:
    try:
        return Journal(
            operation=str(data["operation"]),
            plan_checksum=str(data["plan_checksum"]),
            packages={str(k): Step(v) for k, v in data["packages"].items()},
            errors={str(k): str(v) for k, v in data.get("errors", {}).items()},
            stages=tuple(str(s) for s in data.get("stages", [])),
            events=_events(data.get("events", [])),
            builds={str(k): str(v) for k, v in data.get("builds", {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(path, "journal-format", f"malformed journal: {exc!r}") from None


@dataclass(frozen=True)
class Lock:
    """The release lock of one product: who holds it (DMTN-106 §4: a weekly must not race a
    release). The session that took it releases it; a rerun of the same session and release
    takes it over once the holder is dead (``host``, ``pid``, the process's ``started`` time
    and the ``pid_space``, boot and pid namespace, say which process holds it); anything
    else is refused unless the lock is broken on purpose. Locks written before ``host`` and
    ``pid`` existed name no process."""

    product: str
    session: str
    release: str
    holder: str
    taken_at: str
    host: str = ""
    pid: int = 0
    started: str = ""
    pid_space: str = ""

    def owned_by(self, session: str, release: str) -> bool:
        return (self.session, self.release) == (session, release)

    def __str__(self) -> str:
        return (
            f"{self.product} is locked by {self.session} {self.release} "
            f"({self.holder}, since {self.taken_at})"
        )

    def to_json(self) -> str:
        body = {"format": LOCK_FORMAT, **dataclasses.asdict(self)}
        return json.dumps(body, indent=1) + "\n"


def parse_lock(text: str, path: str = "<lock>") -> Lock:
    data: Mapping[str, Any] = _load(text, path, LOCK_FORMAT)
    try:
        product, session, release, holder, taken_at = (
            str(data[name]) for name in ("product", "session", "release", "holder", "taken_at")
        )
        pid = data.get("pid", 0)
        if not isinstance(pid, int) or isinstance(pid, bool) or pid < 0:
            raise _bad(path, "journal-format", f"lock file with a bad pid {pid!r}")
        host, started = str(data.get("host", "")), str(data.get("started", ""))
        space = str(data.get("pid_space", ""))
        return Lock(product, session, release, holder, taken_at, host, pid, started, space)
    except KeyError as exc:
        raise _bad(path, "journal-format", f"lock file without {exc}") from None
