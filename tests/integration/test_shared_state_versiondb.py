"""Build ids taken on a shared versiondb remote (issue 9 §4): two agents, each with its own
clone, record at once; the same content gets the same id, other content the next one, and
every build is committed and tagged on the remote. The agents are real processes; a
pre-receive hook on the bare remote holds the first two pushes of a round until both have
arrived, so both were made from the same fetch and one of them must be refused."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rebuild_helpers import make_product, write_config
from release_helpers import clean_environment

from dmrelease import cli
from dmrelease.adapters.git import Git, GitError, pinned
from dmrelease.adapters.versiondb import CONTENT_DB, VersionDb
from dmrelease.core.manifest import (
    Manifest,
    ManifestEntry,
    content_hash,
    parse_manifest,
    render_manifest,
)
from dmrelease.demo.synthetic import SyntheticProduct, push_change

RACER = """
import json, sys, time
from pathlib import Path
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.manifest import parse_manifest
local, remote, manifest, start = sys.argv[1:]
db = VersionDb.open(Path(local), "agent", "agent@example.org", 60, remote=remote)
wanted = parse_manifest(Path(manifest).read_text())
while not Path(start).exists():
    time.sleep(0.005)
claimed, reused, steps = db.claim(wanted)
print(json.dumps({"build": claimed.build_id, "reused": reused, "steps": steps}))
"""

#: the first two pushes of a round wait (10 s at most) until both are in: neither is
#: applied before the other agent has fetched and recorded
BARRIER = """#!/bin/sh
cat >/dev/null
if mkdir race/1 2>/dev/null || mkdir race/2 2>/dev/null; then
    n=0
    while [ ! -d race/2 ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
fi
exit 0
"""


def manifest(tag: str) -> Manifest:
    """A two-package manifest whose content is set by ``tag``."""
    sha = content_sha(tag)
    entries = (
        ManifestEntry("base", sha, f"g{sha[:10]}", ()),
        ManifestEntry("meta", sha[::-1], f"g{sha[::-1][:10]}", ("base",)),
    )
    return Manifest("b0", entries)


def content_sha(tag: str) -> str:
    return hashlib.sha1(tag.encode()).hexdigest()


def bare_remote(root: Path) -> Path:
    remote = root / "versiondb.git"
    Git(root).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(BARRIER)
    hook.chmod(0o755)
    return remote


def race(root: Path, remote: Path, agents: dict[str, Manifest], round_: int) -> dict[str, dict]:
    """Start one process per agent, each claiming its manifest from its own clone, at once."""
    (remote / "race").mkdir()
    start = root / f"start-{round_}"
    processes = {}
    for agent, wanted in agents.items():
        file = root / f"{agent}-{round_}.txt"
        file.write_text(render_manifest(wanted))
        args = [str(root / agent), str(remote), str(file), str(start)]
        processes[agent] = subprocess.Popen(
            [sys.executable, "-c", RACER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    start.touch()
    results = {}
    for agent, process in processes.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        results[agent] = json.loads(out)
    (remote / "race" / "1").rmdir()
    (remote / "race" / "2").rmdir()
    (remote / "race").rmdir()
    return results


def recorded(remote: Path) -> dict[str, str]:
    """Build id → content hash of every manifest on the remote's main, checking that its
    tag points at a commit holding that manifest and that the content db agrees."""
    git = Git(remote)
    names = git.lines("ls-tree", "--name-only", "main", "--", "manifests/")
    db = git.run("show", f"main:{CONTENT_DB}").split("\n")
    lines = {line.split("\t")[1]: line.split("\t")[0] for line in db}
    found = {}
    for name in names:
        build = Path(name).stem
        if not build.startswith("b"):
            continue
        text = git.run("show", f"main:{name}") + "\n"
        assert text.split("\n")[1] == f"BUILD={build}"
        tagged = git.run("show", f"refs/tags/{build}:{name}") + "\n"
        assert tagged == text
        assert git.run("cat-file", "-t", f"refs/tags/{build}") == "tag"
        found[build] = lines[build]
        assert content_hash(parse_manifest(text)) == lines[build]
    return found


def test_racing_agents_get_the_same_id_for_the_same_content_and_distinct_ids_otherwise(
    tmp_path: Path,
) -> None:
    remote = bare_remote(tmp_path)
    seen: list[tuple[str, str, bool]] = []
    expected: dict[str, str] = {}  # build id → content hash
    rounds = 6
    for round_ in range(rounds):
        same = round_ % 2 == 0
        left = manifest(f"round {round_}")
        right = left if same else manifest(f"round {round_} other")
        results = race(tmp_path, remote, {"agent-a": left, "agent-b": right}, round_)
        a, b = results["agent-a"], results["agent-b"]
        seen += [("a", a["build"], a["reused"]), ("b", b["build"], b["reused"])]
        if same:
            assert a["build"] == b["build"]
            assert sorted([a["reused"], b["reused"]]) == [False, True]  # one lost the race
            expected[a["build"]] = content_hash(left)
        else:
            assert a["build"] != b["build"] and not a["reused"] and not b["reused"]
            expected[a["build"]] = content_hash(left)
            expected[b["build"]] = content_hash(right)
    # 3 rounds of the same content, 3 of other content: 3 + 6 builds, numbered without a gap
    assert sorted(expected, key=lambda b: int(b[1:])) == [f"b{n}" for n in range(1, 10)]
    assert recorded(remote) == expected
    assert len(seen) == 2 * rounds and len({build for _, build, _ in seen}) == 9
    head = Git(remote).rev_parse("main")
    for agent in ("agent-a", "agent-b"):  # no clone holds a record the remote lacks
        git = Git(tmp_path / agent)
        git.run("fetch", "--quiet", str(remote), "main")
        assert git.is_ancestor("main", head) and git.run("status", "--porcelain") == ""
        assert set(git.lines("tag", "--list")) <= set(expected)


def test_a_fresh_agent_continues_the_numbering_and_reuses_known_content(tmp_path: Path) -> None:
    remote = tmp_path / "versiondb.git"
    Git(tmp_path).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    first = VersionDb.open(tmp_path / "agent-1", "a", "a@example.org", 60, remote=str(remote))
    built, reused, steps = first.claim(manifest("one"))
    assert (built.build_id, reused) == ("b1", False)
    assert steps == [CONTENT_DB, "manifests/b1.txt", "commit", f"push {remote} main b1"]
    fresh = VersionDb.open(tmp_path / "agent-2", "a", "a@example.org", 60, remote=str(remote))
    assert fresh.preview(manifest("two")) == ("b2", False)  # what a release plan shows
    assert fresh.preview(manifest("one")) == ("b1", True)
    assert fresh.claim(manifest("one"))[:2] == (built, True)  # same content: same build
    second, reused, _ = fresh.claim(manifest("two"))
    assert (second.build_id, reused) == ("b2", False)  # not b1 again on a new agent
    assert first.claim(manifest("three"))[0].build_id == "b3"  # the first agent follows
    assert Git(tmp_path / "agent-1").lines("tag", "--list") == ["b1", "b2", "b3"]
    assert sorted(recorded(remote)) == ["b1", "b2", "b3"]


def test_a_build_tag_on_a_remote_is_stamped_with_its_recording_commit(tmp_path: Path) -> None:
    """The tag object of bNNNN carries the recording commit's committer and date, not the
    clock: two agents recording the same manifest with the same pinned dates (as the demo
    pins them) make the same tag object, so the same SHA."""
    pins = {
        "GIT_AUTHOR_DATE": "1700000000 +0000",
        "GIT_COMMITTER_DATE": "1700000000 +0000",
    }
    made = []
    for n in (1, 2):
        remote = tmp_path / f"versiondb-{n}.git"
        Git(tmp_path).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
        with pinned(pins):
            db = VersionDb.open(
                tmp_path / f"agent-{n}", "a", "a@example.org", 60, remote=str(remote)
            )
            assert db.claim(manifest("one"))[0].build_id == "b1"
        git = Git(remote)
        tag = git.run("cat-file", "tag", "refs/tags/b1")
        committer = git.run(
            "log", "-1", "--date=raw", "--format=%cn <%ce> %cd", "refs/tags/b1^{commit}"
        )
        assert f"\ntagger {committer}\n" in tag
        assert committer == "a <a@example.org> 1700000000 +0000"
        made.append(git.run("rev-parse", "refs/tags/b1"))
    assert made[0] == made[1]


def test_a_versiondb_recorded_before_it_had_a_remote_is_published_with_its_own_tags(
    tmp_path: Path,
) -> None:
    local = VersionDb.open(tmp_path / "vdb", "a", "a@example.org", 60)
    for n in range(2):
        local.claim(manifest(f"local {n}"))
    before = Git(tmp_path / "vdb").run("for-each-ref", "refs/tags/")
    remote = tmp_path / "versiondb.git"
    Git(tmp_path).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    shared = VersionDb.open(tmp_path / "vdb", "a", "a@example.org", 60, remote=str(remote))
    built, reused, steps = shared.claim(manifest("shared"))
    assert (built.build_id, reused, steps[-1]) == ("b3", False, f"push {remote} main b1 b2 b3")
    assert Git(remote).run("for-each-ref", "refs/tags/b1", "refs/tags/b2") == before
    assert sorted(recorded(remote)) == ["b1", "b2", "b3"]


def test_a_push_the_remote_refuses_for_another_reason_is_an_error_not_a_retry(
    tmp_path: Path,
) -> None:
    remote = tmp_path / "versiondb.git"
    Git(tmp_path).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'versiondb is read-only today' >&2\nexit 1\n")
    hook.chmod(0o755)
    db = VersionDb.open(tmp_path / "vdb", "a", "a@example.org", 60, remote=str(remote))
    with pytest.raises(GitError) as caught:
        db.claim(manifest("one"))
    assert "remote: versiondb is read-only today" in caught.value.stderr
    assert caught.value.args_[:3] == ("push", "--quiet", "--atomic")
    assert Git(remote).run("for-each-ref") == ""  # nothing half-pushed
    assert Git(tmp_path / "vdb").lines("tag", "--list") == []  # no tag the remote lacks


def test_credentials_in_the_remote_address_are_never_in_the_steps(tmp_path: Path) -> None:
    db = VersionDb.open(tmp_path / "vdb", "a", "a@example.org", 60,
                        remote="https://ci:s3cr3t-t0ken@127.0.0.1:9/versiondb.git")  # fmt: skip
    with pytest.raises(GitError) as caught:
        db.claim(manifest("one"))
    assert "s3cr3t-t0ken" not in str(caught.value)
    assert "https://****@127.0.0.1:9/versiondb.git" in str(caught.value)


# -- through `dm-release rebuild --prepare-only`, two work dirs, one versiondb remote ------


def prepare_in(agent: Path, product: SyntheticProduct, remote: Path) -> tuple[str, str]:
    """``dm-release rebuild --prepare-only`` in a work dir of its own: (BUILD=, stderr)."""
    agent.mkdir(exist_ok=True)
    config = write_config(agent, product)  # ends in its [paths] table
    config.write_text(config.read_text() + f'versiondb_remote = "{remote}"\n')
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["rebuild", "--prepare-only", "--config", str(config)])
    assert code == 0, err.getvalue()
    return (agent / "work" / "build.properties").read_text(), err.getvalue()


@pytest.mark.usefixtures(clean_environment.__name__)
def test_prepare_on_two_agents_takes_its_build_id_on_the_versiondb_remote(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    remote = tmp_path / "versiondb.git"
    Git(tmp_path).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    first, err = prepare_in(tmp_path / "agent-1", product, remote)
    assert first == "BUILD=b1\n" and f"push {remote} main b1" in err
    again, err = prepare_in(tmp_path / "agent-2", product, remote)  # a fresh agent
    assert again == "BUILD=b1\n" and "already recorded" in err
    push_change(product, "base", "a fix")
    assert prepare_in(tmp_path / "agent-2", product, remote)[0] == "BUILD=b2\n"
    assert prepare_in(tmp_path / "agent-1", product, remote)[0] == "BUILD=b2\n"
    assert sorted(recorded(remote)) == ["b1", "b2"]
