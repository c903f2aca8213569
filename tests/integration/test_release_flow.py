"""The release flow on real repositories: weekly → rc1 → backport → rc2 → final → patch."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    commit_on_branch,
    journal_json,
    make_setup,
    merge_ticket,
    ok,
    run,
    tags,
)

from dmrelease.adapters.config import load_config
from dmrelease.adapters.git import Git
from dmrelease.adapters.journal import JournalFile
from dmrelease.core.plan import Session, make_plan
from dmrelease.core.refs import RefKind, RefSource, Resolution
from dmrelease.demo.synthetic import push_change
from dmrelease.stages.release_apply import apply_plan

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


@pytest.fixture
def released(tmp_path: Path) -> Setup:
    """weekly w.2025.24 (built), rc1 from it, a ticket merged into main in afw and utils
    after more work on afw's main, backported to v29.1.x, then rc2 with the default refs."""
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    push_change(setup.product, "afw", "work for the next release, not to backport")
    for package in ("afw", "utils"):
        merge_ticket(setup, package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    ok(setup, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "utils", "--merge")
    ok(setup, "candidate", "v29.1.0.rc2", "--no-build")
    return setup


def test_weekly_tags_every_package_at_the_built_manifest(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    text = ok(setup, "weekly", "w.2025.24")
    assert "w_2025_24 declared on 4 packages" in text
    for name in PACKAGES:
        assert tags(setup.remote(name)) == {"w.2025.24": setup.remote(name).rev_parse("main")}
    message = setup.remote("afw").run("tag", "-l", "--format=%(contents)", "w.2025.24")
    assert "build: b1" in message and "manifest: " in message


def test_rc2_takes_the_release_branch_where_it_exists_and_rc1_elsewhere(released: Setup) -> None:
    for name in PACKAGES:
        remote = released.remote(name)
        found = tags(remote)
        if name in ("afw", "utils"):
            assert found["v29.1.0.rc2"] == remote.rev_parse("v29.1.x")
            assert found["v29.1.0.rc2"] != found["v29.1.0.rc1"]
            assert remote.is_ancestor(found["v29.1.0.rc1"], found["v29.1.0.rc2"])
        else:
            assert found["v29.1.0.rc2"] == found["v29.1.0.rc1"]
            assert not remote.ok("rev-parse", "--verify", "--quiet", "refs/heads/v29.1.x")


def test_release_branches_start_at_rc1_and_get_only_the_ticket(released: Setup) -> None:
    for name in ("afw", "utils"):
        remote = released.remote(name)
        added = remote.run("rev-list", "--reverse", "v29.1.0.rc1..v29.1.x").split()
        assert len(added) == 1
        assert remote.rev_parse(f"{added[0]}^") == tags(remote)["v29.1.0.rc1"]
        assert remote.run("log", "-1", "--format=%s", added[0]).startswith("DM-40100:")
        assert remote.rev_parse("tickets/DM-40100-v29") == remote.rev_parse("v29.1.x")
    afw = released.remote("afw")
    assert afw.run("rev-list", "--count", "v29.1.x..main") == "3"  # other work, merge, fix


def test_the_final_has_the_same_shas_as_the_last_rc(released: Setup) -> None:
    ok(released, "final", "29.1.0", "--no-build")
    for name in PACKAGES:
        found = tags(released.remote(name))
        assert found["29.1.0"] == found["v29.1.0.rc2"]
    assert "v29.1.0" not in tags(released.remote("afw"))


def test_the_final_tags_the_last_rc_even_when_a_release_branch_moved_since(
    released: Setup,
) -> None:
    moved = commit_on_branch(released, "afw", "v29.1.x", "python/afw/late.py", "LATE = 1\n")
    ok(released, "final", "29.1.0", "--no-build")
    for name in PACKAGES:
        found = tags(released.remote(name))
        assert found["29.1.0"] == found["v29.1.0.rc2"]
    assert tags(released.remote("afw"))["29.1.0"] != moved


def test_final_manifest_checksum_is_the_last_rcs(released: Setup) -> None:
    ok(released, "final", "29.1.0", "--no-build")
    meta = released.remote("meta")
    fields = [meta.run("tag", "-l", "--format=%(contents)", t) for t in ("v29.1.0.rc2", "29.1.0")]
    checksums = [line for text in fields for line in text.splitlines() if "manifest:" in line]
    assert checksums[0] == checksums[1]


def test_a_final_from_an_older_candidate_is_refused(released: Setup) -> None:
    code, _out, err = run(released, "final", "29.1.0", "--refs", "v29.1.0.rc1", "--no-build")
    assert code == 1
    assert "afw:1: final-matches-rc" in err and "utils:1: final-matches-rc" in err
    assert all("29.1.0" not in tags(released.remote(n)) for n in PACKAGES)


def test_patch_branches_from_the_final_then_patch_candidate(released: Setup) -> None:
    ok(released, "final", "29.1.0", "--no-build")
    text = ok(released, "patch", "29.1.1", "--packages", "afw", "base")
    assert "afw: v29.1.x exists already" in text
    base = released.remote("base")
    assert base.rev_parse("v29.1.x") == tags(base)["29.1.0"]
    merge_ticket(released, "base", "DM-40200", "base.txt", "patched\n")
    ok(released, "backport", "DM-40200", "--to", "v29.1.x", "--packages", "base", "--merge")
    ok(released, "candidate", "v29.1.1.rc1", "--no-build")
    assert tags(base)["v29.1.1.rc1"] == base.rev_parse("v29.1.x") != tags(base)["29.1.0"]
    assert tags(released.remote("meta"))["v29.1.1.rc1"] == tags(released.remote("meta"))["29.1.0"]


def test_backport_conflict_is_reported_and_leaves_no_repo_half_rebased(
    released: Setup,
) -> None:
    commit_on_branch(released, "afw", "v29.1.x", "python/afw/fix.py", "FIXED = 'release'\n")
    merge_ticket(released, "afw", "DM-40300", "python/afw/fix.py", "FIXED = 'main'\n")
    merge_ticket(released, "utils", "DM-40300", "python/utils/more.py", "MORE = 1\n")
    code, out, err = run(released, "backport", "DM-40300", "--to", "v29.1.x",
                         "--packages", "afw", "utils")  # fmt: skip
    assert code == 1
    assert "afw:1: backport-conflict: conflict in python/afw/fix.py: rebase aborted" in err
    assert "utils: backported onto v29.1.x as tickets/DM-40300-v29" in out
    clone = Git(released.clone("afw"))
    assert not (released.clone("afw") / ".git" / "rebase-merge").exists()
    assert clone.run("worktree", "list").count("\n") == 0
    assert not clone.ok("rev-parse", "--verify", "--quiet", "refs/heads/tickets/DM-40300-v29")
    assert not clone.changed_files()
    assert not released.remote("afw").ok("rev-parse", "--verify", "--quiet", "tickets/DM-40300-v29")


def test_the_journal_records_every_step(released: Setup) -> None:
    journal = journal_json(released.journal("release_candidate", "v29.1.0.rc2"))
    assert journal["packages"] == dict.fromkeys(PACKAGES, "pushed") | journal["packages"]
    assert set(journal["packages"].values()) == {"pushed"}
    assert journal["stages"] == ["tagged", "pushed"]
    steps = [event[2] for event in journal["events"] if event[1] == "afw"]
    assert steps == ["tagged", "pushed"]
    assert not released.lock().exists()


def test_an_external_repo_gets_the_v_final_too(released: Setup) -> None:
    config = load_config(released.config, environ={})
    shas = {name: tags(released.remote(name))["v29.1.0.rc2"] for name in PACKAGES}
    resolutions = {
        name: Resolution(name, "v29.1.0.rc2", RefKind.TAG, sha, RefSource.REF_LIST, "ref 1")
        for name, sha in shas.items()
    }
    plan = make_plan("meta", Session.FINAL, "29.1.0", ["v29.1.0.rc2"], resolutions,
                     external=["base"])  # fmt: skip
    clones = {name: released.clone(name) for name in PACKAGES}
    journal = JournalFile(released.root / "final.json")
    apply_plan(config, plan, clones, journal=journal, lock=None, out=io.StringIO(),
               log=io.StringIO())  # fmt: skip
    base = tags(released.remote("base"))
    assert base["29.1.0"] == base["v29.1.0"] == base["v29.1.0.rc2"]
    assert "v29.1.0" not in tags(released.remote("utils"))


@pytest.fixture
def rc1(tmp_path: Path) -> Setup:
    """w.2025.24 built and tagged, v29.1.0.rc1 from it, DM-40100 merged in afw and utils."""
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    for package in ("afw", "utils"):
        merge_ticket(setup, package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    return setup


def _has_branch(git: Git, branch: str) -> bool:
    return git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")


def test_a_ticket_backported_in_two_runs_is_journaled_for_both(rc1: Setup) -> None:
    ok(rc1, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw")
    ok(rc1, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "utils")
    journal = journal_json(rc1.journal("backport", "DM-40100-v29"))
    assert journal["packages"] == {"afw": "pushed", "utils": "pushed"}
    assert _has_branch(rc1.remote("utils"), "tickets/DM-40100-v29")


def test_an_unknown_ticket_makes_no_release_branch(rc1: Setup) -> None:
    code, _out, err = run(rc1, "backport", "DM-49999", "--to", "v29.1.x",
                          "--packages", "afw", "base")  # fmt: skip
    assert code == 1
    assert "afw:1: backport-no-ticket: no branch tickets/DM-49999" in err
    assert "base:1: backport-no-ticket" in err
    assert not any(_has_branch(rc1.remote(n), "v29.1.x") for n in PACKAGES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("DM40100", "--to", "v29.1.x", "--packages", "afw"), "DM40100: a ticket is DM-<number>"),
        (("DM-40100", "--to", "v29.1.x", "--packages", "nosuch"), "unknown package nosuch"),
    ],
)
def test_backport_usage_errors(rc1: Setup, args: tuple[str, ...], message: str) -> None:
    code, _out, err = run(rc1, "backport", *args)
    assert code == 2 and message in err
    assert not _has_branch(rc1.remote("afw"), "v29.1.x")


def test_merge_after_an_unmerged_backport_fast_forwards_the_release_branch(rc1: Setup) -> None:
    ok(rc1, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw")
    afw = rc1.remote("afw")
    assert afw.rev_parse("v29.1.x") != afw.rev_parse("tickets/DM-40100-v29")
    text = ok(rc1, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "--merge")
    assert "afw: already backported as tickets/DM-40100-v29, merged into v29.1.x" in text
    assert afw.rev_parse("v29.1.x") == afw.rev_parse("tickets/DM-40100-v29")
