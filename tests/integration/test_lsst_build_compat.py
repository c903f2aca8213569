"""The manifest is byte-identical to the real lsst-build's (issue 10's hard constraint).

The real ``lsst-build prepare`` (lsst_build + EUPS 2.2.15, built by :mod:`vendor` from
../shared/vendor) and dm-release's prepare stage run on the same product: the same
repos.yaml, exclusion map, ref list and versiondb (each tool a copy of one seed, or its
own record after a first run), and their ``manifest.txt`` files are compared byte for byte.
Skipped when ../shared/vendor is absent; a failure instead with DM_RELEASE_REQUIRE_VENDOR=1
(CI). Where the two tools differ on purpose (DESIGN.md §5), the test pins the difference.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from rebuild_helpers import config_for, run_prepare
from vendor import Vendor, require_vendor

from dmrelease.adapters.git import Git
from dmrelease.demo.rebuild import PACKAGES, PRODUCT, TICKETS, change_package, create_demo_product
from dmrelease.demo.synthetic import PackageSpec, SyntheticProduct, create_product, push_change

TICKET = "tickets/DM-1"
TAG = "v1.0.0.rc1"
#: the versiondb identity of both tools' commits and build tags
IDENTITY = {
    "GIT_AUTHOR_NAME": "Compat Test", "GIT_AUTHOR_EMAIL": "compat@example.org",
    "GIT_COMMITTER_NAME": "Compat Test", "GIT_COMMITTER_EMAIL": "compat@example.org",
}  # fmt: skip

#: meta -> afw -> geom -> utils -> base; afw optionally needs extra (kept) and gone
#: (excluded for afw by the map), meta -> daf -> base; a ticket branch in afw and utils,
#: an annotated tag in extra and base, a lightweight one in daf
SPECS = {
    "base": PackageSpec(tags=(TAG,)),
    "utils": PackageSpec(deps=("base",), branches=(TICKET,)),
    "geom": PackageSpec(deps=("utils",)),
    "afw": PackageSpec(deps=("geom", "utils"), optional=("extra", "gone"), branches=(TICKET,)),
    "extra": PackageSpec(deps=("base",), tags=(TAG,)),
    "gone": PackageSpec(),
    "daf": PackageSpec(deps=("base",), lightweight=(TAG,)),
    "meta": PackageSpec(deps=("afw", "daf")),
}
EXCLUSIONS = "# optional dependency  of products\ngone afw\n"


@pytest.fixture(scope="module")
def vendor() -> Vendor:
    return require_vendor()


def seed_versiondb(path: Path) -> Path:
    """An empty versiondb as lsst-build expects it: a git repository with manifests/."""
    (path / "manifests").mkdir(parents=True)
    (path / "manifests" / "content_sha.db.txt").write_text("")
    git = Git(path.parent, env=IDENTITY)
    git.run("init", "--quiet", "--initial-branch=main", str(path))
    git = Git(path, env=IDENTITY)
    git.run("add", "manifests")
    git.run("commit", "--quiet", "-m", "An empty versiondb")
    return path


@dataclass(frozen=True)
class Compat:
    """One product prepared by both tools, each in its own directory under ``root``."""

    vendor: Vendor
    root: Path
    repos: Path
    top: str

    @property
    def exclusions(self) -> Path:
        return self.root / "exclusions.txt"

    def fresh_versiondbs(self) -> None:
        """Both tools' versiondbs replaced by copies of one empty seed."""
        seed = self.root / "seed-versiondb"
        if not seed.exists():
            seed_versiondb(seed)
        for side in ("lsst", "dm"):
            shutil.rmtree(self.root / side / "versiondb", ignore_errors=True)
            shutil.copytree(seed, self.root / side / "versiondb", symlinks=True)

    def lsst_build(self, refs: Sequence[str] = ()) -> bytes:
        """``lsst-build prepare`` as Jenkins runs it; returns its manifest.txt."""
        done = self.run_lsst_build(refs)
        if done.returncode != 0:
            pytest.fail(f"lsst-build prepare exited {done.returncode}:\n{done.stderr[-3000:]}")
        return (self.root / "lsst" / "build" / "manifest.txt").read_bytes()

    def run_lsst_build(self, refs: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
        side = self.root / "lsst"
        build = side / "build"
        build.mkdir(parents=True, exist_ok=True)
        (build / "manifest.txt").unlink(missing_ok=True)
        argv = [
            *self.vendor.lsst_build_cmd(), "prepare", f"--repos={self.repos}",
            f"--exclusion-map={self.exclusions}", f"--version-git-repo={side / 'versiondb'}",
            *(f"--ref={ref}" for ref in refs), str(build), self.top,
        ]  # fmt: skip
        env = {**self.vendor.env(side / "stack"), **IDENTITY}
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    def dm_release(self, refs: Sequence[str] = ()) -> bytes:
        """dm-release's prepare stage as ``dm-release rebuild --prepare-only`` runs it."""
        side = self.root / "dm"
        config = side / "dm-release.toml"
        config.write_text(
            f'[products.{self.top}]\nrepos = "{self.repos}"\n\n'
            f'[build]\nexclusions = "{self.exclusions}"\n\n'
            '[paths]\nwork_dir = "work"\nversiondb = "versiondb"\nstack = "stack"\n'
        )
        (side / "work" / "manifest.txt").unlink(missing_ok=True)
        run_prepare(config_for(config, refs=list(refs), prepare_only=True))
        return (side / "work" / "manifest.txt").read_bytes()

    def both(self, refs: Sequence[str] = ()) -> tuple[bytes, bytes]:
        return self.lsst_build(refs), self.dm_release(refs)


def _compat(vendor: Vendor, root: Path, repos: Path, top: str) -> Compat:
    compat = Compat(vendor, root, repos, top)
    compat.exclusions.write_text(EXCLUSIONS)
    compat.fresh_versiondbs()
    return compat


@pytest.fixture
def product(tmp_path: Path) -> SyntheticProduct:
    return create_product(tmp_path / "upstream", SPECS)


@pytest.fixture
def synthetic(vendor: Vendor, tmp_path: Path, product: SyntheticProduct) -> Compat:
    return _compat(vendor, tmp_path, product.repos_yaml, "meta")


#: a table as people write them: comments, quotes, a version expression, a flavor block
#: EUPS skips here, a duplicate, an option, an env statement
TRICKY_TABLE = """# afw, by hand
setupRequired("geom")
setupRequired(utils >= 1.0)
if (FLAVOR == DarwinX86) {
    setupRequired(daf)
}
setupRequired(geom)
setupOptional(extra -j)
setupOptional(gone)
envPrepend(PATH, ${PRODUCT_DIR}/bin)
"""


def push_table(product: SyntheticProduct, name: str, text: str) -> str:
    """A commit on main of ``name``'s remote that replaces its table; returns its SHA."""
    remote = Git(product.remote(name))
    stream = (
        "commit refs/heads/main\ncommitter Compat Test <compat@example.org> 1750200000 +0000\n"
        f"data 15\nRewrite a table\nfrom refs/heads/main^0\nM 644 inline ups/{name}.table\n"
        f"data {len(text.encode())}\n{text}\ndone\n"
    )
    remote.run("fast-import", "--quiet", "--done", input=stream)
    return remote.rev_parse("refs/heads/main")


def _lines(manifest: bytes) -> list[bytes]:
    return manifest.splitlines(keepends=True)


def _packages(manifest: bytes) -> dict[str, list[str]]:
    return {(f := line.split())[0]: f[1:] for line in manifest.decode().splitlines()[2:]}


def test_from_scratch_the_manifests_are_byte_identical(synthetic: Compat) -> None:
    lsst, dm = synthetic.both()
    assert dm == lsst
    packages = _packages(dm)
    assert _lines(dm)[1] == b"BUILD=b1\n"
    # what the comparison covers: 7 packages (gone excluded for afw), the optional extra kept
    assert sorted(packages) == ["afw", "base", "daf", "extra", "geom", "meta", "utils"]
    assert packages["afw"][2] == "geom,utils,extra"
    assert len(packages["base"]) == 2  # no deps column, its padding kept byte for byte
    # and versiondb records the same: the manifest copy and the content hash line
    for recorded in ("manifests/b1.txt", "manifests/content_sha.db.txt"):
        lsst_db, dm_db = (synthetic.root / side / "versiondb" for side in ("lsst", "dm"))
        assert (dm_db / recorded).read_bytes() == (lsst_db / recorded).read_bytes(), recorded
    assert (synthetic.root / "dm" / "versiondb" / "manifests" / "b1.txt").read_bytes() == dm


def test_a_fetch_only_rerun_gives_the_same_bytes(synthetic: Compat) -> None:
    first = synthetic.both()
    synthetic.fresh_versiondbs()  # the fetch path alone: clones kept, versiondbs as new
    again = synthetic.both()
    assert again[1] == again[0] == first[0]
    assert (synthetic.root / "lsst" / "build" / "base" / ".git").is_dir()


def test_a_rerun_on_the_same_versiondb_differs_only_in_the_build_id(synthetic: Compat) -> None:
    """DESIGN.md §5: a manifest whose content hash versiondb already has reuses its build
    id. lsst-build reads content_sha.db.txt from the end of the file (opened "a+"), never
    finds it and takes the next bN; dm-release keeps the reuse on purpose."""
    first_lsst, first_dm = synthetic.both()
    lsst, dm = synthetic.both()
    assert first_dm == first_lsst
    assert _lines(lsst)[1] == b"BUILD=b2\n"
    assert _lines(dm)[1] == b"BUILD=b1\n"
    assert _lines(dm)[:1] + _lines(dm)[2:] == _lines(lsst)[:1] + _lines(lsst)[2:]
    assert dm == first_dm


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([TICKET], {"afw": TICKET, "utils": TICKET, "base": "main", "extra": "main"}),
        ([TICKET, TAG], {"afw": TICKET, "utils": TICKET, "base": TAG, "extra": TAG}),
        ([TAG], {"afw": "main", "utils": "main", "base": TAG, "extra": TAG}),
    ],
)
def test_a_ticket_branch_in_some_repos_gives_the_same_bytes(
    synthetic: Compat, product: SyntheticProduct, refs: list[str], expected: dict[str, str]
) -> None:
    synthetic.both()  # the clones exist, as in a Jenkins workspace
    # main moves past the tags (a tag is then another commit than main) and in geom, so no
    # ref list gives the first run's content again (a reused build id: see the test above)
    for name in ("base", "extra", "geom"):
        push_change(product, name, f"A change to {name}")
    lsst, dm = synthetic.both(refs)
    assert dm == lsst
    assert _lines(dm)[1] == b"BUILD=b2\n"
    packages = _packages(dm)
    for name, ref in expected.items():  # each package took the ref the list says
        assert packages[name][0] == Git(product.remote(name)).rev_parse(ref), name


