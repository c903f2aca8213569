"""The demo's image section: with a builder and the EUPS source the final 29.1.1 (EUPS tag
v29_1_1, build b4) is built by dm-release docker on a base image made from that EUPS, pushed
to the docker-registry the demo starts on 127.0.0.1 and pulled back with its stack at b4's
versions; without docker-registry it is built and not pushed; without a builder or an EUPS
source the demo says in one line what it skipped and why, and exits 0 (the README command
on a machine that has neither)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from image_fixtures import require_tools
from release_helpers import JENKINS_VARIABLES
from vendor import EUPS_TARBALL, vendor_dir

from dmrelease.adapters.image_builder import Builder
from dmrelease.adapters.registry import Registry
from dmrelease.core.images import platform_tag
from dmrelease.core.manifest import parse_manifest
from dmrelease.demo.image import (
    NO_BUILDER,
    NO_EUPS_SOURCE,
    REGISTRY_PROGRAM,
    ImageChoice,
    choose,
    local_registry,
)
from dmrelease.demo.rebuild import run_demo
from dmrelease.demo.tour import Verbosity
from dmrelease.stages.docker import this_platform

SOURCE = Path("eups-2.2.15.tar.gz")
#: the image's tags: the section's pinned time (2025-07-14 00:48:40 UTC) in the dated one
TAGS = ["demo-v29_1_1", "demo-v29_1_1-20250714T004840Z", "o_latest", "demo-o_latest"]
REPO = "demo/demo_distrib"


def _row(cell: str) -> str:
    """The summary table's line of the image step."""
    return f"  image                   v29_1_1       b4     -      -       -        {cell}"


@pytest.mark.parametrize(
    ("builder", "source", "registry", "skipped", "push", "cell"),
    [
        (None, SOURCE, "/usr/bin/docker-registry", NO_BUILDER, False, "skipped: no builder"),
        (None, None, None, NO_BUILDER, False, "skipped: no builder"),
        ("buildah 1.28.2", None, "/usr/bin/docker-registry", NO_EUPS_SOURCE, False,
         "skipped: no EUPS source"),
        ("buildah 1.28.2", SOURCE, None, None, False, "built, not pushed"),
        ("buildah 1.28.2", SOURCE, "/usr/bin/docker-registry", None, True, "4 tags pushed"),
    ],
)  # fmt: skip
def test_what_the_machine_has_decides_the_image_step(
    builder: str | None, source: Path | None, registry: str | None, skipped: str | None,
    push: bool, cell: str,
) -> None:  # fmt: skip
    choice = ImageChoice(builder, source, registry)
    assert (choice.skipped, choice.push, choice.cell(4)) == (skipped, push, cell)


def test_choose_asks_the_builder_and_path_for_the_registry() -> None:
    found = choose(SOURCE, builder=lambda: "docker 27.1", which={"docker-registry": "/r"}.get)
    assert found == ImageChoice("docker 27.1", SOURCE, "/r")
    assert choose(None, builder=lambda: None, which=lambda _: None) == ImageChoice(None, None, None)


def _path_without(folder: Path, *names: str) -> str:
    """A PATH of one folder holding a link to every program of ours but ``names``."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        for program in Path(directory).glob("*") if Path(directory).is_dir() else ():
            link = folder / program.name
            if program.name not in names and not link.exists() and os.access(program, os.X_OK):
                link.symlink_to(program.resolve())
    return str(folder)


def test_without_a_builder_the_demo_says_it_skipped_the_image_and_exits_0(
    tmp_path: Path,
) -> None:
    """No buildah and no docker on PATH, an EUPS source given: one line says what and why,
    the summary row too, and the rest of the demo runs as always."""
    source = tmp_path / EUPS_TARBALL
    source.write_bytes(b"not needed: the builder is missing first\n")
    env = {
        **{k: v for k, v in os.environ.items() if k not in JENKINS_VARIABLES},
        "PATH": _path_without(tmp_path / "bin", "buildah", "docker", "podman"),
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "demo", "--eups-source", str(source)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    said = [line for line in lines if line.startswith("  skipped ")]
    assert said == [f"  skipped the image of v29_1_1: {NO_BUILDER}"]
    assert _row("skipped: no builder") in lines
    assert lines.index("== 15. The distribution image of v29_1_1") < lines.index(said[0])
    assert "== 16. A fresh stack from the binary server" in lines


# -- with a builder: the image is built ----------------------------------------------------


@pytest.fixture(scope="module")
def eups_source(builder: Builder, base_image: str) -> Path:
    """The vendored EUPS tarball (base_image made the base image from it, so the demo's
    make_base_image finds it in local storage)."""
    folder = vendor_dir()
    assert folder is not None  # base_image skipped (or failed in CI) otherwise
    return folder / EUPS_TARBALL


def _run(root: Path, source: Path, path: str | None = None) -> str:
    with pytest.MonkeyPatch.context() as patch:
        for name in JENKINS_VARIABLES:
            patch.delenv(name, raising=False)
        if path is not None:
            patch.setenv("PATH", path)
        out = io.StringIO()
        run_demo(root, out, io.StringIO(), Verbosity.NORMAL, kept=True, eups_source=source)
    return out.getvalue()


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory, eups_source: Path) -> tuple[Path, str]:
    require_tools(REGISTRY_PROGRAM)
    root = tmp_path_factory.mktemp("demo")
    return root, _run(root, eups_source)


@pytest.fixture
def demo_registry(pushed: tuple[Path, str]) -> Iterator[str]:
    """The demo's registry again, on its data (the demo stopped it at its end)."""
    with local_registry(REGISTRY_PROGRAM, pushed[0] / "registry") as host:
        yield host


