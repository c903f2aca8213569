"""The hooks' shared edge: exit codes and the one diagnostic format."""

from __future__ import annotations

from pathlib import Path

from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.hooks._common import run_check, run_checks


def test_a_pass_prints_nothing(capsys) -> None:
    assert run_check("hook", list) == 0
    assert capsys.readouterr() == ("", "")


def test_findings_go_to_stderr_one_per_line_and_exit_1(capsys) -> None:
    found = [Diagnostic("a.txt", 3, "rule-x", "bad", 7, "fix it"), Diagnostic("b", 1, "r", "m")]
    assert run_check("hook", lambda: found) == 1
    assert capsys.readouterr() == ("", "a.txt:3:7: rule-x: bad (fix it)\nb:1: r: m\n")


def test_a_usage_error_exits_2(capsys) -> None:
    def fail() -> list[Diagnostic]:
        raise UsageError("no such option")

    assert run_check("hook", fail) == 2
    assert capsys.readouterr().err == "hook: error: no such option\n"


def test_a_failed_file_does_not_hide_the_others(tmp_path: Path, capsys) -> None:
    (tmp_path / "a").write_text("x")
    (tmp_path / "b").write_text("y")

    def check(path: str, text: str) -> list[Diagnostic]:
        raise CheckFailed([Diagnostic(path, 1, "r", text)])

    assert run_checks("hook", [str(tmp_path / "a"), str(tmp_path / "b")], check) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}/a:1: r: x",
        f"{tmp_path}/b:1: r: y",
    ]


def test_a_file_that_is_not_utf8_is_a_finding_at_its_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"numpy\nscipy\xff\n")
    assert run_checks("hook", [str(path)], lambda p, t: []) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:2: file-encoding: not UTF-8 text")
