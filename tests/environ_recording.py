"""A recording ``os.environ`` for the tests that check every ``--help`` lists the
environment variables its command reads (tests/integration/test_environment_help.py for
the verbs, tests/hooks/test_hooks_environment_help.py for the hooks)."""

from __future__ import annotations

import os
import sys
from collections.abc import ItemsView, Iterator, MutableMapping

#: frames of the standard library between dm-release's code and the mapping
_NOT_DM_RELEASE = (os.sep + "os.py", "_collections_abc.py")


class RecordingEnviron(MutableMapping[str, str]):
    """``os.environ`` that remembers which variables dm-release's code asked for."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real
        self.read: set[str] = set()

    def _record(self, key: str) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.endswith(_NOT_DM_RELEASE):
            frame = frame.f_back  # os.getenv, Mapping.get: who called them
        if frame is not None and f"{os.sep}dmrelease{os.sep}" in frame.f_code.co_filename:
            self.read.add(key)

    def __getitem__(self, key: str) -> str:
        self._record(key)
        return self.real[key]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self._record(key)
        return self.real.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._record(key)
        return key in self.real

    def __setitem__(self, key: str, value: str) -> None:
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        del self.real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)

    def items(self) -> ItemsView[str, str]:  # type: ignore[override]
        return self.real.items()  # the whole environment, passed on to a child process

    def copy(self) -> dict[str, str]:
        return dict(self.real)
