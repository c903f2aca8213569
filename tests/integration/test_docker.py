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
from image_fixtures import RunningRegistry, tiny_context
from test_tarball import TAG, built_product, tarball

from dmrelease.adapters.base_image import KEY_LABEL
from dmrelease.adapters.image_builder import Builder
from dmrelease.core.config_layers import build_options
from dmrelease.core.images import IDENTITY_LABEL, LABEL_PREFIX
from dmrelease.stages.docker import registry_of

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
    assert done.stdout, done.stderr
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
    # the base is known by the key of its inputs, whichever builder made it
    assert labels[LABEL_PREFIX + "base"] == builder.labels(base_image)[KEY_LABEL]
    assert labels[LABEL_PREFIX + "platform"] == "linux/amd64"
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
    # the tags that hold the image (not a dated tag of this run's clock) and its platform
    assert (again["tags"], again["platforms"]) == (doc["tags"], doc["platforms"])
    # results that cannot be written: exit 2 naming the file, no traceback
    where = config / "results.json"  # under a file
    code, failed, err = docker(config, registry, base_image, "lsst/scipipe", "--tag", TAG,
                               "--results", str(where))  # fmt: skip
    assert (code, failed["error"]) == (2, f"{where}: cannot write: File exists"), err
    assert "Traceback" not in err


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
    # results of another build (the tag list rebuilt between the agents) are not joined
    other_build = {**doc["labels"], LABEL_PREFIX + "build": "b2"}
    arm64.write_text(json.dumps({**doc, "platforms": [played], "labels": other_build}))
    code, refused, err = docker(config, registry, base_image, "joined/scipipe", "--join",
                                str(amd64), str(arm64))  # fmt: skip
    assert code == 1, err
    assert [d["message"] for d in refused["diagnostics"]] == [
        f"{registry.host}/joined/scipipe:al9-w_2025_24 of linux/arm64 is not made of what the "
        "first results' is: org.lsst.dm-release.build b2, not b1"
    ]
    assert tags_of(registry, "joined/scipipe") == {
        "al9-w_2025_24_amd64": member["digest"], "al9-w_2025_24_arm64": stand_in,
    }  # fmt: skip
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
    # one platform more is not the image under the immutable tag: refused, nothing moved
    ppc64le = tmp_path / "ppc64le.json"
    third = {"platform": "linux/ppc64le", "digest": stand_in, "tag": "al9-w_2025_24_ppc64le"}
    ppc64le.write_text(json.dumps({**doc, "platforms": [third]}))
    before = tags_of(registry, "joined/scipipe")
    code, refused, err = docker(config, registry, base_image, "joined/scipipe", "--join",
                                str(amd64), str(arm64), str(ppc64le))  # fmt: skip
    assert code == 1, err
    assert [d["message"] for d in refused["diagnostics"]] == [
        f"the registry holds {listed} under al9-w_2025_24 for linux/amd64, linux/arm64, this "
        "run is for linux/amd64, linux/arm64, linux/ppc64le; an immutable tag is never moved"
    ]
    assert tags_of(registry, "joined/scipipe") == before
    # a single-platform run of the same tag is refused likewise
    code, refused, err = docker(config, registry, base_image, "joined/scipipe", "--tag", TAG,
                                "--platform", "linux/amd64", "--dry-run")  # fmt: skip
    assert code == 1, err
    assert [d["message"] for d in refused["diagnostics"]] == [
        f"the registry holds {listed} under al9-w_2025_24 for linux/amd64, linux/arm64, this "
        "run is for linux/amd64; an immutable tag is never moved"
    ]
    # a results file that is not there: exit 2 naming it, no traceback
    missing = tmp_path / "missing.json"
    code, failed, err = docker(config, registry, base_image, "joined/scipipe", "--join",
                               str(missing))  # fmt: skip
    assert (code, failed["error"]) == (2, f"{missing}: cannot read: No such file or directory")
    assert "Traceback" not in err


