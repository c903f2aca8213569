"""The demo as a guided tour: sections that say what each step is in the release process of
DMTN-106 and what to look at, a glossary, a summary table and the next steps.

:class:`Tour` owns everything the demo prints. The stages the demo runs write to
:attr:`Tour.stage_out` and :attr:`Tour.stage_log`: the real streams with ``--verbose``,
else a buffer kept as ``demo.log`` in the demo's directory when that is kept. Each section
pins the dates of every git process it starts (:func:`dmrelease.adapters.git.pinned`), one
hour after the previous section's, so that the tags and commits dm-release makes have the
same SHAs on every run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import io
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import pinned
from dmrelease.core.config import Config

#: the dates of what dm-release commits and tags in the demo: 2025-07-13, after the
#: demo's own commits (developer clones), one hour more at each section
STAGE_EPOCH = 1_752_400_000

#: the demo's developer: author (and committer) of the commits made in its packages
DEVELOPER_NAME, DEVELOPER_EMAIL = "Demo Developer", "demo@example.org"


def developer_env(seconds: int) -> dict[str, str]:
    """The environment of a git that commits as the demo's developer at ``seconds`` (author
    and committer alike), so that the commit's SHA is the same on every run."""
    stamp = f"@{seconds} +0000"
    who = {"NAME": DEVELOPER_NAME, "EMAIL": DEVELOPER_EMAIL, "DATE": stamp}
    return {
        f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER") for key, value in who.items()
    }


#: who makes a commit or tag when nothing else says (dm-release sets its own identity for
#: its tags and versiondb commits; rebased commits keep their author)
IDENTITY = {
    "GIT_AUTHOR_NAME": DEVELOPER_NAME,
    "GIT_AUTHOR_EMAIL": DEVELOPER_EMAIL,
    "GIT_COMMITTER_NAME": "Demo Release Engineer",
    "GIT_COMMITTER_EMAIL": "release@example.org",
    # no user or system git configuration (commit.gpgSign, tag.gpgSign, hooks paths…)
    # can change a commit or tag of the demo
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}

LOG_NAME = "demo.log"

GLOSSARY = (
    ("product", "a metapackage (here demo_distrib) whose table file lists the packages "
     "it is made of; it is released as a whole"),
    ("package", "one git repository of a product, with its table file ups/<name>.table "
     "naming the packages it depends on"),
    ("manifest bNNNN", "what one build is made of: every package with its SHA and EUPS "
     "version, in dependency order; kept as manifests/bNNNN.txt in the versiondb (a git "
     "repository); the same content always gets the same build id"),
    ("EUPS version", "g<sha>+<hash>: the first 10 digits of the package's SHA and a hash "
     "of its dependencies' versions (no + part without dependencies); the same version "
     "means the same binary, so it is reused, never rebuilt"),
    ("weekly tag", "w.YYYY.WW: main of every package, built green, tagged once a week"),
    ("rc tag", "vM.n.p.rcN: a release candidate, tagged in every package, then built"),
    ("final tag", "M.n.p: the SHAs of the last candidate, tagged again under the release "
     "name"),
    ("release branch", "vM.n.x: made from vM.n.0.rc1 in a package that needs a fix "
     "after the first candidate; the next candidates take it first"),
    ("ticket branch", "tickets/DM-NNNNN: a developer's fix, merged into main; a backport "
     "rebases its commits onto the release branch"),
    ("EUPS tag", "the name users install a release by: w_2025_24, v29_1_0_rc1, v29_1_0, "
     "and the floating w_latest and o_latest that follow the newest weekly and final"),
    ("source server", "what eups distrib install builds from: a source package, manifest "
     "and table per version and a tag list per EUPS tag (servers/source here)"),
    ("binary server", "the same with a tarball of each installed package per flavor "
     "(servers/binary here); rebuild fetches from it instead of building"),
)  # fmt: skip


class Verbosity(enum.IntEnum):
    QUIET = 0  # the summary table only
    NORMAL = 1  # the tour
    VERBOSE = 2  # the tour and every command's own output


