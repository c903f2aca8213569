"""Auxiliary repositories ([auxiliary.NAME]) on real bare remotes: the release sessions tag
them after the product's packages, branch them with the product, resume after a kill,
refuse a tag that is elsewhere before anything is written, and the configuration refuses
a bad table."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from release_helpers import (
    DEVELOPER,
    PACKAGES,
    RC1,
    Setup,
    clean_environment,
    journal_json,
    make_setup,
    merge_ticket,
    ok,
    run,
    snapshot,
    tag_objects,
    tags,
)

from dmrelease.adapters.git import Git
from dmrelease.core.config_layers import build_config
from dmrelease.core.errors import CheckFailed

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

#: two auxiliary repositories: documentation (default branch main), environment
#: definitions (default branch develop, which the remote's HEAD names)
AUX = {"lsst-texmf": "main", "scipipe_env": "develop"}


def make_aux(root: Path, name: str, branch: str) -> Path:
    """A bare remote ``name.git`` with two commits on ``branch``, its default branch."""
    bare = root / "aux" / f"{name}.git"
    work = root / "aux-work" / name
    work.mkdir(parents=True)
    git = Git(work, env=DEVELOPER)
    git.run("init", "--quiet", "--initial-branch", branch)
    for number in (1, 2):
        (work / "README").write_text(f"{name} {number}\n")
        git.run("add", "README")
        git.run("commit", "--quiet", "-m", f"{name}: change {number}")
    Git(root).run("clone", "--quiet", "--bare", str(work), str(bare))
    return bare


def advance(root: Path, name: str, branch: str, text: str) -> str:
    """A new commit pushed to ``branch`` of the auxiliary remote ``name``."""
    work = root / "aux-work" / name
    git = Git(work, env=DEVELOPER)
    bare = str(root / "aux" / f"{name}.git")
    if not git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"):
        git.run("fetch", "--quiet", bare, f"{branch}:{branch}")
    git.run("checkout", "--quiet", branch)
    (work / "README").write_text(text)
    git.run("commit", "--quiet", "-am", f"{name}: {text.strip()}")
    git.run("push", "--quiet", bare, branch)
    return git.rev_parse("HEAD")


def aux_remote(setup: Setup, name: str) -> Git:
    return Git(setup.root / "aux" / f"{name}.git")


def with_aux(tmp_path: Path) -> Setup:
    setup = make_setup(tmp_path)
    tables = "".join(
        f'\n[auxiliary.{name}]\nurl = "aux/{name}.git"\n'
        for name, branch in AUX.items()
        if make_aux(tmp_path, name, branch)
    )
    setup.config.write_text(setup.config.read_text() + tables)
    return setup


@pytest.fixture
def weekly(tmp_path: Path) -> Setup:
    setup = with_aux(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    return setup


def heads(setup: Setup) -> dict[str, str]:
    return {name: aux_remote(setup, name).rev_parse(branch) for name, branch in AUX.items()}


def test_the_weekly_tags_the_auxiliaries_at_their_default_branch_after_the_product(
    weekly: Setup,
) -> None:
    for name, branch in AUX.items():
        remote = aux_remote(weekly, name)
        assert tags(remote) == {"w.2025.24": remote.rev_parse(branch)}
        assert remote.run("cat-file", "-t", "w.2025.24") == "tag"
        message = remote.run("tag", "-l", "--format=%(contents)", "w.2025.24")
        fields = [line.partition(":")[0] for line in message.splitlines()[2:]]
        assert message.splitlines()[0] == "meta w.2025.24"
        assert fields == ["version", "session", "auxiliary", "build", "manifest", "plan"]
        assert f"auxiliary: {name}\nbuild: b1\n" in message
        tagger = remote.run("tag", "-l", "--format=%(taggername) %(taggeremail)", "w.2025.24")
        assert tagger == "dm-release <dm-release@localhost>"
    journal = journal_json(weekly.journal("weekly", "w.2025.24"))
    assert journal["stages"] == [
        "tagged", "pushed",
        "auxiliary lsst-texmf planned", "auxiliary scipipe_env planned",
        "auxiliary lsst-texmf pushed", "auxiliary scipipe_env pushed", "auxiliary",
    ]  # fmt: skip
    shas = heads(weekly)
    planned = {e[2]: e[3] for e in journal["events"] if e[2].endswith(" planned")}
    assert planned == {
        "auxiliary lsst-texmf planned": f"{shas['lsst-texmf']} branch main",
        "auxiliary scipipe_env planned": f"{shas['scipipe_env']} branch develop",
    }
    steps = [e[2] for e in journal["events"] if e[2].startswith("step ")]
    assert steps.index("step apply") < steps.index("step auxiliary")
    assert steps.index("step auxiliary-check") < steps.index("step build")
    assert not weekly.lock().exists()


def test_candidate_and_final_tag_the_auxiliaries_where_the_session_refs_are(
    weekly: Setup,
) -> None:
    weekly_shas = heads(weekly)
    advance(weekly.root, "lsst-texmf", "main", "after the weekly\n")
    text = ok(weekly, *RC1)
    assert (
        f"auxiliary lsst-texmf: tag v29.1.0.rc1 at {weekly_shas['lsst-texmf'][:12]} "
        "from tag w.2025.24\n" in text
    )
    ok(weekly, "final", "29.1.0", "--no-build")
    for name in AUX:
        found = tags(aux_remote(weekly, name))
        assert found["v29.1.0.rc1"] == found["29.1.0"] == found["w.2025.24"] == weekly_shas[name]
    before = snapshot([weekly.root / "aux" / f"{n}.git" for n in AUX])
    text = ok(weekly, "final", "29.1.0", "--no-build")  # the rerun changes nothing
    assert f"auxiliary lsst-texmf: tag 29.1.0 at {weekly_shas['lsst-texmf'][:12]} " in text
    assert "from tag v29.1.0.rc1: already there\n" in text
    assert snapshot([weekly.root / "aux" / f"{n}.git" for n in AUX]) == before


def test_a_tag_elsewhere_is_refused_before_anything_is_written(weekly: Setup) -> None:
    texmf = aux_remote(weekly, "lsst-texmf")
    first = texmf.rev_parse("main~1")
    Git(weekly.root / "aux-work" / "lsst-texmf").run("tag", "v29.1.0.rc1", first)
    Git(weekly.root / "aux-work" / "lsst-texmf").run(
        "push", "--quiet", str(texmf.repo), "refs/tags/v29.1.0.rc1"
    )
    repos = [weekly.product.remote(n) for n in PACKAGES]
    repos += [weekly.root / "aux" / f"{n}.git" for n in AUX]
    before = snapshot(repos)
    code, _out, err = run(weekly, *RC1)
    assert code == 1
    weekly_sha = tags(texmf)["w.2025.24"]
    assert err.splitlines()[-1] == (
        f"lsst-texmf:1: auxiliary-tag-conflict: {texmf.repo} has v29.1.0.rc1 at "
        f"{first[:12]}; the release tags {weekly_sha[:12]} (tag w.2025.24) (a tag is never "
        "moved: tag the release under another name, or delete that tag by hand if it is "
        "wrong)"
    )
    assert snapshot(repos) == before  # neither the product nor the other one was tagged
    assert not weekly.journal("release_candidate", "v29.1.0.rc1").exists()
    assert not weekly.lock().exists()


#: ``dm-release ARGS`` killed (SIGKILL) in its auxiliary step: ``write`` as it starts
#: (the product's tags pushed, nothing of the auxiliaries journaled), ``push`` at the
#: first auxiliary push (their choices journaled)
KILLED_IN_AUX = """
import os, signal, sys
from dmrelease import cli
from dmrelease.stages import release_auxiliary
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1] == "write":
    release_auxiliary.AuxiliarySteps.write = killed
