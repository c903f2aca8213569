"""``dm-release completion``: the static script, loaded in a real shell and asked for
completions as the shell asks when TAB is pressed."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dmrelease import cli


def script(shell: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", "completion", shell],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "dm-release.bash"
    path.write_text(script("bash"))
    return path


def complete(bash_script: Path, line: str, cwd: Path | None = None) -> list[str]:
    """What bash offers for the last word of ``line`` (an empty last word after a space)."""
    words = line.split(" ")
    program = (
        f"source {bash_script}\n"
        f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        f"_shtab_dm_release dm-release {words[-1]!r} {words[-2]!r}\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", program],
        capture_output=True, text=True, check=False, cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return sorted(word.strip() for word in done.stdout.splitlines() if word.strip())


def test_bash_completes_verbs(bash_script: Path) -> None:
    assert complete(bash_script, "dm-release re") == ["rebuild", "release"]
    assert complete(bash_script, "dm-release do") == ["docker", "doctor"]


def test_bash_completes_a_group_s_commands_and_a_verb_s_options(bash_script: Path) -> None:
    assert complete(bash_script, "dm-release release ap") == ["apply"]
    assert complete(bash_script, "dm-release tag ") == ["classify", "eups", "weekly"]
    assert complete(bash_script, "dm-release rebuild --js") == ["--json"]
    assert complete(bash_script, "dm-release completion ") == ["bash", "tcsh", "zsh"]


def test_bash_completes_file_names_where_a_file_is_asked(bash_script: Path, tmp_path: Path) -> None:
    (tmp_path / "dm-release.toml").write_text("")
    (tmp_path / "dm-other.txt").write_text("")
    assert complete(bash_script, "dm-release rebuild --config dm-r", cwd=tmp_path) == [
        "dm-release.toml"
    ]


def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands of ``parser`` by name (none for a verb that is a command)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def leaves(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command of the command line by its words: ("rebuild",), ("release", "plan")."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    for name, sub in commands_of(parser).items():
        found |= leaves(sub, (*words, name)) if commands_of(sub) else {(*words, name): sub}
    return found


PARSER = cli.build_parser()
VERBS = commands_of(PARSER)
GROUPS = {name: sorted(commands_of(sub)) for name, sub in VERBS.items() if commands_of(sub)}
LEAVES = leaves(PARSER)


def test_bash_completes_every_verb_and_every_group_s_commands(bash_script: Path) -> None:
    assert complete(bash_script, "dm-release ") == sorted(VERBS)
    assert sorted(GROUPS) == ["config", "jenkins", "jira", "manifest", "release", "table", "tag"]
    for group, commands in GROUPS.items():
        assert complete(bash_script, f"dm-release {group} ") == commands, group


@pytest.mark.parametrize("words", sorted(LEAVES), ids=" ".join)
def test_bash_completes_each_command_s_options_and_choices(
    bash_script: Path, words: tuple[str, ...]
) -> None:
    parser = LEAVES[words]
    longs = sorted(o for a in parser._actions for o in a.option_strings if o.startswith("--"))
    assert complete(bash_script, f"dm-release {' '.join(words)} --") == longs
    for action in parser._actions:
        if action.choices and action.option_strings:
            line = f"dm-release {' '.join(words)} {action.option_strings[-1]} "
            assert complete(bash_script, line) == sorted(action.choices), line


def test_zsh_script_lists_every_verb_and_every_group_s_commands() -> None:
    text = script("zsh")
    assert text.startswith("#compdef dm-release\n")

    def listed(function: str) -> list[str]:
        body = text.split(f"\n{function}() {{\n  local _commands=(\n", 1)[1].split("\n  )", 1)[0]
        return sorted(line.strip().split(":", 1)[0] for line in body.splitlines())

    assert listed("_shtab_dm_release_commands") == sorted(VERBS)
    for group, commands in GROUPS.items():
        assert listed(f"_shtab_dm_release_{group}_commands") == commands, group


def test_tcsh_script_completes_every_verb_and_every_group_s_commands() -> None:
    text = script("tcsh")
    assert "\ncomplete dm-release \\\n" in text
    rules = re.findall(r"'([pn])/([^/]+)/\(([^)]*)\)/'", text)
    assert sorted(rules[[r[:2] for r in rules].index(("p", "1"))][2].split()) == sorted(VERBS)
    for group, commands in GROUPS.items():
        words = [r[2] for r in rules if r[:2] == ("n", group)]
        assert [sorted(w.split()) for w in words] == [commands], group


def test_completion_needs_the_shell(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["completion", "fish"])
    assert exit_.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err


def test_shtab_is_loaded_only_by_completion() -> None:
    probe = (
        "import sys; from dmrelease import cli; cli.build_parser(); print('shtab' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "False\n"
