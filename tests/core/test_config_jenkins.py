"""The ``[jenkins]`` settings of dm-release jenkins: the URL from the file or JENKINS_URL
(the variable Jenkins sets in every build), the user from the file or JENKINS_USER_ID, the
API token from the environment only (JENKINS_API_TOKEN; the names of Jenkins's own CLI),
never printed."""

from __future__ import annotations

import pytest

from dmrelease.core.config_layers import build_options
from dmrelease.core.errors import CheckFailed
from dmrelease.core.redact import CREDENTIAL_VARIABLES, SECRETS


def messages(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(CheckFailed) as failed:
        build_options(text=text, environ=environ)
    return [str(d) for d in failed.value.diagnostics]


def test_the_url_comes_from_the_file_and_jenkins_url_overrides_it() -> None:
    text = '[jenkins]\nurl = "https://ci.example.org/"\npoll_ms = 250\n'
    loaded = build_options(text=text)
    assert (loaded.config.jenkins_url, loaded.sources["jenkins_url"]) == (
        "https://ci.example.org/",
        "dm-release.toml:2",
    )
    assert (loaded.config.jenkins_poll_ms, loaded.config.jenkins_timeout) == (250, 30)
    assert loaded.config.jenkins_retries == 10
    loaded = build_options(text=text, environ={"JENKINS_URL": "http://127.0.0.1:8080/"})
    assert (loaded.config.jenkins_url, loaded.sources["jenkins_url"]) == (
        "http://127.0.0.1:8080/",
        "environment JENKINS_URL",
    )


def test_the_token_is_a_secret_of_the_environment_the_user_a_setting() -> None:
    environ = {"JENKINS_USER_ID": "release-bot", "JENKINS_API_TOKEN": "11aa22bb33cc44dd"}
    loaded = build_options(environ=environ)
    config = loaded.config
    assert config.jenkins_user == "release-bot"
    assert config.jenkins_token is not None and config.jenkins_token.value == "11aa22bb33cc44dd"
    assert (str(config.jenkins_token), "11aa22bb33cc44dd" in repr(config)) == ("****", False)
    assert (loaded.sources["jenkins_user"], loaded.sources["jenkins_token"]) == (
        "environment JENKINS_USER_ID",
        "environment JENKINS_API_TOKEN",
    )
    assert SECRETS["jenkins_token"] in CREDENTIAL_VARIABLES
    # a user name is not a secret: redacted as a bare word, "release" would blank out
    # every "release" of every message (release/tarball printed as ****/tarball)
    assert "jenkins_user" not in SECRETS and "JENKINS_USER_ID" not in CREDENTIAL_VARIABLES
    assert build_options(environ={"JENKINS_API_TOKEN": ""}).config.jenkins_token is None


def test_the_user_may_be_given_in_the_file_and_jenkins_user_id_overrides_it() -> None:
    text = '[jenkins]\nurl = "https://ci/"\nuser = "release-bot"\n'
    loaded = build_options(text=text)
    assert (loaded.config.jenkins_user, loaded.sources["jenkins_user"]) == (
        "release-bot",
        "dm-release.toml:3",
    )
    loaded = build_options(text=text, environ={"JENKINS_USER_ID": "release"})
    assert (loaded.config.jenkins_user, loaded.sources["jenkins_user"]) == (
        "release",
        "environment JENKINS_USER_ID",
    )


def test_a_token_in_the_file_is_refused_naming_its_variable() -> None:
    assert messages('[jenkins]\nurl = "https://ci/"\napi_token = "x"\n') == [
        "dm-release.toml:3: config-secret: jenkins.api_token: secrets are not read from the "
        "file (set it in the environment: JENKINS_API_TOKEN)"
    ]
    # Jenkins's own word for what its API token stands in for
    assert messages('[jenkins]\npassword = "x"\n') == [
        "dm-release.toml:2: config-secret: jenkins.password: secrets are not read from the "
        "file (set it in the environment: JENKINS_API_TOKEN)"
    ]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://bot:11aa22bb@ci.example.org/", "a URL with credentials: set "
         "JENKINS_USER_ID and JENKINS_API_TOKEN instead"),
        ("https://11aa22bb33cc44dd@ci.example.org/", "a URL with credentials: set "
         "JENKINS_USER_ID and JENKINS_API_TOKEN instead"),
    ],
)  # fmt: skip
def test_a_bad_url_is_refused_without_repeating_it(url: str, problem: str) -> None:
    found = messages(f'[jenkins]\nurl = "{url}"\n')
    assert found == [f"dm-release.toml:2: config-value: jenkins.url: the value is {problem}"]


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("timeout", "0", "0 is not a positive number of seconds"),
        ("timeout", "86401", "86401 is larger than 86400"),
        ("poll_ms", "0", "0 is not a positive number"),
        ("retries", "-1", "-1 is not 0 (no retry) or more"),
        ("retries", "1001", "1001 is larger than 1000"),
    ],
)
def test_the_numbers_are_checked(key: str, value: str, problem: str) -> None:
    assert messages(f"[jenkins]\n{key} = {value}\n") == [
        f"dm-release.toml:2: config-value: jenkins.{key}: {problem}"
    ]