else:
    release_auxiliary._make = killed
sys.exit(cli.main(sys.argv[2:]))
"""


@pytest.mark.parametrize("where", ["write", "push"])
def test_a_session_killed_between_the_product_and_the_auxiliaries_is_finished_by_a_rerun(
    tmp_path: Path, where: str
) -> None:
    setup = with_aux(tmp_path)
    command = [sys.executable, "-c", KILLED_IN_AUX, where, "release", "weekly", "w.2025.24"]
    command += ["--config", str(setup.config)]
    killed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    for name in PACKAGES:
        assert "w.2025.24" in tags(setup.remote(name))
    assert all(tags(aux_remote(setup, n)) == {} for n in AUX)
    journal = journal_json(setup.journal("weekly", "w.2025.24"))
    planned = [s for s in journal["stages"] if s.startswith("auxiliary")]
    assert planned == ([] if where == "write" else [f"auxiliary {n} planned" for n in AUX])
    chosen = heads(setup)
    moved = advance(setup.root, "scipipe_env", "develop", "after the kill\n")
    product = {n: tag_objects(setup.remote(n)) for n in PACKAGES}
    # a dry run and the plan show what the rerun will push: the journaled choice, if any
    env_sha = moved if where == "write" else chosen["scipipe_env"]
    shown = f"auxiliary scipipe_env: tag w.2025.24 at {env_sha[:12]} from branch develop"
    code, _out, err = run(setup, "weekly", "w.2025.24", "--dry-run")
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("auxiliary scipipe_env")] == [
        shown
    ]
    code, out, err = run(setup, "plan", "w.2025.24", "--session", "weekly", "--json")
    assert code == 0, err
    assert shown in err.splitlines()
    assert [t["sha"] for t in json.loads(out)["auxiliary"] if t["name"] == "scipipe_env"] == [
        env_sha
    ]
    ok(setup, "weekly", "w.2025.24")
    assert {n: tag_objects(setup.remote(n)) for n in PACKAGES} == product  # nothing re-made
    env = tags(aux_remote(setup, "scipipe_env"))["w.2025.24"]
    # the journaled choice is kept although develop moved; without one the rerun chooses
    assert env == (moved if where == "write" else chosen["scipipe_env"])
    assert tags(aux_remote(setup, "lsst-texmf"))["w.2025.24"] == chosen["lsst-texmf"]
    journal = journal_json(setup.journal("weekly", "w.2025.24"))
    assert journal["stages"][-1] == "auxiliary" and not journal["errors"]
    assert not setup.lock().exists()


def test_patch_and_backport_branch_the_auxiliaries_with_the_product(weekly: Setup) -> None:
    ok(weekly, *RC1)
    rc1 = {name: tags(aux_remote(weekly, name))["v29.1.0.rc1"] for name in AUX}
    advance(weekly.root, "lsst-texmf", "main", "next release\n")
    merge_ticket(weekly, "afw", "DM-1", "python/afw/fix.py", "FIXED = True\n")
    text = ok(weekly, "backport", "DM-1", "--to", "v29.1.x", "--packages", "afw", "--merge")
    assert f"auxiliary lsst-texmf: branch v29.1.x at {rc1['lsst-texmf'][:12]} " in text
    for name in AUX:
        assert aux_remote(weekly, name).rev_parse("v29.1.x") == rc1[name]
    fix = advance(weekly.root, "lsst-texmf", "v29.1.x", "fixed on the branch\n")
    ok(weekly, "candidate", "v29.1.0.rc2", "--no-build")  # default refs: v29.1.x, rc1
    assert tags(aux_remote(weekly, "lsst-texmf"))["v29.1.0.rc2"] == fix
    assert tags(aux_remote(weekly, "scipipe_env"))["v29.1.0.rc2"] == rc1["scipipe_env"]
    ok(weekly, "final", "29.1.0", "--no-build")
    text = ok(weekly, "patch", "29.1.1", "--packages", "base")
    assert "auxiliary lsst-texmf: branch v29.1.x exists already: kept as it is\n" in text
    assert aux_remote(weekly, "lsst-texmf").rev_parse("v29.1.x") == fix


def test_a_patch_release_branches_the_auxiliaries_from_the_final(weekly: Setup) -> None:
    ok(weekly, *RC1)
    ok(weekly, "final", "29.1.0", "--no-build")
    advance(weekly.root, "lsst-texmf", "main", "next release\n")
    text = ok(weekly, "patch", "29.1.1", "--packages", "base")
    final = {name: tags(aux_remote(weekly, name))["29.1.0"] for name in AUX}
    for name in AUX:
        assert aux_remote(weekly, name).rev_parse("v29.1.x") == final[name]
    assert f"auxiliary lsst-texmf: branch v29.1.x at {final['lsst-texmf'][:12]} from tag " in text
    before = snapshot([weekly.root / "aux" / f"{n}.git" for n in AUX])
    text = ok(weekly, "patch", "29.1.1", "--packages", "base")
    assert "auxiliary scipipe_env: branch v29.1.x exists already: kept as it is\n" in text
    assert snapshot([weekly.root / "aux" / f"{n}.git" for n in AUX]) == before


def test_a_dry_run_lists_the_auxiliaries_and_writes_nothing(weekly: Setup) -> None:
    repos = [weekly.root / "aux" / f"{n}.git" for n in AUX]
    repos += [weekly.root / "work" / "auxiliary" / f"{n}.git" for n in AUX]  # the weekly's
    before = snapshot(repos)
    assert len(before) == 4
    code, out, err = run(weekly, *RC1, "--dry-run", "--json")
    assert code == 0, err
    shas = {name: tags(aux_remote(weekly, name))["w.2025.24"] for name in AUX}
    for name, sha in shas.items():
        assert f"auxiliary {name}: tag v29.1.0.rc1 at {sha[:12]} from tag w.2025.24\n" in err
    would = [(e["package"], e["command"]) for e in json.loads(out)["would"]]
    order = [p for p, _ in would]  # the product's commands first, as they would run
    assert sorted(order[:-4]) == sorted(PACKAGES * 2)
    assert order[-4:] == ["lsst-texmf", "lsst-texmf", "scipipe_env", "scipipe_env"]
    push = ["git", "push", "--atomic", "origin", "refs/tags/v29.1.0.rc1:refs/tags/v29.1.0.rc1"]
    for name, sha in shas.items():
        tag, pushed = [c for p, c in would if p == name]
        assert (tag[:4], tag[5:], pushed) == (["git", "tag", "--annotate", "-m"],
                                              ["v29.1.0.rc1", sha], push)  # fmt: skip
        assert tag[4].startswith("meta v29.1.0.rc1\n\nversion: v29.1.0.rc1\n")
        assert f"\nauxiliary: {name}\nbuild: b1\n" in tag[4]
    assert snapshot(repos) == before


def test_validate_checks_the_auxiliaries(weekly: Setup) -> None:
    asked = ("validate", "v29.1.0.rc1", "--refs", "w.2025.24")
    code, _out, err = run(weekly, *asked)
    assert code == 0, err
    ok(weekly, *RC1)
    texmf = aux_remote(weekly, "lsst-texmf")
    texmf.run("tag", "-d", "v29.1.0.rc1")  # someone removed it by hand
    code, _out, err = run(weekly, *asked)
    assert code == 1
    assert (
        f"lsst-texmf:1: auxiliary-tag-missing: {texmf.repo} lacks tag v29.1.0.rc1 of the "
        "release (rerun the release session to finish it)"
    ) in err.splitlines()


def test_an_unreachable_auxiliary_stops_the_session_before_any_write(tmp_path: Path) -> None:
    setup = with_aux(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    os.rename(tmp_path / "aux" / "scipipe_env.git", tmp_path / "aux" / "gone.git")
    before = snapshot([setup.product.remote(n) for n in PACKAGES])
    code, _out, err = run(setup, *RC1)
    assert code == 1
    assert f"scipipe_env:1: git: {tmp_path}/aux/scipipe_env.git: " in err
    gone = tmp_path / "aux" / "scipipe_env.git"
    assert err.endswith(
        f"scipipe_env:1: git: {gone}: fatal: '{gone}' does not appear to be a git repository\n"
        "fatal: Could not read from remote repository.\n\nPlease make sure you have the "
        "correct access rights\nand the repository exists.\n"
    )
    assert snapshot([setup.product.remote(n) for n in PACKAGES]) == before


def test_a_product_without_auxiliaries_runs_no_auxiliary_step(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    journal = journal_json(setup.journal("weekly", "w.2025.24"))
    assert not [e for e in journal["events"] if "auxiliary" in e[2]]
    assert journal["stages"] == ["tagged", "pushed"]


BAD_TABLES = {
    '[auxiliary."../x"]\nurl = "a"\n': [
        "f.toml:5: config-auxiliary: auxiliary.../x: a table named like a repository "
        "(letters, digits, '.', '_' and '-', starting with a letter or digit)"
    ],
    "[auxiliary.docs]\nref = 'main'\n": [
        "f.toml:4: config-auxiliary: auxiliary.docs: url = <git URL or path> (e.g. "
        "https://github.com/lsst/lsst-texmf or ../aux/texmf.git)"
    ],
    "[auxiliary.docs]\nurl = '--upload-pack=x'\n": [
        "f.toml:5: config-auxiliary: auxiliary.docs: url = <git URL or path> (e.g. "
        "https://github.com/lsst/lsst-texmf or ../aux/texmf.git)"
    ],
    "[auxiliary.docs]\nurl = 'https://u:pw@example.org/docs'\n": [
        "f.toml:5: config-auxiliary: auxiliary.docs: url: a URL with a password "
        "(credentials come from git's own helpers, never the file)"
    ],
    "[auxiliary.docs]\nurl = 'd.git'\nref = 'a..b'\n": [
        "f.toml:6: config-auxiliary: auxiliary.docs: ref = <branch>: not a git branch name: "
        "'..', '@{' and '//' are not allowed"
    ],
    "[auxiliary.docs]\nurl = 'd.git'\nproducts = ['nope']\n": [
        "f.toml:6: config-auxiliary: auxiliary.docs: product 'nope' is not configured (add "
        "[products.nope] or drop it from products)"
    ],
    "[auxiliary.docs]\nurl = 'd.git'\nbranch = 'main'\n": [
        "f.toml:5: config-unknown-key: auxiliary.docs: unknown key branch"
    ],
}


@pytest.mark.parametrize("table", BAD_TABLES)
def test_a_bad_auxiliary_table_is_refused_where_it_is(table: str) -> None:
    text = f"[products.meta]\nrepos = 'repos.yaml'\n\n{table}"
    with pytest.raises(CheckFailed) as failed:
        build_config(text=text, path="f.toml")
    assert [str(d) for d in failed.value.diagnostics] == BAD_TABLES[table]


def test_auxiliary_tables_are_read_in_their_order(tmp_path: Path) -> None:
    text = (
        "[products.meta]\nrepos = 'repos.yaml'\n[products.other]\nrepos = 'r.yaml'\n\n"
        "[auxiliary.lsst-texmf]\nurl = 'https://github.com/lsst/lsst-texmf'\n"
        "[auxiliary.env]\nurl = '../env.git'\nref = 'develop'\nproducts = ['other']\n"
        "[auxiliary.ssh]\nurl = 'git@github.com:lsst/ssh.git'\n"
    )
    config = build_config(text=text, path=str(tmp_path / "dm-release.toml"))
    found = [(a.name, a.url, a.ref, a.products) for a in config.auxiliaries]
    assert found == [
        ("lsst-texmf", "https://github.com/lsst/lsst-texmf", None, ()),
        ("env", str(tmp_path / "../env.git"), "develop", ("other",)),
        ("ssh", "git@github.com:lsst/ssh.git", None, ()),
    ]
    assert [a.name for a in config.auxiliaries_of("meta")] == ["lsst-texmf", "ssh"]
    assert [a.name for a in config.auxiliaries_of("other")] == ["lsst-texmf", "env", "ssh"]


def test_a_refused_auxiliary_push_is_finished_by_a_rerun(weekly: Setup) -> None:
    hook = weekly.root / "aux" / "scipipe_env.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _out, err = run(weekly, *RC1)
    assert code == 1
    assert "1 repositories not pushed:\n  scipipe_env: " in err
    assert "remote: refused by policy" in err and "rerun the same command to finish" in err
    assert err.endswith(  # git pads the hook's line with blanks (a progress line's clearing)
        "dm-release: error: 1 repositories not pushed:\n  scipipe_env: remote: refused by "
        f"policy        \nerror: failed to push some refs to '{hook.parent.parent}'\n"
        "rerun the same command to finish: what is done is verified and skipped\n"
    )
    texmf = tag_objects(aux_remote(weekly, "lsst-texmf"))
    assert "v29.1.0.rc1" in texmf and "v29.1.0.rc1" not in tags(aux_remote(weekly, "scipipe_env"))
    journal = journal_json(weekly.journal("release_candidate", "v29.1.0.rc1"))
    assert [s for s in journal["stages"] if s.endswith(" pushed")] == [
        "auxiliary lsst-texmf pushed"
    ]
    hook.unlink()
    ok(weekly, *RC1)
    assert tag_objects(aux_remote(weekly, "lsst-texmf")) == texmf  # not re-made
    found = tags(aux_remote(weekly, "scipipe_env"))
    assert found["v29.1.0.rc1"] == found["w.2025.24"]


def test_a_reviewed_plan_applied_tags_the_auxiliaries_too(weekly: Setup) -> None:
    plan = weekly.root / "rc1.plan.json"
    ok(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    text = ok(weekly, "apply", str(plan))
    assert "auxiliary scipipe_env: tag v29.1.0.rc1 pushed\n" in text
    for name in AUX:
        found = tags(aux_remote(weekly, name))
        assert found["v29.1.0.rc1"] == found["w.2025.24"]


def test_the_plan_lists_the_auxiliaries(weekly: Setup) -> None:
    code, out, err = run(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--json")
    assert code == 0, err
    shas = {name: tags(aux_remote(weekly, name))["w.2025.24"] for name in AUX}
    assert [line for line in err.splitlines() if line.startswith("auxiliary ")] == [
        f"auxiliary {name}: tag v29.1.0.rc1 at {sha[:12]} from tag w.2025.24"
        for name, sha in shas.items()
    ]
    assert json.loads(out)["auxiliary"] == [
        {
            "name": name, "url": str(weekly.root / "aux" / f"{name}.git"), "sha": sha,
            "ref": "w.2025.24", "ref_kind": "tag", "tag": "v29.1.0.rc1", "branch": None,
            "done": False,
        }
        for name, sha in shas.items()
    ]  # fmt: skip
    code, out, _err = run(make_setup(weekly.root / "plain"), "plan", "w.2025.24", "--json")
    assert code == 0 and "auxiliary" not in json.loads(out)


def racing_hook(setup: Setup, name: str, ref: str, sha: str) -> None:
    """A post-receive hook on every remote of the product that makes ``ref`` at ``sha`` in
    the auxiliary remote ``name`` unless it is there: another session's write landing
    between the auxiliary check and the auxiliary write (the product's push is between)."""
    bare = setup.root / "aux" / f"{name}.git"
    script = (
        "#!/bin/sh\n"
        f"env -i PATH=\"$PATH\" git --git-dir='{bare}' update-ref {ref} {sha} '' "
        ">/dev/null 2>&1\nexit 0\n"
    )
    for package in PACKAGES:
        hook = setup.product.remote(package) / "hooks" / "post-receive"
        hook.write_text(script)
        hook.chmod(0o755)


def test_a_tag_made_elsewhere_after_the_check_is_a_conflict_the_others_are_tagged(
    tmp_path: Path,
) -> None:
    setup = with_aux(tmp_path)
    texmf = aux_remote(setup, "lsst-texmf")
    first, head = texmf.rev_parse("main~1"), texmf.rev_parse("main")
    racing_hook(setup, "lsst-texmf", "refs/tags/w.2025.24", first)
    code, _out, err = run(setup, "weekly", "w.2025.24")
    assert code == 1
    assert err.splitlines()[-1] == (
        f"lsst-texmf:1: auxiliary-tag-conflict: {texmf.repo} has w.2025.24 at {first[:12]}; "
        f"the release tags {head[:12]} (branch main) (a tag is never moved: tag the release "
        "under another name, or delete that tag by hand if it is wrong)"
    )
    assert tags(texmf) == {"w.2025.24": first}  # not moved
    env = aux_remote(setup, "scipipe_env")
    assert tags(env) == {"w.2025.24": env.rev_parse("develop")}
    journal = journal_json(setup.journal("weekly", "w.2025.24"))
    assert [s for s in journal["stages"] if s.startswith("auxiliary")] == [
        "auxiliary lsst-texmf planned", "auxiliary scipipe_env planned",
        "auxiliary scipipe_env pushed",
    ]  # fmt: skip


def test_a_release_branch_made_after_the_check_is_kept_not_fast_forwarded(
    weekly: Setup,
) -> None:
    ok(weekly, *RC1)
    ok(weekly, "final", "29.1.0", "--no-build")
    final = {name: tags(aux_remote(weekly, name))["29.1.0"] for name in AUX}
    texmf = aux_remote(weekly, "lsst-texmf")
    behind = texmf.rev_parse("29.1.0~1")  # a push of the final's commit would fast-forward it
    racing_hook(weekly, "lsst-texmf", "refs/heads/v29.1.x", behind)
    text = ok(weekly, "patch", "29.1.1", "--packages", "base")
    assert "auxiliary lsst-texmf: branch v29.1.x exists already: kept as it is\n" in text
    assert "auxiliary scipipe_env: branch v29.1.x pushed\n" in text
    assert texmf.rev_parse("v29.1.x") == behind
    assert aux_remote(weekly, "scipipe_env").rev_parse("v29.1.x") == final["scipipe_env"]
    journal = journal_json(weekly.journal("patch_release", "29.1.1"))
    pushed = {e[2]: e[3] for e in journal["events"] if e[2].endswith(" pushed")}
    assert pushed == {
        "auxiliary lsst-texmf pushed": "already on the remote",
        "auxiliary scipipe_env pushed": "pushed branch v29.1.x",
    }
    assert journal["stages"][-1] == "auxiliary" and not journal["errors"]


def test_the_auxiliaries_are_listed_whatever_repository_the_user_stands_in(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = weekly.root / "elsewhere"
    here.mkdir()
    git = Git(here)
    git.run("init", "--quiet")
    nowhere = f"{weekly.root}/nowhere/"
    git.run("config", f"url.{nowhere}.insteadOf", f"{weekly.root}/aux/")  # not dm-release's
    assert not git.ok("ls-remote", "--", str(weekly.root / "aux" / "lsst-texmf.git"))
    monkeypatch.chdir(here)
    code, _out, err = run(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 0, err
    shas = {name: tags(aux_remote(weekly, name))["w.2025.24"] for name in AUX}
    assert [line for line in err.splitlines() if line.startswith("auxiliary ")] == [
        f"auxiliary {name}: tag v29.1.0.rc1 at {sha[:12]} from tag w.2025.24"
        for name, sha in shas.items()
    ]


#: a token as the user of an auxiliary's URL (a password is refused by the config)
TOKEN = "ghp_" + "Tk7" * 7


def with_token_url(setup: Setup, url: str) -> None:
    """scipipe_env's table given ``url`` instead of its path."""
    text = setup.config.read_text()
    setup.config.write_text(text.replace('url = "aux/scipipe_env.git"', f'url = "{url}"'))


def test_an_unreachable_auxiliary_with_a_token_is_shown_without_it(tmp_path: Path) -> None:
    setup = with_aux(tmp_path)
    with socket.socket() as free:  # a port nothing listens on once closed
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with_token_url(setup, f"https://{TOKEN}@127.0.0.1:{port}/x.git")
    before = snapshot([setup.product.remote(n) for n in PACKAGES])
    code, out, err = run(setup, "weekly", "w.2025.24")
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("scipipe_env:")]
    assert len(lines) == 1
    shown = (  # then curl's reason, whose words vary with its version
        f"scipipe_env:1: git: https://****@127.0.0.1:{port}/x.git: fatal: unable to access "
        f"'https://127.0.0.1:{port}/x.git/': "
    )
    assert lines[0].startswith(shown) and len(lines[0]) > len(shown)
    assert TOKEN not in out + err
    assert snapshot([setup.product.remote(n) for n in PACKAGES]) == before


def test_an_auxiliary_url_with_a_token_is_redacted_in_the_plan_and_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = with_aux(tmp_path)
    url = f"https://{TOKEN}@aux.invalid/scipipe_env.git"
    with_token_url(setup, url)
    # git reaches the bare remote under that URL (its own rewriting, as a mirror would)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.{tmp_path}/aux/scipipe_env.git.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", url)
    text = ok(setup, "weekly", "w.2025.24")
    assert "auxiliary scipipe_env: tag w.2025.24 pushed\n" in text
    code, out, err = run(setup, "plan", "w.2025.24", "--session", "weekly", "--json")
    assert code == 0, err
    env = aux_remote(setup, "scipipe_env")
    assert json.loads(out)["auxiliary"][1] == {
        "name": "scipipe_env", "url": "https://****@aux.invalid/scipipe_env.git",
        "sha": env.rev_parse("develop"), "ref": "develop", "ref_kind": "branch",
        "tag": "w.2025.24", "branch": None, "done": True,
    }  # fmt: skip
    env.run("tag", "-d", "w.2025.24")
    code, out, err = run(setup, "validate", "w.2025.24", "--session", "weekly")
    assert code == 1
    assert [line for line in err.splitlines() if line.startswith("scipipe_env:")] == [
        "scipipe_env:1: auxiliary-tag-missing: https://****@aux.invalid/scipipe_env.git "
        "lacks tag w.2025.24 of the release (rerun the release session to finish it)"
    ]
    assert TOKEN not in out + err + text


def test_validate_lists_each_auxiliary_once_and_shows_them(
    weekly: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = weekly.root / "git.trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))  # every git command, by git itself
    asked = ("validate", "v29.1.0.rc1", "--refs", "w.2025.24", "--json")
    code, out, err = run(weekly, *asked)
    assert code == 0, err
    listed = [
        line.rpartition(" -- ")[2]
        for line in trace.read_text().splitlines()
        if "built-in: git ls-remote --symref -- " in line
    ]
    assert sorted(listed) == [str(weekly.root / "aux" / f"{name}.git") for name in sorted(AUX)]
    shas = {name: tags(aux_remote(weekly, name))["w.2025.24"] for name in AUX}
    assert [line for line in err.splitlines() if line.startswith("auxiliary ")] == [
        f"auxiliary {name}: tag v29.1.0.rc1 at {sha[:12]} from tag w.2025.24"
        for name, sha in shas.items()
    ]
    assert [(t["name"], t["sha"]) for t in json.loads(out)["auxiliary"]] == list(shas.items())
    assert err.splitlines()[-1] == "release_candidate meta v29.1.0.rc1: every rule holds"
