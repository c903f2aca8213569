"""The distribution image (DMTN-106 §2.5): its tags, its Dockerfile, what it is made of, and
what a run does with the tags the registry already has.

Tags follow the real build-stack job: ``<prefix>-<eups tag>`` and
``<prefix>-<eups tag>-<UTC yyyymmddTHHMMSSZ>`` (24-hour clock) are immutable; the floating
tags the release kind allows (``w_latest``, ``d_latest``, ``o_latest``) and any extra tag are
pushed as given and as ``<prefix>-<tag>``, and may move.

An image build is not byte-reproducible (EUPS writes the date into its declarations), so an
image is known by what it is made of, not by its digest: the EUPS tag, the build id and the
SHA-256 of the tag list it installs, the base image and the Dockerfile. These are the image's
labels, with :data:`IDENTITY_LABEL` the digest of them all. A run whose ``<prefix>-<eups tag>``
is already in the registry with the same identity does nothing; with another identity it is
refused (exit 1) before anything is built or pushed.
Pure: the caller reads the tag list, the base image's labels, the registry and the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.image_settings import (
    PLATFORM,
    base_image_problem,
    builder_problem,
    platform_problem,
    registry_problem,
    repository_problem,
    tag_prefix_problem,
)
from dmrelease.core.names import InvalidName, docker_tags
from dmrelease.core.tags import parse_eups_tag

__all__ = [
    "IDENTITY_LABEL",
    "LABEL_PREFIX",
    "LSST_HOME",
    "RESULTS_NAME",
    "Identity",
    "ImageConflict",
    "ImageTags",
    "PlatformImage",
    "PushPlan",
    "Results",
    "arch_of",
    "base_image_problem",
    "builder_problem",
    "dockerfile",
    "image_tags",
    "platform_problem",
    "platform_tag",
    "push_plan",
    "read_results",
    "registry_problem",
    "repository_problem",
    "sha256_text",
    "tag_prefix_problem",
]

LABEL_PREFIX = "org.lsst.dm-release."
IDENTITY_LABEL = LABEL_PREFIX + "identity"
#: where the base image's EUPS stack is, as the newinstall image has it
LSST_HOME = "/opt/lsst/software/stack"
RESULTS_NAME = "results.json"
#: a docker tag (the distribution spec's rule)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: an immutable tag of some EUPS tag once the prefix is taken off: the tag, its dated tag,
#: or one platform's image of it
_DATED = re.compile(r"(.+)-[0-9]{8}T[0-9]{6}Z")
_ARCH = re.compile(r"(.+)_[a-z0-9]+")


def sha256_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ImageTags:
    """The tags of one image: ``base`` (``<prefix>-<eups tag>``) and ``dated`` are
    immutable, ``floating`` may move."""

    base: str
    dated: str
    floating: tuple[str, ...] = ()

    @property
    def immutable(self) -> tuple[str, str]:
        return (self.base, self.dated)

    @property
    def push_order(self) -> tuple[str, ...]:
        """Dated first, then the floating ones, the base tag last: the base tag decides
        whether a rerun has anything to do, so a run stopped half-way is done again."""
        return (self.dated, *self.floating, self.base)


def image_tags(
    prefix: str,
    eups_tag: str,
    when: dt.datetime,
    floating: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> ImageTags:
    """The tags of the image of ``eups_tag`` built at ``when`` (timezone-aware): each of
    ``floating`` (the ones the release kind allows) and ``extra`` (DOCKER_TAGS) as given
    and as ``<prefix>-<tag>``, as the real job tags them. UsageError for a bad tag."""
    try:
        base, dated, *_ = docker_tags(prefix, parse_eups_tag(eups_tag), when)
    except InvalidName as error:
        raise UsageError(f"docker tags of {eups_tag!r}: {error.reason}") from None
    moving: list[str] = []
    for tag in (*floating, *extra):
        if not _TAG.fullmatch(tag) or len(f"{prefix}-{tag}") > 128:
            raise UsageError(f"{tag!r} is not a docker tag: letters, digits, '_', '.' and '-', "
                             "at most 128, not starting with '.' or '-'")  # fmt: skip
        for name in (tag, f"{prefix}-{tag}"):
            if _immutable_name(prefix, name):
                raise UsageError(
                    f"{tag!r} cannot be a floating tag: {name} is the name of a release's "
                    f"immutable tag ({prefix}-<EUPS tag>, its dated tag or one platform's), "
                    "which is never moved"
                )
            if name not in moving and name not in (base, dated):
                moving.append(name)
    return ImageTags(base, dated, tuple(moving))


def _parses(eups_tag: str) -> bool:
    try:
        parse_eups_tag(eups_tag)
    except InvalidName:
        return False
    return True


def _immutable_name(prefix: str, name: str) -> bool:
    """Whether ``name`` is ``<prefix>-<eups tag>``, its dated tag or ``..._<arch>``."""
    if not name.startswith(f"{prefix}-"):
        return False
    rest = name[len(prefix) + 1 :]
    dated, arch = _DATED.fullmatch(rest), _ARCH.fullmatch(rest)
    return _parses(rest) or bool(dated and _parses(dated[1])) or bool(arch and _parses(arch[1]))


def arch_of(platform: str) -> str:
    """``linux/arm64/v8`` → ``arm64``; UsageError for what is not OS/ARCH[/VARIANT]."""
    if not PLATFORM.fullmatch(platform):
        raise UsageError(f"{platform!r} is not a platform OS/ARCH[/VARIANT] (linux/amd64)")
    return platform.split("/")[1]


def platform_tag(base: str, platform: str) -> str:
    """The tag one platform's image is pushed under before the platforms are joined:
    ``<base>_<arch>``, as the real job pushes them."""
    return f"{base}_{arch_of(platform)}"


def dockerfile(base_image: str, eups_tag: str, products: Sequence[str]) -> str:
    """The Dockerfile of the image: FROM the base image, ``eups distrib install`` of each
    product at ``eups_tag`` from the server the build argument EUPS_PKGROOT names (not in
    the file: a server on a local port must not change what the image is made of)."""
    installs = " && ".join(
        f'eups distrib install --no-server-tags --repository "$EUPS_PKGROOT" --tag {eups_tag} '
        f"{product}"
        for product in products
    )
    script = (
        f"set -e; source {LSST_HOME}/loadLSST.bash; {installs}; "
        f'rm -rf "$EUPS_PATH/EupsBuildDir"; eups list --tag {eups_tag}'
    )
    return (
        f"FROM {base_image}\n"
        "ARG EUPS_PKGROOT\n"
        f"RUN {json.dumps(['/bin/bash', '-c', script])}\n"
        f"WORKDIR {LSST_HOME}\n"
    )


@dataclass(frozen=True)
class Identity:
    """What an image is made of; :meth:`labels` are put on it."""

    eups_tag: str
    build_id: str
    tag_list: str  # sha256:… of the tag list's text
    products: tuple[str, ...]
    base_image: str
    base: str  # sha256:… of the base image's labels (its content key when dm-release made it)
    dockerfile: str  # sha256:… of the Dockerfile

    @property
    def digest(self) -> str:
        return sha256_text(json.dumps(self._fields(), sort_keys=True))

    def _fields(self) -> dict[str, str]:
        return {
            "eups-tag": self.eups_tag, "build": self.build_id, "tag-list": self.tag_list,
            "products": " ".join(self.products), "base-image": self.base_image,
            "base": self.base, "dockerfile": self.dockerfile,
        }  # fmt: skip

    def labels(self) -> dict[str, str]:
        labels = {LABEL_PREFIX + key: value for key, value in self._fields().items()}
        return {**labels, IDENTITY_LABEL: self.digest}


class ImageConflict(CheckFailed):
    """An immutable tag in the registry holds an image made of something else (exit 1)."""


@dataclass(frozen=True)
class PushPlan:
    """What a run does: ``existing`` (the digest already under the base tag: nothing to
    build nor push) or push ``tags`` in that order."""

    tags: tuple[str, ...]
    existing: str | None = None

    @property
    def no_op(self) -> bool:
        return self.existing is not None


def push_plan(
    where: str,
    tags: ImageTags,
    identity: str,
    found: Mapping[str, tuple[str, str | None] | None],
    *,
    platforms: Sequence[str] = (),
    held: Sequence[str] | None = None,
) -> PushPlan:
    """The plan for ``tags`` given what the registry has: ``found`` maps each immutable tag
    to (digest, its identity label or None) or None when absent. Raises ImageConflict
    naming every immutable tag that holds another identity; ``where`` is HOST/REPO.
    ``held``: the platforms of the image under the base tag; when they are not the
    ``platforms`` asked the run is refused too (one more platform is other content)."""
    problems = []
    for tag in dict.fromkeys(tags.immutable):  # a per-platform tag is both
        there = found.get(tag)
        if there is not None and there[1] != identity:
            digest, other = there
            problems.append(Diagnostic(
                f"{where}:{tag}", 1, "image-immutable",
                f"the registry holds {digest} under {tag}, made of other content (identity "
                f"{other or 'none'}, this run's {identity}); an immutable tag is never moved",
                hint="release under a new EUPS tag, or remove the tag from the registry by "
                "hand",
            ))  # fmt: skip
    if problems:
        raise ImageConflict(problems)
    there = found.get(tags.base)
    if there is not None:
        if held is not None and platforms and sorted(held) != sorted(platforms):
            raise ImageConflict([Diagnostic(
                f"{where}:{tags.base}", 1, "image-immutable",
                f"the registry holds {there[0]} under {tags.base} for "
                f"{', '.join(sorted(held)) or 'no known platform'}, this run is for "
                f"{', '.join(sorted(platforms))}; an immutable tag is never moved",
                hint="release under a new EUPS tag, or build the platforms it holds",
            )])  # fmt: skip
        return PushPlan((), there[0])
    return PushPlan(tags.push_order)


@dataclass(frozen=True)
class PlatformImage:
    """One platform's image: its digest in the registry (or its local image id when it was
    not pushed) and the tag it was pushed under (None: not pushed)."""

    platform: str
    digest: str
    tag: str | None = None


@dataclass(frozen=True)
class Results:
    """results.json: the image, its tags, each platform's digest and the list's."""

    image: str
    eups_tag: str
    tags: tuple[str, ...]
    platforms: tuple[PlatformImage, ...]
    digest: str | None
    list_digest: str | None
    pushed: bool
    outcome: str  # pushed | unchanged | built | planned | per-platform
    identity: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "image": self.image, "eups_tag": self.eups_tag, "tags": list(self.tags),
            "digest": self.digest, "list_digest": self.list_digest, "pushed": self.pushed,
            "outcome": self.outcome, "identity": self.identity,
            "platforms": [
                {"platform": p.platform, "digest": p.digest, "tag": p.tag}
                for p in self.platforms
            ],
            "labels": dict(self.labels),
        }  # fmt: skip


def read_results(text: str, where: str) -> Results:
    """The Results a run wrote (a per-platform run's, for a join); UsageError when the
    text is not one."""
    try:
        data = json.loads(text)
        return Results(
            data["image"], data["eups_tag"], tuple(data["tags"]),
            tuple(PlatformImage(p["platform"], p["digest"], p["tag"]) for p in data["platforms"]),
            data["digest"], data["list_digest"], bool(data["pushed"]), data["outcome"],
            data["identity"], dict(data.get("labels") or {}),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{where}: not the results.json of dm-release docker ({error})") from None
