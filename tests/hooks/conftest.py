"""Call a hook's ``main`` as pre-commit would, capturing what it prints."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

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
