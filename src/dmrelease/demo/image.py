"""The distribution image of the demo's last final: what ``dm-release docker`` makes of a
release once it is on the binary server, or one plain line saying what was skipped and why.

An image is built when this machine has a builder (buildah, or docker with an engine that
answers) and the demo was given the source tarball of EUPS (``--eups-source``; ``nox -s
demo`` passes the one beside this checkout when it is there), from which a base image is
made locally: no image hub is reachable from the demo. The image installs the final from
the demo's binary server, served over HTTP on 127.0.0.1 as for the fresh stack. It is
pushed to a ``docker-registry`` the demo starts on a free port of 127.0.0.1 (its data in
the demo's directory) when that program is installed, else built without a push. Without
a builder or an EUPS source the section says which is missing, and the demo goes on: the
image is the one step a machine may not be able to make.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from dmrelease.adapters.files import write_atomically
from dmrelease.core.config import Config
from dmrelease.core.errors import UsageError
from dmrelease.demo.tour import Row, Tour

IMAGE_STEP = "image"
REGISTRY_PROGRAM = "docker-registry"
RESULTS_FILE = "results.json"
REGISTRY_DIR = "registry"  # the demo registry's configuration and data, in the demo's directory
#: how long the demo waits for the registry it started to answer (it answers within a
#: second; a registry that does not is reported, not waited for forever)
REGISTRY_START_SECONDS = 30.0

NO_BUILDER = "no image builder here (buildah, or docker with an engine that answers)"
NO_EUPS_SOURCE = "no EUPS source tarball to make its base image from (--eups-source FILE)"
NO_REGISTRY = f"{REGISTRY_PROGRAM} is not installed, so nothing is pushed"


@dataclasses.dataclass(frozen=True)
class ImageChoice:
    """What this machine lets the demo do about the image: the builder's name, the EUPS
    source tarball, the registry program (each None when there is none)."""

    builder: str | None
    eups_source: Path | None
    registry: str | None

    @property
    def skipped(self) -> str | None:
        """Why no image is built (None: one is)."""
        if self.builder is None:
            return NO_BUILDER
        if self.eups_source is None:
            return NO_EUPS_SOURCE
        return None

    @property
    def push(self) -> bool:
        return self.skipped is None and self.registry is not None

    def cell(self, pushed: int = 0) -> str:
        """The summary table's cell for the image step."""
        if self.builder is None:
            return "skipped: no builder"
        if self.eups_source is None:
            return "skipped: no EUPS source"
        return f"{pushed} tags pushed" if self.push else "built, not pushed"


