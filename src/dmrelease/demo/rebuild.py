"""The embedded demo product: a metapackage and a dozen packages as real git repositories.

``dm-release demo`` (and ``nox -s demo``) builds it in a fresh directory, each package a git
repository with history and a bare "remote", then runs two nightlies on it as the first
sections of the tour (:mod:`dmrelease.demo.tour`): ``dm-release release nightly`` at a
pinned date (prepare: clone, resolve, manifest, versiondb; build into a stack; publish
``d_YYYY_MM_DD`` and ``d_latest`` to both servers), then a change to one leaf package and
the next day's nightly, which builds only that package and what depends on it; the release
flow follows
(:mod:`dmrelease.demo.release`). Commit dates are fixed, the demo's own commits here and
every commit and tag the stages make (pinned by each section of the tour), so every run
produces the same SHAs, versions and manifests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.config import load_config
from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.git import Git
from dmrelease.core.config import Config
from dmrelease.core.limits import decode_text
from dmrelease.core.manifest import Manifest, parse_manifest, render_manifest
from dmrelease.core.names import Daily
from dmrelease.core.plan import Session
from dmrelease.core.requests import NightlyRequest
from dmrelease.demo.change_control import notes_section, status_section, validation_section
from dmrelease.demo.image import image_section
from dmrelease.demo.jira import PATCH_ISSUE, PATCH_RFC, RELEASE_ISSUE, demo_jira
from dmrelease.demo.jira import TICKETS as DEMO_TICKETS
from dmrelease.demo.jira import environment as jira_environment
from dmrelease.demo.jira_server import LocalJira
from dmrelease.demo.library import run_library_demo
from dmrelease.demo.release import FLOW, applied_plan, run_release_demo
from dmrelease.demo.servers import FRESH_STACK, fresh_stack, show_servers
from dmrelease.demo.tour import Row, Tour, Verbosity, build_id, developer_env, installed
from dmrelease.stages.release import nightly

PRODUCT = "demo_distrib"

#: (required deps, optional deps) of a package
Deps = tuple[tuple[str, ...], tuple[str, ...]]

#: package -> (required deps, optional deps), shaped like a slice of lsst_distrib
PACKAGES: dict[str, Deps] = {
    "sconsUtils": ((), ()),
    "base": (("sconsUtils",), ()),
    "utils": (("base", "sconsUtils"), ()),
    "pex_exceptions": (("base", "sconsUtils"), ()),
    "daf_base": (("utils", "pex_exceptions"), ()),
    "log": (("utils",), ()),
    "geom": (("utils", "pex_exceptions"), ()),
    "pex_config": (("pex_exceptions",), ()),
    "afw": (("daf_base", "geom", "log", "pex_config"), ("afwdata",)),
    "afwdata": ((), ()),
    "meas_base": (("afw", "pex_config"), ()),
    "pipe_base": (("daf_base", "log", "pex_config"), ()),
    "pipe_tasks": (("afw", "meas_base", "pipe_base"), ()),
    PRODUCT: (("pipe_tasks",), ("afwdata",)),
}

#: the dates of the demo's two nightlies (pinned: a nightly's date is given at the edge), in
#: the week before the weekly w.2025.24
NIGHTLIES = (dt.date(2025, 6, 12), dt.date(2025, 6, 13))

#: a few packages get a merged ticket branch, as real history has
TICKETS: dict[str, int] = {"afw": 40011, "utils": 40002, "pipe_tasks": 40017, "log": 40005}

#: the leaf package (no dependencies) changed between the two builds of the demo, and the
#: ticket its commit names (an epic of the first release)
CHANGED, CHANGE_TICKET = "afwdata", "DM-40050"

#: the demo's "build": installs a file naming the package into $PREFIX
BUILD_COMMAND = 'mkdir -p "$PREFIX/lib" && echo "$PRODUCT $VERSION" > "$PREFIX/lib/$PRODUCT.txt"'

CONFIG = """# dm-release configuration of the demo product (dm-release demo writes it).
# Relative paths are relative to this file's directory. Environment variables and
# command-line flags override these values: dm-release config show lists each setting
# with where its value came from.

[products.{product}]
repos = "repos.yaml"               # package name -> git URL, one per line
release_branch = "v{{major}}.{{minor}}.x"  # made from vM.n.0.rc1 where a fix is backported

