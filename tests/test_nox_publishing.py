"""The nox sessions that publish install dm-release with its object-storage extras (a
paths.source_server or paths.binary_server of s3:// or gs:// needs them; without, dm-release
refuses such a destination naming the extra), and the others without; the Jenkinsfiles of
the sessions that publish bind the object-storage credentials and pass RUBINENV_VER on."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from test_architecture import ROOT, RecordingSession, nox_sessions

PUBLISHING = ("publish", "tarball", "nightly", "weekly", "release_candidate", "final_release")


class Installs(RecordingSession):
    """A recording session that keeps what it installs too."""

    def __init__(self) -> None:
        super().__init__([])
        self.installs: list[tuple[str, ...]] = []

    def install(self, *args: str, **kwargs: Any) -> None:
        super().install(*args, **kwargs)
        self.installs.append(args)


def installed(name: str) -> list[tuple[str, ...]]:
    session = Installs()
    nox_sessions()[name](session)
    return session.installs


def test_the_sessions_that_publish_install_the_object_storage_extras() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"s3", "gcs"} <= set(extras)
    assert {name: installed(name) for name in PUBLISHING} == {
        name: [("-e", ".[s3,gcs]")] for name in PUBLISHING
    }
    for name in ("rebuild", "validate", "patch_release", "backport", "demo"):
        assert installed(name) == [("-e", ".")], name


@pytest.mark.parametrize("name", ["nightly-release", "weekly-release", "official-release"])
def test_the_publishing_jobs_bind_the_storage_credentials_and_the_environment(name: str) -> None:
    text = (ROOT / "jenkins" / f"{name}.Jenkinsfile").read_text()
    bound = re.findall(r"(?:variable|usernameVariable|passwordVariable): '(\w+)'", text)
    assert bound == [
        "DM_RELEASE_BINARY_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ]
    assert "string(name: 'RUBINENV_VER'" in text
    assert text.count("withCredentials([") == 1


#: how a Jenkinsfile binds a credential to an environment variable
_BINDINGS = (
    r"(?:usernameVariable|passwordVariable): '(\w+)'",
    r"(?:file|string)\(credentialsId: '[\w-]+', variable: '(\w+)'",
)


def _credentials_read() -> set[str]:
    """The variables a credential may be bound to: those object storage reads, dm-release's
    secrets and the registry's account name (docker.user, for build-stack); no other setting's
    variable (a credential bound to EUPS_TAG would become a setting's value)."""
    from dmrelease.adapters.object_store import ENVIRONMENT
    from dmrelease.core.config import options
    from dmrelease.core.redact import SECRETS

    read = {v for variables, _what in ENVIRONMENT for v in variables}
    return read | set(SECRETS.values()) | set(options()["registry_user"].env)


def _bound(text: str) -> set[str]:
    return {name for pattern in _BINDINGS for name in re.findall(pattern, text)}


def test_the_jobs_bind_no_credential_dm_release_does_not_read() -> None:
    read = _credentials_read()
    for path in sorted((ROOT / "jenkins").glob("*.Jenkinsfile")):
        assert _bound(path.read_text()) <= read, path.name
    # what the check finds, and a setting's variable bound as a credential is refused
    text = (
        "withCredentials([string(credentialsId: 'dm-release-binary-token', variable: "
        "'DM_RELEASE_BINARY_TOKEN'), usernamePassword(credentialsId: 'x', usernameVariable: "
        "'DM_RELEASE_REGISTRY_USER', passwordVariable: 'EUPS_TAG'), file(credentialsId: 'g', "
        "variable: 'GOOGLE_APPLICATION_CREDENTIALS'), string(credentialsId: 'y', variable: "
        "'PRODUCTS')])"
    )
    assert _bound(text) == {
        "DM_RELEASE_BINARY_TOKEN", "DM_RELEASE_REGISTRY_USER", "EUPS_TAG",
        "GOOGLE_APPLICATION_CREDENTIALS", "PRODUCTS",
    }  # fmt: skip
    assert _bound(text) - read == {"EUPS_TAG", "PRODUCTS"}
