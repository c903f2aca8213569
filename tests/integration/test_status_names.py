"""``dm-release status RELEASE``: the release's name reaches paths (the journal, the
validation result under the state dir) and git, so anything but a release tag is refused,
exit 2, before anything is read or written."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from release_helpers import make_setup

from dmrelease import cli


@pytest.mark.parametrize("name", ["../../../x", "29.1.0/../../x", "29.1.0;touch x", "29.1.0 x"])
def test_a_name_that_is_not_a_release_tag_is_exit_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    for variable in ("DM_RELEASE_CONFIG", "RELEASE_ISSUE", "DM_RELEASE_JIRA_URL"):
        monkeypatch.delenv(variable, raising=False)
    setup = make_setup(tmp_path)
    page = tmp_path / "status.html"
    before = sorted(os.listdir(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["status", name, "--html", str(page), "--config", str(setup.config)])
    assert (code, out.getvalue()) == (2, "")
    assert err.getvalue() == (
        f"dm-release: error: {name!r} is not a release tag (as 29.1.0, v29.1.0.rc1, w.2025.24)\n"
    )
    assert sorted(os.listdir(tmp_path)) == before