demo = 'cat "$DEMO_DISTRIB_DIR/lib/demo_distrib.txt"'  # validate --install runs it, set up

[build]
# how one package is built: in its clone, into $PREFIX (the demo only writes a file)
command = '{command}'
jobs = 4                           # packages built in parallel
flavor = "Linux64"                 # EUPS flavor of the stack

[git]
jobs = 8                           # clones and fetches in parallel
timeout = 600                      # seconds before one git command is abandoned
default_branch = "main"            # taken when no ref of the ref list exists
user_name = "Demo Release Engineer"   # tagger of release tags, author of versiondb commits
user_email = "release@example.org"

[paths]
work_dir = "work"                  # clones, logs, status.json, manifest.txt
state_dir = "work/state"           # release journals and locks
versiondb = "versiondb"            # the manifests bNNNN, a git repository
stack = "stack"                    # the EUPS stack the builds install into
source_server = "servers/source"   # where the releases publish their source packages
binary_server = "servers/binary"   # where they publish their binary tarballs

[docker]
repository = "demo/demo_distrib"   # the distribution image's repository in the registry
tag_prefix = "demo"                # its tags: demo-<EUPS tag>, demo-<EUPS tag>-<UTC time>
tls_verify = false                 # the demo's registry: plain HTTP on 127.0.0.1
# registry, base_image: the demo sets them (a docker-registry it starts, an image it makes)

# [servers]
# binary = "https://example.org/stack/binaries"   # install binaries instead of building
# source = "https://example.org/stack/src"
"""

JIRA_CONFIG = """
[jira]
# the demo's own Jira, on 127.0.0.1 while the demo runs; its personal access token comes
# from the environment (DM_RELEASE_JIRA_TOKEN), as on Jenkins
url = "{jira_url}"
project = "DM"                     # the project whose versions are the Fix Versions
"""

_EPOCH = 1_750_000_000  # 2025-06-15, fixed so that SHAs are reproducible


@dataclass(frozen=True)
class DemoProduct:
    root: Path
    remotes: Path
    clones: Path
    repos_yaml: Path


def table_text(name: str, packages: Mapping[str, Deps] = PACKAGES) -> str:
    required, optional = packages[name]
    lines = [f"# demo table of {name}"]
    lines += [f"setupRequired({dep})" for dep in required]
    lines += [f"setupOptional({dep})" for dep in optional]
    lines.append("envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)")
    return "\n".join(lines) + "\n"


class _Committer:
    """Commits with dates that advance one hour per commit, for reproducible SHAs."""

    def __init__(self) -> None:
        self.clock = _EPOCH

    def git(self, repo: Path) -> Git:
        self.clock += 3600
        return Git(repo, env=developer_env(self.clock))


def _write(path: Path, text: str) -> None:
    write_atomically(path, text)


def _create_package(
    name: str, demo: DemoProduct, committer: _Committer, packages: Mapping[str, Deps] = PACKAGES
) -> None:
    remote = demo.remotes / f"{name}.git"
    clone = demo.clones / name
    Git(demo.root).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    Git(demo.root).run("init", "--quiet", "--initial-branch=main", str(clone))
    _write(clone / "ups" / f"{name}.table", table_text(name, packages))
    _write(clone / "README.md", f"# {name}\n\nA package of the dm-release demo product.\n")
    committer.git(clone).run("add", "-A")
    committer.git(clone).run("commit", "--quiet", "-m", f"Initial import of {name}")
    if name in TICKETS:
        branch = f"tickets/DM-{TICKETS[name]}"
        committer.git(clone).run("checkout", "--quiet", "-b", branch)
        _write(clone / "python" / name / "__init__.py", f'"""{name}."""\n')
        committer.git(clone).run("add", "-A")
        committer.git(clone).run("commit", "--quiet", "-m", f"Add the {name} Python package")
        committer.git(clone).run("checkout", "--quiet", "main")
        committer.git(clone).run(
            "merge", "--quiet", "--no-ff", "-m", f"Merge branch '{branch}'", branch
        )
    committer.git(clone).run("remote", "add", "origin", str(remote))
    committer.git(clone).run("push", "--quiet", "origin", "--all")


def create_demo_product(root: Path) -> DemoProduct:
    """Create the demo product under ``root`` (which must be empty or absent)."""
    demo = DemoProduct(root, root / "remotes", root / "clones", root / "repos.yaml")
    committer = _Committer()
    for name in sorted(PACKAGES):
        _create_package(name, demo, committer)
    _write(
        demo.repos_yaml,
        "".join(f"{name}: file://{demo.remotes / name}.git\n" for name in sorted(PACKAGES)),
    )
    return demo


def create_packages(
    demo: DemoProduct, packages: Mapping[str, Deps], repos_yaml: Path, epoch: int
) -> None:
    """More packages beside the demo product's (remotes and clones alike), dated from
    ``epoch``, and their own repos file."""
    committer = _Committer()
    committer.clock = epoch
    for name in sorted(packages):
        _create_package(name, demo, committer, packages)
    _write(repos_yaml, "".join(f"{n}: file://{demo.remotes / n}.git\n" for n in sorted(packages)))


def _jira_stopped(path: Path) -> None:
    """The demo's Jira stops with the demo: its URL is commented out in dm-release.toml, so
    that the commands tried in the kept directory read no Jira (and say so) instead of
    failing to reach it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    stopped = [
        f"# {line.rstrip()}   # the demo's Jira, stopped when the demo ended\n"
        if line.startswith("url = ")
        else line
        for line in lines
    ]
    _write(path, "".join(stopped))


