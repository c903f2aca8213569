"""The ``[docker]`` settings are checked where they are given (file:line, or the variable):
each reaches a Dockerfile, a registry URL or the builder's arguments. A registry with
credentials is refused without repeating it; a registry password in the file is sent to
its variable."""

from __future__ import annotations

import pytest

from dmrelease.core.config_layers import build_options
from dmrelease.core.errors import CheckFailed

IMAGE = (
    "not an image reference: [HOST[:PORT]/]REPOSITORY[:TAG][@DIGEST], no spaces, "
    "not starting with '-'"
)


def messages(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(CheckFailed) as failed:
        build_options(text=text, environ=environ)
    return [str(d) for d in failed.value.diagnostics]


def test_bad_docker_values_are_refused_at_their_line() -> None:
    text = (
        '[docker]\nregistry = "u:p4ss@reg.example:5000"\nrepository = "Bad Repo"\n'
        'builder = "podman"\nplatforms = ["linux"]\ntag_prefix = "a b"\nbase_image = "-x"\n'
        'password = "p4ss"\ntoken = "t0k"\n'
    )
    got = messages(text)
    assert got == [
        "dm-release.toml:2: config-value: docker.registry: the value is a registry with "
        "credentials: set docker.user and DM_RELEASE_REGISTRY_PASSWORD instead",
        "dm-release.toml:3: config-value: docker.repository: 'Bad Repo' is not a repository: "
        "lower-case path parts of letters and digits joined by '.', '_', '__' or '-', "
        "separated by '/' (lsst/scipipe)",
        "dm-release.toml:4: config-value: docker.builder: 'podman' is not one of auto, "
        "buildah, docker",
        "dm-release.toml:5: config-value: docker.platforms: ('linux',) is not a list of "
        "platforms OS/ARCH[/VARIANT] (linux/amd64): 'linux'",
        "dm-release.toml:6: config-value: docker.tag_prefix: 'a b' is not a docker tag "
        "prefix: letters, digits, '_', '.', '-', at most 64, starting with a letter or digit "
        "and not ending in '.' or '-'",
        f"dm-release.toml:7: config-value: docker.base_image: '-x' is {IMAGE}",
        "dm-release.toml:8: config-secret: docker.password: secrets are not read from the "
        "file (set it in the environment: DM_RELEASE_REGISTRY_PASSWORD)",
        "dm-release.toml:9: config-secret: docker.token: secrets are not read from the "
        "file (set it in the environment: DM_RELEASE_REGISTRY_PASSWORD)",
    ]
    assert not any("p4ss" in line or "t0k" in line for line in got)


@pytest.mark.parametrize("registry", ["https://u:p4ss@reg.example", "u:p4ss@reg.example:5000"])
def test_a_registry_with_credentials_is_refused_from_the_environment_too(registry: str) -> None:
    got = messages("", {"DM_RELEASE_DOCKER_REGISTRY": registry})
    assert got == [
        "<environment>:1: config-value: DM_RELEASE_DOCKER_REGISTRY: the value is a registry "
        "with credentials: set docker.user and DM_RELEASE_REGISTRY_PASSWORD instead"
    ]


def test_a_dockerfile_line_in_the_base_image_is_refused() -> None:
    got = messages("", {"DM_RELEASE_DOCKER_BASE_IMAGE": "b\nRUN touch /pwned"})
    assert got == [
        f"<environment>:1: config-value: DM_RELEASE_DOCKER_BASE_IMAGE: 'b\\nRUN touch /pwned' "
        f"is {IMAGE}"
    ]


def test_good_docker_values_load() -> None:
    text = (
        '[docker]\nregistry = "https://reg.example:5000"\nrepository = "lsst/scipipe"\n'
        'builder = "buildah"\nplatforms = ["linux/amd64", "linux/arm64/v8"]\n'
        'tag_prefix = "al9"\nbase_image = "localhost/dm-release/base@sha256:' + "a" * 64 + '"\n'
    )
    config = build_options(text=text).config
    assert (config.docker_registry, config.docker_repository, config.docker_builder) == (
        "https://reg.example:5000", "lsst/scipipe", "buildah",
    )  # fmt: skip
    assert config.docker_platforms == ("linux/amd64", "linux/arm64/v8")
