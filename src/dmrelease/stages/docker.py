"""The distribution image (DMTN-106 §2.5, the real build-stack job): the products at an EUPS
tag, installed from the binary server into the base image's stack, built, tagged and pushed.

The registry decides what a run does (core/images.py): the base tag ``<prefix>-<eups tag>``
there with this run's identity → nothing is built nor pushed; an immutable tag there with
another identity → refused (exit 1) before anything is built. Otherwise each platform is
built; one platform's image is pushed under the dated tag and put under the others through
the registry's API (one digest for all); several platforms are pushed each under
``<base>_<arch>`` and joined in one manifest list put under every tag. The base tag is
written last, so a run stopped half-way is done again by the next. ``per_platform`` (one
Jenkins agent of a matrix) pushes only its ``<base>_<arch>``; :func:`join` makes the list
from the agents' results.json.
"""

from __future__ import annotations

import json
import platform as host_platform
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dmrelease.core.distrib import read_tag_list
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.images import (
    IDENTITY_LABEL,
    RESULTS_NAME,
    Identity,
    ImageTags,
    PlatformImage,
    PushPlan,
    Results,
    arch_of,
    dockerfile,
    image_tags,
    platform_tag,
    push_plan,
    read_results,
    sha256_text,
)

if TYPE_CHECKING:
    from dmrelease.adapters.image_builder import Builder, RegistryCredentials
    from dmrelease.adapters.registry import Registry
    from dmrelease.core.config import Config
    from dmrelease.core.requests import DockerRequest, JoinRequest

__all__ = ["DockerPlan", "docker", "join", "plan_image", "registry_of", "this_platform"]

#: machine names → the platform of an image built there
_MACHINES = {"x86_64": "linux/amd64", "amd64": "linux/amd64", "aarch64": "linux/arm64",
             "arm64": "linux/arm64"}  # fmt: skip


def this_platform() -> str:
    return _MACHINES.get(host_platform.machine().lower(), "linux/amd64")


@dataclass(frozen=True)
class DockerPlan:
    """What one run will do: the image, its tags, what it is made of, the platforms."""

    image: str  # HOST/REPO, or REPO without a registry
    tags: ImageTags
    identity: Identity
    dockerfile: str
    platforms: tuple[str, ...]
    push: PushPlan | None  # None: nothing is pushed (--no-push)


def registry_of(config: Config) -> Registry:
    """The configured registry (docker.registry) with the account of the environment."""
    from dmrelease.adapters.image_builder import RegistryCredentials
    from dmrelease.adapters.registry import Registry

    if not config.docker_registry:
        raise UsageError("no registry to push to: set docker.registry "
                         "(DM_RELEASE_DOCKER_REGISTRY), or give --no-push")  # fmt: skip
    credentials: RegistryCredentials | None = None
    if config.registry_password is not None:
        if config.registry_user is None:
            raise UsageError("DM_RELEASE_REGISTRY_PASSWORD is set without a user: set "
                             "docker.user (DM_RELEASE_REGISTRY_USER)")  # fmt: skip
        credentials = RegistryCredentials(config.registry_user, config.registry_password)
    return Registry(config.docker_registry, credentials, config.docker_tls_verify)


def _tag_list(config: Config, eups_tag: str) -> tuple[str, str]:
    """(text of the tag list of ``eups_tag``, where it was read) from servers.binary, else
    from the directory paths.binary_server."""
    name = f"{eups_tag}.list"
    if config.binary_server:
        from dmrelease.adapters.binaries import http_session

        url = f"{config.binary_server.rstrip('/')}/{name}"
        try:
            response = http_session(config.binary_token).get(url, timeout=60)
        except OSError as error:
            raise UsageError(f"{url}: the binary server cannot be reached ({error})") from None
        if response.status_code == 404:
            raise CheckFailed(
                [Diagnostic(url, 1, "image-tag-list", f"the binary server has no tag list {name}")]
            )
        if response.status_code != 200:
            raise UsageError(f"{url}: the binary server answered {response.status_code}")
        return response.text, url
    directory = config.binary_server_dir
    if not directory or "://" in directory:
        raise UsageError("no binary server to install from: set servers.binary (a URL) or "
                         "paths.binary_server (a directory)")  # fmt: skip
    path = Path(directory) / name
    if not path.is_file():
        raise CheckFailed(
            [
                Diagnostic(
                    str(path), 1, "image-tag-list", f"the binary server has no tag list {name}"
                )
            ]
        )
    return path.read_text(), str(path)


