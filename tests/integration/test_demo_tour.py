"""The demo is reproducible and prints a tour at three verbosities: two runs in two
directories (one --quiet, one --verbose) make byte-identical versiondb manifests, the same
commits and tags in every repository (dm-release's own tags, backports and versiondb
records included), byte-identical source and binary servers and fresh stacks, and print
exactly what each verbosity promises."""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from release_helpers import JENKINS_VARIABLES

from dmrelease.adapters import image_builder
from dmrelease.adapters.git import Git, pinned
from dmrelease.adapters.stack import CHAIN_DATE
from dmrelease.core.manifest import parse_manifest
from dmrelease.demo.image import NO_EUPS_SOURCE
from dmrelease.demo.library import APPS_PACKAGES, APPS_STACK, LIBRARY_PACKAGES
from dmrelease.demo.rebuild import PACKAGES, run_demo
from dmrelease.demo.servers import FRESH_STACK
from dmrelease.demo.tour import LOG_NAME, STAGE_EPOCH, Verbosity

#: the builder each run's machine is made to have (None: none)
BUILDER_FOUND = {Verbosity.QUIET: None, Verbosity.VERBOSE: "buildah 1.28.2"}


@dataclass(frozen=True)
class Run:
    root: Path
    out: str
    log: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    """The demo run twice, --quiet then --verbose, each in the same directory, moved
    aside when it is done: the servers hold absolute paths (a source package's REPOSITORY
    is its remote's URL, a tarball's .pwd the stack's directory), so the same bytes are
    made again in the same place."""
    done = []
    base = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        for name in JENKINS_VARIABLES:
            patch.delenv(name, raising=False)
        for verbosity in (Verbosity.QUIET, Verbosity.VERBOSE):
            # each of the image step's two reasons to skip on every machine: the quiet run
            # finds no builder, the verbose one a builder but no EUPS source (none is given)
            found = BUILDER_FOUND[verbosity]
            patch.setattr(image_builder, "builder_available", lambda choice="auto", f=found: f)
            root = base / "demo"
            root.mkdir()
            out, log = io.StringIO(), io.StringIO()
            run_demo(root, out, log, verbosity, kept=True)
            moved = root.rename(base / verbosity.name.lower())
            done.append(Run(moved, out.getvalue(), log.getvalue()))
    yield done[0], done[1]


def _refs(repo: Path) -> str:
    """Every ref of a repository with its object and, for a tag, the commit it tags."""
    return Git(repo).run("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)")


def test_two_runs_make_byte_identical_manifests_and_the_same_shas(runs: tuple[Run, Run]) -> None:
    first, second = runs
    assert first.root != second.root
    manifests = sorted(p.name for p in (first.root / "versiondb" / "manifests").iterdir())
    # b5: the library demo_lib, b6: demo_apps with it
    builds = [f"b{n}.txt" for n in range(1, 7)]
    assert manifests == [*builds, "content_sha.db.txt"]
    assert manifests == sorted(p.name for p in (second.root / "versiondb" / "manifests").iterdir())
    for name in manifests:
        one = (first.root / "versiondb" / "manifests" / name).read_bytes()
        assert one == (second.root / "versiondb" / "manifests" / name).read_bytes(), name
    # the versiondb's commits and build tags (bNNNN) too: their dates are pinned
    assert _refs(first.root / "versiondb") == _refs(second.root / "versiondb")
    assert len(_refs(first.root / "versiondb").split("\n")) == 7  # main and b1..b6
    for package in [*PACKAGES, *LIBRARY_PACKAGES, *APPS_PACKAGES]:  # release tags, branches
        remote = f"remotes/{package}.git"
        assert _refs(first.root / remote) == _refs(second.root / remote), package
    afw = _refs(first.root / "remotes/afw.git")
    assert "refs/heads/tickets/DM-40100-v29 " in afw and "refs/tags/29.1.1 " in afw


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_two_runs_publish_byte_identical_servers_and_fresh_stacks(runs: tuple[Run, Run]) -> None:
    first, second = runs
    for name in ("servers/source", "servers/binary", FRESH_STACK, APPS_STACK):
        one, two = _tree(first.root / name), _tree(second.root / name)
        assert sorted(one) == sorted(two), name
        assert [path for path in one if one[path] != two[path]] == [], name


