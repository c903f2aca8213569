"""Tagging is safe: dry runs change nothing, conflicts stop before any push, interrupted
runs resume to the same end state, plans are applied exactly, the lock holds weeklies off."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from release_helpers import (
    BUILD,
    PACKAGES,
    RC1,
    Setup,
    all_repos,
    clean_environment,
    commit_on_branch,
    journal_json,
    make_setup,
    merge_ticket,
    ok,
    refuse_pushes,
    run,
    snapshot,
    tag_objects,
    tags,
)

from dmrelease.adapters.config import load_config
from dmrelease.adapters.git import Git
from dmrelease.adapters.journal import JournalFile
from dmrelease.adapters.stack import Stack
from dmrelease.core.errors import CheckFailed
from dmrelease.core.facts import RepoFacts
from dmrelease.core.plan import parse_plan
from dmrelease.demo.synthetic import push_change
from dmrelease.stages.release_apply import apply_plan

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


def test_a_dry_run_changes_no_repository(weekly: Setup) -> None:
    before = snapshot(all_repos(weekly))
    state = sorted((weekly.root / "work" / "state").rglob("*"))
    code, out, _err = run(weekly, *RC1, "--dry-run")
    assert code == 0
    assert snapshot(all_repos(weekly)) == before
    assert sorted((weekly.root / "work" / "state").rglob("*")) == state
    for name in PACKAGES:
        assert f"{name}: git tag --annotate -m " in out
        assert f"{name}: git push --atomic origin refs/tags/v29.1.0.rc1:refs/tags/" in out


def test_applying_a_plan_file_dry_run_changes_nothing_then_applies(weekly: Setup) -> None:
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    before = snapshot(all_repos(weekly))
    code, out, _err = run(weekly, "apply", str(plan), "--dry-run")
    assert code == 0 and out.count("git push --atomic") == len(PACKAGES)
    assert snapshot(all_repos(weekly)) == before
    ok(weekly, "apply", str(plan))
    checksum = json.loads(plan.read_text())["checksum"]
    for name in PACKAGES:
        message = weekly.remote(name).run("tag", "-l", "--format=%(contents)", "v29.1.0.rc1")
        assert f"plan: {checksum}" in message


def test_an_edited_plan_is_refused(weekly: Setup) -> None:
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    data = json.loads(plan.read_text())
    data["plan"]["packages"][0]["sha"] = "0" * 40
    plan.write_text(json.dumps(data))
    code, _out, err = run(weekly, "apply", str(plan))
    assert code == 1 and "plan-checksum" in err
    assert all("v29.1.0.rc1" not in tags(weekly.remote(n)) for n in PACKAGES)


def test_a_conflicting_tag_stops_the_run_before_any_push(weekly: Setup) -> None:
    utils = weekly.remote("utils")
    utils.run("tag", "v29.1.0.rc1", utils.rev_parse("main~1"))
    remotes = [weekly.product.remote(name) for name in PACKAGES]
    before = snapshot(remotes)
    code, _out, err = run(weekly, *RC1)
    assert code == 1
    assert "utils:1: tag-conflict: tag v29.1.0.rc1 exists at" in err
    assert "local-tag-conflict" not in err  # the remote's tag, already reported
    assert snapshot(remotes) == before
    assert all("v29.1.0.rc1" not in tags(Git(weekly.clone(n))) for n in PACKAGES if n != "utils")
    assert not weekly.lock().exists()


def test_an_existing_tag_at_the_same_sha_is_a_no_op(weekly: Setup) -> None:
    afw = weekly.remote("afw")
    afw.run("tag", "v29.1.0.rc1", afw.rev_parse("w.2025.24"))
    object_before = tag_objects(afw)["v29.1.0.rc1"]
    ok(weekly, *RC1)
    assert tag_objects(afw)["v29.1.0.rc1"] == object_before
    assert all("v29.1.0.rc1" in tags(weekly.remote(n)) for n in PACKAGES)


def test_a_refused_push_is_finished_by_rerunning(weekly: Setup) -> None:
    hook = refuse_pushes(weekly, "utils")
    code, _out, err = run(weekly, *RC1)
    assert (
        code == 1 and "utils: remote: refused by policy" in err and "rerun the same command" in err
    )
    pushed = {n: tag_objects(weekly.remote(n)) for n in PACKAGES if n != "utils"}
    assert all("v29.1.0.rc1" in objects for objects in pushed.values())
    journal = journal_json(weekly.journal("release_candidate", "v29.1.0.rc1"))
    assert journal["packages"]["utils"] == "tagged" and "utils" in journal["errors"]
    code, _out, err = run(weekly, "weekly", "w.2025.25", "--no-build")
    assert code == 1 and "release-lock" in err  # the half-made release holds weeklies off
    hook.unlink()
    ok(weekly, *RC1)
    _assert_released(weekly)
    assert {n: tag_objects(weekly.remote(n)) for n in pushed} == pushed  # nothing re-made


def test_a_killed_run_is_finished_by_rerunning(weekly: Setup) -> None:
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    # with --jobs 1 the pushes go in build order (base, utils, afw, meta): hold utils's
    refuse_pushes(weekly, "utils", sleep=30)
    command = [sys.executable, "-m", "dmrelease", "release", "apply", "--config",
               str(weekly.config), "--jobs", "1", str(plan)]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: "v29.1.0.rc1" in tags(weekly.remote("base")))
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not any("v29.1.0.rc1" in tags(weekly.remote(name)) for name in ("utils", "afw", "meta"))
    (weekly.product.remote("utils") / "hooks" / "pre-receive").unlink()
    ok(weekly, "apply", str(plan))
    _assert_released(weekly)


def _wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _assert_released(setup: Setup) -> None:
    for name in PACKAGES:
        remote = setup.remote(name)
        assert tags(remote)["v29.1.0.rc1"] == tags(remote)["w.2025.24"]
        assert remote.run("cat-file", "-t", "v29.1.0.rc1") == "tag"
    journal = journal_json(setup.journal("release_candidate", "v29.1.0.rc1"))
    assert set(journal["packages"].values()) == {"pushed"} and not journal["errors"]
    assert not setup.lock().exists()


def test_a_weekly_cannot_race_a_release_unless_the_lock_is_broken(weekly: Setup) -> None:
    weekly.lock().parent.mkdir(parents=True, exist_ok=True)
    weekly.lock().write_text(json.dumps({
        "format": "dm-release-lock/1", "product": "meta", "session": "release_candidate",
        "release": "v29.1.0.rc1", "holder": "jenkins@agent pid 4242", "taken_at": "then",
    }))  # fmt: skip
    code, _out, err = run(weekly, "weekly", "w.2025.25", "--no-build")
    assert code == 1
    assert "meta:1: release-lock: meta is locked by release_candidate v29.1.0.rc1" in err
    assert "--break-lock" in err
    assert "w.2025.25" not in tags(weekly.remote("afw"))
    text = ok(weekly, "weekly", "w.2025.25", "--no-build", "--break-lock")
    assert "broke the release lock" in text
    assert "w.2025.25" in tags(weekly.remote("afw")) and not weekly.lock().exists()


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (("v29.1.0.rc2",), "rc-gap"),
        (("v29.1.0.rc1", "--refs", "main"), "rc1-source"),
        (("29.1.0",), "final-without-rc"),
        (("w.2025.20",), "weekly-order"),
        (("v29.01.0.rc1", "--refs", "w.2025.24"), "tag-canonical"),
        (("v29.1.0.rc1", "--session", "final_release", "--refs", "w.2025.24"), "tag-kind"),
    ],
)
def test_validate_reports_the_rule_and_writes_nothing(
    weekly: Setup, args: tuple[str, ...], rule: str
) -> None:
    before = snapshot(weekly.product.remote(n) for n in PACKAGES)
    code, _out, err = run(weekly, "validate", *args)
    assert code == 1 and f": {rule}: " in err
    assert snapshot(weekly.product.remote(n) for n in PACKAGES) == before


def test_validate_passes_a_good_candidate(weekly: Setup) -> None:
    code, out, err = run(weekly, "validate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 0 and "every rule holds" in err and "v29.1.0.rc1" in out


def test_a_weekly_back_in_time_is_refused_before_it_builds(weekly: Setup) -> None:
    manifests = sorted((weekly.root / "versiondb" / "manifests").glob("b*.txt"))
    code, _out, err = run(weekly, "weekly", "w.2025.20")
    assert code == 1 and "meta:1: weekly-order: w.2025.24 exists" in err
    assert sorted((weekly.root / "versiondb" / "manifests").glob("b*.txt")) == manifests


def test_a_backport_dry_run_prints_its_commands_and_changes_nothing(weekly: Setup) -> None:
    ok(weekly, *RC1)
    merge_ticket(weekly, "afw", "DM-40100", "python/afw/fix.py", "FIXED = True\n")
    before = snapshot(all_repos(weekly), fetched=True)
    code, out, _err = run(weekly, "backport", "DM-40100", "--to", "v29.1.x",
                          "--packages", "afw", "--merge", "--dry-run")  # fmt: skip
    assert code == 0
    assert snapshot(all_repos(weekly), fetched=True) == before
    # the dry run used the work clones, fetched (issue 9 §1), not throw-away clones
    clone = Git(weekly.clone("afw"))
    assert clone.rev_parse("origin/main") == weekly.remote("afw").rev_parse("main")
    assert "afw: git push --atomic origin " in out  # the new release branch
    assert "afw: git rebase --quiet --onto origin/v29.1.x '<merge>^1'" in out
    assert (
        "afw: git push --atomic --quiet origin refs/heads/tickets/DM-40100-v29 "
        "refs/heads/tickets/DM-40100-v29:refs/heads/v29.1.x" in out
    )


def test_a_stale_local_tag_in_a_clone_stops_the_run_before_any_push(weekly: Setup) -> None:
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    clone = Git(weekly.clone("afw"))
    clone.run("tag", "v29.1.0.rc1", clone.rev_parse("w.2025.24~1"))
    remotes = [weekly.product.remote(name) for name in PACKAGES]
    before = snapshot(remotes)
    code, _out, err = run(weekly, "apply", str(plan))
    assert code == 1 and "afw:1: local-tag-conflict: the clone has a local tag v29.1.0.rc1" in err
    assert snapshot(remotes) == before


def _set_build(setup: Setup, command: str) -> None:
    lines = setup.config.read_text().splitlines(keepends=True)
    setup.config.write_text(
        "".join(f"command = '{command}'\n" if x.startswith("command = ") else x for x in lines)
    )


def test_a_weekly_whose_build_fails_tags_nothing_and_releases_the_lock(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    _set_build(setup, "false")
    code, _out, err = run(setup, "weekly", "w.2025.24")
    assert code == 1 and "build command exited 1" in err
    assert all("w.2025.24" not in tags(setup.remote(n)) for n in PACKAGES)
    assert not setup.lock().exists()
    _set_build(setup, BUILD)
    ok(setup, "weekly", "w.2025.24")  # no --break-lock needed


def test_a_weekly_without_a_green_build_is_not_tagged(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    code, _out, err = run(setup, "weekly", "w.2025.24", "--no-build")
    assert code == 1 and "meta:1: weekly-unbuilt: " in err
    assert all("w.2025.24" not in tags(setup.remote(n)) for n in PACKAGES)
    assert not setup.lock().exists()
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "weekly", "w.2025.25", "--no-build")  # the same manifest, built green already
    assert all("w.2025.25" in tags(setup.remote(n)) for n in PACKAGES)


def test_a_weekly_checks_its_tags_before_it_builds_or_declares(weekly: Setup) -> None:
    push_change(weekly.product, "afw", "more work on main")
    shutil.rmtree(weekly.root / "work" / "state")  # another agent: no journal here
    stack = Stack(weekly.root / "stack", "Linux64")
    declared = stack.tagged("w_2025_24")
    code, _out, err = run(weekly, "weekly", "w.2025.24")
    assert code == 1 and "afw:1: tag-conflict: tag w.2025.24 exists at" in err
    assert stack.tagged("w_2025_24") == declared
    assert "build " not in err.split("tag-conflict")[0]  # refused before the build


def test_a_rerun_after_a_failed_build_finishes_the_journaled_plan(weekly: Setup) -> None:
    ok(weekly, *RC1)
    merge_ticket(weekly, "afw", "DM-40100", "python/afw/fix.py", "FIXED = True\n")
    ok(weekly, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "--merge")
    _set_build(weekly, "false")
    code, _out, err = run(weekly, "candidate", "v29.1.0.rc2")
    assert code == 1 and "build command exited 1" in err
    assert weekly.lock().exists()  # tagged, not built: a weekly must not come in between
    rc2 = tags(weekly.remote("afw"))["v29.1.0.rc2"]
    commit_on_branch(weekly, "afw", "v29.1.x", "python/afw/late.py", "LATE = 1\n")
    _set_build(weekly, BUILD)
    text = ok(weekly, "candidate", "v29.1.0.rc2")
    assert "resuming" in text and "EUPS tag v29_1_0_rc2 declared on 4 packages" in text
    assert tags(weekly.remote("afw"))["v29.1.0.rc2"] == rc2
    assert not weekly.lock().exists()


def test_a_finished_session_reruns_as_a_verified_no_op(weekly: Setup) -> None:
    ok(weekly, *RC1)
    objects = {n: tag_objects(weekly.remote(n)) for n in PACKAGES}
    text = ok(weekly, *RC1)
    assert "already on the remote" in weekly.journal("release_candidate", "v29.1.0.rc1").read_text()
    assert "resuming" in text
    assert {n: tag_objects(weekly.remote(n)) for n in PACKAGES} == objects


@pytest.mark.parametrize("plan", ["missing.json", "."])
def test_an_unreadable_plan_file_is_a_usage_error(weekly: Setup, plan: str) -> None:
    code, _out, err = run(weekly, "apply", str(weekly.root / plan))
    assert code == 2 and "cannot read the plan" in err and "Traceback" not in err


def test_a_plan_output_in_a_missing_directory_is_a_usage_error(weekly: Setup) -> None:
    target = weekly.root / "no" / "such" / "plan.json"
    code, _out, err = run(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "-o", str(target))
    assert code == 2 and "cannot write the plan" in err


def test_validate_changes_no_clone_either(weekly: Setup) -> None:
    push_change(weekly.product, "afw", "work the clone has not fetched yet")
    before = snapshot(all_repos(weekly))
    code, _out, err = run(weekly, "validate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 0, err
    assert snapshot(all_repos(weekly)) == before


def test_a_failed_rerun_of_a_finished_session_releases_the_lock(weekly: Setup) -> None:
    ok(weekly, *RC1)
    ok(weekly, "final", "29.1.0", "--no-build")
    code, _out, err = run(weekly, *RC1)
    assert code == 1 and "rc-after-final" in err
    assert not weekly.lock().exists()


def test_a_weekly_plan_file_is_applied_only_after_a_green_build(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    plan = setup.root / "weekly.json"
    ok(setup, "plan", "w.2025.24", "--output", str(plan))
    code, _out, err = run(setup, "apply", str(plan))
    assert code == 1 and "meta:1: weekly-unbuilt: " in err
    assert all("w.2025.24" not in tags(setup.remote(n)) for n in PACKAGES)


def test_a_tag_made_on_a_remote_after_the_check_is_the_check_s_own_diagnostic(
    weekly: Setup,
) -> None:
    """A race: the remote's state was read (here: the clones as the workspace fetched
    them), then a tag of the plan was made on utils's remote elsewhere. The push is
    refused (tags are never forced), utils's remote is read again and the run fails with
    the ``tag-conflict`` the check would have given; the other repositories are done and
    the remote's tag is not moved."""
    plan_file = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan_file))
    plan = parse_plan(plan_file.read_text())
    clones = {name: weekly.clone(name) for name in PACKAGES}
    seen = {name: _fetched(Git(clone)) for name, clone in clones.items()}
    utils = weekly.remote("utils")
    utils.run("tag", "v29.1.0.rc1", utils.rev_parse("main~1"))
    raced = tags(utils)["v29.1.0.rc1"]
    config = load_config(weekly.config, environ={})
    journal = JournalFile(weekly.root / "race.json")
    with pytest.raises(CheckFailed) as caught:
        apply_plan(config, plan, clones, journal=journal, lock=None, remote=seen,
                   out=io.StringIO(), log=io.StringIO())  # fmt: skip
    sha = {p.name: p.sha for p in plan.packages}["utils"]
    assert [str(d) for d in caught.value.diagnostics] == [
        f"utils:1: tag-conflict: tag v29.1.0.rc1 exists at {raced[:12]}; the plan needs it "
        f"at {sha[:12]} (tags are never moved or deleted: use the next name)"
    ]
    assert tags(utils)["v29.1.0.rc1"] == raced
    assert all("v29.1.0.rc1" in tags(weekly.remote(n)) for n in PACKAGES if n != "utils")
    assert journal.journal is not None
    assert journal.journal.errors["utils"].startswith("tag v29.1.0.rc1 exists at")
    assert journal.journal.summary() == {"planned": 0, "tagged": 1, "pushed": 3, "failed": 1}


def _fetched(git: Git) -> RepoFacts:
    """A clone's remote-tracking branches and tags, as the workspace's fetch leaves them."""
    refs = git.refs("refs/remotes/origin/", "refs/tags/")
    return RepoFacts(
        {n.removeprefix("refs/tags/"): s for n, s in refs.items() if n.startswith("refs/tags/")},
        {n.removeprefix("refs/remotes/origin/"): s for n, s in refs.items() if "/origin/" in n},
    )
