"""``dm-release docker``: the distribution image of a real product, for real.

A product rebuilt into a stack and packed onto a binary server directory by ``dm-release
tarball``; the image built FROM a base image made locally (Debian + the real EUPS) by buildah,
``eups distrib install`` reading that directory served on 127.0.0.1, pushed to a real
docker-registry with htpasswd auth, pulled back with skopeo and looked into: the product's
stack at the tag's versions. A second run with the same content builds and pushes nothing;
other content under the same immutable tag is refused before anything is built."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from image_fixtures import RunningRegistry
from test_tarball import TAG, built_product, tarball

from dmrelease.adapters.image_builder import Builder
from dmrelease.core.images import IDENTITY_LABEL, LABEL_PREFIX

ROOT = Path(__file__).resolve().parents[2]
HOME = "opt/lsst/software/stack"
LOCAL = "localhost/dm-release"  # where the builder keeps what it built
DATED = re.compile(r"al9-w_2025_24-\d{8}T\d{6}Z\Z")


def _served(root: Path) -> tuple[Path, dict[str, str]]:
    config, versions = built_product(root)
    code, _, err = tarball(config, root / "server")
    assert code == 0, err
    return config, versions


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo-like product's configuration and its versions at TAG, its tarballs on the
    binary server directory ``server`` beside the configuration."""
    return _served(tmp_path_factory.mktemp("docker-product"))


