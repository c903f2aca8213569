"""Names that reach git or a path: ref names and repository URLs (issue 8 §5).

A tag, branch or ref given by a user or read from a file (repos.yaml, a plan, the ref list)
is checked here before any side effect: git's own ref-name rules (``git check-ref-format
--allow-onelevel``), no leading ``-`` (git would read it as an option), and a length limit
(a tag names files such as ``<session>-<tag>.json`` in the state dir and EUPS's
``<tag>.list``; a name over the limit would fail half-way with the lock held). A URL must not
be an option either, nor hide a host that is one (``ssh://-oProxyCommand=…``).
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_REF_LENGTH",
    "MAX_URL_LENGTH",
    "ref_name_problem",
    "url_problem",
]

#: bytes (UTF-8) of a ref name; file names are limited to 255 bytes, and a tag file name
#: adds a prefix and a suffix (``final_release-<tag>.plan.json``)
MAX_REF_LENGTH = 200
#: characters of a repository URL
MAX_URL_LENGTH = 2048

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN = re.compile(r"[ ~^:?*\[\\]")
_URL_CHAR = r"[^\s\x00-\x1f\x7f]"
#: ``scheme://[userinfo@]host…`` (the host starts with a letter, digit or ``[`` of an IPv6
#: address), ``file:///path``, or scp-like ``user@host:path``
_AUTHORITY_CHAR = r"[^\s/@\x00-\x1f\x7f]"
_URL = re.compile(
    rf"(?:(?:https?|git|ssh|git\+ssh)://(?:[^-\s/@\x00-\x1f\x7f]{_AUTHORITY_CHAR}*@)?"
    rf"[\w\[]{_AUTHORITY_CHAR}*(?:/{_URL_CHAR}*)?"
    rf"|file://(?:/|[\w\[]){_URL_CHAR}*"
    rf"|\w[\w.-]*@\w[\w.-]*:{_URL_CHAR}+)"
)


def ref_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a branch or tag name given to git, or None (git
    check-ref-format rules, one level allowed; plus no leading ``-`` and a length limit)."""
    if not name or name == "@":
        return "empty or '@'"
    if name.startswith("-"):
        return "must not start with '-' (git would read it as an option)"
    if len(name.encode("utf-8")) > MAX_REF_LENGTH:
        return f"longer than {MAX_REF_LENGTH} bytes"
    if _CONTROL.search(name) or _FORBIDDEN.search(name):
        return "spaces, control characters and ~ ^ : ? * [ \\ are not allowed"
    if ".." in name or "@{" in name or "//" in name:
        return "'..', '@{' and '//' are not allowed"
    if name.startswith("/") or name.endswith(("/", ".")):
        return "must not start with '/' or end with '/' or '.'"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return "no part may start with '.' or end with '.lock'"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a repository URL git may be given (words that follow the URL in a
    message: "… starts with '-'"), or None."""
    if url.startswith("-"):
        return "starts with '-': git would read it as an option"
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if _URL.fullmatch(url) is None:
        return "is not a git URL (https://…, git@host:…)"
    return None