def _versions(root: Path, build: str) -> dict[str, str]:
    text = (root / "versiondb" / "manifests" / f"{build}.txt").read_text()
    return {e.name: e.version for e in parse_manifest(text).entries}


def test_the_demo_pushes_the_final_s_image_and_results_json_names_its_digest(
    pushed: tuple[Path, str], demo_registry: str, builder: Builder, base_image: str
) -> None:
    root, out = pushed
    results = json.loads((root / "work" / "docker" / "results.json").read_text())
    done = (results["outcome"], results["pushed"], results["eups_tag"])
    assert done == ("pushed", True, "v29_1_1")
    assert results["tags"] == TAGS
    digest = results["digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert [p["digest"] for p in results["platforms"]] == [digest]
    assert results["labels"]["org.lsst.dm-release.build"] == "b4"
    registry = Registry(demo_registry, None, tls_verify=False)
    assert registry.tags(REPO) == sorted(TAGS)
    assert {tag: registry.digest(REPO, tag) for tag in TAGS} == dict.fromkeys(TAGS, digest)
    lines = out.splitlines()
    assert f"  builder: {builder.name}; base image {base_image} (EUPS from {EUPS_TARBALL})" in lines
    started = r"^  registry: docker-registry on 127\.0\.0\.1:[0-9]+ \(its data in registry/\)$"
    assert re.search(started, out, re.M)
    shown = [line for line in lines if line.endswith(f"/{REPO}: {', '.join(TAGS)}")]
    assert len(shown) == 1 and lines[lines.index(shown[0]) + 1] == f"    {digest}"
    assert _row("4 tags pushed") in lines
    assert not [line for line in lines if line.startswith("  skipped ")]


def test_the_pushed_image_holds_the_final_s_stack_at_its_versions(
    pushed: tuple[Path, str], demo_registry: str, pull_image_tree: Callable[..., Path]
) -> None:
    root, _ = pushed
    tree = pull_image_tree(f"{demo_registry}/{REPO}:demo-v29_1_1")
    stack = tree / "opt" / "lsst" / "software" / "stack" / "stack" / "Linux64"
    wanted = _versions(root, "b4")
    assert len(wanted) == 14
    found = {p.name: sorted(v.name for v in p.iterdir()) for p in stack.iterdir() if p.is_dir()}
    assert found == {name: [version] for name, version in wanted.items()}
    for name, version in wanted.items():  # what the demo's build command installed
        assert (stack / name / version / "lib" / f"{name}.txt").read_text() == f"{name} {version}\n"


@pytest.fixture
def local_image(builder: Builder) -> Iterator[str]:
    """The name --no-push leaves the demo's image under in the builder's storage (its
    result), removed afterwards so that each run of the test does not leave one more."""
    image = f"localhost/dm-release/{REPO}:{platform_tag(TAGS[0], this_platform())}"
    yield image
    builder.remove(image)


def test_without_docker_registry_the_image_is_built_and_not_pushed(
    tmp_path: Path, eups_source: Path, builder: Builder, local_image: str
) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    out = _run(root, eups_source, _path_without(tmp_path / "bin", REGISTRY_PROGRAM))
    assert builder.has_image(local_image)  # the result of a build that pushes nothing
    lines = out.splitlines()
    why = f"{REGISTRY_PROGRAM} is not installed, so nothing is pushed"
    assert f"  not pushed: {why} (apt-get install docker-registry)" in lines
    results = json.loads((root / "work" / "docker" / "results.json").read_text())
    assert (results["outcome"], results["pushed"], results["tags"]) == ("built", False, TAGS)
    assert results["digest"] is None
    assert _row("built, not pushed") in lines
    assert not (root / "registry").exists()
