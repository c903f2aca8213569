"""core/refnames: what may reach git as a ref or a URL (issue 8 §5), checked before use."""

from __future__ import annotations

import pytest

from dmrelease.core.branches import ref_problem
from dmrelease.core.config_layers import build_config
from dmrelease.core.errors import CheckFailed
from dmrelease.core.refnames import MAX_REF_LENGTH, ref_name_problem, url_problem
from dmrelease.core.repos import check_repos

DASH = "must not start with '-' (git would read it as an option)"
CHARS = "spaces, control characters and ~ ^ : ? * [ \\ are not allowed"
DOTS = "'..', '@{' and '//' are not allowed"
ENDS = "must not start with '/' or end with '/' or '.'"
PARTS = "no part may start with '.' or end with '.lock'"


@pytest.mark.parametrize(
    "name",
    ["main", "v29.1.x", "tickets/DM-12345-v29", "w.2025.24", "29.1.0", "u/jdoe/fix-it",
     "a" * MAX_REF_LENGTH, "é" * (MAX_REF_LENGTH // 2), "0123456789abcdef0123456789abcdef01234567"],
)  # fmt: skip
def test_git_ref_names_pass(name: str) -> None:
    assert ref_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty or '@'"),
        ("@", "empty or '@'"),
        ("-x", DASH),
        ("--upload-pack=touch", DASH),
        ("a" * (MAX_REF_LENGTH + 1), f"longer than {MAX_REF_LENGTH} bytes"),
        ("é" * (MAX_REF_LENGTH // 2 + 1), f"longer than {MAX_REF_LENGTH} bytes"),  # bytes
        ("a b", CHARS),
        ("a\tb", CHARS),
        ("a\x00b", CHARS),
        ("a\x7fb", CHARS),
        ("a~1", CHARS),
        ("a^", CHARS),
        ("a:b", CHARS),
        ("a?", CHARS),
        ("a*", CHARS),
        ("a[b", CHARS),
        ("a\\b", CHARS),
        ("a..b", DOTS),
        ("a@{1}", DOTS),
        ("a//b", DOTS),
        ("/a", ENDS),
        ("a/", ENDS),
        ("a.", ENDS),
        (".a", PARTS),
        ("a/.b", PARTS),
        ("a.lock", PARTS),
        ("a.lock/b", PARTS),
    ],
)
def test_names_git_refuses_or_would_read_as_options_are_refused(name: str, problem: str) -> None:
    assert ref_name_problem(name) == problem
    assert ref_problem(name) == problem  # branches use the same one rule


@pytest.mark.parametrize(
    "url",
    ["https://github.com/lsst/afw.git", "http://127.0.0.1:8080/x.git", "ssh://git@github.com/a/b",
     "git://h/x", "git+ssh://h/x", "file:///srv/git/afw.git", "git@github.com:lsst/afw.git",
     "https://[::1]:8443/x.git", "https://tok@h/x"],
)  # fmt: skip
def test_repository_urls_pass(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("--upload-pack=touch /tmp/x", "starts with '-': git would read it as an option"),
        ("-u@h:x", "starts with '-': git would read it as an option"),
        ("ssh://-oProxyCommand=touch@h/x", "is not a git URL (https://…, git@host:…)"),
        ("ssh://git@-oProxyCommand=x/y", "is not a git URL (https://…, git@host:…)"),
        ("https://-h/x", "is not a git URL (https://…, git@host:…)"),
        ("file://-x", "is not a git URL (https://…, git@host:…)"),
        ("https://h/a\x00b", "is not a git URL (https://…, git@host:…)"),
        ("https://h/a b", "is not a git URL (https://…, git@host:…)"),
        ("ftp://h/x", "is not a git URL (https://…, git@host:…)"),
        ("github.com/lsst/afw", "is not a git URL (https://…, git@host:…)"),
        ("https://h/" + "x" * 2048, "is longer than 2048 characters"),
    ],
)
def test_urls_that_are_options_or_hide_one_are_refused(url: str, problem: str) -> None:
    assert url_problem(url) == problem


def test_check_repos_yaml_refuses_a_url_starting_with_a_dash_and_hides_its_password() -> None:
    text = "afw: --upload-pack=touch@h:x\nbase: -https://u:pw-Secret@h/x\n"
    assert [str(d) for d in check_repos(text)] == [
        "repos.yaml:1:6: repos-url: `--upload-pack=touch@h:x` starts with '-': "
        "git would read it as an option",
        "repos.yaml:2:7: repos-url: `-https://****@h/x` starts with '-': "
        "git would read it as an option",
    ]


@pytest.mark.parametrize(
    ("ref", "problem"),
    [("--orphan", DASH), ("main..dev", DOTS), ("x.lock", PARTS), ("'a b'", CHARS)],
)
def test_a_repos_yaml_ref_must_be_a_git_ref_name(ref: str, problem: str) -> None:
    text = f"afw:\n  url: https://h/afw.git\n  ref: {ref}\n"
    assert [str(d) for d in check_repos(text)] == [
        f"repos.yaml:3:8: repos-ref: the `ref` of `afw` is not a git ref name: {problem}"
    ]


def _config_problems(environ: dict[str, str]) -> list[str]:
    text = '[products.meta]\nrepos = "repos.yaml"\n'
    try:
        build_config(text=text, path="dm-release.toml", environ=environ)
    except CheckFailed as failed:
        return [str(d) for d in failed.diagnostics]
    return []


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"REFS": "w.2025.24 --upload-pack=x"},
         "REFS: ('w.2025.24', '--upload-pack=x') is not a list of git refs: "
         f"'--upload-pack=x' {DASH}"),
        ({"DM_RELEASE_DEFAULT_BRANCH": "-main"}, f"DM_RELEASE_DEFAULT_BRANCH: '-main' is not a "
         f"git branch name: {DASH}"),
        ({"RELEASE_GIT_TAG": "v29.1.0.rc" + "1" * 200}, "RELEASE_GIT_TAG: 'v29.1.0.rc"
         + "1" * 200 + f"' is not a git tag name: longer than {MAX_REF_LENGTH} bytes"),
    ],
)  # fmt: skip
def test_refs_branches_and_tags_from_the_environment_are_checked(
    environ: dict[str, str], expected: str
) -> None:
    assert _config_problems(environ) == [f"<environment>:1: config-value: {expected}"]


def test_a_package_name_too_long_for_a_file_name_is_refused() -> None:
    name = "a" * 101  # its lock, clone and tarball file names would pass 255 bytes
    assert [
        str(d) for d in check_repos(f"{name}: https://h/x.git\n{'b' * 100}: https://h/y\n")
    ] == [f"repos.yaml:1:1: repos-key: `{name}` is not a product name: use letters, digits and `_`"]


def test_an_eups_tag_too_long_for_a_file_name_is_refused() -> None:
    assert _config_problems({"EUPS_TAG": "w" * 201}) == [
        f"<environment>:1: config-value: EUPS_TAG: {'w' * 201!r} is longer than 200 "
        "characters (it names a file)"
    ]


def test_a_url_of_the_longest_length_passes() -> None:
    url = "https://h/" + "x" * (2048 - len("https://h/"))
    assert url_problem(url) is None
    assert url_problem(url + "x") == "is longer than 2048 characters"
