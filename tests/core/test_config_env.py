"""The build environment in the settings (core/config_env): ``{env}`` replaced by
build.env in the stack's and the servers' paths, refused with the file and line where it is
used while build.env is unset; an environment name that can reach a path; the flavor of a
machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.core.config_env import env_name_problem, flavor_of, with_environment
from dmrelease.core.config_layers import build_options
from dmrelease.core.errors import CheckFailed

FILE = """\
[paths]
stack = "stacks/{env}"
source_server = "/srv/eupspkg/{env}"
binary_server = "s3://bucket/{env}/tarballs"

[servers]
binary = "https://eups.example/{env}/tarballs"
source = "https://eups.example/{env}/src"
"""


@pytest.mark.parametrize(
    ("system", "machine", "flavor"),
    [
        ("Linux", "x86_64", "Linux64"),
        ("Linux", "aarch64", "Linux"),
        ("Darwin", "x86_64", "DarwinX86"),
        ("Darwin", "arm64", "Darwin"),
        ("Linux", "ppc64le", None),
        ("Windows", "AMD64", None),
    ],
)
def test_the_flavor_of_a_machine(system: str, machine: str, flavor: str | None) -> None:
    assert flavor_of(system, machine) == flavor


@pytest.mark.parametrize("name", ["9.0.0", "w.2025.24", "rubin-env_11+cuda", "..a", "A1"])
def test_good_environment_names(name: str) -> None:
    assert env_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a/b", "not an environment name: letters, digits and ._-+ only (e.g. 9.0.0)"),
        ("..", "not an environment name: letters, digits and ._-+ only (e.g. 9.0.0)"),
        (".", "not an environment name: letters, digits and ._-+ only (e.g. 9.0.0)"),
        ("9 0", "not an environment name: letters, digits and ._-+ only (e.g. 9.0.0)"),
        ("{env}", "not an environment name: letters, digits and ._-+ only (e.g. 9.0.0)"),
        ("x" * 101, "longer than 100 characters"),
    ],
)
def test_bad_environment_names(name: str, problem: str) -> None:
    assert env_name_problem(name) == problem


def test_env_is_replaced_in_the_stack_and_every_server() -> None:
    loaded = build_options(text=FILE, path="/etc/dm/f.toml", environ={"SPLENV_REF": "9.0.0"})
    config = with_environment(loaded).config
    assert config.stack == Path("/etc/dm/stacks/9.0.0")
    assert config.source_server_dir == "/srv/eupspkg/9.0.0"
    assert config.binary_server_dir == "s3://bucket/9.0.0/tarballs"
    assert config.binary_server == "https://eups.example/9.0.0/tarballs"
    assert config.source_server == "https://eups.example/9.0.0/src"
    assert config.env_name == "9.0.0"


def test_the_first_environment_variable_set_names_the_environment() -> None:
    environ = {"RUBINENV_VER": "10.1.0", "SPLENV_REF": "9.0.0", "DM_RELEASE_ENV": "x"}
    loaded = build_options(text=FILE, path="f.toml", environ=environ)
    assert with_environment(loaded).config.source_server_dir == "/srv/eupspkg/10.1.0"
    assert loaded.sources["env_name"] == "environment RUBINENV_VER"


def test_env_used_while_build_env_is_unset_names_each_key_and_line() -> None:
    loaded = build_options(text=FILE, path="f.toml")
    with pytest.raises(CheckFailed) as caught:
        with_environment(loaded)
    hint = "(set build.env in the file or one of RUBINENV_VER, SPLENV_REF, DM_RELEASE_ENV)"
    assert [str(d) for d in caught.value.diagnostics] == [
        f"f.toml:{line}: config-env: {key}: {{env}} is used but build.env is unset {hint}"
        for line, key in (
            (2, "paths.stack"),
            (3, "paths.source_server"),
            (4, "paths.binary_server"),
            (7, "servers.binary"),
            (8, "servers.source"),
        )
    ]


def test_env_given_in_the_environment_is_named_by_its_variable() -> None:
    environ = {"DM_RELEASE_SOURCE_SERVER_DIR": "/srv/{env}"}
    loaded = build_options(text="", path="f.toml", environ=environ)
    with pytest.raises(CheckFailed) as caught:
        with_environment(loaded)
    assert [str(d) for d in caught.value.diagnostics] == [
        "<environment>:1: config-env: DM_RELEASE_SOURCE_SERVER_DIR (paths.source_server): "
        "{env} is used but build.env is unset (set build.env in the file or one of "
        "RUBINENV_VER, SPLENV_REF, DM_RELEASE_ENV)"
    ]


def test_a_bad_environment_name_is_refused_where_it_was_given() -> None:
    loaded = build_options(text='[build]\nenv = "../x"\n', path="f.toml")
    with pytest.raises(CheckFailed) as caught:
        with_environment(loaded)
    assert [str(d) for d in caught.value.diagnostics] == [
        "f.toml:2: config-env: build.env: '../x' is not an environment name: letters, "
        "digits and ._-+ only (e.g. 9.0.0)"
    ]


def test_without_env_nothing_changes_and_build_env_alone_is_fine() -> None:
    loaded = build_options(text='[build]\nenv = "9.0.0"\n', path="f.toml")
    assert with_environment(loaded) is loaded


LIBRARY_FILE = """\
[products.app]
repos = "repos.yaml"
libraries = ["lib_a", "lib_b"]

