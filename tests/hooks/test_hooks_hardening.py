"""Hooks answer hostile files with diagnostics (issue 8, classes 2, 3 and 7): YAML with
control characters, deep nesting, 100 KB blank runs, line breaks str.splitlines invents."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from dmrelease.hooks import (
    check_branch_name,
    check_conda_env,
    check_product_membership,
    check_pushed_tags,
    check_repos_yaml,
    check_requirements,
    check_version_strings,
)

RUN = " " * 100_000  # a blank run that made three hooks run for tens of seconds


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize(
    ("main", "name", "text", "expected"),
    [
        (
            check_repos_yaml.main,
            "repos.yaml",
            "afw: https://github.com/lsst/afw\nbase: https://x/\x07y\n",
            "2:17: repos-syntax: not valid YAML: control characters",
        ),
        (
            check_conda_env.main,
            "env.yml",
            "name: x\ndependencies:\n  - numpy\x1b\n",
            "3:10: conda-env-syntax: not valid YAML: control characters",
        ),
        (
            check_conda_env.main,
            "env.yml",
            "name: x\ndependencies:\n  - " + "[" * 200 + "]" * 200 + "\n",
            "3:67: file-too-deep: YAML nested deeper than 64 levels",  # [ 63 deep in 2 levels,
        ),
    ],
)
def test_yaml_a_reader_cannot_read_is_one_diagnostic(
    call, tmp_path: Path, main, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, name, text)
    code, lines = call(main)([path])
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"{path}:{expected}"), lines


def test_the_products_file_and_its_repos_yaml_use_the_yaml_reader(call, tmp_path: Path) -> None:
    repos = write(tmp_path, "repos.yaml", "afw: https://github.com/lsst/afw\x00\n")
    products = write(tmp_path, "products.yaml", f"products: {{}}\nrepos: {repos}\n")
    code, lines = call(check_product_membership.main)(["--products", products])
    assert (code, [line.split(": ")[:2] for line in lines]) == (
        1,
        [[f"{repos}:1:33", "repos-syntax"]],
    )
    bad = write(tmp_path, "p2.yaml", "products:\n  a: \x07b\n")
    code, lines = call(check_product_membership.main)(["--products", bad])
    assert (code, [line.split(": ")[:2] for line in lines]) == (
        1,
        [[f"{bad}:2:6", "products-syntax"]],
    )


def test_a_products_toml_error_names_its_line(call, tmp_path: Path) -> None:
    bad = write(tmp_path, "products.toml", '[products]\na = "x.table"\nb = \n')
    code, lines = call(check_product_membership.main)(["--products", bad])
    assert (code, [line.split(": ")[:2] for line in lines]) == (
        1,
        [[f"{bad}:3:5", "products-syntax"]],
    )


def test_a_huge_blank_run_in_requirements_is_read_like_pip(call, tmp_path: Path) -> None:
    """pip's ``(^|\\s+)#.*$`` and ``\\s+--?[a-z]`` are quadratic on a blank run."""
    path = write(
        tmp_path, "requirements.txt", f"numpy{RUN}#{RUN}\nscipy >= 1{RUN}--hash x\nbad ~~ 1{RUN}\n"
    )
    code, lines = call(check_requirements.main)([path])
    assert code == 1
    assert [line.split(": ")[:2] for line in lines] == [[f"{path}:3:5", "requirements-syntax"]]


def test_a_huge_blank_run_in_a_conda_spec_is_linear(call, tmp_path: Path) -> None:
    text = f"name: x\ndependencies:\n  - 'numpy >={RUN}1.2,{RUN}<2'\n  - 'scipy{RUN}=='\n"
    path = write(tmp_path, "env.yml", text)
    code, lines = call(check_conda_env.main)([path])
    assert code == 1
    assert [line.split(": ")[:2] for line in lines] == [[f"{path}:4:5", "conda-env-spec"]]


def test_a_huge_blank_run_in_version_fields(call, tmp_path: Path) -> None:
    cfg = write(tmp_path, "setup.cfg", f"[metadata]\nversion = 1.01{RUN}x\n[a{RUN}\n")
    code, lines = call(check_version_strings.main)([cfg])
    assert code == 1
    assert [line.split(": ")[:2] for line in lines] == [[f"{cfg}:2:11", "version-pep440"]]


def test_version_lines_end_where_the_file_lines_end(call, tmp_path: Path) -> None:
    """A U+0085 in a value is part of it (configparser reads to LF), not a line end
    that hides the rest of the value."""
    cfg = write(tmp_path, "setup.cfg", "[metadata]\nversion = 1.0\x85dev\n")
    code, lines = call(check_version_strings.main)([cfg])
    assert (code, [line.split(": ")[:2] for line in lines]) == (
        1,
        [[f"{cfg}:2:11", "version-pep440"]],
    )


def test_a_version_of_five_thousand_digits_is_a_diagnostic(call, tmp_path: Path) -> None:
    """Found by fuzzing: packaging raises ValueError (not InvalidVersion) past 4,300 digits."""
    cfg = write(tmp_path, "setup.cfg", "[metadata]\nversion = " + "9" * 5000 + ".0\n")
    code, lines = call(check_version_strings.main)([cfg])
    assert (code, [line.split(": ")[:2] for line in lines]) == (
        1,
        [[f"{cfg}:2:11", "version-pep440"]],
    )


@pytest.mark.parametrize("main", [check_branch_name.main, check_pushed_tags.main])
@pytest.mark.parametrize(
    ("regex", "reason"),
    [("[[a]", "an ambiguous regular expression: Possible nested set at position 1"),
     ("a(", "not a regular expression: missing ), unterminated subpattern at position 1")],
)  # fmt: skip
def test_allow_regexes_are_usage_errors_never_warnings(
    main, regex: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python's FutureWarning about ``[[`` printed its own text among the diagnostics."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SystemExit) as exit_:
            main(
                ["--allow", regex, "--branch=main"]
                if main is check_branch_name.main
                else ["--allow", regex]
            )
    assert exit_.value.code == 2
    assert (
        capsys.readouterr().err.splitlines()[-1].endswith(f": error: --allow {regex!r}: {reason}")
    )
