"""Build: reuse, binary fetch from a real HTTP server, failure and resume, EUPS tags."""

from __future__ import annotations

import functools
import io
import json
import tarfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from http_helpers import serving
from rebuild_helpers import GRAPH, config_for, make_product, run_build, run_prepare, write_config

from dmrelease.adapters.stack import Stack
from dmrelease.core.build import Action
from dmrelease.demo.synthetic import push_change
from dmrelease.stages.rebuild import BuildFailed


class _Recording(SimpleHTTPRequestHandler):
    requests: list[tuple[str, str]]

    def do_HEAD(self) -> None:
        self.requests.append(("HEAD", self.path))
        super().do_HEAD()

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path))
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def binary_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[tuple[str, str]]]]:
    """A tarball server on 127.0.0.1 (free port): base URL, its directory, requests seen."""
    root = tmp_path / "binaries"
    root.mkdir()
    seen: list[tuple[str, str]] = []
    handler = type("Handler", (_Recording,), {"requests": seen})
    with serving(functools.partial(handler, directory=root)) as address:
        yield f"http://{address}/", root, seen


def _publish(root: Path, product: str, version: str) -> None:
    """A binary tarball as the server holds it: the tree ``<p>/<v>/…``."""
    payload = f"{product} {version} from the binary server\n".encode()
    with tarfile.open(root / f"{product}-{version}@Linux64.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo(f"{product}/{version}/lib/{product}.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def _actions(built: object) -> dict[str, str]:
    return {o.package: str(o.action) for o in built.outcomes}  # type: ignore[attr-defined]


def test_build_installs_everything_then_a_rerun_builds_nothing(tmp_path: Path) -> None:
    config = config_for(write_config(tmp_path, make_product(tmp_path)))
    prepared, _ = run_prepare(config)
    built, _ = run_build(config, prepared)
    assert built.counts["built"] == len(GRAPH)
    stack = Stack(tmp_path / "stack", "Linux64")
    for entry in prepared.manifest.entries:
        installed = stack.install_dir(entry.name, entry.version) / "lib" / f"{entry.name}.txt"
        assert installed.read_text() == f"{entry.name} {entry.version}\n"
        assert (
            stack.install_dir(entry.name, entry.version) / "ups" / f"{entry.name}.table"
        ).is_file()
    status = json.loads((tmp_path / "work" / "status.json").read_text())
    assert status["counts"]["built"] == len(GRAPH) and status["build_id"] == "b1"
    again, _ = run_build(config, run_prepare(config)[0])
    assert again.counts == {
        "reused": len(GRAPH),
        "fetched": 0,
        "built": 0,
        "failed": 0,
        "skipped": 0,
    }


def test_a_change_rebuilds_exactly_the_package_and_its_downstream(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    config = config_for(write_config(tmp_path, product))
    run_build(config, run_prepare(config)[0])
    push_change(product, "geom", "Change geom")
    built, _ = run_build(config, run_prepare(config)[0])
    assert {n for n, a in _actions(built).items() if a == "built"} == {"geom", "afw", "meta"}


def test_dependency_dirs_point_into_the_stack(tmp_path: Path) -> None:
    command = 'mkdir -p "$PREFIX" && env | grep _DIR= | sort > "$PREFIX/dirs.txt"'
    config = config_for(write_config(tmp_path, make_product(tmp_path), command=command))
    prepared, _ = run_prepare(config)
    run_build(config, prepared)
    afw = prepared.manifest.packages["afw"]
    stack = Stack(tmp_path / "stack", "Linux64")
    lines = (stack.install_dir("afw", afw.version) / "dirs.txt").read_text().splitlines()
    base = prepared.manifest.packages["base"]
    assert f"BASE_DIR={stack.install_dir('base', base.version)}" in lines  # transitive
    assert not any(line.startswith("DAF_DIR=") for line in lines)  # not a dependency


def test_a_build_installs_straight_into_its_final_directory(tmp_path: Path) -> None:
    # paths a build records at install time (rpaths, .pc files) must stay valid
    command = 'mkdir -p "$PREFIX" && echo "$PREFIX" > "$PREFIX/prefix.txt"'
    config = config_for(write_config(tmp_path, make_product(tmp_path), command=command))
    prepared, _ = run_prepare(config)
    run_build(config, prepared)
    stack = Stack(tmp_path / "stack", "Linux64")
    for name, entry in prepared.manifest.packages.items():
        installed = stack.install_dir(name, entry.version)
        assert (installed / "prefix.txt").read_text().strip() == str(installed)


def test_an_install_directory_without_its_record_is_redone(tmp_path: Path) -> None:
    config = config_for(write_config(tmp_path, make_product(tmp_path)))
    prepared, _ = run_prepare(config)
    stack = Stack(tmp_path / "stack", "Linux64")
    base = prepared.manifest.packages["base"]
    leftover = stack.install_dir("base", base.version) / "lib" / "half-written.so"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("a build killed before its record was written")
    built, _ = run_build(config, prepared)
    assert _actions(built)["base"] == "built"
    assert not leftover.exists() and stack.is_installed("base", base.version)


def test_binaries_on_the_server_are_fetched_not_built(
    tmp_path: Path, binary_server: tuple[str, Path, list[tuple[str, str]]]
) -> None:
    url, root, seen = binary_server
    config = config_for(write_config(tmp_path, make_product(tmp_path), binary=url))
    prepared, _ = run_prepare(config)
    base = prepared.manifest.packages["base"]
    _publish(root, "base", base.version)
    built, _ = run_build(config, prepared)
    assert _actions(built)["base"] == "fetched" and built.counts["built"] == len(GRAPH) - 1
    installed = Stack(tmp_path / "stack", "Linux64").install_dir("base", base.version)
    assert "from the binary server" in (installed / "lib" / "base.txt").read_text()
    assert sorted(m for m, _ in seen).count("HEAD") == len(GRAPH)
    assert [p for m, p in seen if m == "GET"] == [f"/base-{base.version}@Linux64.tar.gz"]


def test_no_binary_fetch_builds_instead(
    tmp_path: Path, binary_server: tuple[str, Path, list[tuple[str, str]]]
) -> None:
    url, root, seen = binary_server
    path = write_config(tmp_path, make_product(tmp_path), binary=url)
    config = config_for(path, environ={"NO_BINARY_FETCH": "true"})
    prepared, _ = run_prepare(config)
    _publish(root, "base", prepared.manifest.packages["base"].version)
    built, _ = run_build(config, prepared)
    assert built.counts["built"] == len(GRAPH) and seen == []


def test_a_failure_stops_dependents_and_a_rerun_resumes(tmp_path: Path) -> None:
    flag = tmp_path / "disk-is-full"
    flag.touch()
    fail = (
        f'if [ "$PRODUCT" = geom ] && [ -f {flag} ]; then '
        'echo "No space left on device" >&2; exit 28; fi; '
    )
    config = config_for(
        write_config(tmp_path, make_product(tmp_path), command=fail + "mkdir -p $PREFIX")
    )
    prepared, _ = run_prepare(config)
    with pytest.raises(BuildFailed) as failed:
        run_build(config, prepared)
    message = str(failed.value)
    assert "geom: build command exited 28" in message and "No space left on device" in message
    assert "not built because of them: afw, meta" in message
    status = json.loads((tmp_path / "work" / "status.json").read_text())
    assert {n: p["action"] for n, p in status["packages"].items()} == {
        "base": "built", "daf": "built", "utils": "built",
        "geom": "failed", "afw": "skipped", "meta": "skipped",
    }  # fmt: skip
    geom = prepared.manifest.packages["geom"]
    assert not Stack(tmp_path / "stack", "Linux64").is_installed("geom", geom.version)
    log = (tmp_path / "work" / "logs" / "geom.log").read_text()
    assert log.endswith("\nNo space left on device\n")
    flag.unlink()
    resumed, _ = run_build(config, run_prepare(config)[0])
    assert _actions(resumed) == {
        "base": "reused", "daf": "reused", "utils": "reused",
        "geom": "built", "afw": "built", "meta": "built",
    }  # fmt: skip


def test_eups_tag_is_declared_over_the_built_versions(tmp_path: Path) -> None:
    config = config_for(write_config(tmp_path, make_product(tmp_path)), eups_tag="w_2025_24")
    prepared, _ = run_prepare(config)
    run_build(config, prepared)
    tagged = Stack(tmp_path / "stack", "Linux64").tagged("w_2025_24")
    assert tagged == {e.name: e.version for e in prepared.manifest.entries}


def test_dry_run_build_plans_without_building(tmp_path: Path) -> None:
    from dmrelease.stages.rebuild import build

    config = config_for(write_config(tmp_path, make_product(tmp_path)))
    prepared, _ = run_prepare(config)
    planned = build(config.config, config.dry().request, None, prepared.manifest, io.StringIO())
    assert {o.action for o in planned.outcomes} == {Action.BUILT}
    assert not (tmp_path / "stack").exists() and not (tmp_path / "work" / "status.json").exists()


def test_the_binary_token_never_reaches_a_build_command_or_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "s3cr3t-binary-token"
    monkeypatch.setenv("DM_RELEASE_BINARY_TOKEN", token)
    command = 'env; mkdir -p "$PREFIX" && env > "$PREFIX/env.txt"'
    path = write_config(tmp_path, make_product(tmp_path), command=command)
    config = config_for(path, environ={"DM_RELEASE_BINARY_TOKEN": token})
    assert config.binary_token is not None  # the token is configured, for the server only
    built, log = run_build(config, run_prepare(config)[0])
    assert built.counts["built"] == len(GRAPH)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "upstream" not in p.parts]
    assert any(p.name == "env.txt" for p in written) and any(p.suffix == ".log" for p in written)
    assert not [p for p in written if token in p.read_text(errors="replace")]
    assert token not in log


@pytest.mark.parametrize(
    ("jobs", "cpus", "expected"), [(0, 2, 2), (0, 32, 8), (0, None, 1), (12, 32, 12), (3, 1, 3)]
)
def test_the_pool_defaults_to_min_cpu_8(
    monkeypatch: pytest.MonkeyPatch, jobs: int, cpus: int | None, expected: int
) -> None:
    from dmrelease.adapters import config

    monkeypatch.setattr(config.os, "cpu_count", lambda: cpus)
    assert config.auto_jobs(jobs) == expected


def test_no_more_than_jobs_packages_build_at_once(tmp_path: Path) -> None:
    running = tmp_path / "running"
    running.mkdir()
    seen = tmp_path / "seen.txt"
    command = (
        f"touch {running}/$PRODUCT; ls {running} | wc -l >> {seen}; sleep 0.2; "
        f'rm {running}/$PRODUCT; mkdir -p "$PREFIX"'
    )
    config = config_for(write_config(tmp_path, make_product(tmp_path), command=command), jobs=1)
    run_build(config, run_prepare(config)[0])
    counts = [int(line) for line in seen.read_text().split()]
    assert len(counts) == len(GRAPH) and max(counts) == 1