#: dm-release docker whose builder plays a second run of the same tag: just before this
#: run's first push, the other run's image (RACE_WITH) lands under the base tag (RACE_TAG)
RACED = """
import os
import dmrelease.adapters.image_builder as image_builder
from dmrelease.cli import main

found = image_builder.find_builder


def find_builder(choice="auto"):
    builder = found(choice)
    push = builder.push

    def raced(image, destination, **options):
        other = destination.rsplit(":", 1)[0] + ":" + os.environ["RACE_TAG"]
        push(os.environ["RACE_WITH"], other, **options)
        return push(image, destination, **options)

    builder.push = raced
    return builder


image_builder.find_builder = find_builder
raise SystemExit(main())
"""


def test_a_base_tag_put_by_another_run_meanwhile_is_not_overwritten_exit_1(
    product: tuple[Path, dict[str, str]], registry: RunningRegistry, base_image: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    config, _ = product
    monkeypatch.setenv("RACE_WITH", base_image)
    monkeypatch.setenv("RACE_TAG", "al9-w_2025_24")
    code, doc, err = docker(config, registry, base_image, "raced/scipipe", "--tag", TAG,
                            command=(sys.executable, "-c", RACED, "docker"))  # fmt: skip
    assert code == 1, err
    there = tags_of(registry, "raced/scipipe")
    (problem,) = doc["diagnostics"]
    assert (problem["file"], problem["rule"]) == (
        f"{registry.host}/raced/scipipe:al9-w_2025_24", "image-immutable",
    )  # fmt: skip
    assert problem["message"].startswith(
        f"the registry holds {there['al9-w_2025_24']} under al9-w_2025_24, made of other "
        "content (identity none, this run's sha256:"
    )
    # the other run's image stays under the base tag; this run's is under its dated tag
    assert IDENTITY_LABEL not in registry.client().labels("raced/scipipe", "al9-w_2025_24")
    (dated,) = [tag for tag in there if DATED.fullmatch(tag)]
    assert there[dated] != there["al9-w_2025_24"]
    assert f"raced/scipipe:al9-w_2025_24 -> {there[dated]}" not in err


def test_a_base_image_is_known_by_its_content_not_its_labels(
    tmp_path: Path, product: tuple[Path, dict[str, str]], registry: RunningRegistry,
    builder: Builder,
) -> None:  # fmt: skip
    """Two bases dm-release did not make, with the same labels and other files."""
    config, _ = product
    keys = []
    for text in ("one\n", "two\n"):
        image = f"localhost/f4-base:{text.strip()}"
        builder.build(tiny_context(tmp_path / text.strip(), text), image=image,
                      platform="linux/amd64", build_args={}, labels={"same": "x"},
                      timestamp=0, log=sys.stderr)  # fmt: skip
        code, doc, err = docker(config, registry, image, "bases/scipipe", "--tag", TAG,
                                "--dry-run")  # fmt: skip
        builder.remove(image)
        assert code == 0, err
        keys.append(doc["labels"][LABEL_PREFIX + "base"])
    assert keys[0] != keys[1]
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", key) for key in keys), keys


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


def _dry_run(tmp_path: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n\n[docker]\nbase_image = "b"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM_RELEASE_")}
    env.pop("DOCKER_TAGS", None)
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", "docker", "--config", str(config), "--tag", TAG,
         "--no-push", "--dry-run", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "name"), [("w_2025_23", "al9-w_2025_23"), ("al9-v29_1_0", "al9-v29_1_0")]
)
def test_docker_tags_naming_another_release_s_immutable_tag_are_refused_exit_2(
    tmp_path: Path, extra: str, name: str
) -> None:
    done = _dry_run(tmp_path, "--docker-tags", extra)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"dm-release: error: {extra!r} cannot be a floating tag: {name} is the name of a "
        "release's immutable tag (al9-<EUPS tag>, its dated tag or one platform's), which is "
        "never moved\n"
    )


