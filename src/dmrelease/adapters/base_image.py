"""The base image the distribution image is built on, made locally from nothing.

No image hub is needed: ``mmdebstrap`` makes a Debian root filesystem from a Debian mirror,
and the builder turns it into an image with the real EUPS built from its source tarball
into ``/opt/lsst/software/stack``, as the newinstall image of the real process has it:
``loadLSST.bash`` there sets ``LSST_HOME`` and ``EUPS_PATH`` (``$LSST_HOME/stack``, with its
``ups_db``) and sources EUPS's ``setups.sh``, so a ``RUN source loadLSST.bash && eups
distrib install …`` installs into the image's stack.

The image carries the digest of everything it is made from (suite, mirror, packages, the
EUPS tarball's bytes, the Dockerfile) in the label :data:`KEY_LABEL`; an image of that name
with the same key in local storage is reused, so tests, CI's runs and the demo make it once
per machine. The making is serialized by a lock file per key.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.image_builder import Builder, BuilderMissing, BuildFailed, stream_command

__all__ = [
    "DEBIAN_MIRROR",
    "KEY_LABEL",
    "LSST_HOME",
    "PACKAGES",
    "base_image_key",
    "base_image_name",
    "make_base_image",
]

DEBIAN_MIRROR = "http://deb.debian.org/debian"
LSST_HOME = "/opt/lsst/software/stack"
#: what EUPS, eupspkg's binary installs and a product's scripts need beyond minbase (which
#: has bash, coreutils, tar, gzip, sed, grep, findutils)
PACKAGES = ("python3", "ca-certificates", "curl", "make", "perl", "bzip2", "xz-utils",
            "patch", "file")  # fmt: skip
KEY_LABEL = "org.lsst.dm-release.base-key"
#: bumped when what the image holds changes in a way the inputs do not show
LAYOUT = "1"
#: the image's created time and its files' times (reproducible layers where supported)
EPOCH = 0
_DPKG_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*",
                  "/usr/share/locale/*")  # fmt: skip

LOAD_LSST = """\
# dm-release base image: source this file (bash) to use the stack's EUPS, as the
# newinstall image's loadLSST.bash does
export LSST_HOME={home}
export EUPS_PATH="${{LSST_HOME}}/stack"
# shellcheck disable=SC1091
source "${{LSST_HOME}}/eups/{version}/bin/setups.sh"
"""

DOCKERFILE = """\
FROM scratch
ADD rootfs.tar /
COPY {tarball} loadLSST.bash /tmp/dm-release-base/
RUN set -eu; \\
    src=/tmp/dm-release-base/eups-src; mkdir -p "$src" {home}/stack/ups_db; \\
    tar -xzf /tmp/dm-release-base/{tarball} -C "$src" --strip-components=1; \\
    cd "$src"; \\
    log=/tmp/dm-release-base/eups-build.log; \\
    {{ ./configure --prefix={home}/eups/{version} --with-eups={home}/stack \\
        --with-python=/usr/bin/python3 && make install; }} >"$log" 2>&1 \\
        || {{ tail -n 40 "$log"; exit 1; }}; \\
    cp /tmp/dm-release-base/loadLSST.bash {home}/loadLSST.bash; \\
    cd /; rm -rf /tmp/dm-release-base; \\
    bash -c 'source {home}/loadLSST.bash && eups --version'
