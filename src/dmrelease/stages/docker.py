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
    LABEL_PREFIX,
    RESULTS_NAME,
    Identity,
    ImageTags,
    PlatformImage,
    PushPlan,
    Results,
    arch_of,
    base_image_problem,
    dockerfile,
    image_tags,
    platform_tag,
    push_plan,
    read_results,
    repository_problem,
    sha256_text,
)
from dmrelease.core.redact import redact

if TYPE_CHECKING:
    from dmrelease.adapters.image_builder import Builder, RegistryCredentials
    from dmrelease.adapters.registry import Registry
    from dmrelease.core.config import Config
    from dmrelease.core.requests import DockerRequest, JoinRequest

__all__ = ["DockerPlan", "docker", "join", "plan_image", "registry_of", "this_platform"]

#: machine names → the platform of an image built there
#: the platform an image was built for, on each image (a manifest list names its members')
PLATFORM_LABEL = LABEL_PREFIX + "platform"
#: the labels that differ between the platforms of one image (each arch has its own base)
_PER_PLATFORM = frozenset({LABEL_PREFIX + "base", IDENTITY_LABEL})
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
    # an http:// registry is plain HTTP for the builder too, whatever docker.tls_verify says:
    # otherwise the push would fail only after the build
    plain = config.docker_registry.lower().startswith("http://")
    return Registry(config.docker_registry, credentials, config.docker_tls_verify and not plain)


def _tag_list(config: Config, eups_tag: str) -> tuple[str, str]:
    """(text of the tag list of ``eups_tag``, where it was read) from servers.binary, else
    from the directory paths.binary_server."""
    name = f"{eups_tag}.list"
    if config.binary_server:
        from dmrelease.adapters.binaries import BinaryServerError
        from dmrelease.adapters.library_server import binary_server_at, fetch_tag_list

        server = binary_server_at(config, config.binary_server)
        try:
            return fetch_tag_list(server, eups_tag, what=f"the image of {eups_tag}")
        except BinaryServerError as exc:
            where = redact(f"{config.binary_server.rstrip('/')}/{name}")
            if exc.unreachable:
                raise UsageError(f"{where}: the binary server cannot be reached") from None
            if exc.status in (404, 410):
                problem = f"the binary server has no tag list {name}"
                raise CheckFailed([Diagnostic(where, 1, "image-tag-list", problem)]) from None
            raise UsageError(str(exc)) from None
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
    """What the base image is made of: the key of its inputs when dm-release made it (its
    label, the same whatever builder made it), else its image id (a pulled image's labels
    say nothing of its files); UsageError when it is not in local storage."""
    from dmrelease.adapters.base_image import KEY_LABEL

    if not builder.has_image(base):
        raise UsageError(f"the base image {base} is not in the builder's local storage: "
                         "pull or make it first (docker.base_image)")  # fmt: skip
    key = builder.labels(base).get(KEY_LABEL)
    return key if key else builder.image_id(base)


def plan_image(
    config: Config, request: DockerRequest, builder: Builder | None, registry: Registry | None,
    log: TextIO,
) -> DockerPlan:  # fmt: skip
    """Read the tag list and the registry; ImageConflict (exit 1) when an immutable tag
    holds other content, CheckFailed when the tag list does not have what is asked."""
    if not config.docker_base_image:
        raise UsageError("no base image: set docker.base_image (DM_RELEASE_DOCKER_BASE_IMAGE)")
    for setting, value, problem in (
        ("docker.base_image", config.docker_base_image, base_image_problem),
        ("docker.repository", config.docker_repository, repository_problem),
    ):
        why = problem(value)  # it reaches the Dockerfile and the registry's URLs
        if why:
            raise UsageError(f"{setting} {value!r}: {why}")
    if config.binary_token is not None and config.binary_server:
        raise UsageError(
            "the binary server needs DM_RELEASE_BINARY_TOKEN, which the image build cannot "
            "give eups distrib install (a build argument is kept in the image's history): "
            "build from a server that needs no token, or from a directory "
            "(paths.binary_server)"
        )
    tags = image_tags(config.docker_tag_prefix, request.eups_tag, request.when,
                      request.floating, request.extra)  # fmt: skip
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
    held = _held(registry, repo, found[checked.base])
    plan = push_plan(image, checked, identity.digest, found, platforms=platforms, held=held)
    if request.per_platform and not plan.no_op:
        plan = PushPlan((checked.base,))
    log.write(f"docker {image}: {_said(plan, checked)}\n")
    return DockerPlan(image, tags, identity, text_of_dockerfile, platforms, plan)


