"""Regular expressions written by users: exclusion maps, ``--allow`` options (issue 8).

Python warns (``FutureWarning``) about a class such as ``[[a]`` or ``[a--b]``, whose meaning
a later Python will change; the warning text would land among the diagnostics. Here it is
an error like a syntax error, so that every caller reports it as its own diagnostic.
"""

from __future__ import annotations

import re
import warnings

__all__ = [
    "HINT",
    "BadRegex",
    "compile_user_regex",
]

HINT = "write a Python regular expression; escape `[`, `-`, `&`, `~`, `|` inside `[…]`"


class BadRegex(ValueError):
    """``text`` cannot be used as a regular expression; ``reason`` says why."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"`{text}` is {reason}")
        self.text = text
        self.reason = reason


def compile_user_regex(text: str) -> re.Pattern[str]:
    """``re.compile(text)`` with warnings made errors; raises :class:`BadRegex`."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return re.compile(text)
        except re.error as exc:
            raise BadRegex(text, f"not a regular expression: {exc}") from None
        except (FutureWarning, DeprecationWarning) as exc:
            raise BadRegex(text, f"an ambiguous regular expression: {exc}") from None
        except (RecursionError, OverflowError, MemoryError):
            raise BadRegex(text, "too complex a regular expression") from None
