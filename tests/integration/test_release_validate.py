"""``release validate`` of a release that was made: a tag missing from a remote is
reported (issue 9 requirement), besides the moved tags (tag-conflict)."""

from __future__ import annotations

from pathlib import Path

import pytest
from release_helpers import PACKAGES, Setup, clean_environment, make_setup, ok, run, tags

from dmrelease.adapters.git import Git
from git_trace import tracing

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

RC1 = ("v29.1.0.rc1", "--refs", "w.2025.24")


@pytest.fixture
def rc1(tmp_path: Path) -> Setup:
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", *RC1, "--no-build")
    return setup


def test_a_made_release_validates(rc1: Setup) -> None:
    code, _out, err = run(rc1, "validate", *RC1)
    assert code == 0, err
    assert "every rule holds" in err


def test_a_tag_deleted_from_one_remote_is_tag_missing_naming_package_and_remote(
    rc1: Setup,
) -> None:
    sha = tags(rc1.remote("afw"))["v29.1.0.rc1"]
    rc1.remote("afw").run("tag", "-d", "v29.1.0.rc1")  # lost on the server
    code, _out, err = run(rc1, "validate", *RC1)
    assert code == 1
    assert [line for line in err.splitlines() if ": tag-missing: " in line] == [
        f"afw:1: tag-missing: the remote {rc1.product.url('afw')} has no tag v29.1.0.rc1 of "
        f"release_candidate meta v29.1.0.rc1 (rerun the session to push it at {sha[:12]}; "
        "tags are never moved)"
    ]


def test_every_remote_missing_the_tags_of_an_applied_plan_is_reported(rc1: Setup) -> None:
    """The saved plan says the release was applied: even with every tag gone, each remote
    that lacks it is named (none of them has it to show that the release was made)."""
    for name in PACKAGES:
        rc1.remote(name).run("tag", "-d", "v29.1.0.rc1")
    code, _out, err = run(rc1, "validate", *RC1)
    missing = sorted(line.split(":")[0] for line in err.splitlines() if ": tag-missing: " in line)
    assert code == 1 and missing == PACKAGES


def test_a_release_not_made_yet_misses_no_tag(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    code, _out, err = run(setup, "validate", *RC1)
    assert code == 0 and "tag-missing" not in err, err


def test_another_agent_sees_the_release_was_made_from_the_versiondb_remote(
    tmp_path: Path,
) -> None:
    """An agent whose state dir never saw the release: the plan stored with the release on
    the versiondb remote says it was made, so a tag gone from every remote is missing."""
    remote = tmp_path / "versiondb.git"
    Git(tmp_path).run("init", "--quiet", "--bare", str(remote))
    first = make_setup(tmp_path)
    first.config.write_text(first.config.read_text() + f'versiondb_remote = "{remote}"\n')
    ok(first, "weekly", "w.2025.24")
    ok(first, "candidate", *RC1, "--no-build")
    for name in PACKAGES:
        first.remote(name).run("tag", "-d", "v29.1.0.rc1")
    (tmp_path / "agent-2").mkdir()
    second = Setup(tmp_path / "agent-2", first.product, tmp_path / "agent-2" / "dm-release.toml")
    second.config.write_text(first.config.read_text())
    code, _out, err = run(second, "validate", *RC1)
    missing = sorted(line.split(":")[0] for line in err.splitlines() if ": tag-missing: " in line)
    assert code == 1 and missing == PACKAGES, err
    assert not (second.root / "work" / "state").exists()  # validate wrote nothing there


def test_validate_judges_the_remotes_by_its_own_clones_not_by_listing_them_again(
    rc1: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One clone per package (its scratch clones, which it removes) and one ls-remote, of
    the product's own remote for its tags; before issue 10 every package's remote was
    listed once more after its clone."""
    with tracing(tmp_path, monkeypatch) as trace:
        code, _out, err = run(rc1, "validate", *RC1)
    assert code == 0, err
    commands = trace.commands()
    assert commands["clone"] == len(PACKAGES)
    assert commands["ls-remote"] == 1
    assert commands["fetch"] == 0