def _there(registry: Registry, repo: str, tag: str) -> tuple[str, str | None] | None:
    digest = registry.digest(repo, tag)
    if digest is None:
        return None
    return digest, registry.labels(repo, digest).get(IDENTITY_LABEL)


def _held(
    registry: Registry, repo: str, there: tuple[str, str | None] | None
) -> tuple[str, ...] | None:
    """The platforms of the image under a tag (None: no image there): a list's members',
    or the one an image of dm-release records."""
    if there is None:
        return None
    return tuple(platform for platform, _ in _members(registry, repo, there[0]))


def _members(registry: Registry, repo: str, digest: str) -> list[tuple[str, str]]:
    """(platform, digest) of each image ``digest`` is: a list's members, or itself."""
    _, body = registry.manifest(repo, digest)
    document = json.loads(body)
    if "manifests" in document:
        found = []
        for member in document["manifests"]:
            platform = member.get("platform") or {}
            if platform.get("os", "unknown") == "unknown":
                continue  # an attestation, not an image
            parts = [platform.get("os", ""), platform.get("architecture", "")]
            parts += [platform["variant"]] if platform.get("variant") else []
            found.append(("/".join(parts), member["digest"]))
        return found
    platform = registry.labels(repo, digest).get(PLATFORM_LABEL)
    return [(platform, digest)] if platform else []


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
        assert registry is not None
        results = _unchanged(plan, plan.push.existing or "", request, registry)
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


def _unchanged(
    plan: DockerPlan, digest: str, request: DockerRequest, registry: Registry
) -> Results:
    own = plan.tags.base
    if request.per_platform:
        own = platform_tag(plan.tags.base, plan.platforms[0])
        platforms = (PlatformImage(plan.platforms[0], digest, own),)
        return _results(plan, platforms, digest, None, pushed=False, outcome="unchanged")
    return _found(plan, digest, registry)


def _found(plan: DockerPlan, digest: str, registry: Registry) -> Results:
    """The results of a run that found the image ``digest`` under the base tag."""
    repo = plan.image.split("/", 1)[1]
    tags, members = _holding(registry, repo, plan.tags, digest)
    is_list = len(members) != 1 or members[0].digest != digest
    return replace(
        _results(plan, members, digest, digest if is_list else None, pushed=False,
                 outcome="unchanged"),
        tags=tags,
    )  # fmt: skip


def _holding(
    registry: Registry, repo: str, tags: ImageTags, digest: str
) -> tuple[tuple[str, ...], tuple[PlatformImage, ...]]:
    """What the registry has of the image ``digest`` under the base tag: the tags that hold
    it (the base tag, its dated tags, this run's floating ones; only those are asked, a
    repository may have thousands), and each platform's image with the tag it was pushed
    under."""
    present = registry.tags(repo)
    asked = [t for t in present if t.startswith(f"{tags.base}-") or t in tags.floating]
    holding = [tag for tag in asked if registry.digest(repo, tag) == digest]
    dated = sorted(t for t in holding if t.startswith(f"{tags.base}-"))
    ordered = [tags.base, *dated, *(t for t in tags.floating if t in holding)]
    members = []
    for platform, member in _members(registry, repo, digest):
        if member == digest:  # one image: it was pushed under its (first) dated tag
            members.append(PlatformImage(platform, member, dated[0] if dated else tags.base))
        else:
            own = platform_tag(tags.base, platform)
            held = own in present and registry.digest(repo, own) == member
            members.append(PlatformImage(platform, member, own if held else None))
    return tuple(ordered), tuple(members)


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
            labels = {**plan.identity.labels(), PLATFORM_LABEL: platform}
            image_id = builder.build(context, image=image, platform=platform,
                                     build_args={"EUPS_PKGROOT": url}, labels=labels,
                                     timestamp=None, log=log)  # fmt: skip
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
        existing = _put(registry, repo, digest, others, log, plan.identity.digest)
        if existing is not None:
            return _found(plan, existing, registry)
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
    list_digest, existing = _join(plan.image, plan.push.tags, members, builder, registry, log,
                                  plan.identity.digest)  # fmt: skip
    if existing is not None:
        return _found(plan, existing, registry)
    return _results(plan, members, list_digest, list_digest, pushed=True, outcome="pushed")