def test_after_a_change_in_one_package_the_manifests_are_byte_identical(
    synthetic: Compat, product: SyntheticProduct
) -> None:
    before = _packages(synthetic.both()[1])
    sha = push_change(product, "utils", "A change to utils")
    lsst, dm = synthetic.both()
    assert dm == lsst
    assert _lines(dm)[1] == b"BUILD=b2\n"
    after = _packages(dm)
    assert after["utils"][0] == sha
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"utils", "geom", "afw", "meta"}  # utils and what depends on it


def test_a_hand_written_table_gives_the_same_bytes(
    synthetic: Compat, product: SyntheticProduct
) -> None:
    push_table(product, "afw", TRICKY_TABLE)
    lsst, dm = synthetic.both()
    assert dm == lsst
    # EUPS' reading: the Darwin block skipped, the duplicate kept, gone excluded
    assert _packages(dm)["afw"][2] == "geom,utils,geom,extra"


def test_the_demo_product_gives_the_same_bytes(vendor: Vendor, tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    demo = create_demo_product(tmp_path / "demo")
    compat = _compat(vendor, tmp_path, demo.repos_yaml, PRODUCT)
    lsst, dm = compat.both()
    assert dm == lsst
    assert len(_packages(dm)) == len(PACKAGES)
    tickets = [f"tickets/DM-{number}" for number in sorted(TICKETS.values())]
    lsst, dm = compat.both(tickets[:1])  # a merged ticket branch: its tip, not main
    assert dm == lsst
    change_package(demo)
    lsst, dm = compat.both()
    assert dm == lsst
    assert _lines(dm)[1] == b"BUILD=b3\n"


def test_a_package_without_a_table_stops_lsst_build_not_dm_release(
    vendor: Vendor, tmp_path: Path
) -> None:
    """A known difference, not a manifest one: lsst-build reads every package's
    ups/<name>.table through EUPS and fails on a missing one, writing no manifest;
    dm-release takes such a package as having no dependencies."""
    specs = {**SPECS, "bare": PackageSpec(table=False)}
    specs["meta"] = PackageSpec(deps=("afw", "daf", "bare"))
    product = create_product(tmp_path / "upstream", specs)
    compat = _compat(vendor, tmp_path, product.repos_yaml, "meta")
    done = compat.run_lsst_build()
    assert done.returncode == 1
    assert "TableError" in done.stderr
    assert f"{tmp_path / 'lsst' / 'build' / 'bare' / 'ups' / 'bare.table'}" in done.stderr
    assert not (tmp_path / "lsst" / "build" / "manifest.txt").exists()
    packages = _packages(compat.dm_release())
    assert len(packages["bare"]) == 2  # SHA and version, no dependencies
    assert packages["meta"][2] == "afw,daf,bare"


def test_an_optional_dependency_outside_repos_yaml_stops_lsst_build_not_dm_release(
    synthetic: Compat, product: SyntheticProduct
) -> None:
    """A known difference: lsst-build fetches every optional dependency the exclusion map
    keeps and fails (KeyError) on one repos.yaml does not list; dm-release leaves it out."""
    push_table(product, "afw", "setupRequired(geom)\nsetupOptional(elsewhere)\n")
    done = synthetic.run_lsst_build()
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith("KeyError: 'elsewhere'")
    packages = _packages(synthetic.dm_release())
    assert "elsewhere" not in packages
    assert packages["afw"][2] == "geom"


def test_lsst_build_build_finds_every_declared_package_installed(synthetic: Compat) -> None:
    """The benchmarks' no-change rebuild baseline: `lsst-build build` after
    Vendor.declare_installed builds nothing and tags each package with the build id."""
    synthetic.lsst_build()
    stack = synthetic.root / "lsst" / "stack"
    build = synthetic.root / "lsst" / "build"
    assert synthetic.vendor.declare_installed(stack, build / "manifest.txt") == 7
    env = {**synthetic.vendor.env(stack), **IDENTITY}
    argv = [*synthetic.vendor.lsst_build_cmd(), "build", str(build)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("(already installed).") == 7
    listed = subprocess.run(
        [*synthetic.vendor.eups_cmd(), "list", "-t", "b1"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == sorted(
        _packages((build / "manifest.txt").read_bytes())
    )