def _base_key(builder: Builder, base: str) -> str:
    """What the base image is made of: the digest of its labels (a base image dm-release
    makes carries the key of its inputs); UsageError when it is not in local storage."""
    if not builder.has_image(base):
        raise UsageError(f"the base image {base} is not in the builder's local storage: "
                         "pull or make it first (docker.base_image)")  # fmt: skip
    return sha256_text(json.dumps(builder.labels(base), sort_keys=True))


def plan_image(
    config: Config, request: DockerRequest, builder: Builder | None, registry: Registry | None,
    log: TextIO,
) -> DockerPlan:  # fmt: skip
    """Read the tag list and the registry; ImageConflict (exit 1) when an immutable tag
    holds other content, CheckFailed when the tag list does not have what is asked."""
    if not config.docker_base_image:
        raise UsageError("no base image: set docker.base_image (DM_RELEASE_DOCKER_BASE_IMAGE)")
    text, where = _tag_list(config, request.eups_tag)
    listed = read_tag_list(text)
    build_id = listed.headers.get("BUILD", "")
    products = request.products or tuple(p.name for p in config.products)
    problems = [
        Diagnostic(
            where, 1, "image-product", f"{name} is not in the tag list of {request.eups_tag}"
        )
        for name in products
        if name not in listed.rows
    ]
    if request.build_id and request.build_id != build_id:
        problems.append(Diagnostic(where, 1, "image-build", f"the tag list of "
                                   f"{request.eups_tag} is build {build_id or 'none'}, not "
                                   f"{request.build_id} (MANIFEST_ID)"))  # fmt: skip
    if not products:
        raise UsageError("no product to install: give --products or configure one")
    if problems:
        raise CheckFailed(problems)
    base = config.docker_base_image
    text_of_dockerfile = dockerfile(base, request.eups_tag, products)
    identity = Identity(
        request.eups_tag, build_id, sha256_text(text), products, base,
        "" if builder is None else _base_key(builder, base), sha256_text(text_of_dockerfile),
    )  # fmt: skip
    tags = image_tags(config.docker_tag_prefix, request.eups_tag, request.when,
                      request.floating, request.extra)  # fmt: skip
    platforms = request.platforms or config.docker_platforms or (this_platform(),)
    for platform in platforms:
        arch_of(platform)  # UsageError before the registry is asked
    repo = config.docker_repository
    if registry is None:
        return DockerPlan(repo, tags, identity, text_of_dockerfile, platforms, None)
    image = f"{registry.host}/{repo}"
    checked = tags
    if request.per_platform:  # this agent's tags only
        if len(platforms) != 1:
            raise UsageError("--per-platform builds one platform: give one --platform")
        own = platform_tag(tags.base, platforms[0])
        checked = ImageTags(own, own)
    found = {tag: _there(registry, repo, tag) for tag in checked.immutable}
    plan = push_plan(image, checked, identity.digest, found)
    if request.per_platform and not plan.no_op:
        plan = PushPlan((checked.base,))
    log.write(f"docker {image}: {_said(plan, checked)}\n")
    return DockerPlan(image, tags, identity, text_of_dockerfile, platforms, plan)


def _there(registry: Registry, repo: str, tag: str) -> tuple[str, str | None] | None:
    digest = registry.digest(repo, tag)
    if digest is None:
        return None
    return digest, registry.labels(repo, digest).get(IDENTITY_LABEL)


def _said(plan: PushPlan, tags: ImageTags) -> str:
    if plan.no_op:
        return f"{tags.base} is there with the same content ({plan.existing}): nothing to do"
    return f"{len(plan.tags)} tags to push: {', '.join(plan.tags)}"


