"""repos.yaml problems, exactly, and which entries a problem keeps out of the file's entries.

Written against mutation testing (issue 8) of core/repos.py: an entry with a bad URL,
ref or ``lfs`` must not count as an entry (the sorted-keys check shows which did), URLs
that are not strings are reported as such, problems on one line come in column order,
and the canonical text quotes a ref exactly when YAML would misread it.
"""

from __future__ import annotations

import pytest

from dmrelease.core.errors import CheckFailed
from dmrelease.core.repos import RepoEntry, check_repos, parse_repos

DASH = "starts with '-': git would read it as an option"
NOT_A_URL = "is not a git URL (https://…, git@host:…)"
BAD_REF = "the `ref` of `a` is not a git ref name: '..', '@{' and '//' are not allowed"

CASES: list[tuple[str, list[str]]] = [
    # `a` sorts before `b`, so an `a` kept as an entry would also be reported as unsorted
    ("b: https://h/b\na: -bad\n", [f"2:4: repos-url: `-bad` {DASH}"]),
    ("b: https://h/b\na:\n  url: -bad\n  ref: main\n", [f"3:8: repos-url: `-bad` {DASH}"]),
    (
        "b: https://h/b\na:\n  url: https://h/a\n  ref: 'a..b'\n  lfs: true\n",
        [f"4:8: repos-ref: {BAD_REF}"],
    ),
    (
        "b: https://h/b\na:\n  url: https://h/a\n  lfs: yes\n",
        ["4:8: repos-lfs: `lfs` of `a` must be `true` (lowercase); remove the key otherwise"],
    ),
    ("a:\n  url: 3\n  ref: main\n", [f"2:8: repos-url: `3` {NOT_A_URL}"]),
    ("a:\n  url: [x]\n  ref: main\n", [f"2:8: repos-url: this {NOT_A_URL}"]),
    ("a:\n  url: ''\n  ref: main\n", [f"2:8: repos-url: this {NOT_A_URL}"]),
    (
        "a: {ref: 'a..b', url: -x, lfs: yes}\n",
        [
            f"1:10: repos-ref: {BAD_REF}",
            f"1:23: repos-url: `-x` {DASH}",
            "1:32: repos-lfs: `lfs` of `a` must be `true` (lowercase); remove the key otherwise",
        ],
    ),
    ("a: https://h/a\nc: https://h/c\nb: https://h/b\n", [
        "3:1: repos-sorted: `b` should come before `c` (keys sorted by name)"
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_problem_is_reported_whole_and_keeps_its_entry_out(
    text: str, expected: list[str]
) -> None:
    found = check_repos(text, "etc/repos.yaml", sorted_keys=True)
    assert [str(d) for d in found] == [f"etc/repos.yaml:{e}" for e in expected]


def test_without_a_path_the_file_is_called_repos_yaml() -> None:
    assert [str(d) for d in check_repos("a: -x\n")] == [f"repos.yaml:1:4: repos-url: `-x` {DASH}"]
    with pytest.raises(CheckFailed) as caught:
        parse_repos("a: -x\n")
    assert [str(d) for d in caught.value.diagnostics] == [f"repos.yaml:1:4: repos-url: `-x` {DASH}"]


def test_a_yaml_syntax_error_names_the_file() -> None:
    (problem,) = check_repos("a: [\n", "etc/repos.yaml")
    assert (problem.path, problem.line, problem.column, problem.rule) == (
        "etc/repos.yaml",
        2,
        1,
        "repos-syntax",
    )


@pytest.mark.parametrize(
    ("ref", "written"),
    [
        ("main", "main"),
        ("it's", "it's"),
        ("1.0", "'1.0'"),
        ("yes", "'yes'"),
        ("{x", "'{x'"),
        ("#x", "'#x'"),
        ("'v1'", "'''v1'''"),
    ],
)
def test_a_ref_is_quoted_exactly_when_yaml_would_misread_it(ref: str, written: str) -> None:
    text = str(RepoEntry("afw", "https://h/afw", ref=ref))
    assert text == f"afw:\n  url: https://h/afw\n  ref: {written}"
    assert parse_repos(text)["afw"].ref == ref
