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


def test_the_jobs_bind_no_credential_dm_release_does_not_read() -> None:
    from dmrelease.adapters.object_store import ENVIRONMENT
    from dmrelease.core.config import options
    from dmrelease.core.redact import SECRETS

    read = {v for variables, _what in ENVIRONMENT for v in variables}
    # dm-release's own secrets and settings (the registry's account, for build-stack)
    read |= set(SECRETS.values()) | {v for spec in options().values() for v in spec.env}
    for path in sorted((ROOT / "jenkins").glob("*.Jenkinsfile")):
        bound = set(re.findall(r"(?:usernameVariable|passwordVariable): '(\w+)'", path.read_text()))
        bound |= set(
            re.findall(r"file\(credentialsId: '[\w-]+', variable: '(\w+)'", path.read_text())
        )
        assert bound <= read, path.name