[libraries.lib_a]
tag = "v1_0_0"
server = "https://eups.example/{env}/tarballs"

[libraries.lib_b]
tag = "v2_0_0"
"""


def test_env_is_replaced_in_a_library_server_like_servers_binary() -> None:
    loaded = build_options(text=LIBRARY_FILE, path="f.toml", environ={"SPLENV_REF": "9.0.0"})
    libraries = with_environment(loaded).config.libraries
    assert [(lib.name, lib.tag, lib.server) for lib in libraries] == [
        ("lib_a", "v1_0_0", "https://eups.example/9.0.0/tarballs"),
        ("lib_b", "v2_0_0", None),
    ]


def test_env_in_a_library_server_while_build_env_is_unset_names_its_table() -> None:
    loaded = build_options(text=LIBRARY_FILE, path="f.toml")
    with pytest.raises(CheckFailed) as caught:
        with_environment(loaded)
    assert [str(d) for d in caught.value.diagnostics] == [
        "f.toml:6: config-env: libraries.lib_a.server: {env} is used but build.env is unset "
        "(set build.env in the file or one of RUBINENV_VER, SPLENV_REF, DM_RELEASE_ENV)"
    ]


def test_the_machine_flavor_is_the_default_only() -> None:
    loaded = build_options(text="", path="f.toml")
    assert with_environment(loaded, flavor="Darwin").config.flavor == "Darwin"
    given = build_options(text='[build]\nflavor = "Linux"\n', path="f.toml")
    assert with_environment(given, flavor="Darwin").config.flavor == "Linux"
    environ = {"DM_RELEASE_FLAVOR": "DarwinX86"}
    from_env = build_options(text="", path="f.toml", environ=environ)
    assert with_environment(from_env, flavor="Darwin").config.flavor == "DarwinX86"


def test_a_relative_destination_of_the_file_is_relative_to_the_file_s_directory() -> None:
    text = '[paths]\nsource_server = "srv/{env}/src"\nbinary_server = "gs://b/{env}"\n'
    environ = {"DM_RELEASE_ENV": "9.0.0"}
    config = with_environment(build_options(text=text, path="/etc/dm/f.toml", environ=environ))
    assert config.config.source_server_dir == "/etc/dm/srv/9.0.0/src"
    assert config.config.binary_server_dir == "gs://b/9.0.0"
    given = {"DM_RELEASE_SOURCE_SERVER_DIR": "here/src"}  # the environment's: as given
    from_env = with_environment(build_options(text="", path="/etc/dm/f.toml", environ=given))
    assert from_env.config.source_server_dir == "here/src"
