"""A no-change rebuild (issue 10): when nothing moved and every version is installed, the
build phase builds nothing, checks nothing out and starts only the versiondb's few git
processes (one fetch of its remote at most: the preview's, which the claim reuses), while
the manifests stay byte for byte; a change upstream still rebuilds exactly the package and
what depends on it. Counted from a real ``dm-release rebuild`` process's git calls and
build commands, never timed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rebuild_helpers import BUILD, GRAPH, make_product, rebuild_process, write_config

from dmrelease.demo.synthetic import push_change
from git_trace import GitTrace

#: the versiondb's git processes of a no-change rebuild, with a remote and without
WITH_REMOTE = {"fetch": 1, "for-each-ref": 1, "status": 1, "ls-tree": 1}
LOCAL = {"status": 1, "rev-parse": 1}


def _calls_in(trace: GitTrace, where: Path) -> Counter[str]:
    return Counter(call.command for call in trace.calls() if call.cwd == where)


@pytest.mark.parametrize("remote", [True, False], ids=["versiondb-remote", "local-versiondb"])
def test_a_no_change_rebuild_builds_nothing_and_starts_only_the_versiondb_git_calls(
    tmp_path: Path, remote: bool
) -> None:
    product = make_product(tmp_path)
    builds = tmp_path / "builds.txt"
    config = write_config(tmp_path, product, command=f'{BUILD} && echo "$PRODUCT" >> {builds}')
    shared = tmp_path / "versiondb.git"
    if remote:
        subprocess.run(["git", "init", "--quiet", "--bare", str(shared)], check=True)
        with config.open("a") as stream:  # the file ends in its [paths] table
            stream.write(f'versiondb_remote = "{shared}"\n')
    versiondb = tmp_path / "versiondb"
    trace = GitTrace.install(tmp_path / "trace")

    rebuild_process(trace, config)
    assert sorted(builds.read_text().split()) == sorted(GRAPH)
    manifest = (tmp_path / "work" / "manifest.txt").read_bytes()
    recorded = (versiondb / "manifests" / "b1.txt").read_bytes()
    assert manifest == recorded

    rebuild_process(trace, config)
    assert sorted(builds.read_text().split()) == sorted(GRAPH)  # no build command ran
    assert (tmp_path / "work" / "manifest.txt").read_bytes() == manifest  # the same build, b1
    assert sorted(p.name for p in (versiondb / "manifests").iterdir()) == [
        "b1.txt", "content_sha.db.txt",
    ]  # fmt: skip
    assert (versiondb / "manifests" / "b1.txt").read_bytes() == recorded
    assert _calls_in(trace, versiondb) == (WITH_REMOTE if remote else LOCAL)
    clones = tmp_path / "work" / "clones"
    in_clones = Counter(c.command for c in trace.calls() if c.cwd.parent == clones)
    assert in_clones["checkout"] == 0  # the build phase checks out only what it builds
    if remote:  # the remote holds what the first run pushed, and nothing more
        tags = subprocess.run(
            ["git", "-C", str(shared), "tag", "--list"], capture_output=True, text=True,
            check=True,
        ).stdout.split()  # fmt: skip
        assert tags == ["b1"]

    push_change(product, "geom", "Change geom")
    rebuild_process(trace, config)
    rebuilt = builds.read_text().split()[len(GRAPH) :]
    assert sorted(rebuilt) == ["afw", "geom", "meta"]  # geom and what depends on it
    assert (tmp_path / "work" / "manifest.txt").read_bytes().splitlines()[1] == b"BUILD=b2"


def test_the_rebuild_stage_loads_no_http_client_until_a_binary_server_is_used() -> None:
    """requests and urllib3 load with the first binary server request, not with the
    stage: a rebuild without a server never pays for them."""
    probe = (
        "import sys, dmrelease.stages.rebuild\n"
        "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))\n"
        "from dmrelease.adapters.binaries import http_session\n"
        "http_session()\n"
        "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "['requests', 'urllib3']"]


#: what a no-change ``dm-release rebuild`` must not load: the other verbs (the command line
#: loads its own only), the binary server's code without a server, the versiondb remote's
#: without a remote, and what only those bring (tarfile, tempfile, zoneinfo, the tag names)
NOT_LOADED = (
    "dmrelease.commands.tag", "dmrelease.commands.table", "dmrelease.commands.manifest",
    "dmrelease.commands.demo", "dmrelease.commands.release", "dmrelease.adapters.binaries",
    "dmrelease.adapters.remote_state", "dmrelease.core.names", "dmrelease.core.plan",
    "dmrelease.stages.verify", "tarfile", "tempfile", "zoneinfo", "requests",
)  # fmt: skip

#: ``dm-release rebuild --json`` in-process, counting what reaches stdout and stderr, each
#: write of which the redacting stream redacts: the JSON is written once, the plan too
_PROBE = """
import json, sys
from dmrelease import cli
class Counting:
    def __init__(self, stream):
        self.stream, self.writes = stream, []
    def write(self, text):
        self.writes.append(text)
        return len(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)
out, err = Counting(sys.stdout), Counting(sys.stderr)
sys.stdout, sys.stderr = out, err
code = cli.main(["rebuild", "--json", "--config", sys.argv[1]])
sys.stdout, sys.stderr = out.stream, err.stream
print(json.dumps({"code": code, "out": out.writes, "err": err.writes,
                  "loaded": sorted(m for m in sys.argv[2:] if m in sys.modules)}))
"""


def test_a_no_change_rebuild_loads_only_its_own_code_and_writes_its_output_whole(
    tmp_path: Path,
) -> None:
    product = make_product(tmp_path)
    config = write_config(tmp_path, product, command=BUILD)
    first = subprocess.run(
        [sys.executable, "-m", "dmrelease", "rebuild", "--config", str(config)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr

    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(config), *NOT_LOADED],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["code"] == 0
    assert seen["loaded"] == []
    assert len(seen["out"]) == 1  # the whole JSON in one write (json.dump: one per token)
    result = json.loads(seen["out"][0])
    assert result["build"]["counts"]["reused"] == len(GRAPH)
    assert len(result["prepare"]["packages"]) == len(GRAPH)
    plans = [w for w in seen["err"] if w.startswith("prepare: ")]
    assert len(plans) == 1  # the plan in one write: a line per package and the manifest's
    assert plans[0].count("\n") == len(GRAPH) + 2
    assert plans[0].endswith("manifest b1 (reused: same content as before)\n")
