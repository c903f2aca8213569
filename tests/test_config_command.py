"""``dm-release config``: show (every value and its source, secrets masked), init (a
commented file, never over an existing one), reference (docs/configuration.md)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from dmrelease.cli import main
from dmrelease.commands.config import init_text, reference_text
from dmrelease.core.config import PRODUCT_HELP, SECRETS, options
from dmrelease.core.config_layers import build_options

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def _no_configuration_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's Jenkins parameters or DM_RELEASE_* must not change what is shown."""
    for spec in options().values():
        for variable in spec.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DM_RELEASE_CONFIG", *SECRETS.values()):
        monkeypatch.delenv(variable, raising=False)


def test_docs_configuration_md_is_what_the_generator_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["config", "reference"]) == 0
    printed = capsys.readouterr().out
    assert printed == reference_text()
    assert DOCS.read_text() == printed, (
        "docs/configuration.md is stale: run 'dm-release config reference > docs/configuration.md'"
    )


def test_the_reference_has_a_row_per_option_with_type_default_variables_and_flag() -> None:
    text = reference_text()
    rows = [line for line in text.splitlines() if line.startswith("| `") or "(none; " in line]
    assert len(rows) == len(options()) + len(PRODUCT_HELP)
    assert (
        "| `build.refs` | list | `[]` | `REFS`, `SOURCE_GIT_REFS`, `GIT_REFS` | `--refs` | "
        "ordered git refs; per package the first that exists wins |"
    ) in rows
    assert (
        "| `git.timeout` | int | `600` | `DM_RELEASE_GIT_TIMEOUT` | (none) | seconds before one"
        " git command is abandoned |"
    ) in rows
    for name, spec in options().items():
        row = next(r for r in rows if r.startswith(f"| `{spec.key}` |" if spec.key else
                                                   f"| (none; shown as {name}) |"))  # fmt: skip
        assert all(f"`{variable}`" in row for variable in spec.env)
        assert f"`{spec.flag}`" in row if spec.flag else "| (none) |" in row
    assert "- `DM_RELEASE_BINARY_TOKEN`: the token sent to the binary server" in text
    for word in ("DESIGN", "STYLE", "§", "``"):
        assert word not in text


FILE = """\
[products.meta]
repos = "etc/repos.yaml"
external = ["python"]

[build]
jobs = 3

[paths]
work_dir = "w"
"""


def test_show_prints_every_value_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dm-release.toml").write_text(FILE)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.setenv("DM_RELEASE_GIT_TIMEOUT", "30")
    monkeypatch.setenv("SOURCE_GIT_REFS", "w.2025.24")
    monkeypatch.setenv("DM_RELEASE_BINARY_TOKEN", "zq9")  # too short for the redaction
    assert main(["config", "show", "--jobs", "5", "--products", "meta"]) == 0
    lines = capsys.readouterr().out.splitlines()
    file = tmp_path / "dm-release.toml"
    assert lines[0] == f"# {file} (searched from {tmp_path / 'sub'})"
    shown = {line.split(" = ")[0]: line.split(" = ", 1)[1] for line in lines[1:]}
    expected_names = [spec.key or name for name, spec in options().items()]
    products = [f"products.meta.{key}" for key in PRODUCT_HELP]
    assert list(shown) == [*expected_names, *products, *SECRETS]
    sources = {name: value.rsplit("  # ", 1)[1] for name, value in shown.items()}
    assert sources["build.jobs"] == "flag --jobs"  # over the file's 3
    assert sources["build.products"] == "flag --products"
    assert sources["git.timeout"] == "environment DM_RELEASE_GIT_TIMEOUT"
    assert sources["build.refs"] == "environment SOURCE_GIT_REFS"
    assert sources["paths.work_dir"] == f"{file}:9"
    assert sources["paths.state_dir"] == "default (<work_dir>/state)"
    assert sources["products.meta.repos"] == f"{file}:2"
    assert sources["binary_token"] == "environment DM_RELEASE_BINARY_TOKEN"
    assert sources["git.default_branch"] == sources["build.flavor"] == "default"
    assert shown["paths.work_dir"].startswith(f'"{tmp_path / "w"}"  ')
    assert shown["build.refs"].startswith('["w.2025.24"]  ')
    assert shown["products.meta.external"].startswith('["python"]  ')
    assert shown["binary_token"].startswith("****  ")
    assert shown["build.command"].startswith("(unset)  ")
    assert "zq9" not in "\n".join(lines)


