"""``dm-release doctor`` against real things: an HTTP server on 127.0.0.1, a closed port,
a bare versiondb remote, directories that can or cannot be written; the installed
command in a process of its own, with the environment it is given."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from http_helpers import serving

from dmrelease.adapters.git import Git
from dmrelease.adapters.probes import GIT_MINIMUM, judge_git_version, parse_git_version

SECRET = "doctor-s3cret-value-1234"
CHECKS = [
    "python", "git", "git-lfs", "config", "credentials", "products", "build_command",
    "binary_server", "source_server", "versiondb_remote", "work_dir",
]  # fmt: skip
NEEDS_CONFIG = CHECKS[5:]


class Answers(BaseHTTPRequestHandler):
    """200 for /binaries, 404 for anything else (still a server that answers)."""

    def do_HEAD(self) -> None:
        self.send_response(200 if self.path.startswith("/binaries") else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on: bound, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def versiondb_remote(root: Path) -> Path:
    """A bare repository with one branch, as a shared versiondb remote is."""
    remote = root / "versiondb.git"
    Git(root).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    clone = root / "seed"
    Git(root).run("init", "--quiet", "--initial-branch=main", str(clone))
    git = Git(clone, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})  # fmt: skip
    git.run("commit", "--quiet", "--allow-empty", "-m", "seed")
    git.run("push", "--quiet", str(remote), "main")
    return remote


def write_config(root: Path, binary: str, source: str, remote: str, work: str) -> Path:
    (root / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = root / "dm-release.toml"
    config.write_text(
        '[products.meta]\nrepos = "repos.yaml"\n\n[build]\ncommand = "true"\n\n'
        f'[servers]\nbinary = "{binary}"\nsource = "{source}"\n\n'
        f'[paths]\nwork_dir = "{work}"\nversiondb_remote = "{remote}"\n'
    )
    return config


def doctor(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    environ = {k: v for k, v in environ.items() if not k.startswith("DM_RELEASE_")}
    environ |= {"GITHUB_TOKEN": SECRET, **(env or {})}
    environ.pop("GIT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "dmrelease", "doctor", *args],
        capture_output=True, text=True, check=False, cwd=cwd, env=environ,
    )  # fmt: skip


def checks(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document = json.loads(done.stdout)
    assert document["verb"] == "doctor"
    assert [c["name"] for c in document["checks"]] == CHECKS
    return {c["name"]: c for c in document["checks"]}


def test_everything_reachable_and_writable_is_ok(tmp_path: Path) -> None:
    remote = versiondb_remote(tmp_path)
    (tmp_path / "work").mkdir()
    with serving(Answers) as address:
        binary, source = f"http://{address}/binaries", f"http://{address}/sources"
        config = write_config(tmp_path, binary, source, str(remote), "work")
        done = doctor(tmp_path, "--json")
        human = doctor(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    found = checks(done)
    assert json.loads(done.stdout)["ok"] is True
    assert {name: c["status"] for name, c in found.items()} == dict.fromkeys(CHECKS, "ok")
    assert found["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert found["git"]["minimum"] == "2.29"
    assert (found["config"]["path"], found["config"]["found_by"]) == (
        str(config),
        f"searched from {tmp_path}",
    )
    assert "GITHUB_TOKEN" in found["credentials"]["set"]
    assert "GIT_TOKEN" in found["credentials"]["not_set"]
    server = found["binary_server"]
    assert (server["target"], server["http_status"]) == (binary, 200)
    assert found["source_server"]["http_status"] == 404  # an answer: the server is there
    assert found["versiondb_remote"]["branches"] == 1
    assert found["work_dir"]["target"] == str(tmp_path / "work")
    assert found["work_dir"]["detail"] == "writable"
    products = found["products"]
    assert (products["detail"], products["products"]) == ("1: meta", ["meta"])
    assert (found["build_command"]["detail"], found["build_command"]["target"]) == ("set", "true")

    assert human.returncode == 0
    lines = human.stdout.splitlines()
    assert [line.split(":")[0].split() for line in lines] == [["ok", name] for name in CHECKS]
    assert f"ok    binary_server: {binary}: answers HTTP 200" in lines
    for output in (done.stdout, done.stderr, human.stdout, human.stderr):
        assert SECRET not in output  # names only, never a value


def test_a_closed_port_a_missing_remote_and_an_unwritable_work_dir_fail(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory\n")
    binary = f"http://127.0.0.1:{closed_port()}/binaries"
    missing = tmp_path / "no-such-remote.git"
    write_config(tmp_path, binary, str(tmp_path / "no-sources"), str(missing), "afile/work")
    done = doctor(tmp_path, "--json", "--timeout", "2")
    assert done.returncode == 1
    found = checks(done)
    assert json.loads(done.stdout)["ok"] is False
    statuses = {name: c["status"] for name, c in found.items()}
    assert statuses == dict.fromkeys(CHECKS, "ok") | dict.fromkeys(
        ["binary_server", "source_server", "versiondb_remote", "work_dir"], "fail"
    )
    assert found["binary_server"]["detail"].startswith("unreachable: ")
    assert found["source_server"]["detail"] == "no such directory"
    assert found["versiondb_remote"]["detail"].startswith("git ls-remote failed: ")
    assert found["work_dir"]["detail"] == f"{tmp_path / 'afile'} is not a directory"

    human = doctor(tmp_path, "--timeout", "2")
    assert human.returncode == 1
    assert sum(line.startswith("fail ") for line in human.stdout.splitlines()) == 4


def test_no_configuration_fails_and_skips_what_needs_it(tmp_path: Path) -> None:
    """None found by searching: a failed check (one given that does not exist is a usage
    error, below)."""
    if any((d / "dm-release.toml").exists() for d in tmp_path.parents):
        pytest.skip("a parent of the temporary directory has a dm-release.toml")
    done = doctor(tmp_path, "--json")
    assert done.returncode == 1
    found = checks(done)
    assert found["config"]["status"] == "fail"
    assert found["config"]["detail"].startswith(
        f"no dm-release.toml found: no --config, DM_RELEASE_CONFIG not set, and none of "
        f"{tmp_path / 'dm-release.toml'}, "
    )
    for name in NEEDS_CONFIG:
        assert (found[name]["status"], found[name]["detail"]) == ("skip", "no valid configuration")


def test_a_configuration_given_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    """As for every verb: --config or DM_RELEASE_CONFIG naming no file exits 2."""
    missing = tmp_path / "nope.toml"
    done = doctor(tmp_path, "--config", str(missing))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"dm-release: error: {missing}: no such file (--config); give")
    done = doctor(tmp_path, "--json", env={"DM_RELEASE_CONFIG": str(missing)})
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert (document["ok"], document["diagnostics"]) == (False, [])
    assert document["error"].startswith(f"{missing}: no such file (DM_RELEASE_CONFIG); give")
    done = doctor(tmp_path, "--config", str(tmp_path))
    assert done.returncode == 2
    assert f"{tmp_path}: is a directory, not a file (--config)" in done.stderr


def test_a_configuration_no_verb_can_run_is_not_all_ok(tmp_path: Path) -> None:
    """No product, a product whose repos file is missing, no build command."""
    (tmp_path / "work").mkdir()
    config = tmp_path / "dm-release.toml"
    config.write_text('[paths]\nwork_dir = "work"\n')
    done = doctor(tmp_path, "--json")
    assert done.returncode == 1
    found = checks(done)
    statuses = {name: c["status"] for name, c in found.items()}
    assert statuses == dict.fromkeys(CHECKS, "ok") | {"products": "fail", "build_command": "warn"}
    assert found["products"]["detail"] == (
        "none configured: no verb can run; add a [products.NAME] table with "
        'repos = "<path of repos.yaml>" to the configuration file'
    )
    assert found["build_command"]["detail"] == (
        "not set: rebuild can prepare and reuse binaries, but not build a package"
    )
    assert found["versiondb_remote"]["detail"] == (
        "not configured: no versiondb remote, build ids are kept on this machine only"
    )
    config.write_text(
        '[products.meta]\nrepos = "repos.yaml"\n\n[products.other]\nrepos = "o.yaml"\n\n'
        '[paths]\nwork_dir = "work"\n'
    )
    (tmp_path / "o.yaml").write_text("base: https://example.invalid/base.git\n")
    human = doctor(tmp_path)
    assert human.returncode == 1
    lines = human.stdout.splitlines()
    assert f"fail  products: meta: {tmp_path / 'repos.yaml'}: no such file" in lines
    assert (
        "warn  build_command: not set: rebuild can prepare and reuse binaries, but not "
        "build a package" in lines
    )


def test_an_invalid_configuration_is_reported_with_its_diagnostics(tmp_path: Path) -> None:
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.meta]\nrepos = "repos.yaml"\n\n[build]\njobs = "many"\n')
    done = doctor(tmp_path, "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert checks(done)["config"]["status"] == "fail"
    assert document["diagnostics"], done.stdout
    assert {d["file"] for d in document["diagnostics"]} == {str(config)}
    assert [(d["line"], d["rule"]) for d in document["diagnostics"]] == [(5, "config-type")]
    lines = doctor(tmp_path).stdout.splitlines()
    at = lines.index(f"fail  config: {config} (searched from {tmp_path}): invalid")
    assert lines[at + 1].startswith(f"      {config}:5: config-type: build.jobs: ")


def test_a_bad_timeout_is_a_usage_error(tmp_path: Path) -> None:
    done = doctor(tmp_path, "--timeout", "0")
    assert (done.returncode, done.stdout) == (2, "")
    assert "'0': expected seconds, more than 0, at most 600" in done.stderr


@pytest.mark.parametrize(
    ("text", "status", "detail"),
    [
        ("git version 2.39.5", "ok", "2.39.5 (needs 2.29 or newer)"),
        ("git version 2.29.0", "ok", "2.29.0 (needs 2.29 or newer)"),
        ("git version 2.45.GIT", "ok", "2.45 (needs 2.29 or newer)"),
        ("git version 2.30.1.windows.1", "ok", "2.30.1 (needs 2.29 or newer)"),
        ("git version 2.28.0", "fail", "2.28.0, older than 2.29: upgrade git"),
        ("git version 1.9.9", "fail", "1.9.9, older than 2.29: upgrade git"),
        ("hg 6.1", "fail", "'hg 6.1': not a version git prints"),
    ],
)
def test_the_git_version_is_judged_against_the_minimum(text: str, status: str, detail: str) -> None:
    probe = judge_git_version(text)
    assert (probe.status, probe.detail) == (status, detail)
    assert GIT_MINIMUM == (2, 29)
    assert parse_git_version("git version 2.39.5\n") == (2, 39, 5)


def test_without_git_on_path_the_git_check_says_so_once(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    done = doctor(tmp_path, "--json", env={"PATH": str(tmp_path / "bin")})
    found = checks(done)
    assert (found["git"]["status"], found["git"]["detail"]) == (
        "fail",
        "cannot run git: not found on PATH",
    )