def write_config(demo: DemoProduct, jira_url: str | None = None) -> Path:
    """The demo's dm-release.toml: its repos.yaml, the demo build command, local paths, and
    the URL of its Jira when given."""
    path = demo.root / "dm-release.toml"
    text = CONFIG.format(product=PRODUCT, command=BUILD_COMMAND)
    if jira_url is not None:
        text += JIRA_CONFIG.format(jira_url=jira_url)
    _write(path, text)
    return path


def change_package(demo: DemoProduct, name: str = CHANGED) -> str:
    """Commit a change to ``name`` and push it to its remote; returns the new SHA."""
    committer = _Committer()
    committer.clock += 1_000_000  # after the creation commits, still reproducible
    clone = demo.clones / name
    _write(clone / "CHANGES.md", f"# {name}\n\n- A change made by the demo.\n")
    committer.git(clone).run("add", "-A")
    message = f"{CHANGE_TICKET}: document the changes of {name}"
    committer.git(clone).run("commit", "--quiet", "-m", message)
    committer.git(clone).run("push", "--quiet", "origin", "main")
    return Git(clone).rev_parse("HEAD")


@dataclass(frozen=True)
class Nightly:
    """What one nightly did: its EUPS tag, its build's manifest (from versiondb), and the
    versions it installed into the stack (the others were reused)."""

    tag: str
    manifest: Manifest
    built: frozenset[tuple[str, str]]

    @property
    def reused(self) -> int:
        return len(self.manifest.entries) - len(self.built)


def _run_nightly(tour: Tour, config: Config, day: dt.date) -> Nightly:
    """``dm-release release nightly --date DAY``: rebuild from main, publish the tags."""
    before = installed(config)
    daily = Daily(day)
    nightly(config, NightlyRequest(daily), tour.stage_out, tour.stage_log)
    build = build_id(config)
    path = config.versiondb / "manifests" / f"{build}.txt"
    manifest = parse_manifest(decode_text(path.read_bytes(), str(path)), str(path))
    return Nightly(daily.eups_tag, manifest, frozenset(installed(config) - before))


def _published(config: Config, tag: str) -> list[str]:
    """Per server, which of ``tag`` and d_latest it has a tag list of."""
    lines = []
    for label, folder in (
        ("source server", Path(config.source_server_dir or "") / "tags"),
        ("binary server", Path(config.binary_server_dir or "")),
    ):
        lists = [t for t in (tag, "d_latest") if (folder / f"{t}.list").is_file()]
        lines.append(f"  {label}: {' and '.join(lists) or 'no tag list'}")
    return lines


def _show_nightly(tour: Tour, config: Config, title: str, step: str, done: Nightly) -> None:
    """How many packages the nightly built and reused, the tags it published, its row."""
    tour.say(f"  {title}: {len(done.built)} built, {done.reused} reused")
    if done.reused:
        made = [e.name for e in done.manifest.entries if (e.name, e.version) in done.built]
        tour.words("built:", made)  # in build order
    for entry in done.manifest.entries:
        action = "built" if (entry.name, entry.version) in done.built else "reused"
        tour.detail(f"    {action:<8} {entry.name:<15} {entry.version}")
    tour.say(*_published(config, done.tag))
    build = done.manifest.build_id or build_id(config)
    tour.row(Row(step, done.tag, build, len(done.built), done.reused, 0))


