"""How long to wait before sending again a request a server answered busy (429, 503), and
why a request reached no server: the parts the Jira, Jenkins and Discourse clients share.

Each client keeps its own limits, messages and which answers it sends again; this module
only reads ``Retry-After`` (RFC 9110: delay-seconds, or an HTTP date), counts the
back-off without it (1, 2, 4 ... seconds, at most a limit), and finds what the operating
system said in the chain of errors requests and urllib3 wrap it in.
"""

from __future__ import annotations

import email.utils
import time

__all__ = ["backoff", "delay_seconds", "reason", "retry_after", "wait"]


def delay_seconds(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` in its delay-seconds form (``"30"``); None when it
    is absent or not in that form."""
    text = (value or "").strip()
    return float(text) if text.isdigit() else None


def retry_after(value: str | None) -> float | None:
    """The seconds a ``Retry-After`` asks for, in delay-seconds or as an HTTP date (the
    seconds from now to then, negative when past); None when it is absent or unreadable."""
    seconds = delay_seconds(value)
    text = (value or "").strip()
    if seconds is None and text:
        try:
            seconds = email.utils.parsedate_to_datetime(text).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = None
    return seconds


def backoff(tries: int, longest: float) -> float:
    """The wait before try ``tries`` + 1 without a word from the server: 1, 2, 4 ...
    seconds, at most ``longest``."""
    return float(min(2 ** (tries - 1), longest))


def wait(value: str | None, tries: int, *, longest_backoff: float, longest: float) -> float:
    """Seconds before try ``tries`` + 1: ``Retry-After`` (seconds, or an HTTP date), else
    :func:`backoff`; never less than 0 nor more than ``longest``."""
    seconds = retry_after(value)
    if seconds is None:
        seconds = backoff(tries, longest_backoff)
    return float(min(max(seconds, 0), longest))


def reason(exc: BaseException) -> str:
    """What the operating system said (``Connection refused``, ``Name or service not
    known``), from the chain of errors requests and urllib3 wrap it in; else the error's
    type."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        error = pending.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.strerror:
            return str(error.strerror)
        pending += [e for e in (error.__cause__, error.__context__, getattr(error, "reason", None),
                                *error.args) if isinstance(e, BaseException)]  # fmt: skip
    return type(exc).__name__