@dataclass(frozen=True)
class Row:
    """One line of the summary table; ``None``: not applicable to this step."""

    step: str
    tag: str = "-"
    build: str = "-"
    built: int | None = None
    reused: int | None = None
    fetched: int | None = None
    repositories: str = "-"


SUMMARY_HEADING = "== Summary"
NEXT_STEPS_HEADING = "== Next steps"
_COLUMNS = ("step", "tag", "build", "built", "reused", "fetched", "repositories")


def render_rows(rows: Sequence[Row]) -> list[str]:
    """The summary table, one padded line per row under its header."""
    cells = [_COLUMNS] + [
        (
            r.step, r.tag, r.build,
            "-" if r.built is None else str(r.built),
            "-" if r.reused is None else str(r.reused),
            "-" if r.fetched is None else str(r.fetched),
            r.repositories,
        )
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]


def installed(config: Config) -> set[tuple[str, str]]:
    """(package, EUPS version) of everything installed in the demo's stack."""
    flavor = config.stack / config.flavor
    if not flavor.is_dir():
        return set()
    return {(p.name, v.name) for p in flavor.iterdir() for v in p.iterdir()}


def build_id(config: Config) -> str:
    """The build id of the last build, from the build.properties it wrote (BUILD=bNNNN)."""
    text = (config.outputs / "build.properties").read_text(encoding="utf-8")
    return text.partition("=")[2].strip()


class Tour:
    """What the demo prints, at its verbosity, into ``out``; ``log`` is the stream of the
    stages' own messages with ``--verbose``."""

    def __init__(self, root: Path, out: TextIO, log: TextIO, verbosity: Verbosity) -> None:
        self.root = root
        self.out = out
        self.verbosity = verbosity
        self.rows: list[Row] = []
        self.sections = 0
        self._clock = STAGE_EPOCH
        self._pins = contextlib.ExitStack()
        self.buffer = io.StringIO()
        verbose = verbosity >= Verbosity.VERBOSE
        self.stage_out: TextIO = out if verbose else self.buffer
        self.stage_log: TextIO = log if verbose else self.buffer

    # printing -------------------------------------------------------------------------

    def say(self, *lines: str) -> None:
        """Lines of the tour (not with --quiet)."""
        if self.verbosity >= Verbosity.NORMAL:
            for line in lines:
                print(line, file=self.out)

    def detail(self, *lines: str) -> None:
        """Lines shown with --verbose only."""
        if self.verbosity >= Verbosity.VERBOSE:
            for line in lines:
                print(line, file=self.out)

    def text(self, paragraph: str, indent: str = "  ") -> None:
        """A paragraph of explanation, wrapped."""
        self.say(*textwrap.wrap(paragraph, 88, initial_indent=indent, subsequent_indent=indent))

    def words(self, label: str, names: Sequence[str]) -> None:
        """``label`` and a list of names, wrapped under the label."""
        indent = "  " + " " * (len(label) + 1)
        lines = textwrap.wrap(" ".join(names), 88 - len(indent))
        self.say(f"  {label} {lines[0] if lines else ''}", *(indent + line for line in lines[1:]))

    def intro(self, kept: bool, flow: str) -> None:
        fate = "kept" if kept else "removed at the end (give --keep to keep it)"
        self.say(
            "dm-release demo: a guided tour of the DMTN-106 release process on a small product",
            f"  directory: {self.root} ({fate})",
            *textwrap.wrap(f"the flow: {flow}", 88, initial_indent="  ", subsequent_indent="    "),
            "  every commit and tag has a fixed date: the SHAs below are the same on every run",
        )
        self.say("", "== Words used below")
        width = max(len(word) for word, _ in GLOSSARY)
        for word, meaning in GLOSSARY:
            lines = textwrap.wrap(meaning, 86 - width)
            self.say(
                f"  {word:<{width}}  {lines[0]}", *(f"  {'':<{width}}  {ln}" for ln in lines[1:])
            )

    @contextlib.contextmanager
    def section(
        self, title: str, what: str, look: Sequence[str] = (), commands: Sequence[str] = ()
    ) -> Iterator[None]:
        """A numbered section: its heading and what the step is, then what the block prints,
        then what to look at and the command that does the step. Every git process started
        in the block has this section's dates."""
        self.sections += 1
        self.say("", f"== {self.sections}. {title}")
        self.text(what)
        with contextlib.ExitStack() as self._pins:
            self._clock = STAGE_EPOCH + self.sections * 3600
            self.tick()
            yield
        for item in look:
            self.say(f"  look at: {item}")
        for command in commands:
            self.say(f"  command: {command}")

    def tick(self) -> None:
        """The next minute of the section for the git processes started from now on, so
        that the tags of two sessions in one section are in the order they were made."""
        self._clock += 60
        stamp = f"@{self._clock} +0000"
        dates = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        self._pins.enter_context(pinned({**IDENTITY, **dates}))

    def moment(self) -> dt.datetime:
        """The time the git processes of this minute of the section are pinned to: the
        run's clock for a command that reads one (the image's dated tag)."""
        return dt.datetime.fromtimestamp(self._clock, dt.UTC)

    def row(self, row: Row) -> None:
        self.rows.append(row)

    def summary(self) -> None:
        """The summary table; the only thing --quiet prints."""
        if self.verbosity >= Verbosity.NORMAL:
            print("", file=self.out)
        print(SUMMARY_HEADING, file=self.out)
        for line in render_rows(self.rows):
            print(line, file=self.out)
        if self.verbosity >= Verbosity.NORMAL:
            self.text(
                "built: packages whose EUPS version the stack did not have yet; reused: "
                "already installed (same SHA and same dependencies), so not rebuilt; "
                "fetched: installed from the binary server instead of built. A "
                "build id is given again when a build's content is the same as an earlier "
                "one's."
            )

    def next_steps(self, config_file: Path, kept: bool) -> None:
        self.say("", NEXT_STEPS_HEADING)
        if kept:
            self.say(f"  in this demo: cd {self.root} and try")
            self.say(*(f"    {c}" for c in _DEMO_COMMANDS))
        self.say("  on your own product, from the directory of its dm-release.toml:")
        self.say(*(f"    {c}" for c in _OWN_COMMANDS))
        self.say("  every command has --help; every write has --dry-run.")

    def keep_log(self) -> Path | None:
        """Write what the stages printed to demo.log in the demo's directory (nothing with
        --verbose, which printed it)."""
        if self.verbosity >= Verbosity.VERBOSE or not self.root.is_dir():
            return None
        path = self.root / LOG_NAME
        write_atomically(path, self.buffer.getvalue())
        return path


