"""The config model: one declaration per option, default < file < environment < flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.core.config import Config, Loaded, ProductConfig, Secret, options
from dmrelease.core.config_layers import build_config, build_options
from dmrelease.core.errors import CheckFailed, ParseError
from dmrelease.core.requests import BuildRequest, RefList

FILE = """\
[products.lsst_distrib]
repos = "etc/repos.yaml"
external = ["python"]

[build]
jobs = 3
refs = ["v29.1.x"]
command = "eupspkg build"

[paths]
work_dir = "w"
"""
PATH = "/srv/ci/dm-release.toml"


def _config(environ: dict[str, str] | None = None, **flags: object) -> Config:
    return _loaded(environ, **flags).config


def _loaded(environ: dict[str, str] | None = None, **flags: object) -> Loaded:
    return build_options(text=FILE, path=PATH, environ=environ, flags=flags, cwd=Path("/cwd"))


@pytest.mark.parametrize(
    ("environ", "flags", "jobs", "refs"),
    [
        ({}, {}, 3, ("v29.1.x",)),
        ({"DM_RELEASE_JOBS": "5"}, {}, 5, ("v29.1.x",)),
        ({"DM_RELEASE_JOBS": "5"}, {"jobs": 7}, 7, ("v29.1.x",)),
        ({"REFS": "v29.1.x v29.1.0.rc1"}, {}, 3, ("v29.1.x", "v29.1.0.rc1")),
        ({"GIT_REFS": "w.2025.24"}, {}, 3, ("w.2025.24",)),
        ({"REFS": "a", "GIT_REFS": "b"}, {}, 3, ("a",)),
        ({"SOURCE_GIT_REFS": "v29.1.x v29.1.0.rc1"}, {}, 3, ("v29.1.x", "v29.1.0.rc1")),
        ({"SOURCE_GIT_REFS": "b", "GIT_REFS": "c"}, {}, 3, ("b",)),  # first set wins
        ({"REFS": "a", "SOURCE_GIT_REFS": "b", "GIT_REFS": "c"}, {}, 3, ("a",)),
        ({"REFS": "", "SOURCE_GIT_REFS": "b"}, {}, 3, ("b",)),
        ({"SOURCE_GIT_REFS": "b"}, {"refs": ["c"]}, 3, ("c",)),
        ({"REFS": "a"}, {"refs": ["c"]}, 3, ("c",)),
        ({"REFS": ""}, {"jobs": None}, 3, ("v29.1.x",)),  # empty Jenkins parameter: unset
    ],
)
def test_precedence_default_file_environment_flag(
    environ: dict[str, str], flags: dict[str, object], jobs: int, refs: tuple[str, ...]
) -> None:
    loaded = _loaded(environ, **flags)
    assert (loaded.config.jobs, loaded.request.refs) == (jobs, RefList(refs))


@pytest.mark.parametrize(
    ("environ", "flags", "expected"),
    [
        ({}, {}, None),
        ({"GIT_TAG": "v29.1.0.rc1"}, {}, "v29.1.0.rc1"),
        ({"RELEASE_GIT_TAG": "v29.1.0.rc2"}, {}, "v29.1.0.rc2"),
        ({"RELEASE_GIT_TAG": "29.1.0", "GIT_TAG": "v29.1.0.rc2"}, {}, "29.1.0"),
        ({"RELEASE_GIT_TAG": " ", "GIT_TAG": "w.2025.24"}, {}, "w.2025.24"),
        ({"RELEASE_GIT_TAG": "29.1.0"}, {"release_tag": "29.1.1"}, "29.1.1"),
        ({"RELEASE_GIT_TAG": "29.1.0"}, {"release_tag": None}, "29.1.0"),
    ],
)
def test_release_tag_from_the_environment_then_the_tag_argument(
    environ: dict[str, str], flags: dict[str, object], expected: str | None
) -> None:
    assert _loaded(environ, **flags).request.release_tag == expected


def test_release_tag_is_not_read_from_the_file() -> None:
    with pytest.raises(CheckFailed) as failed:
        build_config(text="[release]\ntag = 'v29.1.0.rc1'\n", path="f.toml")
    assert [str(d) for d in failed.value.diagnostics] == [
        "f.toml:2: config-unknown-key: unknown key release.tag (see --help)"
    ]


@pytest.mark.parametrize(
    ("text", "environ", "flags"),
    [
        ("[servers]\nbinary = 'https://ci:hunter2@pkgs.example/stack'\n", {}, {}),
        ("", {"DM_RELEASE_BINARY_SERVER": "https://ci:hunter2@pkgs.example"}, {}),
    ],
)
def test_a_server_url_with_a_password_is_refused_without_repeating_it(
    text: str, environ: dict[str, str], flags: dict[str, object]
) -> None:
    with pytest.raises(CheckFailed) as failed:
        build_config(text=text, path="f.toml", environ=environ, flags=flags)
    [problem] = failed.value.diagnostics
    assert problem.rule == "config-value" and "DM_RELEASE_BINARY_TOKEN" in str(problem)
    assert "hunter2" not in str(problem)


@pytest.mark.parametrize(
    ("text", "environ", "flags", "expected"),
    [
        (FILE, {}, {}, "/srv/ci/w/state"),  # default: <work_dir>/state
        ("", {}, {}, "/cwd/work/state"),
        (FILE, {"DM_RELEASE_WORK_DIR": "/x"}, {}, "/x/state"),
        (FILE + "state_dir = 's'\n", {}, {}, "/srv/ci/s"),
        (FILE + "state_dir = 's'\n", {"DM_RELEASE_STATE_DIR": "e"}, {}, "/cwd/e"),
        (FILE, {"DM_RELEASE_STATE_DIR": "/e"}, {"state_dir": "f"}, "/cwd/f"),
    ],
)
def test_state_dir_default_file_environment_flag(
    text: str, environ: dict[str, str], flags: dict[str, object], expected: str
) -> None:
    path = PATH if text else "/cwd/dm-release.toml"
    config = build_config(text=text, path=path, environ=environ, flags=flags, cwd=Path("/cwd"))
    assert config.state_dir == Path(expected)


def test_external_repos_of_a_product() -> None:
    text = FILE.replace('external = ["python"]', 'external = ["python"]\nexternal_repos = ["base"]')
    [product] = build_config(text=text, path=PATH).products
    assert (product.external, product.external_repos) == (("python",), ("base",))
    assert _config().products[0].external_repos == ()


def test_defaults_without_a_file() -> None:
    config = build_config(cwd=Path("/cwd"))
    assert (config.flavor, config.default_branch, config.jobs) == ("Linux64", "main", 0)
    assert config.work_dir == Path("/cwd/work") and config.outputs == Path("/cwd/work")


def test_paths_of_the_file_are_relative_to_it() -> None:
    config = _config({"DM_RELEASE_STACK": "s"})
    assert config.products == (
        ProductConfig("lsst_distrib", Path("/srv/ci/etc/repos.yaml"), external=("python",)),
    )
    assert (config.work_dir, config.versiondb) == (Path("/srv/ci/w"), Path("/srv/ci/versiondb"))
    assert config.stack == Path("/cwd/s")  # from the environment: relative to cwd


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("YES", True), ("false", False)]
)
def test_jenkins_booleans(value: str, expected: bool) -> None:
    loaded = _loaded({"PREP_ONLY": value, "NO_BINARY_FETCH": value, "BUILD_DOCS": value})
    config = loaded.config
    assert (loaded.request.prepare_only, config.no_binary_fetch, config.build_docs) == (
        expected,
    ) * 3


def test_secrets_only_from_the_environment_and_never_shown() -> None:
    config = _config({"DM_RELEASE_BINARY_TOKEN": "s3cr3t"})
    assert config.binary_token == Secret("s3cr3t")
    assert "s3cr3t" not in repr(config) and str(config.binary_token) == "****"
    with pytest.raises(CheckFailed) as failed:
        build_config(text='[servers]\ntoken = "s3cr3t"\n', path="f.toml")
    [problem] = failed.value.diagnostics
    assert (problem.line, problem.rule) == (2, "config-secret")
    assert "s3cr3t" not in str(problem) and "DM_RELEASE_BINARY_TOKEN" in str(problem)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('binary_token = "s3cr3t"\n', "f.toml:1: config-secret: binary_token: secrets are not "
         "read from the file (set it in the environment: DM_RELEASE_BINARY_TOKEN)"),
        ('# x\napi_key = "s3cr3t"\n', "f.toml:2: config-secret: api_key: secrets are not read "
         "from the file (remove it: dm-release uses no secret of this name)"),
        ('[servers]\nbinary_token = "s3cr3t"\n', "f.toml:2: config-secret: "
         "servers.binary_token: secrets are not read from the file (set it in the "
         "environment: DM_RELEASE_BINARY_TOKEN)"),
        ('[servers]\npassword = "s3cr3t"\n', "f.toml:2: config-secret: servers.password: "
         "secrets are not read from the file (remove it: dm-release uses no secret of this "
         "name)"),
        ('[servers]\nsource_token = "s3cr3t"\n', "f.toml:2: config-secret: "
         "servers.source_token: secrets are not read from the file (remove it: dm-release "
         "uses no secret of this name)"),
        ('[build]\ngit_token = "s3cr3t"\n', "f.toml:2: config-secret: build.git_token: "
         "secrets are not read from the file (remove it: dm-release uses no secret of this "
         "name)"),
    ],
)  # fmt: skip
def test_a_secret_in_the_file_is_refused_at_any_level(text: str, expected: str) -> None:
    """A top-level key too (it was config-unknown-key); the environment variable is the
    hint only for a key that means a secret dm-release reads."""
    with pytest.raises(CheckFailed) as failed:
        build_config(text=text, path="f.toml")
    assert [str(d) for d in failed.value.diagnostics] == [expected]


@pytest.mark.parametrize(
    ("text", "environ", "flags", "expected"),
    [
        ("[build]\njbos = 2\n", {}, {}, "f.toml:2: config-unknown-key: unknown key build.jbos"),
        ("[git]\njobs = 'x'\n", {}, {}, "f.toml:2: config-type: git.jobs: expected int"),
        ("[paths]\nstack = 3\n", {}, {}, "f.toml:2: config-type: paths.stack: expected path"),
        ("[build]\nrefs = [1]\n", {}, {}, "f.toml:2: config-type: build.refs: expected a list"),
        ("", {"PREP_ONLY": "maybe"}, {}, "<environment>:1: config-type: PREP_ONLY: expected"),
        ("", {}, {"selected": ["nope"]}, "config-product: product 'nope' is not configured"),
        ("[build]\nflavor = 'Win64'\n", {}, {},
         "f.toml:2: config-value: build.flavor: 'Win64' is not one of Linux64"),
        ("[build]\njobs = -1\n", {}, {}, "f.toml:2: config-value: build.jobs: -1 is not 0"),
        ("[build]\n", {}, {"jobs": -1}, "<command line>:1: config-value: --jobs: -1 is not 0"),
        ("", {"DM_RELEASE_JOBS": "-2"}, {},
         "<environment>:1: config-value: DM_RELEASE_JOBS: -2 is not 0"),
        ("[products.x]\nrepos = 'r'\nrelease_branch = 'v{major}'\n", {}, {},
         "config-product: products.x: release_branch needs {major} and {minor}"),
        ("[products.x]\nrepos = 'r'\nowner = 'me'\n", {}, {},
         "config-unknown-key: products.x: unknown key owner"),
        ("[products.x]\nexternal = []\n", {}, {}, "f.toml:1: config-product: products.x: repos ="),
        ("[nonsense]\na = 1\n", {}, {}, "config-unknown-key: unknown key nonsense.a"),
        ("[products.x]\nrepos = 'r'\nexternal_repos = 'base'\n", {}, {},
         "f.toml:3: config-product: products.x: external_repos = [<package>, ...]"),
        ("[products.x]\nrepos = 'r'\nexternal_repos = ['base', 3]\n", {}, {},
         "f.toml:3: config-product: products.x: external_repos = [<package>, ...]"),
        ("[products.x]\nrepos = 'r'\n\nexternal_repos = ['py-bind', 'a b']\n", {}, {},
         "f.toml:4: config-product: products.x: external_repos: not package names: 'py-bind',"
         " 'a b'"),
        ("[products.x]\nrepos = 'r'\nexternal = ['py.thon']\n", {}, {},
         "f.toml:3: config-product: products.x: external: not package names: 'py.thon'"),
        ("[products.x]\nrepos = 'r'\nexternal = ['base']\nexternal_repos = ['a', 'base']\n",
         {}, {}, "f.toml:4: config-product: products.x: in both external and external_repos:"
         " base (external: dependencies"),
        ("[paths]\nstate_dir = 3\n", {}, {},
         "f.toml:2: config-type: paths.state_dir: expected path, got int"),
        ("[build]\nrefs = 'w.2025.24'\n", {}, {},
         "f.toml:2: config-type: build.refs: expected list, got str"),
        ("", {"RELEASE_GIT_TAG": "v29.1.0.rc1 v29.1.0.rc2"}, {},
         "<environment>:1: config-value: RELEASE_GIT_TAG: 'v29.1.0.rc1 v29.1.0.rc2' is not a"
         " git tag name"),
        ("", {"GIT_TAG": "v29..1"}, {}, "<environment>:1: config-value: GIT_TAG: 'v29..1' is"),
        ("", {}, {"release_tag": "w.2025.24:"}, "<command line>:1: config-value: TAG:"),
        # an EUPS tag names a file ups_db/<product>/<tag>.chain: no path, no '.' (§3)
        ("", {}, {"eups_tag": "../../../tmp/x"}, "<command line>:1: config-value: --tag:"),
        ("", {"EUPS_TAG": "w.2025.24"}, {}, "<environment>:1: config-value: EUPS_TAG:"),
        ("", {"EUPS_TAG": "w_2025_24/x"}, {}, "<environment>:1: config-value: EUPS_TAG:"),
    ],
)  # fmt: skip
def test_every_problem_names_file_line_and_rule(
    text: str, environ: dict[str, str], flags: dict[str, object], expected: str
) -> None:
    with pytest.raises(CheckFailed) as failed:
        build_config(text=text, path="f.toml", environ=environ, flags=flags)
    assert any(expected in str(d) for d in failed.value.diagnostics), failed.value


@pytest.mark.parametrize("tag", ["w_2025_24", "d_latest", "v29_1_0_rc1", "current", "b8466"])
def test_eups_tags_that_name_a_chain_file_are_accepted(tag: str) -> None:
    assert build_options(flags={"eups_tag": tag}).request.eups_tag == tag


def test_all_problems_are_collected() -> None:
    with pytest.raises(CheckFailed) as failed:
        build_config(text="[build]\njbos = 1\njobs = 'x'\n[git]\nuser = 2\n", path="f.toml")
    assert [d.line for d in failed.value.diagnostics] == [2, 3, 5]


def test_toml_syntax_error_points_at_the_text() -> None:
    with pytest.raises(ParseError) as failed:
        build_config(text="[build]\njobs = = 2\n", path="f.toml")
    assert (failed.value.diagnostic.line, failed.value.diagnostic.rule) == (2, "config-syntax")


def test_every_option_is_declared_once_with_help() -> None:
    specs = options()
    keys = [s.key for s in specs.values() if s.key]
    env = [v for s in specs.values() for v in s.env]
    assert len(keys) == len(set(keys)) and len(env) == len(set(env))
    assert all(s.help for s in specs.values())
    jenkins = {"REFS", "SOURCE_GIT_REFS", "GIT_REFS", "RELEASE_GIT_TAG", "GIT_TAG", "PRODUCTS"}
    assert jenkins | {"PREP_ONLY", "NO_BINARY_FETCH", "BUILD_DOCS"} <= set(env)
    assert specs["refs"].env == ("REFS", "SOURCE_GIT_REFS", "GIT_REFS")  # in precedence order


def test_selected_products_keep_their_order() -> None:
    text = "[products.b]\nrepos = 'r'\n[products.a]\nrepos = 'r'\n"
    loaded = build_options(text=text, path="f.toml", environ={"PRODUCTS": "a,b"})
    assert [p.name for p in loaded.config.products_named(loaded.request.selected)] == ["a", "b"]
    unselected = build_options(text=text, path="f")
    assert [p.name for p in unselected.config.products_named(unselected.request.selected)] == [
        "b",
        "a",
    ]


def test_the_request_options_make_one_frozen_build_request() -> None:
    loaded = _loaded({"REFS": "v29.1.x v29.1.0.rc1", "EUPS_TAG": "w_2025_24", "PREP_ONLY": "1"})
    assert loaded.request.build_request(dry_run=True) == BuildRequest(
        (), RefList(("v29.1.x", "v29.1.0.rc1")), "w_2025_24", prepare_only=True, dry_run=True
    )
    loaded = _loaded(selected=["lsst_distrib"])
    assert loaded.request.build_request() == BuildRequest(("lsst_distrib",), RefList(("v29.1.x",)))


def test_settings_and_request_options_are_declared_apart() -> None:
    settings = {
        f
        for f in Config.__dataclass_fields__
        if "option" in Config.__dataclass_fields__[f].metadata
    }
    asked = {"selected", "refs", "release_tag", "prepare_only", "eups_tag"}
    assert asked <= set(options()) and not asked & settings
    assert {"jobs", "work_dir", "git_timeout", "flavor"} <= settings
    assert not asked & set(Config.__dataclass_fields__)  # Config holds settings only


@pytest.mark.parametrize(
    ("environ", "flags", "expected"),
    [
        ({"REFS": "main v29.1.x main"}, {},
         "<environment>:1: config-value: REFS: ('main', 'v29.1.x', 'main') is not a list of git"
         " refs: 'main' given twice (first at position 1)"),
        ({}, {"refs": ["a", "a"]},
         "<command line>:1: config-value: --refs: ('a', 'a') is not a list of git refs: 'a' given"
         " twice (first at position 1)"),
    ],
)  # fmt: skip
def test_a_ref_given_twice_is_refused_where_it_enters(
    environ: dict[str, str], flags: dict[str, object], expected: str
) -> None:
    with pytest.raises(CheckFailed) as failed:
        _loaded(environ, **flags)
    assert [str(d) for d in failed.value.diagnostics] == [expected]
