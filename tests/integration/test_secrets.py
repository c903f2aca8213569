"""Credentials never appear in what dm-release prints or writes (issue 8 §4).

Secrets are planted everywhere a user can put them: repos.yaml URLs (``user:password@``,
``token@``, ``?access_token=``), the binary-server URL (a token, and in another
configuration a password), and the environment (``DM_RELEASE_BINARY_TOKEN``, git's
credential variables). Then every verb is made to fail against a real HTTP server on
127.0.0.1 that answers 500 to everything, and every byte dm-release printed (stdout,
stderr) and wrote (work dir, state dir, journals, logs, JSON, versiondb) is searched for
each secret, as is and percent-encoded: none is found. Git's own ``.git/config`` of a clone
is the one place a URL is kept.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

import pytest
from http_helpers import serving
from rebuild_helpers import BUILD, PATHS
from release_helpers import PACKAGES, Setup, clean_environment, make_setup, refuse_pushes

from dmrelease import cli
from dmrelease.hooks import check_product_membership, check_repos_yaml

__all__ = ["clean_environment"]  # the fixture, used by `planted`

PASSWORD = "pw-Hunter2@e81f"  # an '@' in it: git and URLs show it percent-encoded
URL_TOKEN = "ghp_RepoTok3n0123456789abc"
QUERY_TOKEN = "qTok-77aa3c19"
BINARY_URL_TOKEN = "binTok-Url-5c6d7e8f9a0b"
BINARY_PASSWORD = "binPw-1d2e3f4a"
ENV_TOKEN = "envTok-DM-4b5c6d7e"
GIT_PASSWORD = "envGit-Pw-9f8e7d6c"
SECRETS = (PASSWORD, URL_TOKEN, QUERY_TOKEN, BINARY_URL_TOKEN, BINARY_PASSWORD, ENV_TOKEN,
           GIT_PASSWORD)  # fmt: skip
ENVIRONMENT = {"DM_RELEASE_BINARY_TOKEN": ENV_TOKEN, "GIT_PASSWORD": GIT_PASSWORD,
               "GITHUB_TOKEN": URL_TOKEN}  # fmt: skip


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret)}


class _Refusing(BaseHTTPRequestHandler):
    """Answers every request 500 (a HEAD 403: not retried), naming what it was asked."""

    def _refuse(self) -> None:
        body = f"cannot serve {self.path}\n".encode()
        self.send_response(403 if self.command == "HEAD" else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Refusing) as address:
        yield address


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch, clean_environment: None) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def world(tmp_path: Path, server: str, planted: None) -> Setup:
    """The release product with a credential in every repos.yaml URL, a binary server URL
    with a token, and the secrets in the environment."""
    setup = make_setup(tmp_path)
    hostile = {
        "afw": f"http://127.0.0.1:{server.split(':')[1]}/afw.git?access_token={QUERY_TOKEN}",
        "base": f"http://alice:{quote(PASSWORD, safe='')}@{server}/base.git",
        "meta": f"http://bob:{quote(PASSWORD, safe='')}@{server}/meta.git",
        "utils": f"http://{URL_TOKEN}@{server}/utils.git",
    }
    setup.product.repos_yaml.write_text("".join(f"{n}: {hostile[n]}\n" for n in PACKAGES))
    _write_config(setup, f"http://{BINARY_URL_TOKEN}@{server}/")
    return setup


def _write_config(setup: Setup, binary: str | None, extra: str = "", build: str = BUILD) -> None:
    servers = f'[servers]\nbinary = "{binary}"\n' if binary else ""
    setup.config.write_text(
        f'[products.meta]\nrepos = "{setup.product.repos_yaml}"\n{extra}\n'
        f"[build]\ncommand = '{build}'\n\n{PATHS}\n{servers}"
    )


def _cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exited:  # argparse: usage errors
            code = int(exited.code or 0)
    return code, out.getvalue() + err.getvalue()


def _hook(main: Callable[[list[str]], int], *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def _written(root: Path, before: dict[Path, bytes]) -> dict[Path, bytes]:
    """Every file under ``root`` that is new or changed since ``before``, except git's
    own config of a clone (where git keeps the remote URL it was given): refs, objects,
    FETCH_HEAD, reflogs of clones and remotes are searched too."""
    found = {}
    for path in root.rglob("*"):
        if not path.is_file() or (path.name == "config" and path.parent.name == ".git"):
            continue
        data = path.read_bytes()
        if before.get(path) != data:
            found[path] = data
    return found


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return sorted({s for s in SECRETS for form in _forms(s) if form.encode() in data})


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _sweep(setup: Setup, runs: list[tuple[str, Callable[[], tuple[int, str]]]]) -> dict[str, int]:
    """Run each verb; every one must fail; nothing printed or written holds a secret."""
    before = _files(setup.root)
    leaks: dict[str, list[str]] = {}
    codes = {}
    for name, run in runs:
        code, printed = run()
        codes[name] = code
        if _leaks(printed):
            leaks[f"{name} (printed)"] = _leaks(printed)
        assert "Traceback" not in printed, f"{name}:\n{printed}"
    for path, data in _written(setup.root, before).items():
        if _leaks(data):
            leaks[str(path.relative_to(setup.root))] = _leaks(data)
    assert leaks == {}
    assert {name: code for name, code in codes.items() if code == 0} == {}
    return codes


def _credentialed(setup: Setup) -> None:
    """repos.yaml names the real remotes through URLs that carry credentials (git accepts
    and ignores userinfo in a ``file://localhost`` URL): every verb gets as far as it can."""
    remote = setup.product.remote
    urls = {
        "afw": f"file://localhost{remote('afw')}",
        "base": f"file://alice:{quote(PASSWORD, safe='')}@localhost{remote('base')}",
        "meta": f"file://bob:{quote(PASSWORD, safe='')}@localhost{remote('meta')}",
        "utils": f"file://{URL_TOKEN}@localhost{remote('utils')}",
    }
    setup.product.repos_yaml.write_text("".join(f"{n}: {urls[n]}\n" for n in PACKAGES))


#: a build that prints what a careless build prints: its remote, the environment
LEAKY_BUILD = (
    'git remote get-url origin; echo "GIT_PASSWORD=$GIT_PASSWORD GITHUB_TOKEN=$GITHUB_TOKEN"'
)


def _release(setup: Setup, *args: str) -> Callable[[], tuple[int, str]]:
    command, *rest = args
    return lambda: _cli("release", command, "--config", str(setup.config), *rest)


def test_no_verb_prints_or_writes_a_credential_of_repos_yaml_or_the_environment(
    world: Setup,
) -> None:
    config = str(world.config)
    plan = world.root / "plan.json"
    plan.write_text('{"format": "dm-release-plan/1"}')
    extended = world.root / "repos-extended.yaml"
    extended.write_text(
        world.product.repos_yaml.read_text() + f"zzz: ftp://u:{PASSWORD}@{URL_TOKEN}/x\n"
    )
    runs = [
        ("rebuild", lambda: _cli("rebuild", "--config", config)),
        ("rebuild --dry-run", lambda: _cli("rebuild", "--config", config, "--dry-run", "--json")),
        ("rebuild --verbose", lambda: _cli("--verbose", "rebuild", "--config", config)),
        ("plan", _release(world, "plan", "v29.1.0.rc1", "--refs", "w.2025.01", "--json")),
        ("validate", _release(world, "validate", "v29.1.0.rc1", "--refs", "w.2025.01")),
        ("weekly", _release(world, "weekly", "w.2025.01")),
        ("weekly --dry-run", _release(world, "weekly", "w.2025.01", "--dry-run")),
        ("candidate", _release(world, "candidate", "v29.1.0.rc1", "--refs", "main")),
        ("final", _release(world, "final", "29.1.0")),
        ("patch", _release(world, "patch", "29.1.1", "--packages", "afw")),
        ("backport", _release(world, "backport", "DM-1", "--to", "v29.1.x", "--packages", "afw")),
        ("apply", _release(world, "apply", str(plan))),
        ("manifest", lambda: _cli("manifest", "verify", str(world.root / "none.txt"))),
        ("table", lambda: _cli("table", "deps", str(world.root / "none.table"))),
        ("tag", lambda: _cli("tag", "classify", "--", f"-{ENV_TOKEN}")),
        ("check-repos-yaml", lambda: _hook(check_repos_yaml.main, str(extended))),
    ]
    codes = _sweep(world, runs)
    assert codes["rebuild"] == 1  # the clones failed, each reported
    assert codes["check-repos-yaml"] == 1  # ftp:// is not a git URL


def test_verbs_that_clone_build_tag_and_push_leave_no_credential_anywhere(
    tmp_path: Path, planted: None
) -> None:
    """The remotes answer, through credentialed URLs; the build prints its remote URL and
    the credential variables; one build fails, then a remote refuses pushes. Logs,
    status.json, journals, the manifest and versiondb hold no secret, nor does anything
    printed."""
    setup = make_setup(tmp_path)
    _credentialed(setup)
    _write_config(setup, None, build=f"{LEAKY_BUILD}; test $PRODUCT != meta")
    config = str(setup.config)
    codes = _sweep(setup, [
        ("rebuild", lambda: _cli("rebuild", "--config", config, "--json")),
        ("weekly", _release(setup, "weekly", "w.2025.01")),
        ("backport", _release(setup, "backport", "DM-1", "--to", "v29.1.x", "--packages", "afw")),
    ])  # fmt: skip
    logs = {p.name: p.read_text() for p in (setup.root / "work" / "logs").glob("*.log")}
    assert sorted(logs) == ["afw.log", "base.log", "meta.log", "utils.log"]
    assert f"file://****@localhost{setup.product.remote('base')}" in logs["base.log"]
    assert "GIT_PASSWORD=**** GITHUB_TOKEN=****" in logs["base.log"]
    status = json.loads((setup.root / "work" / "status.json").read_text())
    assert status["packages"]["meta"]["action"] == "failed"
    assert codes == {"rebuild": 1, "weekly": 1, "backport": 1}

    _write_config(setup, None, build=f"{LEAKY_BUILD}; {BUILD}")  # builds pass now
    refuse_pushes(setup, "afw")
    plan = setup.root / "plan.json"
    _sweep(setup, [("weekly", _release(setup, "weekly", "w.2025.01"))])
    code, printed = _release(setup, "plan", "w.2025.02", "--output", str(plan))()
    assert code == 0 and not _leaks(printed) and not _leaks(plan.read_text())
    _sweep(setup, [
        ("weekly", _release(setup, "weekly", "w.2025.01")),
        ("candidate", _release(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.01")),
        ("candidate --dry-run", _release(setup, "candidate", "v29.1.0.rc1", "--refs",
                                         "w.2025.01", "--dry-run")),
        ("validate", _release(setup, "validate", "v29.1.0.rc1", "--refs", "w.2025.01")),
        ("apply", _release(setup, "apply", str(plan), "--break-lock")),  # the weekly's lock
        ("--verbose plan", lambda: _cli("--verbose", "release", "plan", "v29.1.0.rc1", "--config",
                                        str(setup.config), "--refs", "nowhere")),
    ])  # fmt: skip
    journal = setup.journal("weekly", "w.2025.01").read_text()
    assert "refused by policy" in journal  # the push failed, and was journaled
    assert "refused by policy" in setup.journal("weekly", "w.2025.02").read_text()  # apply
    assert "file://****@localhost" in journal or "localhost" not in journal


def test_a_refused_binary_server_does_not_show_its_token(
    tmp_path: Path, server: str, planted: None
) -> None:
    """The git remotes are fine; the binary server (token in its URL, and in the
    environment) answers 500: rebuild and the weekly stop, naming the server redacted."""
    setup = make_setup(tmp_path)
    _write_config(setup, f"http://{BINARY_URL_TOKEN}@{server}/")
    config = str(setup.config)
    runs = [
        ("rebuild", lambda: _cli("rebuild", "--config", config, "--json")),
        ("weekly", _release(setup, "weekly", "w.2025.01")),
    ]
    _sweep(setup, runs)
    code, printed = _cli("rebuild", "--config", config)
    assert code == 1
    assert f"HEAD http://****@{server}/base-g" in printed  # the server is named, not its token


def test_a_password_in_the_binary_server_url_is_refused_without_echoing_it(
    tmp_path: Path, server: str, planted: None
) -> None:
    setup = make_setup(tmp_path)
    _write_config(setup, f"http://ci:{BINARY_PASSWORD}@{server}/")
    config = str(setup.config)
    _sweep(setup, [("rebuild", lambda: _cli("rebuild", "--config", config))])
    code, printed = _cli("rebuild", "--config", config)
    assert code == 2  # a configuration that does not load: an environment error
    assert "config-value: servers.binary: the value is a URL with a password" in printed


def test_a_repos_conflict_names_both_urls_redacted(
    tmp_path: Path, server: str, planted: None
) -> None:
    setup = make_setup(tmp_path)
    other = setup.root / "other-repos.yaml"
    other.write_text(f"base: http://carol:{quote(PASSWORD, safe='')}@{server}/fork/base.git\n")
    setup.product.repos_yaml.write_text(f"base: http://{URL_TOKEN}@{server}/base.git\n")
    _write_config(setup, f"http://{BINARY_URL_TOKEN}@{server}/",
                  extra=f'\n[products.other]\nrepos = "{other}"\n')  # fmt: skip
    config = str(setup.config)
    _sweep(setup, [("rebuild", lambda: _cli("rebuild", "--config", config))])
    code, printed = _cli("rebuild", "--config", config)
    assert (code, printed.strip()) == (
        1,
        f"{other}:1: repos-conflict: base: http://****@{server}/fork/base.git here, "
        f"http://****@{server}/base.git in {setup.product.repos_yaml}",
    )


def test_hooks_reading_repos_yaml_report_a_bad_url_without_its_password(
    tmp_path: Path, planted: None
) -> None:
    repos = tmp_path / "repos.yaml"
    repos.write_text(
        f"afw: -https://alice:{PASSWORD}@h/afw.git\n"
        f"base: ftp://{URL_TOKEN}@h/base.git\n"
        f"meta: https://ci:{quote(PASSWORD, safe='')}@h/meta.git\n"
    )
    products = tmp_path / "products.yaml"
    products.write_text(f"repos: {repos}\nproducts:\n  meta: ups/meta.table\n")
    code, printed = _hook(check_repos_yaml.main, str(repos))
    assert _leaks(printed) == []
    assert printed.splitlines() == [
        f"{repos}:1:6: repos-url: `-https://****@h/afw.git` starts with '-': "
        "git would read it as an option",
        f"{repos}:2:7: repos-url: `ftp://****@h/base.git` is not a git URL (https://…, git@host:…)",
    ]
    assert code == 1
    code, printed = _hook(check_product_membership.main, "--products", str(products))
    assert _leaks(printed) == []
    assert code != 0
