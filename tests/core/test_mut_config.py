"""Configuration problems, exactly: every check's whole diagnostic, its boundaries, the
line each problem is reported at, and the option declaration itself.

Written against mutation testing (issue 8) of core/config.py and core/config_layers.py:
the existing tests matched diagnostics by substring, so a changed word, hint, boundary
(``jobs = 0``, ``timeout = 1``) or reporting line went unnoticed, and no test set
``git.timeout``, ``git.default_branch``, a ref list or a download limit at all.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from dmrelease.core.config import Config, Kind, OptionSpec, _option, request_options
from dmrelease.core.config_layers import build_config, build_options
from dmrelease.core.errors import CheckFailed
from dmrelease.core.requests import RefList


def problems(text: str | None, environ: dict[str, str] | None = None, **flags: Any) -> list[str]:
    with pytest.raises(CheckFailed) as failed:
        build_config(text=text, path="f.toml", environ=environ, flags=flags)
    return [str(d) for d in failed.value.diagnostics]


BUILD_KEYS = (
    "build.command, build.docs, build.env, build.exclude_products, build.exclusions, "
    "build.flavor, build.jobs, "
    "build.no_binary_fetch, build.products, build.refs"
)
BOTH_HINT = (
    "external: dependencies that are not packages of the product (not built); "
    "external_repos: packages of the product on external forks (finals also get vM.n.p)"
)

CASES: list[tuple[str | None, dict[str, str], dict[str, Any], list[str]]] = [
    ("[build]\njbos = 2\n", {}, {},
     [f"f.toml:2: config-unknown-key: unknown key build.jbos"
      f" (known keys of [build]: {BUILD_KEYS})"]),
    ("[paths]\njobs = 2\n", {}, {},
     ["f.toml:2: config-unknown-key: unknown key paths.jobs (did you mean build.jobs?)"]),
    ('[build]\n"a.jobs" = 2\n', {}, {},
     ["f.toml:2: config-unknown-key: unknown key build.a.jobs (did you mean build.jobs?)"]),
    ("[nonsense]\na = 1\n", {}, {},
     ["f.toml:2: config-unknown-key: unknown key nonsense.a (see --help)"]),
    ("\n\nbuild = 3\n", {}, {}, ["f.toml:3: config-unknown-key: 'build' must be a [table]"]),
    ("[git]\njobs = 'x'\n", {}, {}, ["f.toml:2: config-type: git.jobs: expected int, got str"]),
    ("[build]\njobs = true\n", {}, {},
     ["f.toml:2: config-type: build.jobs: expected int, got bool"]),
    ("", {"DM_RELEASE_JOBS": "many"}, {},
     ["<environment>:1: config-type: DM_RELEASE_JOBS: expected an integer, got 'many'"]),
    ("[build]\nflavor = 'Win64'\n", {}, {},
     ["f.toml:2: config-value: build.flavor: 'Win64' is not one of Linux64, Linux, DarwinX86,"
      " Darwin"]),
    ("[build]\njobs = -1\n", {}, {},
     ["f.toml:2: config-value: build.jobs: -1 is not 0 (automatic) or more"]),
    ("[git]\ntimeout = 0\n", {}, {},
     ["f.toml:2: config-value: git.timeout: 0 is not a positive number of seconds"]),
    ("[git]\ndefault_branch = 'a..b'\n", {}, {},
     ["f.toml:2: config-value: git.default_branch: 'a..b' is not a git branch name: '..', '@{'"
      " and '//' are not allowed"]),
    ("[build]\nrefs = ['ok', 'a b']\n", {}, {},
     ["f.toml:2: config-value: build.refs: ('ok', 'a b') is not a list of git refs: 'a b'"
      " spaces, control characters and ~ ^ : ? * [ \\ are not allowed"]),
    ("[servers]\ndownload_deadline = 0\n", {}, {},
     ["f.toml:2: config-value: servers.download_deadline: 0 is not a positive number"]),
    ("[servers]\nbinary = 'https://user@corp:pw@h/x'\n", {}, {},
     ["f.toml:2: config-value: servers.binary: the value is a URL with a password: give the"
      " token in DM_RELEASE_BINARY_TOKEN instead"]),
    ("[servers]\napi_token = 'x'\n", {}, {},
     ["f.toml:2: config-secret: servers.api_token: secrets are not read from the file"
      " (set it in the environment: DM_RELEASE_BINARY_TOKEN)"]),
    # [discourse] and [announce] (dm-release announce): the category is an id, the key a secret
    ("[discourse]\ncategory = 0\n", {}, {},
     ["f.toml:2: config-value: discourse.category: 0 is not a positive number"]),
    ("[discourse]\ncategory = '5'\n", {}, {},
     ["f.toml:2: config-type: discourse.category: expected int, got str"]),
    ("[discourse]\nurl = 'https://bot:s3cret@forum.example.org'\n", {}, {},
     ["f.toml:2: config-value: discourse.url: the value is a URL with credentials: set"
      " DM_RELEASE_DISCOURSE_API_KEY instead"]),
    ("[discourse]\napi_key = 'x'\n", {}, {},
     ["f.toml:2: config-secret: discourse.api_key: secrets are not read from the file"
      " (set it in the environment: DM_RELEASE_DISCOURSE_API_KEY)"]),
    ("[discourse]\nusr = 'bot'\n", {}, {},
     ["f.toml:2: config-unknown-key: unknown key discourse.usr (known keys of [discourse]:"
      " discourse.category, discourse.url, discourse.user)"]),
    ("", {"DM_RELEASE_DISCOURSE_CATEGORY": "announcements"}, {},
     ["<environment>:1: config-type: DM_RELEASE_DISCOURSE_CATEGORY: expected an integer, got"
      " 'announcements'"]),
    ("", {"EUPS_TAG": "w.2025.24"}, {},
     ["<environment>:1: config-value: EUPS_TAG: 'w.2025.24' is not an EUPS tag name: letters,"
      " digits and '_' only (w_2025_24, v29_1_0_rc1)"]),
    ("[products.x]\nrepos = 3\n", {}, {},
     ["f.toml:2: config-product: products.x: repos = <path of repos.yaml>"]),
    ('[build]\njobs = 1\n[ products."x" ]\nexternal = []\n', {}, {},
     ["f.toml:3: config-product: products.x: repos = <path of repos.yaml>"]),
    ("[products]\nx = 3\n", {}, {},
     ["f.toml:1: config-product: products.x: a table named like a product"]),
    ("[build]\njobs = 1\n[products.a-b]\nrepos = 'r'\n", {}, {},
     ["f.toml:4: config-product: products.a-b: a table named like a product"]),
    ("[products.x]\nrepos = 'r'\nrelease_branch = 'v{major}'\n", {}, {},
     ["f.toml:2: config-product: products.x: release_branch needs {major} and {minor},"
      " e.g. 'v{major}.{minor}.x'"]),
    ("[products.x]\nrepos = 'r'\nexternal = ['base', 'log']\nexternal_repos = ['log', 'base']\n",
     {}, {}, [f"f.toml:4: config-product: products.x: in both external and external_repos:"
              f" base, log ({BOTH_HINT})"]),
    ("[products.x]\nrepos = 'r'\nexternal_repos = ['py-bind']\n", {}, {},
     ["f.toml:3: config-product: products.x: external_repos: not package names: 'py-bind'"
      " (a package name is letters, digits and '_', as the keys of repos.yaml)"]),
    ("", {}, {"selected": ["nope"]},
     ["f.toml:1: config-product: product 'nope' is not configured"
      " (add [products.nope] to dm-release.toml)"]),
    (None, {}, {"selected": ["nope"]},
     ["<command line>:1: config-product: product 'nope' is not configured"
      " (add [products.nope] to dm-release.toml)"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "environ", "flags", "expected"), CASES, ids=[str(i) for i in range(len(CASES))]
)
def test_every_problem_is_reported_whole(
    text: str | None, environ: dict[str, str], flags: dict[str, Any], expected: list[str]
) -> None:
    assert problems(text, environ, **flags) == expected


def test_the_default_file_name_is_dm_release_toml() -> None:
    with pytest.raises(CheckFailed) as failed:
        build_config(text="[git]\ntimeout = 0\n")
    assert [str(d) for d in failed.value.diagnostics] == [
        "dm-release.toml:2: config-value: git.timeout: 0 is not a positive number of seconds"
    ]


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("[build]\njobs = 0\n", "jobs", 0),
        ("[git]\njobs = 0\n", "git_jobs", 0),
        ("[git]\ntimeout = 1\n", "git_timeout", 1),
        ("[servers]\ndownload_deadline = 1\n", "download_deadline", 1),
        ("[servers]\ndownload_max_bytes = 1\n", "download_max_bytes", 1),
        ("[build]\nflavor = 'Darwin'\n", "flavor", "Darwin"),
        ("[build]\ndocs = true\n", "build_docs", True),
        ("[git]\ndefault_branch = 'master'\n", "default_branch", "master"),
        ("[build]\nrefs = ['tickets/DM-1', 'main']\n", "refs", ("tickets/DM-1", "main")),
        ("[servers]\nsource = '/srv/eupspkg'\n", "source_server", "/srv/eupspkg"),
        ("[servers]\nbinary = 'https://h/a:b@c/d'\n", "binary_server", "https://h/a:b@c/d"),
        ("[servers]\nbinary = 'https://h/x?u=ftp://a:b@c'\n", "binary_server",
         "https://h/x?u=ftp://a:b@c"),
        ("[servers]\nbinary = 'https://token@h/x'\n", "binary_server", "https://token@h/x"),
    ],
)  # fmt: skip
def test_values_at_the_edge_of_each_check_are_accepted(text: str, name: str, value: Any) -> None:
    loaded = build_options(text=text, path="f.toml")
    found = getattr(loaded.request if name in request_options() else loaded.config, name)
    assert (found.refs if isinstance(found, RefList) else found) == value


def test_a_product_keeps_its_release_branch_and_the_file_it_came_from() -> None:
    text = "[products.x]\nrepos = 'etc/repos.yaml'\nrelease_branch = 'b.{major}.{minor}'\n"
    config = build_config(text=text, path="/srv/dm-release.toml")
    (product,) = config.products
    assert (product.repos, product.release_branch) == (
        Path("/srv/etc/repos.yaml"),
        "b.{major}.{minor}",
    )
    assert config.config_path == "/srv/dm-release.toml"
    assert build_config().config_path is None


def test_no_token_in_the_environment_is_no_token() -> None:
    assert build_config(environ={"DM_RELEASE_BINARY_TOKEN": ""}).binary_token is None
    assert build_config().binary_token is None


def test_an_unknown_flag_is_a_bug_of_the_caller_named_as_such() -> None:
    with pytest.raises(KeyError) as caught:
        build_config(flags={"nope": 1})
    assert caught.value.args == ("no option 'nope'",)


def test_an_option_declaration_carries_its_default_and_where_it_comes_from() -> None:
    declared = _option(
        7, Kind.INT, "what it does", key="a.b", env=("A_B",), flag="--a-b", metavar="N"
    )
    assert declared.default == 7
    assert declared.metadata == {
        "option": OptionSpec("a.b", ("A_B",), "--a-b", "what it does", Kind.INT, "N")
    }
    bare = _option(None, Kind.TEXT, "help")
    assert bare.metadata["option"] == OptionSpec(None, (), None, "help", Kind.TEXT, None)


def test_every_declared_default_is_the_default_of_a_config() -> None:
    config = Config()
    for f in fields(Config):
        if "option" in f.metadata:
            assert getattr(config, f.name) == f.default
    assert (config.git_timeout, config.flavor, config.default_branch) == (600, "Linux64", "main")


@pytest.mark.parametrize(
    ("text", "largest"),
    [
        ("[build]\njobs = {}\n", 1024),
        ("[git]\njobs = {}\n", 1024),
        ("[git]\ntimeout = {}\n", 86_400),
        ("[servers]\ndownload_deadline = {}\n", 86_400),
        ("[servers]\ndownload_max_bytes = {}\n", 1 << 62),
    ],
    ids=["jobs", "git-jobs", "git-timeout", "download-deadline", "download-max-bytes"],
)
def test_every_number_has_a_largest_value(text: str, largest: int) -> None:
    key = text.splitlines()[0].strip("[]") + "." + text.splitlines()[1].split(" =")[0]
    build_config(text=text.format(largest), path="f.toml")
    assert problems(text.format(largest + 1)) == [
        f"f.toml:2: config-value: {key}: {largest + 1} is larger than {largest}"
    ]


def test_an_eups_tag_names_a_file_so_its_length_is_bounded() -> None:
    from dmrelease.core.refnames import MAX_REF_LENGTH

    longest = "a" * MAX_REF_LENGTH
    assert build_options(flags={"eups_tag": longest}).request.eups_tag == longest
    assert problems(None, eups_tag=longest + "a") == [
        f"<command line>:1: config-value: --tag: {longest + 'a'!r} is longer than"
        f" {MAX_REF_LENGTH} characters (it names a file)"
    ]


def test_a_toml_syntax_error_is_reported_in_the_file_at_its_line_and_column() -> None:
    from dmrelease.core.errors import ParseError

    with pytest.raises(ParseError) as caught:
        build_config(text="[build]\njobs = = 2\n", path="f.toml")
    assert str(caught.value.diagnostic).startswith("f.toml:2:8: config-syntax: ")