def _put(
    registry: Registry, repo: str, digest: str, tags: Sequence[str], log: TextIO,
    identity: str,
) -> str | None:  # fmt: skip
    """Put the manifest ``digest`` under each of ``tags`` (no builder, no upload), the base
    tag last. The base tag is looked at again just before: another run of the same tag may
    have put its image there since this run's plan (a build takes minutes). With the same
    content that image stays and its digest is returned; with other content ImageConflict."""
    if not tags:
        return None
    media_type, body = registry.manifest(repo, digest)
    *others, base = tags
    for tag in others:
        log.write(f"docker: {registry.host}/{repo}:{tag} -> {digest}\n")
        registry.put_manifest(repo, tag, media_type, body)
    there = _there(registry, repo, base)
    if there is not None:
        push_plan(f"{registry.host}/{repo}", ImageTags(base, ""), identity, {base: there})
        log.write(f"docker: {base} was put there meanwhile with the same content "
                  f"({there[0]}): kept\n")  # fmt: skip
        return there[0]
    log.write(f"docker: {registry.host}/{repo}:{base} -> {digest}\n")
    registry.put_manifest(repo, base, media_type, body)
    return None


def _join(
    image: str, tags: Sequence[str], members: Sequence[PlatformImage], builder: Builder,
    registry: Registry, log: TextIO, identity: str,
) -> tuple[str, str | None]:  # fmt: skip
    """(the list's digest, the digest found under the base tag instead, if any: _put)."""
    first, *others = tags
    log.write(f"docker: joining {len(members)} platforms under {image}:{first}\n")
    digest = builder.manifest_list(
        f"{image}:{first}",
        [(m.platform, f"{image}@{m.digest}") for m in members],
        credentials=registry.credentials,
        tls_verify=registry.tls_verify,
        log=log,
    )
    return digest, _put(registry, image.split("/", 1)[1], digest, others, log, identity)


def _write(results: Results, path: Path, log: TextIO) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results.as_dict(), indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise UsageError(f"{path}: cannot write: {error.strerror or error}") from None
    digest = f" {results.digest}" if results.digest else ""
    log.write(f"docker: {results.outcome}: {results.image}{digest} (results in {path})\n")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None


def _shared_labels(run: Results) -> dict[str, str]:
    """The labels every platform's image of one release has alike."""
    return {k: v for k, v in run.labels.items() if k not in _PER_PLATFORM}


def _unlike(path: Path, run: Results, name: str, value: str, first: str) -> Diagnostic:
    platforms = ", ".join(p.platform for p in run.platforms)
    return Diagnostic(str(path), 1, "image-join", f"{run.image}:{run.tags[0]} of {platforms} "
                      f"is not made of what the first results' is: {name} {value or 'none'}, "
                      f"not {first or 'none'}")  # fmt: skip


def _differing(first: dict[str, str], other: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, other.get(name, "")) for name in first.keys() | other.keys()
            if first.get(name) != other.get(name)]  # fmt: skip


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

    runs = [read_results(_read(path), str(path)) for path in request.results]
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
    same = _shared_labels(first)
    problems += [
        _unlike(path, run, name, value, same.get(name, ""))
        for path, run in zip(request.results, runs, strict=True)
        for name, value in sorted(_differing(same, _shared_labels(run)))
    ]
    if problems:
        raise CheckFailed(problems)
    members = [member for run in runs for member in run.platforms]
    registry = registry_of(config)
    repo = first.image.split("/", 1)[1]
    base, dated, *floating = first.tags
    tags = ImageTags(base, dated, tuple(floating))
    found = {tag: _there(registry, repo, tag) for tag in tags.immutable}
    plan = push_plan(first.image, tags, first.identity, found,
                     platforms=[m.platform for m in members],
                     held=_held(registry, repo, found[base]))  # fmt: skip
    log.write(f"docker {first.image}: {_said(plan, tags)}\n")
    outcome, digest = "unchanged", plan.existing
    if not plan.no_op and not request.dry_run:
        digest, existing = _join(first.image, plan.tags, members, builder or find_builder(
            config.docker_builder), registry, log, first.identity)  # fmt: skip
        outcome = "pushed"
        if existing is not None:
            outcome, digest = "unchanged", existing
    elif request.dry_run and not plan.no_op:
        outcome = "planned"
    results = replace(first, platforms=tuple(members), digest=digest, list_digest=digest,
                      pushed=outcome == "pushed", outcome=outcome)  # fmt: skip
    if not request.dry_run:
        _write(results, request.output or config.outputs / RESULTS_NAME, log)
    return results