def _product(tour: Tour, root: Path, jira: LocalJira) -> tuple[DemoProduct, Config]:
    with tour.section(
        f"The product {PRODUCT}",
        f"{len(PACKAGES)} packages shaped like a slice of lsst_distrib, each a git repository "
        "with history and merged ticket branches, pushed to a bare repository that stands "
        "for its GitHub remote. dm-release only knows them through repos.yaml and "
        "dm-release.toml.",
        look=(
            "repos.yaml (package -> URL), dm-release.toml (the settings)",
            "remotes/<package>.git (the remotes), clones/<package> (the developers' clones)",
        ),
    ):
        demo = create_demo_product(root)
        config = load_config(write_config(demo, jira.url), environ=jira_environment())
        tour.words(f"{len(PACKAGES)} repositories:", sorted(PACKAGES))
        tour.say(
            f"  Jira: {jira.url} (local, REST v2), {len(DEMO_TICKETS)} issues: the tickets "
            f"of the commits, the release issues {RELEASE_ISSUE} and {PATCH_ISSUE}, the "
            f"patch's RFC {PATCH_RFC}"
        )
    return demo, config


def _distribution(tour: Tour, config: Config, eups_source: Path | None) -> None:
    """The servers the sessions published to, the final's image (or what was skipped),
    then the final installed from binaries."""
    with tour.section(
        "The distribution servers",
        "After its green build every weekly, candidate and final published its build: "
        "the source server gets each new version's source package (a final's embeds its "
        "source, SOURCE=package), its manifest (the whole dependency closure) and table, "
        "and a tag list per EUPS tag; the binary server gets a tarball of each installed "
        "package. A file already there is never written again, so each version is there "
        "once; only the floating tags w_latest and o_latest are replaced.",
        look=(
            "servers/source/tags/v29_1_1.list, servers/source/products/ (eupspkg sources)",
            "servers/binary/o_latest.list, servers/binary/manifests/ (the tarball server)",
        ),
        commands=(
            "dm-release publish --tag v29_1_1 --build b4",
            "dm-release tarball --tag v29_1_1 --build b4",
        ),
    ):
        show_servers(tour, config)
    image_section(tour, config, eups_source, "v29_1_1", "b4")
    with tour.section(
        "A fresh stack from the binary server",
        "Binaries are made once: a new machine, or a new environment, installs them. The "
        "binary server is served over HTTP on 127.0.0.1 and the final 29.1.1 is rebuilt "
        "into a new, empty stack with servers.binary set to it and no build command: "
        "rebuild's binary fetch installs every package of the manifest from the server, "
        "and none could have been built.",
        look=(f"{FRESH_STACK}/Linux64/<package>/<version> (what was fetched)",),
        commands=("dm-release rebuild --refs 29.1.1   (with servers.binary = the server's URL)",),
    ):
        fresh_stack(tour, config, "29.1.1", "fresh stack")


def _change_control(tour: Tour, config: Config, eups_source: Path | None) -> None:
    """The status page of the last final, the validation of the last candidate, then the
    release notes of both finals (the tour's last words: the last final's)."""
    plan = applied_plan(config, Session.CANDIDATE, "v29.1.1.rc1")
    validation_section(tour, config, plan, eups_source)
    status_section(tour, config, "29.1.1", PATCH_ISSUE)
    notes_section(tour, config, (("29.1.0", RELEASE_ISSUE), ("29.1.1", PATCH_ISSUE)))