def docker(
    config: Config,
    request: DockerRequest,
    *,
    builder: Builder | None = None,
    log: TextIO = sys.stderr,
) -> Results:
    """Build (and push) the image ``request`` asks for; writes and returns its results."""
    from dmrelease.adapters.image_builder import find_builder

    registry = None if request.no_push else registry_of(config)
    if builder is None and not (request.dry_run and registry is None):
        builder = find_builder(config.docker_builder)  # a plan without a push needs none
    plan = plan_image(config, request, builder, registry, log)
    if plan.push is not None and plan.push.no_op:
        results = _unchanged(plan, plan.push.existing or "", request)
    elif request.dry_run:
        tool = f" with {builder.name}" if builder is not None else ""
        tags = ", ".join((plan.tags.base, plan.tags.dated, *plan.tags.floating))
        kept = "" if plan.push is not None else f", push nothing (its tags: {tags})"
        log.write(f"docker {plan.image}: dry run: would build {', '.join(plan.platforms)}"
                  f"{tool}{kept}\n")  # fmt: skip
        results = _results(plan, (), None, None, pushed=False, outcome="planned")
    else:
        assert builder is not None
        built = _build(config, request, plan, builder, log)
        if registry is None:
            results = _results(plan, built, None, None, pushed=False, outcome="built")
        else:
            results = _push(plan, built, request.per_platform, builder, registry, log)
            for image in built:  # in the registry now: the local copy is not kept
                builder.remove(_local_name(config, plan, image.platform))
    if not request.dry_run:
        _write(results, request.results or config.outputs / RESULTS_NAME, log)
    return results


def _unchanged(plan: DockerPlan, digest: str, request: DockerRequest) -> Results:
    own = plan.tags.base
    if request.per_platform:
        own = platform_tag(plan.tags.base, plan.platforms[0])
        platforms = (PlatformImage(plan.platforms[0], digest, own),)
        return _results(plan, platforms, digest, None, pushed=False, outcome="unchanged")
    return _results(plan, (), digest, None, pushed=False, outcome="unchanged")


def _results(
    plan: DockerPlan, platforms: Sequence[PlatformImage], digest: str | None,
    list_digest: str | None, *, pushed: bool, outcome: str,
) -> Results:  # fmt: skip
    tags = (plan.tags.base, plan.tags.dated, *plan.tags.floating)
    return Results(plan.image, plan.identity.eups_tag, tags, tuple(platforms), digest,
                   list_digest, pushed, outcome, plan.identity.digest,
                   plan.identity.labels())  # fmt: skip


@contextmanager
def _server_url(config: Config) -> Iterator[str]:
    """The binary server's URL; a directory is served on 127.0.0.1 for the build."""
    if config.binary_server:
        with nullcontext(config.binary_server) as url:
            yield url
        return
    from dmrelease.adapters.local_http import serve_directory

    with serve_directory(Path(config.binary_server_dir or ".")) as url:
        yield url


def _local_name(config: Config, plan: DockerPlan, platform: str) -> str:
    """The name of the image built for ``platform`` in the builder's local storage."""
    return (
        f"localhost/dm-release/{config.docker_repository}:{platform_tag(plan.tags.base, platform)}"
    )


def _build(
    config: Config, request: DockerRequest, plan: DockerPlan, builder: Builder, log: TextIO
) -> tuple[PlatformImage, ...]:
    context = config.work_dir / "docker" / request.eups_tag
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(plan.dockerfile)
    built = []
    with _server_url(config) as url:
        for count, platform in enumerate(plan.platforms, start=1):
            image = _local_name(config, plan, platform)
            log.write(f"docker: [{count}/{len(plan.platforms)}] building {image} ({platform}) "
                      f"with {builder.name}, installing {' '.join(plan.identity.products)} at "
                      f"{request.eups_tag} from {url}\n")  # fmt: skip
            log.flush()
            image_id = builder.build(context, image=image, platform=platform,
                                     build_args={"EUPS_PKGROOT": url},
                                     labels=plan.identity.labels(), timestamp=None,
                                     log=log)  # fmt: skip
            built.append(PlatformImage(platform, image_id))  # a local id until pushed
    return tuple(built)


