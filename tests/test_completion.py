"""``dm-release completion``: the static script, loaded in a real shell and asked for
completions as the shell asks when TAB is pressed."""

from __future__ import annotations

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
    assert complete(bash_script, "dm-release do") == ["doctor"]


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


@pytest.mark.parametrize(("shell", "first"), [("zsh", "#compdef dm-release"), ("tcsh", "#")])
def test_zsh_and_tcsh_scripts_name_every_verb(shell: str, first: str) -> None:
    text = script(shell)
    assert text.startswith(first)
    for verb in (*cli.VERB_MODULES, "completion"):
        assert verb in text


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