def run_demo(
    root: Path,
    out: TextIO = sys.stdout,
    log: TextIO = sys.stderr,
    verbosity: Verbosity = Verbosity.NORMAL,
    *,
    kept: bool = True,
    rows: list[Row] | None = None,
    eups_source: Path | None = None,
    jira: LocalJira | None = None,
) -> Manifest:
    """Create the demo product, run a nightly, change one leaf package and run the next, then run
    the release flow (:mod:`dmrelease.demo.release`); print the tour at ``verbosity``
    (``kept``: whether the directory stays after the run, said in the tour). The stages'
    own messages go to ``log`` with --verbose, else to demo.log in ``root``, which is
    written when the run fails or the directory is kept. ``rows``: a list that gets the
    summary table's rows (for --json). ``eups_source``: the EUPS source tarball the
    final's image is built on and the validation's EUPS is built from (None: the image is
    skipped, the validation uses dm-release's binary fetch, each said). ``jira``: the
    demo's Jira, seeded (:func:`dmrelease.demo.jira.demo_jira`), when the caller wants to
    look at it afterwards (None: one started for the run)."""
    tour = Tour(root, out, log, verbosity)
    try:
        with contextlib.ExitStack() as stack:
            if jira is None:
                jira = stack.enter_context(demo_jira())
            manifest = _run(tour, root, kept, eups_source, jira)
        _jira_stopped(root / "dm-release.toml")
    except BaseException:
        with contextlib.suppress(Exception):  # the demo's own error is the one to report
            tour.keep_log()
        raise
    finally:
        if rows is not None:
            rows.extend(tour.rows)
    if kept:
        tour.keep_log()
    return manifest


def _run(tour: Tour, root: Path, kept: bool, eups_source: Path | None, jira: LocalJira) -> Manifest:
    tour.intro(
        kept,
        f"two nightlies, {FLOW}; each published to a source and a binary server, then the "
        "last final's image (when this machine can build one), the last final installed "
        "into a fresh stack from the binaries, the last candidate validated, the status "
        "page and the release notes; the change control in a local Jira",
    )
    demo, config = _product(tour, root, jira)
    with tour.section(
        f"Nightly {Daily(NIGHTLIES[0])}: rebuild from main, publish it",
        "What Jenkins runs every night: clone or fetch every package, resolve the ref list "
        "(per package the first ref that exists; none is given, so main), order the "
        "packages by their table files, compute each EUPS version, record the manifest in "
        "the versiondb as the next build id, then build what the stack does not have yet. "
        "The green build is published to both servers under the nightly's EUPS tag "
        "d_YYYY_MM_DD and d_latest; a nightly makes no git tag.",
        look=(
            "versiondb/manifests/b1.txt (the manifest), work/manifest.txt and "
            "work/build.properties (for Jenkins)",
            "stack/Linux64/<package>/<version> (what was built)",
            f"servers/source/tags/{Daily(NIGHTLIES[0]).eups_tag}.list, servers/binary/",
        ),
        commands=(f"dm-release release nightly --date {NIGHTLIES[0]}",),
    ):
        done = _run_nightly(tour, config, NIGHTLIES[0])
        graph = done.manifest.graph()
        tour.say("  build order (each level sorted by name; a level needs only the ones above):")
        for number, level in enumerate(graph.levels(), start=1):
            tour.say(f"    level {number}: {' '.join(level)}")
        tour.say(f"  manifest {done.manifest.build_id} ({len(done.manifest.entries)} packages):")
        text = render_manifest(done.manifest)
        tour.say(*(f"    {line}".rstrip() for line in text.splitlines()))
        _show_nightly(tour, config, f"first build {done.manifest.build_id}", "nightly", done)
    with tour.section(
        f"A change in {CHANGED}, and the next nightly",
        f"A developer pushes a commit to {CHANGED}, a package with no dependencies of its "
        "own that afw and the product use. Its SHA changes, so does its EUPS version, and "
        "so do the versions of everything that depends on it, directly or not: only those "
        "are built again. The next day's nightly publishes its own d_YYYY_MM_DD, and "
        "d_latest now names it.",
        look=("versiondb/manifests/b2.txt next to b1.txt (diff them)",),
        commands=(f"dm-release release nightly --date {NIGHTLIES[1]}",),
    ):
        sha = change_package(demo)
        tour.say(f"  changed {CHANGED} (now {sha[:10]}); the next nightly")
        again = _run_nightly(tour, config, NIGHTLIES[1])
        title = f"second build {again.manifest.build_id}"
        _show_nightly(tour, config, title, "nightly after a change", again)
    run_release_demo(tour, config, demo.remotes, demo.clones, sorted(PACKAGES), jira)
    run_library_demo(tour, config, functools.partial(create_packages, demo))
    _distribution(tour, config, eups_source)
    _change_control(tour, config, eups_source)  # last: the tour ends with the notes
    tour.summary()
    tour.next_steps(demo.root / "dm-release.toml", kept)
    return again.manifest
