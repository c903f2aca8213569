"""Each problem of a rebuild is a clear error naming the package; nothing built is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rebuild_helpers import GRAPH, config_for, make_product, run_build, run_prepare, write_config

from dmrelease.adapters.git import Git
from dmrelease.adapters.stack import Stack
from dmrelease.core.errors import CheckFailed, UsageError
from dmrelease.core.graph import CycleError
from dmrelease.demo.synthetic import PackageSpec

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rebuild"


def _problems(tmp_path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(CheckFailed) as failed:
        run_prepare(config_for(tmp_path / "dm-release.toml", **kwargs))  # type: ignore[arg-type]
    return [str(d) for d in failed.value.diagnostics]


def test_a_dependency_missing_from_repos_yaml_names_it_and_its_user(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"geom": PackageSpec(deps=("utils", "sphgeom"))})
    write_config(tmp_path, product)
    [problem] = _problems(tmp_path)
    assert "geom@main:ups/geom.table:3: repos-missing: sphgeom (required by geom)" in problem


def test_a_missing_optional_dependency_is_skipped_and_reported(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"geom": PackageSpec(deps=("utils",), optional=("pyfits",))})
    prepared, log = run_prepare(config_for(write_config(tmp_path, product)))
    assert "pyfits" not in prepared.manifest.packages
    assert "skipped pyfits (optional for geom, not in repos.yaml)" in log


def test_an_external_package_is_not_fetched(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"geom": PackageSpec(deps=("utils", "python"))})
    path = write_config(tmp_path, product)
    path.write_text(path.read_text().replace("\n\n[build]", '\nexternal = ["python"]\n\n[build]'))
    prepared, _ = run_prepare(config_for(path))
    assert "python" not in prepared.manifest.packages and "geom" in prepared.manifest.packages


def test_a_cycle_is_named(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"base": PackageSpec(deps=("afw",))})
    with pytest.raises(CycleError) as failed:
        run_prepare(config_for(write_config(tmp_path, product)))
    assert "afw -> geom -> utils -> base -> afw" in str(failed.value)


def test_an_unreachable_remote_names_the_package_and_its_repos_yaml_line(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    product.repos_yaml.write_text(
        product.repos_yaml.read_text().replace(str(product.remote("daf")), "/nowhere/daf.git")
    )
    write_config(tmp_path, product)
    [problem] = _problems(tmp_path)
    assert problem.startswith(f"{product.repos_yaml}:3: git: daf: ")
    assert "/nowhere/daf.git" in problem


def test_a_dirty_clone_is_refused_and_kept(tmp_path: Path) -> None:
    config = config_for(write_config(tmp_path, make_product(tmp_path)))
    run_prepare(config)
    readme = tmp_path / "work" / "clones" / "utils" / "README.md"
    readme.write_text("local work\n")
    [problem] = _problems(tmp_path)
    assert "dirty-clone: utils: clone" in problem and "README.md" in problem
    assert readme.read_text() == "local work\n"


def test_a_failing_build_keeps_what_was_built(tmp_path: Path) -> None:
    command = '[ "$PRODUCT" != daf ] || exit 1; mkdir -p "$PREFIX"'
    config = config_for(write_config(tmp_path, make_product(tmp_path), command=command))
    prepared, _ = run_prepare(config)
    with pytest.raises(Exception, match="daf: build command exited 1"):
        run_build(config, prepared)
    stack = Stack(tmp_path / "stack", "Linux64")
    kept = {e.name for e in prepared.manifest.entries if stack.is_installed(e.name, e.version)}
    assert kept == {"base", "utils", "geom", "afw"}  # meta needs daf


def test_a_typo_in_the_config_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, make_product(tmp_path), extra="jbos = 4")
    with pytest.raises(CheckFailed) as failed:
        config_for(path)
    [problem] = failed.value.diagnostics
    assert (problem.line, problem.rule) == (7, "config-unknown-key")


def test_the_jenkins_script_takes_parameters_from_the_environment(tmp_path: Path) -> None:
    product = make_product(tmp_path, {"base": PackageSpec(tags=("w.2025.24",))})
    path = write_config(tmp_path, product)
    env = {"REFS": "w.2025.24", "PREP_ONLY": "true", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--config", str(path), "--json"],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    refs = {p["package"]: p["ref"] for p in result["prepare"]["packages"]}
    assert refs["base"] == "w.2025.24" and refs["meta"] == "main"
    assert result["build"] is None  # PREP_ONLY
    assert (tmp_path / "work" / "build.properties").read_text() == "BUILD=b1\n"
    assert len((tmp_path / "work" / "manifest.txt").read_text().splitlines()) == 2 + len(GRAPH)


def test_the_command_prints_json_for_machines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from dmrelease.commands import rebuild

    parser = argparse.ArgumentParser()
    rebuild.register(parser.add_subparsers())
    path = write_config(tmp_path, make_product(tmp_path))
    args = parser.parse_args(["rebuild", "--config", str(path), "--json", "--jobs", "1"])
    assert args.handler(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["build"]["counts"]["built"] == len(GRAPH)
    assert result["prepare"]["build_id"] == "b1"


def test_a_missing_exclusion_map_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, make_product(tmp_path), extra='exclusions = "nowhere.txt"')
    with pytest.raises(UsageError, match=f"{tmp_path / 'nowhere.txt'}: no such exclusion map"):
        run_prepare(config_for(path))


def test_a_table_file_that_is_not_utf8_names_the_package(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    work = tmp_path / "geom-work"
    Git(tmp_path).run("clone", "--quiet", product.url("geom"), str(work))
    (work / "ups" / "geom.table").write_bytes(b"setupRequired(utils)\n# caf\xe9\n")
    ident = ["-c", "user.name=Dev", "-c", "user.email=dev@example.org"]
    Git(work).run(*ident, "commit", "--quiet", "-am", "Latin-1 table")
    Git(work).run("push", "--quiet", "origin", "main")
    write_config(tmp_path, product)
    [problem] = _problems(tmp_path)
    assert problem.startswith("geom@main:ups/geom.table:2: file-encoding: ")


def test_a_local_commit_in_a_clone_is_refused_not_left_behind(tmp_path: Path) -> None:
    config = config_for(write_config(tmp_path, make_product(tmp_path)))
    run_prepare(config)
    clone = tmp_path / "work" / "clones" / "utils"
    (clone / "FIX.md").write_text("a fix made in the clone\n")
    ident = ["-c", "user.name=Dev", "-c", "user.email=dev@example.org"]
    Git(clone).run("add", "FIX.md")
    Git(clone).run(*ident, "commit", "--quiet", "-m", "Local fix")
    local = Git(clone).rev_parse("HEAD")
    [problem] = _problems(tmp_path)
    assert "dirty-clone: utils: " in problem and local[:10] in problem
    assert Git(clone).rev_parse("HEAD") == local
