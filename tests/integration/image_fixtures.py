"""Real image tools for the tests: a registry, a builder, the base image, and pulling an
image back to look inside it.

- ``registry`` (session): Debian's ``docker-registry`` on a free port of 127.0.0.1 with
  htpasswd (bcrypt) authentication and its data in a temporary folder; yields a
  :class:`RunningRegistry` (host, url, username, password, credentials, client()).
- ``tls_registry`` (session): the same over HTTPS with a self-signed certificate.
- ``token_registry`` (session): the same with token authentication (Bearer challenges),
  its token service (registry_token.py) on another port.
- ``builder`` (session): ``find_builder()``, buildah here.
- ``base_image`` (session): ``make_base_image`` with the vendor's EUPS tarball; made once per
  machine and kept in the builder's local storage under its content key, so a second run (CI
  runs the suite on two interpreters) reuses it.
- ``pull_image_tree(ref, platform=None, source=None) -> Path``: ``skopeo copy`` of
  ``HOST/REPO:TAG`` (or ``@sha256:``) from the registry (``source``, default ``registry``)
  to an OCI layout, its layers applied in order (whiteouts included) to a folder.

Without a tool (buildah, docker-registry, htpasswd, skopeo, mmdebstrap) the tests that need it
skip, naming what is missing and how to install it; with DM_RELEASE_REQUIRE_BUILDER=1 (CI sets
it) they fail instead.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import secrets
import shutil
import socket
import subprocess
import tarfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import requests
from registry_token import ISSUER, SERVICE, TokenService, self_signed, token_service
from urllib3.exceptions import InsecureRequestWarning
from vendor import EUPS_TARBALL, REQUIRE_ENV, vendor_dir

from dmrelease.adapters.base_image import make_base_image
from dmrelease.adapters.image_builder import (
    Builder,
    BuilderMissing,
    RegistryCredentials,
    find_builder,
    stop_process,
)
from dmrelease.adapters.registry import Registry
from dmrelease.core.config import Secret
from dmrelease.core.redact import redact

__all__ = [
    "REQUIRE_BUILDER",
    "RunningRegistry",
    "apply_layer",
    "base_image",
    "buildah_label",
    "builder",
    "pull_image_tree",
    "registry",
    "require_tools",
    "serve_registry",
    "tiny_context",
    "tls_registry",
    "token_registry",
]

#: set to 1 (CI does) and a missing image tool fails the tests that need it instead of skipping
REQUIRE_BUILDER = "DM_RELEASE_REQUIRE_BUILDER"
#: seconds the registry has to answer after it starts
REGISTRY_START = 30.0
#: the Debian package of each tool, for the skip message
PACKAGES = {
    "buildah": "buildah",
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "skopeo": "skopeo",
    "mmdebstrap": "mmdebstrap",
}


def _missing(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_BUILDER) == "1":
        pytest.fail(f"{REQUIRE_BUILDER}=1 and {reason}")
    pytest.skip(reason)


def require_tools(*tools: str) -> None:
    """Skip (fail under DM_RELEASE_REQUIRE_BUILDER=1) unless every tool is on PATH."""
    absent = [tool for tool in tools if shutil.which(tool) is None]
    if absent:
        packages = " ".join(PACKAGES.get(tool, tool) for tool in absent)
        _missing(f"{', '.join(absent)} not found (apt-get install {packages})")


@dataclass(frozen=True)
class RunningRegistry:
    """A docker-registry serving ``url`` with one htpasswd account."""

    host: str  # 127.0.0.1:PORT, what image references start with
    url: str  # http://127.0.0.1:PORT
    username: str
    password: str
    data: Path
    token: TokenService | None = None  # the token service, for a Bearer registry

    @property
    def credentials(self) -> RegistryCredentials:
        return RegistryCredentials(self.username, Secret(self.password))

    def client(self, credentials: RegistryCredentials | None = None) -> Registry:
        """A Registry client with this account (or the ``credentials`` given)."""
        return Registry(self.host, credentials or self.credentials, tls_verify=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(data: Path, port: int, auth: Mapping[str, object], tls: bool) -> str:
    http: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)}
    if tls:
        http["tls"] = {"certificate": str(data / "tls.pem"), "key": str(data / "tls.key")}
    return json.dumps({  # YAML is a superset of JSON
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(data / "storage")},
                    "delete": {"enabled": True}},
        "http": http,
        "auth": auth,
    }, indent=1)  # fmt: skip


def _answers(url: str) -> bool:
    try:
        with warnings.catch_warnings():  # a self-signed certificate, known to be one
            warnings.simplefilter("ignore", InsecureRequestWarning)
            return requests.get(f"{url}/v2/", timeout=2, verify=False).status_code == 401
    except requests.RequestException:
        return False


@contextmanager
def serve_registry(data: Path, auth: Mapping[str, object], *, tls: bool = False) -> Iterator[str]:
    """docker-registry with ``auth`` (its config's auth table) and its storage in ``data``,
    on a free port of 127.0.0.1, answering (401 on /v2/); yields 127.0.0.1:PORT. With
    ``tls`` it speaks HTTPS only, with the certificate and key data/tls.pem, data/tls.key."""
    require_tools("docker-registry")
    scheme = "https" if tls else "http"
    for _attempt in range(3):  # a free port taken meanwhile: another one
        port = _free_port()
        config = data / "config.yml"
        config.write_text(_config(data, port, auth, tls))
        log = (data / "registry.log").open("w")
        server = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"{scheme}://127.0.0.1:{port}"
        ends = time.monotonic() + REGISTRY_START
        while server.poll() is None and time.monotonic() < ends and not _answers(url):
            time.sleep(0.1)
        if server.poll() is None and _answers(url):
            break
        server.kill()
        server.wait()
        log.close()
    else:
        pytest.fail(f"docker-registry did not answer:\n{(data / 'registry.log').read_text()}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(server, 10)
        log.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry on 127.0.0.1 (htpasswd auth: Basic), stopped after the session."""
    require_tools("docker-registry", "htpasswd")
    data = tmp_path_factory.mktemp("registry")
    username, password = "dm-release", secrets.token_urlsafe(18)
    with serve_registry(data, _htpasswd(data, username, password)) as host:
        yield RunningRegistry(host, f"http://{host}", username, password, data)


def _htpasswd(data: Path, username: str, password: str) -> dict[str, object]:
    """The auth table of an htpasswd (bcrypt) account written to data/htpasswd."""
    require_tools("htpasswd")
    hashed = subprocess.run(  # -i: the password on standard input, not in argv (ps)
        ["htpasswd", "-iBn", username], input=password, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    (data / "htpasswd").write_text(hashed + "\n")
    return {"htpasswd": {"realm": "dm-release-tests", "path": str(data / "htpasswd")}}


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry on 127.0.0.1 speaking HTTPS only, with a self-signed certificate
    (for 127.0.0.1, data/tls.pem) and an htpasswd account: a private registry's setup."""
    data = tmp_path_factory.mktemp("tls-registry")
    username, password = "dm-release-tls", secrets.token_urlsafe(18)
    certificate, key = self_signed("127.0.0.1")
    (data / "tls.pem").write_bytes(certificate)
    (data / "tls.key").write_bytes(key)
    with serve_registry(data, _htpasswd(data, username, password), tls=True) as host:
        yield RunningRegistry(host, f"https://{host}", username, password, data)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry on 127.0.0.1 with token authentication (Bearer challenges) and the
    token service of registry_token on another port; ``.token`` is that service."""
    data = tmp_path_factory.mktemp("token-registry")
    username, password = "dm-release-bearer", secrets.token_urlsafe(18)
    with token_service(username, password, data) as service:
        auth = {"token": {"realm": service.url, "service": SERVICE, "issuer": ISSUER,
                          "rootcertbundle": str(data / "token.pem")}}  # fmt: skip
        with serve_registry(data, auth) as host:
            yield RunningRegistry(host, f"http://{host}", username, password, data, service)


@pytest.fixture(scope="session")
def builder() -> Builder:
    """The image builder find_builder() picks (skipped without one, failed in CI)."""
    try:
        return find_builder()
    except BuilderMissing as missing:
        _missing(str(missing))


@pytest.fixture(scope="session")
def base_image(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The local base image with the vendor's EUPS (made once per machine)."""
    require_tools("mmdebstrap")
    folder = vendor_dir()
    tarball = None if folder is None else folder / EUPS_TARBALL
    if tarball is None or not tarball.is_file():
        reason = f"the base image needs ../shared/vendor/{EUPS_TARBALL}, which is absent"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 and {reason}")
        _missing(reason)
    log_path = tmp_path_factory.mktemp("base-image") / "build.log"
    with log_path.open("w") as log:
        return make_base_image(builder, eups_source=tarball, log=log)


# -- small images for the tests ----------------------------------------------------------


def tiny_context(folder: Path, text: str) -> Path:
    """A context of one file and one label: no RUN, so any platform builds anywhere."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.txt").write_text(text)
    (folder / "Dockerfile").write_text(
        "FROM scratch\nARG GREETING=none\nCOPY hello.txt /hello.txt\nLABEL greeting=$GREETING\n"
    )
    return folder


def buildah_label(builder: Builder) -> dict[str, str]:
    """The label buildah adds to every image it builds."""
    return (
        {"io.buildah.version": builder.name.split()[1]}
        if builder.name.startswith("buildah")
        else {}
    )


# -- pulling an image back --------------------------------------------------------------------

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: symbolic links followed while resolving one path inside a tree
MAX_LINKS = 40


def _inside(tree: Path, name: str) -> Path:
    """Where ``name`` (a layer member's path) lands in ``tree``, every symbolic link on the
    way resolved inside the tree as a container would (an absolute target is taken from
    the tree's root), so that nothing is ever written outside it."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    here: list[str] = []
    followed = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if here:
                here.pop()
            continue
        candidate = tree.joinpath(*here, part)
        if parts and candidate.is_symlink():  # the last component is the member itself
            followed += 1
            if followed > MAX_LINKS:
                raise OSError(f"{name}: too many symbolic links in the tree")
            target = os.readlink(candidate)
            if target.startswith("/"):
                here = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        here.append(part)
    return tree.joinpath(*here)


def _clear(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def apply_layer(archive: tarfile.TarFile, tree: Path) -> int:
    """Apply one image layer to ``tree`` (OCI whiteouts: ``.wh.NAME`` removes NAME,
    ``.wh..wh..opq`` empties its folder); devices and FIFOs are skipped. Returns how many
    members were written."""
    written = 0
    for member in archive:
        folder, _, base = member.name.rstrip("/").rpartition("/")
        if base == OPAQUE:
            where = _inside(tree, folder) if folder else tree
            for child in list(where.iterdir()) if where.is_dir() else []:
                _clear(child)
            continue
        if base.startswith(WHITEOUT):
            _clear(_inside(tree, f"{folder}/{base[len(WHITEOUT) :]}"))
            continue
        target = _inside(tree, member.name)
        if target == tree:
            continue
        if member.isdir():
            if not target.is_dir() or target.is_symlink():
                _clear(target)
                target.mkdir(parents=True)
            target.chmod(0o700 | (member.mode & 0o777))
            continue
        if not (member.isfile() or member.issym() or member.islnk()):
            continue  # devices, FIFOs: nothing to inspect
        target.parent.mkdir(parents=True, exist_ok=True)
        _clear(target)
        if member.issym():
            os.symlink(member.linkname, target)
        elif member.islnk():
            source = _inside(tree, member.linkname)
            os.link(source, target, follow_symlinks=False)
        else:
            extracted = archive.extractfile(member)
            assert extracted is not None
            with extracted, target.open("xb") as out:
                shutil.copyfileobj(extracted, out)
            target.chmod(0o600 | (member.mode & 0o777))
        written += 1
    return written


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def _image_manifest(layout: Path, platform: str | None) -> dict[str, object]:
    index = json.loads((layout / "index.json").read_text())
    document = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_text())
    if "manifests" in document:  # a list: the member of the platform asked (or the first)
        members = document["manifests"]
        if platform is not None:
            os_, arch = platform.split("/")[:2]
            members = [
                m for m in members
                if m.get("platform", {}).get("os") == os_
                and m.get("platform", {}).get("architecture") == arch
            ]  # fmt: skip
            assert members, f"no {platform} member in the list: {document}"
        document = json.loads(_blob(layout, members[0]["digest"]).read_text())
    return document  # type: ignore[no-any-return]


def _open_layer(path: Path) -> tarfile.TarFile:
    with path.open("rb") as head:
        magic = head.read(2)
    if magic == b"\x1f\x8b":
        return tarfile.open(fileobj=gzip.open(path), mode="r|")
    return tarfile.open(path, mode="r|")


@pytest.fixture
def pull_image_tree(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """pull_image_tree("HOST/REPO:TAG", platform=None, source=None) -> the image's files in
    a folder.

    The image is copied with skopeo with the account of ``source`` (default: the
    ``registry`` fixture's): a real pull, independent of the builder's local storage."""
    require_tools("skopeo")

    def pull(ref: str, platform: str | None = None, source: RunningRegistry | None = None) -> Path:
        account = source or registry
        scratch = tmp_path_factory.mktemp("pulled")
        layout, tree = scratch / "oci", scratch / "tree"
        # the account in a private auth file, not in argv (ps shows every argument)
        authfile = scratch / "auth.json"
        authfile.touch(mode=0o600)
        pair = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
        authfile.write_text(json.dumps({"auths": {ref.partition("/")[0]: {"auth": pair}}}))
        argv = [
            "skopeo", "copy", "--quiet", "--src-tls-verify=false",
            "--src-authfile", str(authfile),
        ]  # fmt: skip
        if platform is not None:
            os_, arch = platform.split("/")[:2]
            argv += ["--override-os", os_, "--override-arch", arch]
        done = subprocess.run(
            [*argv, f"docker://{ref}", f"oci:{layout}:pulled"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        authfile.unlink()
        assert done.returncode == 0, (
            f"skopeo copy {ref}: {redact(done.stderr, (account.password, registry.password))}"
        )
        manifest = _image_manifest(layout, platform)
        tree.mkdir()
        for layer in manifest["layers"]:  # type: ignore[attr-defined]
            with _open_layer(_blob(layout, layer["digest"])) as archive:
                apply_layer(archive, tree)
        return tree

    return pull