SOURCE_TAGS = [
    "d_2025_06_12", "d_2025_06_13", "d_latest", "o_latest", "v29_1_0", "v29_1_0_rc1",
    "v29_1_0_rc2", "v29_1_1", "v29_1_1_rc1", "w_2025_24", "w_latest",
]  # fmt: skip


def _versions(root: Path, build: str) -> set[tuple[str, str]]:
    text = (root / "versiondb" / "manifests" / f"{build}.txt").read_text()
    return {(e.name, e.version) for e in parse_manifest(text).entries}


def test_each_release_is_on_both_servers_under_its_eups_tags(runs: tuple[Run, Run]) -> None:
    """Source packages and tarballs of every version the flow built, once each; a tag list
    per EUPS tag (the library's v1_0_0 on the binary server only), the floating ones naming
    the last nightly, the last weekly and the last final."""
    root = runs[0].root
    source, binary = root / "servers" / "source", root / "servers" / "binary"
    assert sorted(p.stem for p in (source / "tags").glob("*.list")) == SOURCE_TAGS
    assert sorted(p.stem for p in binary.glob("*.list")) == sorted([*SOURCE_TAGS, "v1_0_0"])
    built = set().union(*(_versions(root, f"b{n}") for n in range(1, 5)))
    packages = {p.name.removesuffix(".eupspkg") for p in (source / "products").iterdir()}
    packages.discard("index.json")
    assert packages == {f"{name}-{version}" for name, version in built}
    library = _versions(root, "b5")
    tarballs = {p.name.removesuffix("@Linux64.tar.gz") for p in binary.glob("*.tar.gz")}
    assert tarballs == {f"{name}-{version}" for name, version in built | library}
    published = (
        ("d_2025_06_12", "b1"), ("d_2025_06_13", "b2"), ("d_latest", "b2"),
        ("o_latest", "b4"), ("v29_1_0", "b3"), ("w_latest", "b2"),
    )  # fmt: skip
    for tag, build in published:
        lines = (binary / f"{tag}.list").read_text().splitlines()
        assert lines[1] == f"#BUILD={build}", tag
        assert (source / "tags" / f"{tag}.list").read_text().splitlines()[1] == f"#BUILD={build}"


def test_the_fresh_stack_has_the_last_final_fetched_from_the_binary_server(
    runs: tuple[Run, Run],
) -> None:
    root = runs[0].root
    fresh = root / FRESH_STACK / "Linux64"
    installed = {(p.name, v.name) for p in fresh.iterdir() if p.is_dir() for v in p.iterdir()}
    assert installed == _versions(root, "b4")
    status = (root / "work" / "status.json").read_text()
    assert '"fetched": 14' in status and '"built": 0' in status
    apps = root / APPS_STACK / "Linux64"
    assert sorted(p.name for p in apps.iterdir() if p.is_dir()) == ["apps", "demo_apps", "sphgeom"]


def test_the_eups_tags_the_runs_declare_are_the_same_and_dated_as_their_section(
    runs: tuple[Run, Run],
) -> None:
    """The chain files (an EUPS tag per nightly, weekly and release) are byte-identical in the two
    runs: their DECLARED is the section's pinned date, not the time of the run."""
    first, second = runs
    chains = sorted(p.relative_to(first.root) for p in first.root.glob("stack/ups_db/*/*.chain"))
    assert chains == sorted(
        p.relative_to(second.root) for p in second.root.glob("stack/ups_db/*/*.chain")
    )
    # the two nightlies; the weekly; 29.1.0's two candidates and final; 29.1.1's candidate
    # and final
    assert len(chains) == 8 * len(PACKAGES)
    declared = set()
    for chain in chains:
        text = (first.root / chain).read_text()
        assert text == (second.root / chain).read_text(), chain
        declared.add(re.search(r"^   DECLARED = (.+)$", text, re.MULTILINE)[1])  # type: ignore[index]
    moments = sorted(
        datetime.datetime.strptime(d, CHAIN_DATE).replace(tzinfo=datetime.UTC) for d in declared
    )
    assert len(moments) == 8  # one moment per build that declares a tag
    assert STAGE_EPOCH < moments[0].timestamp() < moments[-1].timestamp() < STAGE_EPOCH + 86400