def test_a_binary_server_that_needs_a_token_is_refused_before_anything_exit_2(
    tmp_path: Path,
) -> None:
    done = _dry_run(tmp_path, DM_RELEASE_BINARY_SERVER="http://127.0.0.1:9/",
                    DM_RELEASE_BINARY_TOKEN="t0ken-s3cret")  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "dm-release: error: the binary server needs DM_RELEASE_BINARY_TOKEN, which the image "
        "build cannot give eups distrib install (a build argument is kept in the image's "
        "history): build from a server that needs no token, or from a directory "
        "(paths.binary_server)\n"
    )


def test_the_tag_list_comes_through_the_binary_fetch_missing_unreachable_or_too_big(
    tmp_path: Path, serve_tree: Callable[..., Any]
) -> None:
    """servers.binary's tag list is fetched as the binary fetch fetches: a missing list is
    the release's problem (exit 1, image-tag-list), no answer the environment's (exit 2),
    and the download limit holds (a list over servers.download_max_bytes is refused)."""
    server = tmp_path / "served"
    server.mkdir()
    served = serve_tree(server)
    done = _dry_run(tmp_path, DM_RELEASE_BINARY_SERVER=served.url)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"{served.url}/{TAG}.list:1: image-tag-list: the binary server has no tag list {TAG}.list\n"
    )
    done = _dry_run(tmp_path, DM_RELEASE_BINARY_SERVER="http://127.0.0.1:9/")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"dm-release: error: http://127.0.0.1:9/{TAG}.list: the binary server cannot be reached\n"
    )
    (server / f"{TAG}.list").write_text("EUPS distribution w_2025_24 version list.\n" * 8)
    done = _dry_run(
        tmp_path, DM_RELEASE_BINARY_SERVER=served.url, DM_RELEASE_DOWNLOAD_MAX_BYTES="100"
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"dm-release: error: the image of {TAG}: {TAG}.list announces 336 bytes, over the "
        "download limit of 100 bytes (servers.download_max_bytes, "
        "DM_RELEASE_DOWNLOAD_MAX_BYTES)\n"
    )


@pytest.mark.parametrize(
    ("registry", "verify"),
    [("http://127.0.0.1:5000", False), ("127.0.0.1:5000", True), ("https://r.example", True)],
)
def test_an_http_registry_is_plain_http_for_the_builder_too(registry: str, verify: bool) -> None:
    """Else buildah would push with TLS verified and fail only after the build."""
    environ = {"DM_RELEASE_DOCKER_REGISTRY": registry, "DM_RELEASE_DOCKER_TLS_VERIFY": "true"}
    assert registry_of(build_options(environ=environ).config).tls_verify is verify


def test_the_floating_tags_move_to_the_next_release_s_image_the_immutable_ones_stay(
    tmp_path: Path, product: tuple[Path, dict[str, str]], registry: RunningRegistry,
    base_image: str,
) -> None:  # fmt: skip
    config, _ = product
    code, first, err = docker(config, registry, base_image, "moving/scipipe", "--tag", TAG)
    assert code == 0, err
    # the next weekly: the same packages listed under w_2025_25
    nxt = tmp_path / "next"
    shutil.copytree(config.parent / "server", nxt / "server")
    (nxt / "dm-release.toml").write_text(config.read_text())
    for path in sorted((nxt / "server").rglob(f"{TAG}.*")):  # its tag list and environment
        renamed = path.with_name(path.name.replace(TAG, "w_2025_25"))
        renamed.write_text(path.read_text().replace(TAG, "w_2025_25"))
        index = path.parent / "index.json"  # the directory's listing, as the server has it
        index.write_text(json.dumps(sorted([*json.loads(index.read_text()), renamed.name])))
    code, second, err = docker(nxt / "dm-release.toml", registry, base_image, "moving/scipipe",
                               "--tag", "w_2025_25")  # fmt: skip
    assert code == 0, err
    assert second["digest"] != first["digest"]
    there = tags_of(registry, "moving/scipipe")
    assert there == {
        **dict.fromkeys(first["tags"][:2], first["digest"]),
        **dict.fromkeys(second["tags"], second["digest"]),
    }
    assert (there["w_latest"], there["al9-w_latest"]) == (second["digest"], second["digest"])
    assert f"docker: {registry.host}/moving/scipipe:w_latest -> {second['digest']}\n" in err
