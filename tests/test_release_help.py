"""The --help of the release commands that publish: weekly, candidate, final and nightly
list the object-storage variables as publish and tarball do (their servers may be s3:// or
gs://), say when they publish, and the nightly names the branch it builds as it is chosen."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from dmrelease import cli
from dmrelease.adapters.object_store import ENVIRONMENT


def help_of(*words: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([*words, "--help"])
    return " ".join(out.getvalue().split())  # the text, whatever its wrapping


STORAGE = sorted({v for variables, _what in ENVIRONMENT for v in variables})


@pytest.mark.parametrize("command", ["weekly", "candidate", "final", "nightly"])
def test_the_publishing_commands_list_the_object_storage_variables(command: str) -> None:
    listed = set(re.findall(r"[A-Z][A-Z0-9_]+", help_of("release", command)))
    assert [v for v in STORAGE if v not in listed] == []
    publish = set(re.findall(r"[A-Z][A-Z0-9_]+", help_of("publish")))
    assert [v for v in STORAGE if v not in publish] == []


def test_patch_publishes_nothing_and_lists_no_storage_setting() -> None:
    """(the credentials are listed by every verb: their values are redacted from output)"""
    listed = set(re.findall(r"[A-Z][A-Z0-9_]+", help_of("release", "patch")))
    assert [
        v for v in ("AWS_REGION", "AWS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST") if v in listed
    ] == []


@pytest.mark.parametrize(
    ("command", "tags"),
    [
        ("weekly", "w_YYYY_WW and w_latest"),
        ("candidate", "vM_n_p_rcN"),
        ("final", "vM_n_p and o_latest, each package with its source inside"),
    ],
)
def test_the_sessions_say_they_publish_when_the_servers_are_set(command: str, tags: str) -> None:
    assert (
        "When paths.source_server (and paths.binary_server) are set, the green build is then "
        f"published there as {tags} (and packed onto the binary server); both are checked "
        "writable before anything is tagged. With --no-build the build it tags is published "
        "when it is already green."
    ) in help_of("release", command)


def test_the_nightly_says_which_branch_it_builds() -> None:
    text = help_of("release", "nightly")
    assert "Rebuild from the default branch (git.default_branch, main), then publish" in text
    assert "from main" not in text
    assert "nightly rebuilds from the default branch (git.default_branch, main)" in help_of(
        "release"
    )