_DEMO_COMMANDS = (
    "dm-release config show                  # every setting, its value and where it came from",
    "dm-release rebuild --dry-run            # what a nightly would fetch, resolve and build",
    "dm-release release plan v29.1.2.rc1     # a next patch's first candidate, planned only",
    "dm-release release validate 29.1.1      # every release rule against the remotes",
    "dm-release release validate 29.1.1 --install        # install it, inspect it, run its demo",
    "dm-release notes 29.1.0..29.1.1 --format rst        # the release notes, from the data",
    "dm-release status 29.1.1 --html status.html         # where it stands, its graph drawn",
    "dm-release announce 29.2.0 --weekly w.2025.24 --start 2025-07-21   # the post, a dry run",
    "dm-release publish --tag v29_1_1 --build b4 --dry-run   # each server file: add, skip, refuse",
    "dm-release tarball --tag v29_1_1 --build b4 --dry-run   # the binary server's, from the stack",
    "cat servers/binary/o_latest.list servers/source/manifests/demo_distrib-*.manifest",
    "git -C remotes/afw.git log --oneline --graph --all",
    "git -C versiondb log --oneline --stat",
)
_OWN_COMMANDS = (
    "dm-release config init                  # a dm-release.toml to fill in",
    "dm-release config show",
    "dm-release rebuild --dry-run            # then: dm-release rebuild --prepare-only",
    "dm-release release plan w.2025.24       # the weekly's plan, nothing written",
    "dm-release release validate TAG [--install]",
    "dm-release jira show DM-N --blockers; dm-release notes --help; dm-release status --help",
    "dm-release release weekly | candidate | final | patch | backport | nightly --help",
    "dm-release publish --help; dm-release tarball --help",
)