def test_show_json_masks_the_secret_and_gives_typed_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "elsewhere.toml"
    file.write_text(FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DM_RELEASE_CONFIG", str(file))
    monkeypatch.setenv("DM_RELEASE_BINARY_TOKEN", "zq9")
    assert main(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    document = json.loads(out)
    assert (document["verb"], document["ok"], document["diagnostics"]) == ("config show", True, [])
    assert (document["file"], document["found"]) == (str(file), "DM_RELEASE_CONFIG")
    values = {v["name"]: (v["value"], v["source"]) for v in document["values"]}
    assert values["build.jobs"] == (3, f"{file}:6")
    assert values["build.refs"] == ([], "default")
    assert values["build.no_binary_fetch"] == (False, "default")
    assert values["products.meta.repos"] == (str(tmp_path / "etc/repos.yaml"), f"{file}:2")
    assert values["products.meta.external"] == (["python"], f"{file}:3")  # its own line
    assert values["products.meta.release_branch"] == ("v{major}.{minor}.x", f"{file}:1")
    assert values["binary_token"] == ("****", "environment DM_RELEASE_BINARY_TOKEN")
    assert "zq9" not in out


def test_show_without_a_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["config", "show", "--config", "absent.toml"]) == 2
    assert capsys.readouterr().err.startswith(
        "dm-release: error: absent.toml: no such file (--config); give the configuration with"
    )


def test_init_writes_a_commented_file_that_loads_as_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["config", "init", "--dry-run"]) == 0
    assert capsys.readouterr().out == init_text()
    assert not (tmp_path / "dm-release.toml").exists()
    assert main(["config", "init"]) == 0
    text = (tmp_path / "dm-release.toml").read_text()
    assert text == init_text()
    commented = build_options(text=text, path=str(tmp_path / "dm-release.toml"), cwd=tmp_path)
    assert set(commented.sources.values()) == {"default"}
    keys = [spec.key for spec in options().values() if spec.key]
    lines = re.findall(r"^# (\w+) = .*$", text, re.MULTILINE)
    assert len(lines) == len(keys) + len(PRODUCT_HELP)
    uncommented = re.sub(r"^# (\[products\.\w+\]|\w+ = )", r"\1", text, flags=re.MULTILINE)
    data = tomllib.loads(uncommented)
    assert sorted(f"{s}.{k}" for s, t in data.items() if s != "products" for k in t) == sorted(keys)
    loaded = build_options(text=uncommented, path=str(tmp_path / "x.toml"), cwd=tmp_path)
    for name, spec in options().items():
        if spec.key and loaded.sources[name] == "default":
            pytest.fail(f"{spec.key} is not in the file that config init writes")
    defaults = build_options(cwd=tmp_path)
    same = [name for name in ("jobs", "git_timeout", "flavor", "work_dir", "state_dir", "stack")]
    assert [getattr(loaded.config, n) for n in same] == [getattr(defaults.config, n) for n in same]
    assert [p.name for p in loaded.config.products] == ["my_product"]
    # each key after its whole help (wrapped in comment lines), then what overrides it
    comments = " ".join(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    for spec in options().values():
        if spec.key:
            given = [*(f"${v}" for v in spec.env), *([spec.flag] if spec.flag else [])]
            overridden = f" overridden by {', '.join(given)}" if given else ""
            pattern = (
                re.escape(spec.help) + r"(?: \(unset by default\))?"
                + re.escape(f"{overridden} {spec.key.partition('.')[2]} = ")
            )  # fmt: skip
            assert re.search(pattern, comments), spec.key


def test_init_never_replaces_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dm-release.toml").write_text("# mine\n")
    assert main(["config", "init"]) == 2
    assert capsys.readouterr().err == (
        "dm-release: error: dm-release.toml: already exists; dm-release config init never "
        "replaces a file: move it away, or edit it\n"
    )
    assert (tmp_path / "dm-release.toml").read_text() == "# mine\n"
    (tmp_path / "link.toml").symlink_to(tmp_path / "nowhere")
    assert main(["config", "init", "link.toml"]) == 2
    assert not (tmp_path / "nowhere").exists()
    capsys.readouterr()
    # a dry run says what the run would do: refuse, exit 2, print no file
    assert main(["config", "init", "--dry-run"]) == 2
    out, err = capsys.readouterr()
    assert (out, err.startswith("dm-release: error: dm-release.toml: already exists;")) == (
        "",
        True,
    )
    assert main(["config", "init", "link.toml", "--dry-run"]) == 2
    assert main(["config", "init", "new.toml", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("# dm-release.toml: the configuration of dm-release")
    assert not (tmp_path / "new.toml").exists()


def _help_of(*words: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*words, "--help"])
    assert stop.value.code == 0


def test_each_verbs_help_ends_with_the_variables_it_reads(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "102")  # filled to 100 columns, as argparse fills
    _help_of("tag", "classify")
    tag = capsys.readouterr().out
    assert tag.endswith(
        "\nenvironment variables:\n"
        "  DM_RELEASE_BINARY_TOKEN, DM_RELEASE_REGISTRY_PASSWORD, JENKINS_API_TOKEN, "
        "DM_RELEASE_JIRA_TOKEN,\n  DM_RELEASE_DISCOURSE_API_KEY, GIT_PASSWORD, GIT_TOKEN, "
        "GITHUB_TOKEN, GH_TOKEN, GITLAB_TOKEN,\n  CI_JOB_TOKEN, AWS_SECRET_ACCESS_KEY, "
        "AWS_SESSION_TOKEN, GOOGLE_SERVICE_ACCOUNT_KEY,\n  GOOGLE_OAUTH_ACCESS_TOKEN\n"
        + " " * 32
        + "credentials: their values are shown as **** in all output\n"
    )
    _help_of("rebuild")
    rebuild = capsys.readouterr().out.split("\nenvironment variables:\n")[1].splitlines()
    assert (
        rebuild[0]
        == "  DM_RELEASE_CONFIG             the configuration file when --config is not given"
    )
    jobs, timeout = options()["jobs"].help, options()["git_timeout"].help
    assert f"  DM_RELEASE_JOBS               build.jobs: {jobs}" in rebuild
    assert f"  DM_RELEASE_GIT_TIMEOUT        git.timeout: {timeout}" in rebuild
    assert any(line.startswith("  GIT_CONFIG_PARAMETERS, ") for line in rebuild)
    _help_of("config", "show")
    show = capsys.readouterr().out
    assert "DM_RELEASE_GIT_TIMEOUT" in show and "GIT_CONFIG_PARAMETERS" not in show
    _help_of("release")  # a verb group: what its commands read
    assert "GIT_CONFIG_PARAMETERS" in capsys.readouterr().out


def test_a_configuration_that_does_not_load_is_an_environment_error_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 (usage or environment), as the README's contract says and as a bad
    DM_RELEASE_PROGRESS exits: the run did not start, no check of the work failed. A
    syntax error prints its diagnostic line as it is, like every other problem."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[build]\njobs = = 2\n")
    assert main(["config", "show", "--config", str(bad)]) == 2
    assert capsys.readouterr().err == (f"{bad}:2:8: config-syntax: not valid TOML: Invalid value\n")
    good = tmp_path / "good.toml"
    good.write_text('[git]\nflavor = "x"\n')
    assert main(["config", "show", "--config", str(good)]) == 2
    assert capsys.readouterr().err == (
        f"{good}:2: config-unknown-key: unknown key git.flavor (did you mean build.flavor?)\n"
    )
    good.write_text("[build]\njobs = 2\n")
    monkeypatch.setenv("DM_RELEASE_JOBS", "abc")
    assert main(["config", "show", "--config", str(good)]) == 2
    expected = "<environment>:1: config-type: DM_RELEASE_JOBS: expected an integer, got 'abc'"
    assert capsys.readouterr().err == expected + "\n"
    assert main(["config", "show", "--config", str(good), "--json"]) == 2
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert (document["ok"], document["error"], err) == (False, None, expected + "\n")
    assert [(d["file"], d["rule"]) for d in document["diagnostics"]] == [
        ("<environment>", "config-type")
    ]
    monkeypatch.delenv("DM_RELEASE_JOBS")
    assert main(["config", "show", "--config", str(bad), "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert [(d["line"], d["column"], d["rule"]) for d in document["diagnostics"]] == [
        (2, 8, "config-syntax")
    ]


@pytest.mark.parametrize("columns", [60, 80, 160])
def test_the_environment_section_is_filled_to_the_width_argparse_uses(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal's width less 2 ($COLUMNS here), for the options and the variables
    alike: the section was filled to 100 columns whatever the terminal's width."""
    monkeypatch.setenv("COLUMNS", str(columns))
    _help_of("rebuild")
    variables = capsys.readouterr().out.split("\nenvironment variables:\n")[1]
    width = max(len(line) for line in variables.splitlines())
    assert width <= columns - 2
    assert width > columns - 2 - 12  # filled: a wrapped line leaves less than a word
    assert _CUT_AT_HYPHEN.findall(variables) == []


_CUT_AT_HYPHEN = re.compile(r"\w-$", re.MULTILINE)


def test_show_gives_each_auxiliary_key_its_own_line_and_a_default_one_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "dm-release.toml"
    file.write_text(
        "[products.meta]\nrepos = 'repos.yaml'\n\n"
        "[auxiliary.docs]\nurl = 'docs.git'\n\n"
        "[auxiliary.env]\nproducts = ['meta']\nref = 'develop'\nurl = 'env.git'\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["config", "show", "--json"]) == 0
    values = {
        v["name"]: (v["value"], v["source"])
        for v in json.loads(capsys.readouterr().out)["values"]
        if v["name"].startswith("auxiliary.")
    }
    assert values == {
        "auxiliary.docs.url": (str(tmp_path / "docs.git"), f"{file}:5"),
        "auxiliary.docs.ref": (None, "default"),
        "auxiliary.docs.products": ([], "default"),
        "auxiliary.env.url": (str(tmp_path / "env.git"), f"{file}:10"),
        "auxiliary.env.ref": ("develop", f"{file}:9"),
        "auxiliary.env.products": (["meta"], f"{file}:8"),
    }