def choose(
    eups_source: Path | None,
    *,
    builder: Callable[[], str | None] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> ImageChoice:
    """What this machine has: its builder (:func:`builder_available`), ``docker-registry``
    on PATH; ``eups_source`` as given."""
    if builder is None:
        from dmrelease.adapters.image_builder import builder_available

        builder = builder_available
    return ImageChoice(builder(), eups_source, which(REGISTRY_PROGRAM))


REGISTRY_CONFIG = """\
# the demo's registry (dm-release demo writes it): plain HTTP on 127.0.0.1, no
# authentication, its data beside this file
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # http://127.0.0.1 only
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def local_registry(program: str, where: Path) -> Iterator[str]:
    """``docker-registry`` serving plain HTTP on a free port of 127.0.0.1, its
    configuration, data and log under ``where``, stopped when the block ends; yields its
    ``HOST:PORT``. UsageError (exit 2) when it does not answer."""
    from dmrelease.adapters.image_builder import stop_process

    port = _free_port()
    config = where / "config.yml"
    write_atomically(config, REGISTRY_CONFIG.format(data=where / "data", port=port))
    host = f"127.0.0.1:{port}"
    with (where / "registry.log").open("wb") as log:
        process = subprocess.Popen(
            [program, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + REGISTRY_START_SECONDS
            while not _answers(f"http://{host}/v2/"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise UsageError(
                        f"{program} did not start on {host}: see {where / 'registry.log'}"
                    )
                time.sleep(0.1)
            yield host
        finally:
            stop_process(process, 10)


def skipped_row(tour: Tour, choice: ImageChoice, eups_tag: str, build: str) -> Row:
    """Say what was skipped and why, in one plain line; the summary row."""
    tour.say(f"  skipped the image of {eups_tag}: {choice.skipped}")
    return Row(IMAGE_STEP, eups_tag, build, repositories=choice.cell())


def _built_row(tour: Tour, config: Config, choice: ImageChoice, eups_tag: str, build: str) -> Row:
    """Make the base image, start the registry (when there is one), build and push."""
    from dmrelease.adapters.base_image import make_base_image
    from dmrelease.adapters.image_builder import BuilderMissing, find_builder
    from dmrelease.core.distrib import floating_tags
    from dmrelease.core.requests import DockerRequest
    from dmrelease.stages.docker import docker

    assert choice.eups_source is not None
    builder = find_builder(config.docker_builder)
    try:
        base = make_base_image(builder, eups_source=choice.eups_source, log=tour.stage_log)
    except BuilderMissing as missing:  # mmdebstrap: the one tool the base image needs
        tour.say(f"  skipped the image of {eups_tag}: {missing}")
        return Row(IMAGE_STEP, eups_tag, build, repositories="skipped: no base image")
    tour.say(f"  builder: {builder.name}; base image {base} (EUPS from {choice.eups_source.name})")
    request = DockerRequest(
        eups_tag, tour.moment(), floating=floating_tags(eups_tag), no_push=not choice.push,
        results=config.work_dir / "docker" / RESULTS_FILE,
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        registry = None
        if choice.registry is not None:
            where = tour.root / REGISTRY_DIR
            where.mkdir(exist_ok=True)
            registry = stack.enter_context(local_registry(choice.registry, where))
            tour.say(f"  registry: {REGISTRY_PROGRAM} on {registry} (its data in {REGISTRY_DIR}/)")
        else:
            tour.say(f"  not pushed: {NO_REGISTRY} (apt-get install {REGISTRY_PROGRAM})")
        image_config = dataclasses.replace(
            config, docker_base_image=base, docker_registry=registry, docker_tls_verify=False
        )
        results = docker(image_config, request, builder=builder, log=tour.stage_log)
    tags = ", ".join(results.tags)
    if results.pushed:
        tour.say(f"  {results.image}: {tags}", f"    {results.digest}")
    else:
        tour.say(f"  {results.image} built ({results.platforms[0].digest}), tags {tags}")
    tour.say(f"  results: work/docker/{RESULTS_FILE}")
    return Row(IMAGE_STEP, eups_tag, build, repositories=choice.cell(len(results.tags)))


def image_section(
    tour: Tour, config: Config, eups_source: Path | None, eups_tag: str, build: str
) -> ImageChoice:
    """The section of the image of ``eups_tag`` (build ``build``): built and pushed, built
    only, or the line saying what was skipped; adds its summary row."""
    choice = choose(eups_source)
    image = f"{config.docker_repository}:{config.docker_tag_prefix}-{eups_tag}"
    with tour.section(
        f"The distribution image of {eups_tag}",
        "The last stage of a release (Jenkins' build-stack job): dm-release docker writes "
        "a Dockerfile FROM a base image that holds EUPS in /opt/lsst/software/stack, whose "
        "one step is eups distrib install of the product at the final's EUPS tag from the "
        "binary server (served on 127.0.0.1 again), builds it with buildah (no daemon) or "
        f"a docker engine, and tags it {image}, the same with the UTC time of the run (the "
        "section's pinned time), which never move, and the floating o_latest, which may. "
        "An immutable tag already in the registry with other content is refused; a second "
        "run with the same content does nothing. A machine without a builder or without "
        "the EUPS source for the base image skips this step, and says so.",
        look=() if choice.skipped else (
            f"work/docker/{eups_tag}/Dockerfile, work/docker/{RESULTS_FILE} (tags, digest)",
        ),
        commands=(f"dm-release docker --tag {eups_tag}   (with docker.registry and "
                  "docker.base_image set)",),
    ):  # fmt: skip
        tour.tick()
        if choice.skipped is not None:
            tour.row(skipped_row(tour, choice, eups_tag, build))
        else:
            tour.row(_built_row(tour, config, choice, eups_tag, build))
    return choice
