"""One discovery per command (issue 9 §1): a ``release candidate`` clones or fetches each
package once, whatever it plans, re-verifies and rebuilds; ``release apply PLAN`` too. The
apply itself (issue 10) then costs what raw git does, a tag and a push per package, and
its rerun nothing; counts, so that a regression fails CI."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    merge_ticket,
    ok,
    refuse_pushes,
    run,
    tags,
)

from dmrelease.adapters.config import load_config
from dmrelease.adapters.journal import JournalFile
from dmrelease.core.plan import parse_plan
from dmrelease.stages.release_apply import apply_plan
from git_trace import GitTrace, tracing

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

ONCE = dict.fromkeys(PACKAGES, 1)


def discovered_once(trace: GitTrace) -> None:
    """Each package cloned or fetched once, in its clone, and no clone or fetch elsewhere
    (a throw-away clone, a second fetch of the same remote)."""
    assert trace.count("clone", "fetch") == ONCE
    assert trace.commands()["clone"] + trace.commands()["fetch"] == len(PACKAGES)


def test_rc1_built_from_its_tag_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    discovered_once(trace)
    assert trace.count("clone") == {}  # the weekly's clones are reused
    assert trace.count("push") == ONCE
    assert trace.count("tag") == ONCE  # one call each, its multi-line message in one piece
    assert trace.commands()[""] == 0  # no fragment of an argument read as a call
    for name in PACKAGES:
        assert "v29.1.0.rc1" in tags(weekly.remote(name))


def test_rc2_whose_release_branch_no_package_has_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default refs 'v29.1.x v29.1.0.rc1': no package has v29.1.x, so the candidate is
    re-resolved from rc1 alone in the same clones, not discovered again."""
    ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    with tracing(weekly.root, monkeypatch) as trace:
        text = ok(weekly, "candidate", "v29.1.0.rc2")
    assert "no package has the release branch v29.1.x: made from v29.1.0.rc1 alone" in text
    discovered_once(trace)


def test_a_candidate_on_an_empty_work_dir_clones_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = weekly
    (setup.root / "work" / "clones").rename(setup.root / "old-clones")
    with tracing(setup.root, monkeypatch) as trace:
        ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    discovered_once(trace)
    assert trace.count("clone") == ONCE


def test_applying_a_plan_file_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "apply", str(plan))
    discovered_once(trace)
    assert trace.count("push") == ONCE


def test_a_backport_fetches_each_package_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release branches and the rebases share the workspace of the command."""
    ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    for package in ("afw", "utils"):
        merge_ticket(weekly, package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "utils",
           "--merge")  # fmt: skip
    discovered_once(trace)
    assert trace.count("push") == {"afw": 2, "utils": 2}  # the release branch, the backport
    for package in ("afw", "utils"):
        assert weekly.remote(package).ok("rev-parse", "--verify", "tickets/DM-40100-v29")


# -- the apply itself (issue 10): tag + push, and what it reads ------------------------------

#: what the workspace runs to bring a clone up to date (issue 9 §1, counted above)
WORKSPACE = ("clone", "fetch", "status", "rev-list", "remote", "checkout", "rev-parse", "lfs")


def _apply_calls(trace: GitTrace) -> dict[str, Counter[str]]:
    """Per package, the git subcommands run in its clone other than the workspace's."""
    found: dict[str, Counter[str]] = {}
    for call in trace.calls():
        if call.command in WORKSPACE or call.cwd.parent.name != "clones":
            continue
        found.setdefault(call.cwd.name, Counter())[call.command] += 1
    return found


def test_applying_a_plan_costs_a_tag_and_a_push_per_package(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As raw git: the remote's state is what the workspace's fetch brought (no
    ``ls-remote``), the new tags are verified from the clone's files, the push by its own
    report (no second ``ls-remote``); the rerun of a finished apply writes nothing and
    lists nothing."""
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    with tracing(weekly.root, monkeypatch) as trace:
        ok(weekly, "apply", str(plan))
    discovered_once(trace)
    assert _apply_calls(trace) == {name: Counter({"tag": 1, "push": 1}) for name in PACKAGES}
    assert trace.commands()["ls-remote"] == 0
    with tracing(weekly.root, monkeypatch) as trace:
        text = ok(weekly, "apply", str(plan))
    assert "resuming" in text
    discovered_once(trace)
    assert _apply_calls(trace) == {}
    assert trace.commands()["ls-remote"] == 0


def test_resuming_a_half_done_apply_tags_and_pushes_only_what_is_missing(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push refused by utils's remote: the rerun re-tags utils (the workspace's fetch
    dropped its unpushed tag, ``--prune-tags``) and pushes it; the others cost nothing. The
    refused push itself was judged once more against its remote (one ``ls-remote``)."""
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    hook = refuse_pushes(weekly, "utils")
    with tracing(weekly.root, monkeypatch) as trace:
        code, _out, err = run(weekly, "apply", str(plan))
    assert code == 1 and "utils: remote: refused by policy" in err
    assert _apply_calls(trace) == {
        **{name: Counter({"tag": 1, "push": 1}) for name in PACKAGES},
        "utils": Counter({"tag": 1, "push": 1, "ls-remote": 1}),
    }
    hook.unlink()
    with tracing(weekly.root, monkeypatch) as trace:
        text = ok(weekly, "apply", str(plan))
    assert "resuming" in text
    discovered_once(trace)
    assert _apply_calls(trace) == {"utils": Counter({"tag": 1, "push": 1})}
    assert all("v29.1.0.rc1" in tags(weekly.remote(name)) for name in PACKAGES)


def test_apply_plan_without_a_workspace_lists_each_remote_once(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that fetched nothing (``remote`` not given) has each remote listed once
    before the tags, and each clone's tags read from its files: ls-remote, tag, push per
    package; the rerun lists the remotes and writes nothing."""
    plan_file = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan_file))
    plan = parse_plan(plan_file.read_text())
    config = load_config(weekly.config, environ={})
    clones = {name: weekly.clone(name) for name in PACKAGES}
    for round_, expected in enumerate([{"ls-remote": 1, "tag": 1, "push": 1}, {"ls-remote": 1}]):
        with tracing(weekly.root, monkeypatch) as trace:
            apply_plan(config, plan, clones, journal=JournalFile(weekly.root / "j.json"),
                       lock=None, out=io.StringIO(), log=io.StringIO())  # fmt: skip
        assert _apply_calls(trace) == {name: Counter(expected) for name in PACKAGES}, round_


def test_applying_a_plan_reads_its_journal_once_per_run(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's steps journal themselves without reading the journal back at each
    step: what it holds is what the run wrote. A first apply makes its journal and never
    reads it (2 reads before); a rerun reads it when the lock is held and once more to
    judge whether it resumes that plan (7 before)."""
    plan = weekly.root / "plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    reads: list[str] = []
    load = JournalFile.load

    def counted(file: JournalFile) -> object:
        if file.path.exists():  # a read that found no journal yet costs nothing
            reads.append(file.path.name)
        return load(file)

    monkeypatch.setattr(JournalFile, "load", counted)
    ok(weekly, "apply", str(plan))
    first, reads[:] = list(reads), []
    text = ok(weekly, "apply", str(plan))
    assert "resuming" in text
    assert (len(first), len(reads)) == (0, 2)
    assert len(set(first + reads)) == 1  # the apply's journal, no other