def test_the_backport_commits_carry_the_pinned_dates(runs: tuple[Run, Run]) -> None:
    """A rebased commit keeps its author and author date; its committer is the demo's
    release engineer at the section's pinned date, not the time of the run."""
    remote = Git(runs[0].root / "remotes" / "afw.git")
    shown = remote.run("log", "-1", "--format=%an %at|%cn %ct", "tickets/DM-40100-v29")
    # section 7 at STAGE_EPOCH + 7 hours, its second minute (the developer's fix first)
    assert shown == "Demo Developer 1752000420|Demo Release Engineer 1752425320"
    tag = remote.run(
        "for-each-ref", "--format=%(taggername) %(taggerdate:unix)", "refs/tags/29.1.0"
    )
    assert tag == "Demo Release Engineer 1752432520"  # section 9, second minute


QUIET = """\
== Summary
  step                    tag           build  built  reused  fetched  repositories
  nightly                 d_2025_06_12  b1     14     0       0        -
  nightly after a change  d_2025_06_13  b2     5      9       0        -
  weekly                  w.2025.24     b2     0      14      0        14 tagged
  first candidate         v29.1.0.rc1   b2     0      14      0        14 tagged
  validation              v29.1.0.rc1   -      -      -       -        0 problems
  backport DM-40100       -             -      -      -       -        2 (afw, utils)
  next candidate          v29.1.0.rc2   b3     9      5       0        14 tagged
  final                   29.1.0        b3     0      14      0        14 tagged
  Fix Version 29.1.0      29.1.0        -      -      -       -        2 issues
  fix-version again       29.1.0        -      -      -       -        nothing changed
  patch branch            29.1.1        -      -      -       -        1 branched
  backport DM-40200       -             -      -      -       -        1 (log)
  patch candidate         v29.1.1.rc1   b4     6      8       0        14 tagged
  patch final             29.1.1        b4     0      14      0        14 tagged
  Fix Version 29.1.1      29.1.1        -      -      -       -        1 issue
  fix-version again       29.1.1        -      -      -       -        nothing changed
  library demo_lib        v1_0_0        b5     2      0       0        -
  product with demo_lib   -             b6     2      0       1        -
  image                   v29_1_1       b4     -      -       -        {image}
  fresh stack             29.1.1        b4     0      0       14       -
  validate --install      v29.1.1.rc1   b4     -      -       -        passed
  status page             29.1.1        -      -      -       -        work/status/29.1.1.html
  notes 29.1.0            29.1.0        -      -      -       -        2 tickets
  notes 29.1.1            29.1.1        -      -      -       -        1 ticket
"""


def test_quiet_prints_the_summary_table_only(runs: tuple[Run, Run]) -> None:
    quiet = runs[0]
    assert quiet.out == QUIET.format(image="skipped: no builder")
    assert quiet.log == ""  # the commands' own output went to demo.log
    kept = (quiet.root / LOG_NAME).read_text()
    assert "versiondb: manifests/content_sha.db.txt, manifests/b1.txt, commit, tag b1" in kept


HEADINGS = [
    "== Words used below",
    "== 1. The product demo_distrib",
    "== 2. Nightly d.2025.06.12: rebuild from main, publish it",
    "== 3. A change in afwdata, and the next nightly",
    "== 4. Weekly w.2025.24: rebuild from main, then tag",
    "== 5. First release candidate v29.1.0.rc1, from a good weekly",
    "== 6. Validation of v29.1.0.rc1",
    "== 7. Backport DM-40100 onto the release branch v29.1.x",
    "== 8. Next release candidate v29.1.0.rc2, from the release branch and rc1",
    "== 9. Final release 29.1.0 = the last candidate",
    "== 10. Patch release 29.1.1",
    "== 11. Tags and release branches of every repository",
    "== 12. Journals",
    "== 13. A library product: demo_apps takes demo_lib at its release",
    "== 14. The distribution servers",
    "== 15. The distribution image of v29_1_1",
    "== 16. A fresh stack from the binary server",
    "== 17. Validation of the last candidate v29.1.1.rc1: installed, inspected, its demo run",
    "== 18. Where 29.1.1 stands: dm-release status",
    "== 19. Release notes of 29.1.1",
    "== Summary",
    "== Next steps",
]


