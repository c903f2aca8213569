"""Call a hook's ``main`` as pre-commit would, capturing what it prints."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

#: ``FILE:LINE[:COL]: rule: message (hint)``, the one format every finding has
DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<rule>[a-z0-9-]+): .+"
)

Hook = Callable[[Sequence[str]], tuple[int, list[str]]]


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str]) -> Callable[[Callable[..., int]], Hook]:
    """``call(main)(argv)`` -> (exit code, stderr lines); a hook never writes stdout."""

    def bind(main: Callable[..., int]) -> Hook:
        def run(argv: Sequence[str]) -> tuple[int, list[str]]:
            code = main(list(argv))
            out, err = capsys.readouterr()
            assert out == ""
            lines = err.splitlines()
            if code == 1:
                assert lines and all(DIAGNOSTIC.match(line) for line in lines), err
            if code == 0:
                assert lines == [], "a pass prints nothing"
            return code, lines

        return run

    return bind


@pytest.fixture
def traced_git(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], list[str]]:
    """Put a ``git`` first on PATH that logs each call's arguments, one line a call, and
    runs the real git; the fixture's value returns the calls made since."""
    real = shutil.which("git")
    assert real is not None
    directory = tmp_path_factory.mktemp("git-trace")
    log = directory / "calls.txt"
    log.touch()
    wrapper = directory / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return lambda: Path(log).read_text().splitlines()
