"""EUPS names: packages (the keys of repos.yaml, DESIGN.md §4), tags and build ids.

A package name reaches paths (clones, stack directories) and git command lines, so every
place that takes one from outside checks it against this one rule. Kept free of heavy
imports: the configuration, which hooks load, uses it too.
"""

from __future__ import annotations

import re

__all__ = [
    "BUILD_ID_RE",
    "EUPS_TAG_RE",
    "MAX_NAME_LENGTH",
    "NAME_RE",
    "is_package_name",
]

NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
#: a name makes file names (``<product>.json`` locks, ``<p>-<v>@<flavor>.tar.gz``, clone
#: directories) that must stay under the 255 bytes a file name may have
MAX_NAME_LENGTH = 100
#: EUPS tag names: the git form with '.' and '-' made '_' (DESIGN.md §3); each names a file
#: ``ups_db/<product>/<tag>.chain`` and a server's ``<tag>.list``, so no path separator and
#: no '.' may reach it (EUPS ignores a tag list whose name has one); the one rule the
#: configuration and the distribution servers check
EUPS_TAG_RE = re.compile(r"^[A-Za-z0-9_]+$")
#: a versiondb build id, ``b<number>`` (group 1: the number); the configuration bounds the
#: number's digits, the manifests and the versiondb read any
BUILD_ID_RE = re.compile(r"^b([0-9]+)$")


def is_package_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and NAME_RE.match(name) is not None