def test_verbose_adds_every_commands_output_to_the_tour(runs: tuple[Run, Run]) -> None:
    verbose = runs[1]
    lines = verbose.out.splitlines()
    assert [line for line in lines if line.startswith("==")] == HEADINGS
    assert QUIET.format(image="skipped: no EUPS source") in verbose.out  # the same table
    # the stages' own output: their log on the log stream, their messages on out as well
    # as the tour's line (twice), the per-package details, the last final's whole journal
    assert (
        "versiondb: manifests/content_sha.db.txt, manifests/b1.txt, commit, tag b1" in verbose.log
    )
    backported = (
        "afw: backported onto v29.1.x as tickets/DM-40100-v29, merged into v29.1.x (1 commit)"
    )
    assert sum(backported in line for line in lines) == 2
    assert "    built    afwdata         g117eb5f71f" in lines
    assert re.search(r"afw +v29\.1\.x ", verbose.out)
    assert re.search(r"base +v29\.1\.0\.rc1 ", verbose.out)
    assert "journal of final_release demo_distrib 29.1.1 (plan sha256:" in verbose.out
    assert not (verbose.root / LOG_NAME).exists()  # printed, not kept
    # the servers' listing, the fresh stack's packages, the library's
    assert "  source server servers/source: 34 source packages, 34 manifests, 11 tag lists" in lines
    # and the library's two packages and its tag list v1_0_0
    assert "  binary server servers/binary: 36 tarballs, 36 manifests, 12 tag lists" in lines
    # each nightly published its d_YYYY_MM_DD and d_latest to both servers
    for day in ("12", "13"):
        for server in ("source", "binary"):
            assert f"  {server} server: d_2025_06_{day} and d_latest" in lines
    assert f"  skipped the image of v29_1_1: {NO_EUPS_SOURCE}" in lines  # one line: what, why
    assert sum("skipped the image" in line for line in lines) == 1
    assert "  29.1.1 (build b4) into fresh-stack/: 14 fetched, 0 built, 0 reused" in lines
    assert "    fetched  demo_distrib    g9a4a77d790+ee92f0af39" in lines
    assert re.search(
        r"^  serving servers/binary on http://127\.0\.0\.1:[0-9]+/$", verbose.out, re.M
    )
    assert (
        "  demo_apps: build b6, sphgeom from the library (fetched), 2 built (apps, demo_apps)"
        in lines
    )


def test_pinned_variables_reach_git_and_are_restored(tmp_path: Path) -> None:
    # an e-mail of its own: a machine with no git identity (a fresh CI machine) would make
    # git var fail where nothing pinned gives one
    mail = {"GIT_AUTHOR_EMAIL": "own@example.org"}
    git = Git(tmp_path, env={"GIT_AUTHOR_NAME": "Own", **mail})
    plain = Git(tmp_path, env=mail)
    ident = ("var", "GIT_AUTHOR_IDENT")
    with pinned({"GIT_AUTHOR_NAME": "Pinned", "GIT_AUTHOR_DATE": "@1700000000 +0000"}):
        with pinned({"GIT_AUTHOR_EMAIL": "inner@example.org"}):
            assert Git(tmp_path).run(*ident) == "Pinned <inner@example.org> 1700000000 +0000"
        assert plain.run(*ident) == "Pinned <own@example.org> 1700000000 +0000"  # inner gone
        assert git.run(*ident) == "Own <own@example.org> 1700000000 +0000"  # its env wins
    assert not plain.run(*ident).endswith(" 1700000000 +0000")