def docker(
    config: Path, registry: RunningRegistry, base: str, repository: str, *args: str,
    command: tuple[str, ...] = (sys.executable, "-m", "dmrelease", "docker"),
    without: tuple[str, ...] = (),
) -> tuple[int, Any, str]:  # fmt: skip
    """``dm-release docker ARGS --json`` as Jenkins runs it: the settings in the
    environment, the registry's account in DM_RELEASE_REGISTRY_USER/PASSWORD."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM_RELEASE_")}
    for name in ("EUPS_TAG", "MANIFEST_ID", "PRODUCTS", "NO_PUSH", "DOCKER_TAGS", "O_LATEST"):
        env.pop(name, None)
    env.update({
        "DM_RELEASE_PROGRESS": "off", "DM_RELEASE_BINARY_SERVER_DIR": "server",
        "DM_RELEASE_DOCKER_REGISTRY": registry.host, "DM_RELEASE_DOCKER_TLS_VERIFY": "false",
        "DM_RELEASE_DOCKER_BASE_IMAGE": base, "DM_RELEASE_DOCKER_REPOSITORY": repository,
        "DM_RELEASE_REGISTRY_USER": registry.username,
        "DM_RELEASE_REGISTRY_PASSWORD": registry.password,
    })  # fmt: skip
    for name in without:
        del env[name]
    done = subprocess.run(
        [*command, "--config", str(config), "--json", *args],
        cwd=config.parent, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert registry.password not in done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def tags_of(registry: RunningRegistry, repository: str) -> dict[str, str | None]:
    client = registry.client()
    return {tag: client.digest(repository, tag) for tag in client.tags(repository)}


def test_the_image_is_pushed_pulled_back_holds_the_stack_and_a_rerun_is_a_no_op(
    product: tuple[Path, dict[str, str]], registry: RunningRegistry, base_image: str,
    builder: Builder, pull_image_tree: Callable[..., Path],
) -> None:  # fmt: skip
    config, versions = product
    # as the Jenkins stage runs it: scripts/build-stack (what nox -s build_stack calls)
    code, doc, err = docker(
        config,
        registry,
        base_image,
        "lsst/scipipe",
        "--tag",
        TAG,
        command=(sys.executable, str(ROOT / "scripts" / "build-stack")),
    )
    assert code == 0, err
    digest = doc["digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    base, dated, *floating = doc["tags"]
    assert (base, floating) == ("al9-w_2025_24", ["w_latest", "al9-w_latest"])
    assert DATED.fullmatch(dated), dated
    assert (doc["verb"], doc["ok"], doc["image"], doc["eups_tag"]) == (
        "docker", True, f"{registry.host}/lsst/scipipe", TAG,
    )  # fmt: skip
    assert (doc["outcome"], doc["pushed"], doc["list_digest"]) == ("pushed", True, None)
    assert doc["platforms"] == [{"platform": "linux/amd64", "digest": digest, "tag": dated}]
    written = json.loads((config.parent / "work" / "results.json").read_text())
    assert written == {k: v for k, v in doc.items() if k not in ("verb", "ok", "diagnostics",
                                                                 "error")}  # fmt: skip
    # every tag is the one image, under one digest
    assert tags_of(registry, "lsst/scipipe") == dict.fromkeys(doc["tags"], digest)
    labels = registry.client().labels("lsst/scipipe", base)
    assert labels[IDENTITY_LABEL] == doc["identity"]
    assert labels[LABEL_PREFIX + "eups-tag"] == TAG
    assert labels[LABEL_PREFIX + "build"] == "b1"
    assert labels[LABEL_PREFIX + "products"] == "meta"
    assert labels[LABEL_PREFIX + "base-image"] == base_image
    assert err.count("docker: [1/1] building ") == 1
    assert not builder.has_image(f"{LOCAL}/lsst/scipipe:al9-w_2025_24_amd64")  # pushed: dropped
    # pulled back: the stack holds every package of the tag list at its version, tagged
    tree = pull_image_tree(f"{registry.host}/lsst/scipipe:{base}")
    stack = tree / HOME / "stack"
    installed = sorted(p.name for p in (stack / "Linux64").iterdir())
    assert installed == sorted(versions)
    for name, version in versions.items():
        assert (stack / "Linux64" / name / version / "lib" / f"{name}.txt").read_text() == (
            f"{name} {version}\n"
        )
        assert [p.name for p in (stack / "ups_db" / name).glob("*.version")] == [
            f"{version}.version"
        ]
        chain = (stack / "ups_db" / name / f"{TAG}.chain").read_text()
        assert f"VERSION = {version}\n" in chain, chain
    assert not (stack / "EupsBuildDir").exists()

    # the same content again: nothing built, nothing pushed, the digest that is there
    code, again, err = docker(config, registry, base_image, "lsst/scipipe", "--tag", TAG)
    assert code == 0, err
    assert (again["outcome"], again["pushed"], again["digest"]) == ("unchanged", False, digest)
    assert again["identity"] == doc["identity"]
    assert "building" not in err and "pushing" not in err
    assert f"al9-w_2025_24 is there with the same content ({digest}): nothing to do" in err
    assert tags_of(registry, "lsst/scipipe") == dict.fromkeys(doc["tags"], digest)


def test_other_content_under_an_immutable_tag_is_refused_before_anything_is_built(
    tmp_path: Path, product: tuple[Path, dict[str, str]], registry: RunningRegistry,
    base_image: str,
) -> None:  # fmt: skip
    config, _ = product
    code, first, err = docker(config, registry, base_image, "conflict/scipipe", "--tag", TAG)
    assert code == 0, err
    before = tags_of(registry, "conflict/scipipe")
    # the same EUPS tag, another tag list (a product more): other content
    other = tmp_path / "other"
    shutil.copytree(config.parent / "server", other / "server")
    (other / "dm-release.toml").write_text(config.read_text())
    tag_list = other / "server" / f"{TAG}.list"
    tag_list.write_text(tag_list.read_text() + f"{'extra':<20} {'generic':<10} 1.0\n")
    code, doc, err = docker(other / "dm-release.toml", registry, base_image, "conflict/scipipe",
                            "--tag", TAG, "--products", "meta")  # fmt: skip
    assert code == 1, err
    assert doc["ok"] is False
    (problem,) = doc["diagnostics"]
    assert problem["file"] == f"{registry.host}/conflict/scipipe:al9-w_2025_24"
    assert problem["rule"] == "image-immutable"
    assert problem["message"].startswith(
        f"the registry holds {first['digest']} under al9-w_2025_24, made of other content "
        f"(identity {first['identity']}, this run's sha256:"
    )
    assert problem["message"].endswith("); an immutable tag is never moved")
    assert "building" not in err
    assert tags_of(registry, "conflict/scipipe") == before
    assert not (other / "work" / "results.json").exists()


def test_no_push_builds_only_and_dry_run_builds_nothing(
    product: tuple[Path, dict[str, str]], registry: RunningRegistry, base_image: str,
    builder: Builder, tmp_path: Path,
) -> None:  # fmt: skip
    config, _ = product
    out = tmp_path / "planned.json"
    code, doc, err = docker(config, registry, base_image, "dry/scipipe", "--tag", TAG,
                            "--dry-run", "--results", str(out))  # fmt: skip
    assert code == 0, err
    assert (doc["outcome"], doc["pushed"], doc["digest"], doc["platforms"]) == (
        "planned", False, None, [],
    )  # fmt: skip
    assert f"docker {registry.host}/dry/scipipe: 4 tags to push: al9-w_2025_24-" in err
    assert "building" not in err and not out.exists()
    assert tags_of(registry, "dry/scipipe") == {}
    out = tmp_path / "built.json"
    code, doc, err = docker(config, registry, base_image, "dry/scipipe", "--tag", TAG,
                            "--no-push", "--results", str(out))  # fmt: skip
    assert code == 0, err
    assert (doc["outcome"], doc["pushed"], doc["digest"], doc["image"]) == (
        "built", False, None, "dry/scipipe",
    )  # fmt: skip
    (built,) = doc["platforms"]
    assert built["platform"] == "linux/amd64" and built["tag"] is None
    assert json.loads(out.read_text())["platforms"] == doc["platforms"]
    assert err.count("docker: [1/1] building ") == 1 and "pushing" not in err
    assert tags_of(registry, "dry/scipipe") == {}
    local = f"{LOCAL}/dry/scipipe:al9-w_2025_24_amd64"  # the image built, kept locally
    assert builder.labels(local)[IDENTITY_LABEL] == doc["identity"]
    builder.remove(local)


def test_per_platform_images_are_joined_in_one_manifest_list(
    product: tuple[Path, dict[str, str]], registry: RunningRegistry, base_image: str,
    builder: Builder, tmp_path: Path, pull_image_tree: Callable[..., Path],
) -> None:  # fmt: skip
    config, versions = product
    amd64 = tmp_path / "amd64.json"
    code, doc, err = docker(config, registry, base_image, "joined/scipipe", "--tag", TAG,
                            "--platform", "linux/amd64", "--per-platform",
                            "--results", str(amd64))  # fmt: skip
    assert code == 0, err
    (member,) = doc["platforms"]
    assert (doc["outcome"], member["tag"]) == ("per-platform", "al9-w_2025_24_amd64")
    assert tags_of(registry, "joined/scipipe") == {"al9-w_2025_24_amd64": member["digest"]}
    # this machine builds amd64 only: the arm64 agent's image is played by another real
    # image (the base), pushed as that agent pushes, and its results name it
    stand_in = builder.push(base_image, f"{registry.host}/joined/scipipe:al9-w_2025_24_arm64",
                            credentials=registry.credentials, tls_verify=False)  # fmt: skip
    arm64 = tmp_path / "arm64.json"
    played = {"platform": "linux/arm64", "digest": stand_in, "tag": "al9-w_2025_24_arm64"}
    arm64.write_text(json.dumps({**doc, "platforms": [played]}))
    code, joined, err = docker(config, registry, base_image, "joined/scipipe", "--join",
                               str(amd64), str(arm64))  # fmt: skip
    assert code == 0, err
    listed = joined["list_digest"]
    assert (joined["outcome"], joined["digest"]) == ("pushed", listed)
    assert [p["platform"] for p in joined["platforms"]] == ["linux/amd64", "linux/arm64"]
    client = registry.client()
    media_type, body = client.manifest("joined/scipipe", "al9-w_2025_24")
    assert media_type in ("application/vnd.docker.distribution.manifest.list.v2+json",
                          "application/vnd.oci.image.index.v1+json")  # fmt: skip
    members = json.loads(body)["manifests"]
    assert [(m["digest"], m["platform"]["architecture"]) for m in members] == [
        (member["digest"], "amd64"), (stand_in, "arm64"),
    ]  # fmt: skip
    assert {tag: client.digest("joined/scipipe", tag) for tag in joined["tags"]} == dict.fromkeys(
        joined["tags"], listed
    )
    tree = pull_image_tree(f"{registry.host}/joined/scipipe:al9-w_2025_24", "linux/amd64")
    assert sorted(p.name for p in (tree / HOME / "stack" / "Linux64").iterdir()) == sorted(versions)
    # joined again: the list is there with the same content
    code, again, err = docker(config, registry, base_image, "joined/scipipe", "--join",
                              str(amd64), str(arm64))  # fmt: skip
    assert code == 0, err
    assert (again["outcome"], again["digest"]) == ("unchanged", listed)


def test_without_the_registry_password_the_run_stops_before_building_exit_2(
    product: tuple[Path, dict[str, str]], registry: RunningRegistry, base_image: str
) -> None:
    config, _ = product
    code, doc, err = docker(config, registry, base_image, "nocreds/scipipe", "--tag", TAG,
                            without=("DM_RELEASE_REGISTRY_PASSWORD",))  # fmt: skip
    assert code == 2, err
    assert doc["ok"] is False and doc["diagnostics"] == []
    assert doc["error"] == (
        f"{registry.url}/v2/nocreds/scipipe/manifests/al9-w_2025_24: the registry asks for "
        "credentials and none were given (DM_RELEASE_REGISTRY_USER, DM_RELEASE_REGISTRY_PASSWORD)"
    )
    assert "building" not in err


def test_a_tag_list_without_the_products_or_of_another_build_is_refused_exit_1(
    tmp_path: Path,
) -> None:
    """Read before any builder or registry is asked (a plan that pushes nothing needs none)."""
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n\n[docker]\nbase_image = "b"\n')
    (tmp_path / "server").mkdir()
    tag_list = tmp_path / "server" / f"{TAG}.list"
    tag_list.write_text(f"EUPS distribution {TAG} version list. Version 1.0\n#BUILD=b3\n"
                        f"{'other':<20} {'generic':<10} 1.0\n")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM_RELEASE_")}
    env.update({"DM_RELEASE_BINARY_SERVER_DIR": "server", "MANIFEST_ID": "b2"})
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "docker", "--config", str(config), "--tag", TAG,
         "--no-push", "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    where = f"server/{TAG}.list"  # as the setting names it
    assert done.stderr == (
        f"{where}:1: image-product: base is not in the tag list of {TAG}\n"
        f"{where}:1: image-build: the tag list of {TAG} is build b3, not b2 (MANIFEST_ID)\n"
    )
    tag_list.write_text(tag_list.read_text().replace("other", "base "))
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "docker", "--config", str(config), "--tag", TAG,
         "--no-push", "--dry-run", "--build", "b3", "--also-tag"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"docker lsst/scipipe: dry run: would build linux/(amd64|arm64), push nothing \(its "
        r"tags: al9-w_2025_24, al9-w_2025_24-\d{8}T\d{6}Z\)\n", done.stderr,
    ), done.stderr  # fmt: skip
    assert not (tmp_path / "work").exists()