ENV LSST_HOME={home}
WORKDIR {home}
CMD ["/bin/bash"]
"""


def _eups_version(eups_source: Path) -> str:
    found = re.fullmatch(r"eups-(.+)\.tar\.gz", eups_source.name)
    return found.group(1) if found else "current"


def _files(eups_source: Path) -> dict[str, str]:
    version = _eups_version(eups_source)
    fields = {"home": LSST_HOME, "version": version, "tarball": eups_source.name}
    return {"Dockerfile": DOCKERFILE.format(**fields), "loadLSST.bash": LOAD_LSST.format(**fields)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _architecture(platform: str) -> str:
    parts = platform.split("/")
    if len(parts) < 2 or parts[0] != "linux":
        raise BuildFailed(f"{platform}: a Debian base image is linux/ARCH")
    return {"arm": "armhf"}.get(parts[1], parts[1])


def base_image_key(
    eups_source: Path, *, mirror: str = DEBIAN_MIRROR, suite: str = "bookworm",
    platform: str = "linux/amd64",
) -> str:  # fmt: skip
    """The digest of everything the base image is made from (hex, 64 characters)."""
    inputs = {
        "layout": LAYOUT, "suite": suite, "mirror": mirror, "platform": platform,
        "packages": list(PACKAGES), "excludes": list(_DPKG_EXCLUDES), "epoch": EPOCH,
        "eups": [eups_source.name, _sha256(eups_source)], "files": _files(eups_source),
    }  # fmt: skip
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def base_image_name(key: str, suite: str = "bookworm") -> str:
    """The local name under which a base image of ``key`` is kept."""
    return f"localhost/dm-release/base:{suite}-{key[:16]}"


@contextmanager
def _locked(key: str) -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / f"dm-release-base-{key[:16]}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_base_image(
    builder: Builder,
    image: str | None = None,
    *,
    eups_source: Path,
    mirror: str = DEBIAN_MIRROR,
    suite: str = "bookworm",
    platform: str = "linux/amd64",
    log: TextIO = sys.stderr,
) -> str:
    """The local base image (``image``, default :func:`base_image_name`), made unless an
    image of that name with the same key is in local storage; returns its name.

    Raises BuilderMissing (exit 2) without mmdebstrap or the EUPS tarball, BuildFailed when
    making the root filesystem or building the image fails."""
    eups_source = Path(eups_source)
    if not eups_source.is_file():
        raise BuilderMissing(f"{eups_source}: no such EUPS source tarball")
    key = base_image_key(eups_source, mirror=mirror, suite=suite, platform=platform)
    image = image or base_image_name(key, suite)
    with _locked(key):
        if builder.has_image(image) and builder.labels(image).get(KEY_LABEL) == key:
            log.write(f"base image {image}: in local storage (key {key[:16]})\n")
            return image
        if shutil.which("mmdebstrap") is None:
            raise BuilderMissing("mmdebstrap: not found; the base image is made with it "
                                 "(apt-get install mmdebstrap)")  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="dm-release-base-") as scratch:
            context = Path(scratch)
            _rootfs(context / "rootfs.tar", mirror, suite, platform, log)
            shutil.copyfile(eups_source, context / eups_source.name)
            for name, text in _files(eups_source).items():
                (context / name).write_text(text)
            log.write(f"base image {image}: building (key {key[:16]})\n")
            builder.build(context, image=image, platform=platform, build_args={},
                          labels={KEY_LABEL: key}, timestamp=EPOCH, log=log)  # fmt: skip
    return image


def _rootfs(target: Path, mirror: str, suite: str, platform: str, log: TextIO) -> None:
    """mmdebstrap SUITE TARGET MIRROR: a minbase Debian with PACKAGES, as a tarball."""
    argv = [
        # SOURCE_DATE_EPOCH: mmdebstrap's reproducible mode (file times, no random ids)
        "env", f"SOURCE_DATE_EPOCH={EPOCH}", "mmdebstrap", "--quiet", "--variant=minbase",
        f"--architectures={_architecture(platform)}", f"--include={','.join(PACKAGES)}",
        *(f"--dpkgopt=path-exclude={pattern}" for pattern in _DPKG_EXCLUDES),
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        suite, str(target), mirror,
    ]  # fmt: skip
    log.write(f"base image: {' '.join(argv[2:])}\n")
    code, output = stream_command(argv, log)
    if code != 0 or not target.is_file():
        tail = "".join(output.splitlines(keepends=True)[-15:]).rstrip()
        raise BuildFailed(f"{mirror}: mmdebstrap {suite} exited {code}:\n{tail}")
