"""The [docker] settings' rules: what a registry, a repository, a base image reference, a
tag prefix, a builder and a list of platforms may be (the distribution spec's grammar).

Apart from the image stage's model (core/images.py) so that loading the configuration,
which checks these settings for every verb, loads none of the image code.
Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "BUILDERS",
    "PLATFORM",
    "base_image_problem",
    "builder_problem",
    "platform_problem",
    "registry_problem",
    "repository_problem",
    "tag_prefix_problem",
]

#: a platform OS/ARCH[/VARIANT]
PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
#: the distribution spec's grammar: a registry host, a repository, an image reference
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_REPOSITORY = re.compile(_PATH)
_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_REGISTRY = re.compile(rf"(?:https?://)?{_DOMAIN}/?")
_PREFIX = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
BUILDERS = ("auto", "buildah", "docker")


def registry_problem(registry: str) -> str | None:
    """Why ``registry`` is not HOST[:PORT] or http(s)://HOST[:PORT], or None."""
    if "@" in registry.split("://", 1)[-1].split("/", 1)[0]:
        return ("a registry with credentials: set docker.user and "
                "DM_RELEASE_REGISTRY_PASSWORD instead")  # fmt: skip
    if not _REGISTRY.fullmatch(registry):
        return "not HOST[:PORT], https://HOST[:PORT] or http://HOST[:PORT] (no path)"
    return None


def repository_problem(repository: str) -> str | None:
    if _REPOSITORY.fullmatch(repository):
        return None
    return ("not a repository: lower-case path parts of letters and digits joined by '.', "
            "'_', '__' or '-', separated by '/' (lsst/scipipe)")  # fmt: skip


def base_image_problem(image: str) -> str | None:
    if _REFERENCE.fullmatch(image):
        return None
    return ("not an image reference: [HOST[:PORT]/]REPOSITORY[:TAG][@DIGEST], no spaces, "
            "not starting with '-'")  # fmt: skip


def tag_prefix_problem(prefix: str) -> str | None:
    if _PREFIX.fullmatch(prefix) and len(prefix) <= 64:
        return None
    return ("not a docker tag prefix: letters, digits, '_', '.', '-', at most 64, starting "
            "with a letter or digit and not ending in '.' or '-'")  # fmt: skip


def builder_problem(builder: str) -> str | None:
    return None if builder in BUILDERS else f"not one of {', '.join(BUILDERS)}"


def platform_problem(platforms: Sequence[str]) -> str | None:
    for platform in platforms:
        if not PLATFORM.fullmatch(platform):
            return f"not a list of platforms OS/ARCH[/VARIANT] (linux/amd64): {platform!r}"
    return None
