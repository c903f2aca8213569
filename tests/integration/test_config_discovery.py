"""Where dm-release finds its configuration: ``--config``, then ``DM_RELEASE_CONFIG``, then
``dm-release.toml`` in the working directory or its nearest parent that has one; and the
nox sessions run dm-release from the directory nox was invoked from (issue 11 item 2)."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from release_helpers import JENKINS_VARIABLES, make_setup

from dmrelease.adapters.config import CONFIG_VARIABLE, find_config, load_options
from dmrelease.core.errors import UsageError

NOXFILE = Path(__file__).resolve().parents[2] / "noxfile.py"


def _files(root: Path, *names: str) -> dict[str, Path]:
    files = {}
    for name in names:
        file = root / name / "dm-release.toml"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f'[git]\ndefault_branch = "{name.replace("/", "-")}"\n')
        files[name] = file
    return files


def test_the_order_is_flag_variable_working_directory_then_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path, "flag", "variable", "top", "top/mid")
    deep = tmp_path / "top" / "mid" / "deep"
    deep.mkdir()
    monkeypatch.chdir(deep)
    environ = {CONFIG_VARIABLE: str(files["variable"])}
    assert find_config(files["flag"], environ=environ).how == "--config"
    assert find_config(None, environ=environ).path == files["variable"]
    assert find_config(None, environ={CONFIG_VARIABLE: " "}).path == files["top/mid"]
    found = find_config(None, environ={})
    assert (found.path, found.how) == (deep.parent / "dm-release.toml", f"searched from {deep}")
    monkeypatch.chdir(tmp_path / "top")
    assert find_config(None, environ={}).path == files["top"]  # the nearest one
    loaded = load_options(None, environ={"DM_RELEASE_JOBS": "2"})
    assert (loaded.config.default_branch, loaded.config.jobs) == ("top", 2)
    assert loaded.config.config_path == str(files["top"])


def test_no_file_names_every_place_looked_at_and_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if any((d / "dm-release.toml").exists() for d in tmp_path.parents):
        pytest.skip("a parent of the temporary directory has a dm-release.toml")
    with pytest.raises(UsageError) as error:
        find_config(None, environ={})
    looked = ", ".join(str(d / "dm-release.toml") for d in (tmp_path, *tmp_path.parents))
    how = (
        "; give the configuration with --config FILE or DM_RELEASE_CONFIG=FILE, put a "
        "dm-release.toml in this directory or a parent, or write one with "
        "'dm-release config init'"
    )
    assert str(error.value) == (
        f"no dm-release.toml found: no --config, DM_RELEASE_CONFIG not set, and none of "
        f"{looked}{how}"
    )
    with pytest.raises(UsageError) as error:
        find_config(None, environ={CONFIG_VARIABLE: "absent.toml"})
    assert str(error.value) == f"absent.toml: no such file (DM_RELEASE_CONFIG){how}"
    with pytest.raises(UsageError) as error:
        find_config(Path("gone.toml"), environ={CONFIG_VARIABLE: "absent.toml"})
    assert str(error.value) == f"gone.toml: no such file (--config){how}"


def _nox(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real nox on dm-release's noxfile, from ``cwd``, without a venv of its own: the
    session's dm-release is this interpreter's (the editable install under test; nox is a
    test dependency, so this runs wherever the suite does)."""
    environ = {
        k: v for k, v in os.environ.items() if k not in (*JENKINS_VARIABLES, CONFIG_VARIABLE)
    }
    environ["PATH"] = os.pathsep.join((os.path.dirname(sys.executable), environ.get("PATH", "")))
    command = [sys.executable, "-m", "nox", "-f", str(NOXFILE), "--no-venv", "--no-install", *args]
    return subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True)


def test_nox_validate_from_a_product_directory_finds_its_configuration(tmp_path: Path) -> None:
    setup = make_setup(tmp_path / "product")
    inside = setup.root / "docs"
    inside.mkdir()
    result = _nox(inside, "-s", "validate", "--", "w.2025.24")
    assert result.returncode == 0, result.stderr
    assert f"nox > cd {inside}\n" in result.stderr
    assert result.stdout.startswith("plan: weekly meta w.2025.24\n")
    assert result.stdout.endswith("weekly meta w.2025.24: every rule holds\n")