def _push(
    plan: DockerPlan, built: Sequence[PlatformImage], per_platform: bool, builder: Builder,
    registry: Registry, log: TextIO,
) -> Results:  # fmt: skip
    assert plan.push is not None
    credentials = registry.credentials
    verify = registry.tls_verify
    repo = plan.image.split("/", 1)[1]
    if len(built) == 1 and not per_platform:
        first, *others = plan.push.tags
        (one,) = built
        log.write(f"docker: pushing {plan.image}:{first}\n")
        digest = builder.push(one.digest, f"{plan.image}:{first}", credentials=credentials,
                              tls_verify=verify, log=log)  # fmt: skip
        _put(registry, repo, digest, others, log)
        pushed = (PlatformImage(one.platform, digest, first),)
        return _results(plan, pushed, digest, None, pushed=True, outcome="pushed")
    members = []
    for image in built:
        tag = platform_tag(plan.tags.base, image.platform)
        log.write(f"docker: pushing {plan.image}:{tag}\n")
        digest = builder.push(image.digest, f"{plan.image}:{tag}", credentials=credentials,
                              tls_verify=verify, log=log)  # fmt: skip
        members.append(PlatformImage(image.platform, digest, tag))
    if per_platform:
        return _results(plan, members, members[0].digest, None, pushed=True,
                        outcome="per-platform")  # fmt: skip
    list_digest = _join(plan.image, plan.push.tags, members, builder, registry, log)
    return _results(plan, members, list_digest, list_digest, pushed=True, outcome="pushed")


def _put(registry: Registry, repo: str, digest: str, tags: Sequence[str], log: TextIO) -> None:
    """Put the manifest ``digest`` under each of ``tags`` (no builder, no upload)."""
    if not tags:
        return
    media_type, body = registry.manifest(repo, digest)
    for tag in tags:
        log.write(f"docker: {registry.host}/{repo}:{tag} -> {digest}\n")
        registry.put_manifest(repo, tag, media_type, body)


def _join(
    image: str, tags: Sequence[str], members: Sequence[PlatformImage], builder: Builder,
    registry: Registry, log: TextIO,
) -> str:  # fmt: skip
    first, *others = tags
    log.write(f"docker: joining {len(members)} platforms under {image}:{first}\n")
    digest = builder.manifest_list(
        f"{image}:{first}",
        [(m.platform, f"{image}@{m.digest}") for m in members],
        credentials=registry.credentials,
        tls_verify=registry.tls_verify,
        log=log,
    )
    _put(registry, image.split("/", 1)[1], digest, others, log)
    return digest


def _write(results: Results, path: Path, log: TextIO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results.as_dict(), indent=2, sort_keys=True) + "\n")
    digest = f" {results.digest}" if results.digest else ""
    log.write(f"docker: {results.outcome}: {results.image}{digest} (results in {path})\n")


def join(
    config: Config,
    request: JoinRequest,
    *,
    builder: Builder | None = None,
    log: TextIO = sys.stderr,
) -> Results:
    """One manifest list of the per-platform images the results name, under their tags;
    nothing when the base tag already holds a list of the same content."""
    from dmrelease.adapters.image_builder import find_builder

    runs = [read_results(path.read_text(), str(path)) for path in request.results]
    if not runs:
        raise UsageError("--join needs the results.json of at least one platform's run")
    first = runs[0]
    problems = [
        Diagnostic(
            str(path),
            1,
            "image-join",
            f"{run.image}:{run.tags[0]} is not {first.image}:{first.tags[0]} of the first results",
        )
        for path, run in zip(request.results, runs, strict=True)
        if (run.image, run.tags[:1]) != (first.image, first.tags[:1])
        or run.outcome not in ("per-platform", "unchanged")
        or not run.platforms
    ]
    if problems:
        raise CheckFailed(problems)
    members = [member for run in runs for member in run.platforms]
    registry = registry_of(config)
    repo = first.image.split("/", 1)[1]
    base, dated, *floating = first.tags
    tags = ImageTags(base, dated, tuple(floating))
    found = {tag: _there(registry, repo, tag) for tag in tags.immutable}
    plan = push_plan(first.image, tags, first.identity, found)
    log.write(f"docker {first.image}: {_said(plan, tags)}\n")
    outcome, digest = "unchanged", plan.existing
    if not plan.no_op and not request.dry_run:
        digest = _join(first.image, plan.tags, members, builder or find_builder(
            config.docker_builder), registry, log)  # fmt: skip
        outcome = "pushed"
    elif request.dry_run and not plan.no_op:
        outcome = "planned"
    results = replace(first, platforms=tuple(members), digest=digest, list_digest=digest,
                      pushed=outcome == "pushed", outcome=outcome)  # fmt: skip
    if not request.dry_run:
        _write(results, request.output or config.outputs / RESULTS_NAME, log)
    return results
