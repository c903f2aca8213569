"""The Jenkins parameters the release pipelines pass to dm-release, acting where the real
jobs act: EXCLUDE_FROM_BUILDS takes products out of a rebuild, EXCLUDE_FROM_TARBALLS out
of a tarball run (a run left with nothing says so and succeeds, as a matrix cell of an
excluded product must), O_LATEST=false keeps a final's publish and tarball off o_latest,
and RELEASE_GIT_TAG names the EUPS tag when EUPS_TAG is not given (official-release has
the git tag only). A real rebuild of the synthetic product into a stack, real server trees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rebuild_helpers import GRAPH, config_for, make_product, run_build, run_prepare, write_config

from dmrelease.demo.synthetic import SyntheticProduct

#: the Jenkins parameters and dm-release variables a test must not inherit
CLEARED = (
    "EUPS_TAG", "MANIFEST_ID", "PRODUCTS", "RUBINENV_VER", "SPLENV_REF", "O_LATEST",
    "EXCLUDE_FROM_BUILDS", "EXCLUDE_FROM_TARBALLS", "RELEASE_GIT_TAG", "GIT_TAG", "REFS",
    "SOURCE_GIT_REFS", "GIT_REFS", "PREP_ONLY", "NO_BINARY_FETCH", "BUILD_DOCS",
)  # fmt: skip


def dm_release(*args: str | Path, cwd: Path, **parameters: str) -> subprocess.CompletedProcess[str]:
    """``dm-release ARGS`` as a process in ``cwd`` with the Jenkins ``parameters`` only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM_RELEASE_")}
    for name in CLEARED:
        env.pop(name, None)
    env.update(parameters, DM_RELEASE_PROGRESS="off")
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def remote_refs(product: SyntheticProduct) -> dict[str, str]:
    """Every ref of every package's bare remote: what a release would change."""
    return {
        name: subprocess.run(
            ["git", "for-each-ref"], cwd=product.remote(name), capture_output=True, text=True,
            check=True,
        ).stdout
        for name in product.packages
    }  # fmt: skip


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """The product ``meta`` rebuilt into tmp_path's stack (build b1): its configuration."""
    config = write_config(tmp_path, make_product(tmp_path), extra='env = "rubin-env-9.0.0"\n')
    setup = config_for(config)
    prepared, _ = run_prepare(setup)
    outcome, _ = run_build(setup, prepared)
    assert outcome.counts["built"] == len(GRAPH)
    return config


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_tarball_of_excluded_products_only_says_so_and_succeeds(built: Path) -> None:
    server = built.parent / "server"
    done = dm_release(
        "tarball", "--config", built, "--tag", "w_2025_24", "--server-dir", server,
        cwd=built.parent, EXCLUDE_FROM_TARBALLS="lsst_sitcom meta",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == (
        "tarball: every product asked is in EXCLUDE_FROM_TARBALLS (meta): nothing to pack\n"
    )
    assert not server.exists()
    done = dm_release(
        "tarball", "--config", built, "--tag", "w_2025_24", "--server-dir", server, "--json",
        cwd=built.parent, EXCLUDE_FROM_TARBALLS="meta", PRODUCTS="meta",
    )  # fmt: skip
    assert _json(done) == {
        "verb": "tarball", "ok": True, "error": None, "diagnostics": [],
        "tag": "w_2025_24", "tags": [], "packed": [], "excluded": ["meta"],
    }  # fmt: skip
    assert not server.exists()


def test_a_tarball_excluding_another_product_packs_as_asked(built: Path) -> None:
    server = built.parent / "server"
    done = dm_release(
        "tarball", "--config", built, "--tag", "w_2025_24", "--server-dir", server, "--json",
        cwd=built.parent, EXCLUDE_FROM_TARBALLS="lsst_sitcom",
    )  # fmt: skip
    document = _json(done)
    assert len(document["packed"]) == len(GRAPH)
    assert document["tags"] == ["w_2025_24", "w_latest"]
    assert "EXCLUDE_FROM_TARBALLS" not in done.stderr


def test_a_rebuild_of_excluded_products_only_says_so_and_builds_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, make_product(tmp_path))
    done = dm_release("rebuild", "--config", config, cwd=tmp_path, EXCLUDE_FROM_BUILDS="meta")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == (
        "rebuild: every product asked is in EXCLUDE_FROM_BUILDS (meta): nothing to build\n"
    )
    assert not (tmp_path / "versiondb").exists() and not (tmp_path / "work").exists()
    done = dm_release(
        "rebuild", "--config", config, "--json", cwd=tmp_path,
        EXCLUDE_FROM_BUILDS="meta", PRODUCTS="meta",
    )  # fmt: skip
    assert _json(done) == {
        "verb": "rebuild", "ok": True, "error": None, "diagnostics": [],
        "prepare": None, "build": None, "excluded": ["meta"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("o_latest", "tags"),
    [(None, ["v1_0_0", "o_latest"]), ("true", ["v1_0_0", "o_latest"]), ("false", ["v1_0_0"])],
)
def test_o_latest_gates_a_final_s_floating_tag(
    built: Path, o_latest: str | None, tags: list[str]
) -> None:
    """The default (O_LATEST unset, publish.o_latest true) keeps what a final always did."""
    parameters = {"O_LATEST": o_latest} if o_latest is not None else {}
    source, binary = built.parent / "source", built.parent / "binary"
    done = dm_release(
        "publish", "--config", built, "--tag", "v1_0_0", "--server-dir", source, "--json",
        cwd=built.parent, **parameters,
    )  # fmt: skip
    assert _json(done)["tags"] == tags
    lists = sorted(p.name for p in (source / "tags").glob("*.list"))
    assert lists == [f"{t}.list" for t in sorted(tags)]
    done = dm_release(
        "tarball", "--config", built, "--tag", "v1_0_0", "--server-dir", binary, "--json",
        cwd=built.parent, **parameters,
    )  # fmt: skip
    assert _json(done)["tags"] == tags
    assert sorted(p.name for p in binary.glob("*.list")) == [f"{t}.list" for t in sorted(tags)]


def test_o_latest_leaves_a_weekly_s_w_latest_alone(built: Path) -> None:
    server = built.parent / "server"
    done = dm_release(
        "tarball", "--config", built, "--tag", "w_2025_24", "--server-dir", server, "--json",
        cwd=built.parent, O_LATEST="false",
    )  # fmt: skip
    assert _json(done)["tags"] == ["w_2025_24", "w_latest"]


@pytest.mark.parametrize(
    ("git_tag", "eups_tag", "tags"),
    [("v1.0.0.rc1", "v1_0_0_rc1", ["v1_0_0_rc1"]), ("1.0.0", "v1_0_0", ["v1_0_0", "o_latest"])],
)
def test_release_git_tag_names_the_eups_tag_without_eups_tag(
    built: Path, git_tag: str, eups_tag: str, tags: list[str]
) -> None:
    server = built.parent / "server"
    done = dm_release(
        "tarball", "--config", built, "--server-dir", server, "--json", cwd=built.parent,
        RELEASE_GIT_TAG=git_tag,
    )  # fmt: skip
    document = _json(done)
    assert (document["tag"], document["tags"]) == (eups_tag, tags)
    assert (server / f"{eups_tag}.list").is_file()
    done = dm_release(  # EUPS_TAG, when given, wins
        "tarball", "--config", built, "--server-dir", server, "--json", cwd=built.parent,
        RELEASE_GIT_TAG=git_tag, EUPS_TAG="w_2025_24",
    )  # fmt: skip
    assert _json(done)["tag"] == "w_2025_24"


def test_a_release_git_tag_that_is_no_release_is_a_usage_error(built: Path) -> None:
    done = dm_release(
        "tarball", "--config", built, "--server-dir", built.parent / "server",
        cwd=built.parent, RELEASE_GIT_TAG="not-a-tag",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "dm-release: error: tarball: RELEASE_GIT_TAG 'not-a-tag': not a DM tag name: "
        "expected M.n.p, vM.n.p.rcN, w.YYYY.WW, d.YYYY.MM.DD or bN\n"
    )
    assert not (built.parent / "server").exists()


def test_a_release_of_excluded_products_only_says_so_and_writes_nothing(tmp_path: Path) -> None:
    """EXCLUDE_FROM_BUILDS takes products out of the release sessions, their plan and their
    publish too (the real official-release tags, builds and publishes the products without
    them), not only out of a rebuild: official-release's prepare, tag, build and publish."""
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    before = remote_refs(product)
    note = "every product asked is in EXCLUDE_FROM_BUILDS (meta): nothing to build\n"
    for argv in (
        ("release", "validate", "--session", "release_candidate", "v1.0.0.rc1", "--output",
         tmp_path / "release-plan.json"),
        ("release", "plan", "v1.0.0.rc1"),
        ("release", "candidate", "--no-build"),
        ("release", "candidate"),
        ("release", "final", "1.0.0"),
        ("release", "weekly", "w.2025.24"),
    ):  # fmt: skip
        done = dm_release(
            *argv, "--config", config, cwd=tmp_path, RELEASE_GIT_TAG="v1.0.0.rc1",
            SOURCE_GIT_REFS="w.2025.24", EXCLUDE_FROM_BUILDS="lsst_sitcom meta",
        )  # fmt: skip
        assert (done.returncode, done.stdout, done.stderr) == (0, "", f"release {argv[1]}: {note}")
    done = dm_release(
        "release", "candidate", "v1.0.0.rc1", "--refs", "main", "--json", "--config", config,
        cwd=tmp_path, EXCLUDE_FROM_BUILDS="meta", PRODUCTS="meta",
    )  # fmt: skip
    assert _json(done) == {
        "verb": "release candidate", "ok": True, "error": None, "diagnostics": [],
        "dry_run": False, "journal": None, "would": None, "excluded": ["meta"],
    }  # fmt: skip
    done = dm_release(
        "release", "validate", "v1.0.0.rc1", "--json", "--config", config, cwd=tmp_path,
        EXCLUDE_FROM_BUILDS="meta",
    )  # fmt: skip
    assert _json(done) == {
        "verb": "release validate", "ok": True, "error": None, "diagnostics": [],
        "format": "dm-release-plan/1", "checksum": None, "plan": None, "excluded": ["meta"],
    }  # fmt: skip
    done = dm_release(
        "publish", "--config", config, "--tag", "v1_0_0_rc1", "--server-dir",
        tmp_path / "server", cwd=tmp_path, EXCLUDE_FROM_BUILDS="meta",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == (
        "publish: every product asked is in EXCLUDE_FROM_BUILDS (meta): nothing to publish\n"
    )
    done = dm_release(
        "publish", "--config", config, "--server-dir", tmp_path / "server", "--json",
        cwd=tmp_path, EXCLUDE_FROM_BUILDS="meta", RELEASE_GIT_TAG="1.0.0",
    )  # fmt: skip
    assert _json(done) == {
        "verb": "publish", "ok": True, "error": None, "diagnostics": [],
        "tag": "v1_0_0", "tags": [], "excluded": ["meta"],
    }  # fmt: skip
    assert not (tmp_path / "server").exists() and not (tmp_path / "release-plan.json").exists()
    assert not (tmp_path / "work").exists() and not (tmp_path / "versiondb").exists()
    assert remote_refs(product) == before


def test_an_image_of_excluded_products_only_says_so_and_builds_nothing(built: Path) -> None:
    """EXCLUDE_FROM_TARBALLS: the tarball job left those products off the binary server, so
    build-stack's image does not install them; with nothing left it builds nothing, exit 0
    before any builder or registry is looked for."""
    done = dm_release(
        "docker", "--config", built, "--tag", "w_2025_24", cwd=built.parent,
        EXCLUDE_FROM_TARBALLS="meta", PATH="/nonexistent",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == (
        "docker: every product asked is in EXCLUDE_FROM_TARBALLS (meta): nothing to install\n"
    )
    done = dm_release(
        "docker", "--config", built, "--json", cwd=built.parent, RELEASE_GIT_TAG="1.0.0",
        EXCLUDE_FROM_TARBALLS="lsst_sitcom meta", PRODUCTS="meta", PATH="/nonexistent",
    )  # fmt: skip
    assert _json(done) == {
        "verb": "docker", "ok": True, "error": None, "diagnostics": [],
        "tag": "v1_0_0", "tags": [], "excluded": ["meta"],
    }  # fmt: skip
    assert not (built.parent / "results.json").exists()


def test_a_weekly_under_require_tag_without_its_tag_is_a_usage_error(tmp_path: Path) -> None:
    """weekly-release runs the session with --require-tag: started with RELEASE_GIT_TAG
    empty it stops before anything is fetched or tagged, instead of making this week's
    weekly that its tarball and build-stack jobs (given the empty tag) cannot follow."""
    product = make_product(tmp_path)
    config = write_config(tmp_path, product)
    before = remote_refs(product)
    for parameters in ({"RELEASE_GIT_TAG": ""}, {}):
        done = dm_release(
            "release", "weekly", "--require-tag", "--config", config, cwd=tmp_path, **parameters
        )
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (
            "dm-release: error: weekly --require-tag: give the tag, e.g. w.2025.24, or set "
            "RELEASE_GIT_TAG or GIT_TAG (read in order)\n"
        )
    assert not (tmp_path / "work").exists() and not (tmp_path / "versiondb").exists()
    assert remote_refs(product) == before


def test_o_latest_true_on_a_release_candidate_is_a_usage_error(built: Path) -> None:
    """The real official-release stops with O_LATEST true on a candidate: a candidate has no
    o_latest, so the job would succeed having moved nothing. Each step of the job refuses
    it before it writes: prepare (validate), the session, publish, tarball and docker."""
    root = built.parent
    steps = {
        "release validate": ("release", "validate", "--session", "release_candidate",
                             "--output", root / "release-plan.json"),
        "release candidate": ("release", "candidate", "--no-build"),
        "publish": ("publish", "--server-dir", root / "source"),
        "tarball": ("tarball", "--server-dir", root / "binary"),
        "docker": ("docker", "--no-push"),
    }  # fmt: skip
    for verb, argv in steps.items():
        done = dm_release(
            *argv, "--config", built, cwd=root, RELEASE_GIT_TAG="v1.0.0.rc1",
            SOURCE_GIT_REFS="main", O_LATEST="true", PATH="/nonexistent",
        )  # fmt: skip
        assert (done.returncode, done.stdout) == (2, ""), verb
        assert done.stderr == (
            f"dm-release: error: {verb}: O_LATEST is only allowed on a final release, not on "
            "the release candidate v1_0_0_rc1\n"
        ), verb
    for made in ("release-plan.json", "source", "binary", "results.json"):
        assert not (root / made).exists(), made
    done = dm_release(  # false, or the setting's default: the candidate runs
        "tarball", "--config", built, "--server-dir", root / "binary", "--json", cwd=root,
        RELEASE_GIT_TAG="v1.0.0.rc1", O_LATEST="false",
    )  # fmt: skip
    assert _json(done)["tags"] == ["v1_0_0_rc1"]
