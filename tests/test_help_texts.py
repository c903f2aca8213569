"""Every text a user sees in ``--help`` stands alone, and the release numbers agree.

Users have the installed command, its ``--help`` and the README, not the project's design
notes: a help text that sends them to "DESIGN.md §3", "STYLE.md" or an issue number, or that
shows reStructuredText or Markdown markup (double backticks, ``:class:`` roles, a ``::``
literal block, a `code` span: argparse prints the backquotes as they are), does not stand
alone. The help of every verb and sub-verb of ``dm-release`` (the whole
argparse tree of :func:`dmrelease.cli.build_parser`) and of every other console script of
pyproject's ``[project.scripts]`` (the hooks, the pre-push guard) is rendered and read.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmrelease.cli import VERB_MODULES, build_parser

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
CLI_ENTRY = "dmrelease.cli:main"

#: (what is wrong, the pattern that finds it), matched against whitespace-joined text
FORBIDDEN = (
    ("cites the design notes", re.compile(r"DESIGN\.md")),
    ("cites the style guide", re.compile(r"STYLE\.md|\bhabit \d")),
    ("cites a section sign", re.compile(r"§")),
    ("cites a tracker issue", re.compile(r"\bissues? #?\d+", re.IGNORECASE)),
    ("shows RST double backticks", re.compile(r"``")),
    ("shows Markdown backticks", re.compile(r"(?<!`)`[^`]+`(?!`)")),
    ("shows an RST role", re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|ref|doc):")),
    ("shows an RST literal-block marker", re.compile(r"\w::(?:\s|$)")),
)


def problems(text: str) -> list[str]:
    """What makes ``text`` not stand alone: one ``what: 'excerpt'`` per finding."""
    joined = " ".join(text.split())  # argparse wraps lines: "DESIGN.md\n§3" is one citation
    found = []
    for what, pattern in FORBIDDEN:
        for match in pattern.finditer(joined):
            start, end = max(match.start() - 25, 0), match.end() + 25
            found.append(f"{what}: {joined[start:end]!r}")
    return found


def parser_tree(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser below ``parser``, itself first, each with its prog (``dm-release release
    apply``): the verbs and sub-verbs a user can ask ``--help`` of."""
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases: one parser
                yield from parser_tree(sub)


CLI_HELP = {prog: sub.format_help() for prog, sub in parser_tree(build_parser())}


def script_help(entry: str) -> str:
    """What ``<script> --help`` prints, the entry point ``module:function`` called as its
    console script calls it."""
    module, _, function = entry.partition(":")
    main = getattr(importlib.import_module(module), function)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code in (0, None)
    return out.getvalue()


HOOK_SCRIPTS = sorted(name for name, entry in SCRIPTS.items() if entry != CLI_ENTRY)


def test_the_tree_walk_reaches_every_verb_and_sub_verb() -> None:
    """The cases below are all there is to see: the walk found every verb module and the
    sub-verbs of the groups (a walk that stopped early would pass on nothing)."""
    assert SCRIPTS["dm-release"] == CLI_ENTRY
    verbs = {prog.split()[1] for prog in CLI_HELP if prog != "dm-release"}
    (choices,) = (a.choices for a in build_parser()._actions if a.choices and a.dest == "verb")
    assert verbs == set(choices) >= set(VERB_MODULES)
    for expected in (
        "dm-release tag weekly",
        "dm-release table deps",
        "dm-release manifest verify",
        "dm-release release apply",
        "dm-release release backport",
        "dm-release release candidate",
    ):
        assert expected in CLI_HELP
    assert len(HOOK_SCRIPTS) == 10  # nine hooks and the pre-push guard