def test_nox_takes_a_relative_config_from_where_it_was_invoked(tmp_path: Path) -> None:
    setup = make_setup(tmp_path / "product")
    result = _nox(
        tmp_path, "-s", "validate", "--", "w.2025.24", "--config", "product/dm-release.toml"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("weekly meta w.2025.24: every rule holds\n")
    absent = _nox(
        setup.root / "upstream", "-s", "validate", "--", "w.2025.24", "--config", "x.toml"
    )
    assert absent.returncode == 1  # nox's code for a failed session
    assert absent.stdout.startswith("dm-release: error: x.toml: no such file (--config); give")
    failed = (
        "dm-release release validate --install w.2025.24 --config x.toml failed with exit code 2"
    )
    assert failed in absent.stderr


#: a uid that is neither root nor the test's user (tests may run as root: chown works)
OTHER_UID = 65534


def _refusal(file: Path, cwd: Path, reason: str) -> str:
    return (
        f"{file}: refused: found by searching from {cwd}, but {reason}, so someone else may "
        f"have written it (its build.command would run); pass --config {file} to use it "
        "anyway, or remove it"
    )


def test_a_searched_file_of_another_user_or_writable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = _files(tmp_path, "top")["top"]
    deep = tmp_path / "top" / "deep"
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert find_config(None, environ={}).path == file  # the user's own, 0644: trusted
    file.chmod(0o646)
    with pytest.raises(UsageError) as error:
        find_config(None, environ={})
    assert str(error.value) == _refusal(file, deep, "it is writable by group or others")
    # named by the user: used as it is
    assert find_config(file, environ={}).how == "--config"
    assert find_config(None, environ={CONFIG_VARIABLE: str(file)}).path == file
    if os.getuid() != 0:
        pytest.skip("changing a file's owner needs root")
    file.chmod(0o664)
    os.chown(file, -1, OTHER_UID)  # a group others are in: refused
    with pytest.raises(UsageError) as error:
        find_config(None, environ={})
    assert str(error.value) == _refusal(file, deep, "it is writable by group or others")
    assert find_config(file, environ={}).path == file
    # the user's private group (named after the user, no other member), as umask 002 makes
    # files under Debian's user private groups: no one else can write it, trusted
    os.chown(file, -1, os.getgid())
    group = grp.getgrgid(os.getgid())
    if group.gr_name == pwd.getpwuid(os.getuid()).pw_name and not set(group.gr_mem) - {
        group.gr_name
    }:
        assert find_config(None, environ={}).path == file
    file.chmod(0o644)
    os.chown(file, OTHER_UID, -1)
    with pytest.raises(UsageError) as error:
        find_config(None, environ={})
    reason = f"it is owned by uid {OTHER_UID}, neither you nor root"
    assert str(error.value) == _refusal(file, deep, reason)
    assert find_config(file, environ={}).path == file
    os.chown(file, 0, -1)  # root's: trusted, as git trusts root's repositories
    assert find_config(None, environ={}).path == file
    link = deep / "dm-release.toml"  # another user's link to a trusted file
    link.symlink_to(file)
    os.chown(link, OTHER_UID, -1, follow_symlinks=False)
    with pytest.raises(UsageError) as error:
        find_config(None, environ={})
    assert str(error.value) == _refusal(link, deep, reason)


def test_a_directory_is_not_a_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    how = (
        "; give the configuration with --config FILE or DM_RELEASE_CONFIG=FILE, put a "
        "dm-release.toml in this directory or a parent, or write one with "
        "'dm-release config init'"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as error:
        find_config(tmp_path, environ={})
    assert str(error.value) == f"{tmp_path}: is a directory, not a file (--config){how}"
    with pytest.raises(UsageError) as error:
        find_config(None, environ={CONFIG_VARIABLE: str(tmp_path)})
    assert str(error.value) == f"{tmp_path}: is a directory, not a file (DM_RELEASE_CONFIG){how}"
    _files(tmp_path, "top")  # a real file above the directory: the search stops at the latter
    deep = tmp_path / "top" / "deep"
    (deep / "dm-release.toml").mkdir(parents=True)
    monkeypatch.chdir(deep)
    with pytest.raises(UsageError) as error:
        find_config(None, environ={})
    assert str(error.value) == (
        f"{deep / 'dm-release.toml'}: is a directory, not a file (searched from {deep}){how}"
    )
