"""repos.yaml: the three value forms and every problem, with line and column (DESIGN.md §4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.errors import CheckFailed
from dmrelease.core.refnames import ref_name_problem
from dmrelease.core.repos import RepoEntry, check_repos, parse_repos

REPOS = Path(__file__).parents[1] / "data" / "repos.yaml"


def test_the_real_file_has_386_entries() -> None:
    entries = parse_repos(REPOS.read_text(), str(REPOS))
    assert len(entries) == 386
    assert sum(e.lfs for e in entries.values()) == 23
    assert sum(e.ref is not None for e in entries.values()) == 18
    assert entries["afw"] == RepoEntry("afw", "https://github.com/lsst/afw.git", line=71)
    assert entries["afwdata"] == RepoEntry(
        "afwdata", "https://github.com/lsst/afwdata.git", lfs=True, line=155
    )
    assert entries["mysqlproxy"].ref == "lsst-dev"


def test_the_real_file_is_not_sorted() -> None:
    problems = check_repos(REPOS.read_text(), "repos.yaml", sorted_keys=True)
    assert problems and {p.rule for p in problems} == {"repos-sorted"}
    assert str(problems[0]) == (
        "repos.yaml:50:1: repos-sorted: `lsst_apps` should come before `lsst_thirdparty` "
        "(keys sorted by name)"
    )


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        (
            "afw: https://github.com/lsst/afw.git\n",
            RepoEntry("afw", "https://github.com/lsst/afw.git"),
        ),
        (
            "afw:\n  url: git@github.com:lsst/afw.git\n  ref: my-magic-branch\n",
            RepoEntry("afw", "git@github.com:lsst/afw.git", ref="my-magic-branch"),
        ),
        (
            "afwdata:\n  url: https://github.com/lsst/afwdata.git\n  lfs: true\n",
            RepoEntry("afwdata", "https://github.com/lsst/afwdata.git", lfs=True),
        ),
        (
            "x_1:\n  url: https://h/x.git  # comment\n  ref: '1.0'\n  lfs: true\n",
            RepoEntry("x_1", "https://h/x.git", ref="1.0", lfs=True),
        ),
    ],
)
def test_the_three_forms(text: str, entry: RepoEntry) -> None:
    entries = parse_repos("# comment\n" + text)
    assert list(entries.values()) == [RepoEntry(entry.name, entry.url, entry.ref, entry.lfs, 2)]
    assert str(entry) == text.replace("  # comment", "").rstrip("\n")


URL = "https://github.com/lsst/x.git"


def test_invalid_yaml_is_reported_where_the_parser_stopped() -> None:
    # the wording is libyaml's or PyYAML's, whichever parses; the place and rule are ours
    [problem] = check_repos("a: [\n", "repos.yaml")
    assert (problem.line, problem.column, problem.rule) == (2, 1, "repos-syntax")
    assert problem.message.startswith("not valid YAML: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- a\n- b\n",
            "repos.yaml:1:1: repos-structure: the file must be one mapping of product "
            "name to repository",
        ),
        (
            "",
            "repos.yaml:1: repos-structure: the file must be one mapping of product name to "
            "repository",
        ),
        (
            f"a: {URL}\nb: {URL}\na: {URL}\n",
            "repos.yaml:3:1: repos-duplicate: `a` is already "
            "defined on line 1; keep one entry (YAML keeps the last)",
        ),
        (
            f"afw-x: {URL}\n",
            "repos.yaml:1:1: repos-key: `afw-x` is not a product name: use letters, digits and `_`",
        ),
        (
            "a:\n",
            "repos.yaml:1:3: repos-value: `a` needs a URL string or a mapping with `url` and "
            "`ref` or `lfs`",
        ),
        (
            "a: [x]\n",
            "repos.yaml:1:4: repos-value: `a` needs a URL string or a mapping with `url` "
            "and `ref` or `lfs`",
        ),
        (
            "a: github.com/lsst/a\n",
            "repos.yaml:1:4: repos-url: `github.com/lsst/a` is not a git "
            "URL (https://…, git@host:…)",
        ),
        (
            f"a:\n  url: {URL}\n",
            "repos.yaml:1:1: repos-ref-or-lfs: `a` is a mapping without `ref` "
            "or `lfs: true`; write the URL as a plain string instead",
        ),
        ("a:\n  ref: main\n", "repos.yaml:1:1: repos-url: `a` has no `url`"),
        (
            f"a:\n  url: {URL}\n  ref: main\n  branch: x\n",
            "repos.yaml:4:3: repos-unknown-key: `a` "
            "has unknown key `branch`; allowed: url, ref, lfs",
        ),
        (
            f"a:\n  url: {URL}\n  ref: main\n  ref: dev\n",
            "repos.yaml:4:3: repos-duplicate: `a` has `ref` twice",
        ),
        (
            f"a:\n  url: {URL}\n  lfs: True\n",
            "repos.yaml:3:8: repos-lfs: `lfs` of `a` must be "
            "`true` (lowercase); remove the key otherwise",
        ),
        (
            f"a:\n  url: {URL}\n  lfs: false\n",
            "repos.yaml:3:8: repos-lfs: `lfs` of `a` must be "
            "`true` (lowercase); remove the key otherwise",
        ),
        (
            f"a:\n  url: {URL}\n  ref: 1.0\n",
            "repos.yaml:3:8: repos-ref: the `ref` of `a` must be "
            "a branch or tag name; quote it if YAML reads it as a number or boolean",
        ),
    ],
)
def test_each_problem_is_reported_at_its_line_and_column(text: str, expected: str) -> None:
    assert [str(d) for d in check_repos(text, "repos.yaml")] == [expected]
    with pytest.raises(CheckFailed) as caught:
        parse_repos(text, "repos.yaml")
    assert [str(d) for d in caught.value.diagnostics] == [expected]


def test_every_problem_of_a_file_is_reported_in_line_order() -> None:
    text = f"a: {URL}\nb-c: {URL}\na: {URL}\nd:\n  url: {URL}\n  tag: v1\n"
    assert [(d.line, d.rule) for d in check_repos(text)] == [
        (2, "repos-key"),
        (3, "repos-duplicate"),
        (4, "repos-ref-or-lfs"),
        (6, "repos-unknown-key"),
    ]


def test_a_duplicate_in_the_real_file_is_found() -> None:
    text = REPOS.read_text() + "afw: https://github.com/lsst/afw-fork.git\n"
    (problem,) = check_repos(text, "repos.yaml")
    assert str(problem).startswith(
        "repos.yaml:519:1: repos-duplicate: `afw` is already defined on line 71"
    )


def test_sorted_keys_reports_each_key_below_a_larger_one() -> None:
    text = f"b: {URL}\na: {URL}\nc: {URL}\nC: {URL}\n"
    assert [(d.line, d.message) for d in check_repos(text, sorted_keys=True)] == [
        (2, "`a` should come before `b` (keys sorted by name)"),
        (4, "`C` should come before `c` (keys sorted by name)"),
    ]
    assert check_repos(text) == []


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)
#: ref names git accepts (core/refnames), among them words YAML would read as something else
refs = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_/.+-]{0,20}", fullmatch=True).filter(
        lambda ref: ref_name_problem(ref) is None
    ),
    st.sampled_from(["on", "no", "null", "true", "1.0", "12", "2024-01-01", "yes"]),
)


@given(
    st.dictionaries(
        names, st.tuples(st.one_of(st.none(), refs), st.booleans()), min_size=1, max_size=8
    )
)
def test_render_then_parse_gives_the_same_entries(
    spec: dict[str, tuple[str | None, bool]],
) -> None:
    entries = [
        RepoEntry(name, f"https://github.com/lsst/{name}.git", ref, lfs)
        for name, (ref, lfs) in spec.items()
    ]
    text = "".join(f"{entry}\n" for entry in entries)
    parsed = parse_repos(text)
    assert [(e.name, e.url, e.ref, e.lfs) for e in parsed.values()] == [
        (e.name, e.url, e.ref, e.lfs) for e in entries
    ]