def test_every_help_is_what_the_command_line_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """format_help of a node of the tree is what ``dm-release ... --help`` prints."""
    from dmrelease.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["release", "apply", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == CLI_HELP["dm-release release apply"]


@pytest.mark.parametrize("prog", sorted(CLI_HELP))
def test_dm_release_help_stands_alone(prog: str) -> None:
    assert problems(CLI_HELP[prog]) == []


#: a line that ends in a word cut at its hyphen: "dm-" + "release.toml" on the next line
_CUT_AT_HYPHEN = re.compile(r"\w-$", re.MULTILINE)


@pytest.mark.parametrize("prog", sorted(CLI_HELP))
def test_dm_release_help_wraps_at_spaces_only(prog: str) -> None:
    assert _CUT_AT_HYPHEN.findall(CLI_HELP[prog]) == []


def test_a_hyphenated_word_stays_whole_where_argparse_would_cut_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # text is filled to 78 columns
    sub = next(
        a for a in build_parser(["rebuild"])._actions if isinstance(a, argparse._SubParsersAction)
    )
    rebuild = sub.choices["rebuild"]
    # 73 + " dm-" fits in 78 columns, 73 + " dm-release.toml" does not: argparse's own
    # wrapping ends the line with "dm-"
    rebuild.description = "x" * 73 + " dm-release.toml, then --dry-run"
    rebuild.add_argument("--probe", help="y" * 50 + " dm-release.toml")
    text = rebuild.format_help()
    assert "\ndm-release.toml, then --dry-run\n" in text
    assert " dm-release.toml\n" in text
    assert _CUT_AT_HYPHEN.findall(text) == []


@pytest.mark.parametrize("script", HOOK_SCRIPTS)
def test_hook_help_stands_alone(script: str) -> None:
    text = script_help(SCRIPTS[script])
    assert text.startswith(f"usage: {script} ")
    assert problems(text) == []


@pytest.mark.parametrize("script", HOOK_SCRIPTS)
def test_hook_help_wraps_at_spaces_only(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the verbs' (check-pushed-tags names the dm-release-pre-push guard in its help)."""
    monkeypatch.setenv("COLUMNS", "60")
    assert _CUT_AT_HYPHEN.findall(script_help(SCRIPTS[script])) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Check names (DESIGN.md §3).", ["cites the design notes", "cites a section sign"]),
        ("the rules of DESIGN.md\n  §3", ["cites the design notes", "cites a section sign"]),
        ("read at the edge (STYLE.md habit 13)", ["cites the style guide"] * 2),
        ("moved (issue 9 §5)", ["cites a section sign", "cites a tracker issue"]),
        ("the ``weekly`` session", ["shows RST double backticks"] * 2),
        ("see :func:`dmrelease.core.x`", ["shows an RST role", "shows Markdown backticks"]),
        ("demand one `==` pin per requirement", ["shows Markdown backticks"]),
        ("EUPS flavor for `if (flavor == …)` (default: Linux64)", ["shows Markdown backticks"]),
        ("versions (`pkg=1.2=build`, `pkg==1.2`)", ["shows Markdown backticks"] * 2),
        ("lists the products::\n\n    products:", ["shows an RST literal-block marker"]),
    ],
)
def test_the_finder_names_each_problem(text: str, expected: list[str]) -> None:
    assert sorted(p.partition(":")[0] for p in problems(text)) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "Check release tag names: finals M.n.p, candidates vM.n.p.rcN (DMTN-106).",
        "demand that each requirement pins one version with ==",
        "the EUPS flavor that conditions such as if (flavor == Linux64) test",
        "the products file's repos; don't, can't: apostrophes are not backticks",
        "an issue with the remote: retry",
        "ticket branches tickets/DM-12345",
        "time 12:30: done",
    ],
)
def test_the_finder_passes_plain_help(text: str) -> None:
    assert problems(text) == []


#: the documents users read beside --help (the generated configuration reference, once made)
DOCUMENTS = [
    path
    for path in ("README.md", "pre-commit-hooks/README.md", "CHANGELOG.md", "docs/configuration.md")
    if (ROOT / path).exists()
]
CITATIONS = {"cites the design notes", "cites the style guide", "cites a section sign"}


@pytest.mark.parametrize("path", DOCUMENTS)
def test_user_documents_cite_nothing_users_lack(path: str) -> None:
    """Markdown may show code, but sends no one to the design notes or the style guide."""
    found = problems((ROOT / path).read_text(encoding="utf-8"))
    assert [p for p in found if p.partition(":")[0] in CITATIONS] == []
