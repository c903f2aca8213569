"""Container image builders: buildah (daemonless, first choice) or a docker engine.

A :class:`Builder` builds a Dockerfile's context into a local image, pushes a local image to
a registry (returning the manifest digest the registry now holds), joins per-platform images
pushed by digest into one manifest list, and says whether a local image exists.

buildah runs without a daemon and without an OCI runtime (``--isolation chroot``), so a CI
agent that is root needs nothing but the package; it keeps its images in its own local
storage (the system's containers-storage configuration, or STORAGE_DRIVER when set). Builds
use the host's network, so a binary server on 127.0.0.1 is reachable from RUN steps.

Credentials never reach a command line: each push or list writes them to a private
authentication file (mode 0600, in a temporary folder) and names it with ``--authfile``
(buildah) or ``--config`` (docker), and every message is redacted of the password.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dmrelease.core.config import Secret
from dmrelease.core.errors import DmReleaseError, UsageError
from dmrelease.core.redact import redact

__all__ = [
    "BUILDER_CHOICES",
    "BuildFailed",
    "Buildah",
    "Builder",
    "BuilderMissing",
    "Docker",
    "PushFailed",
    "RegistryCredentials",
    "builder_available",
    "find_builder",
    "split_destination",
    "stop_process",
    "stream_command",
]

#: what ``find_builder`` accepts: auto tries buildah, then a docker engine that answers
BUILDER_CHOICES = ("auto", "buildah", "docker")
#: seconds a quick question to a builder (version, inspect) may take
QUICK = 120
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class RegistryCredentials:
    """A registry account; the password is a :class:`~dmrelease.core.config.Secret`."""

    username: str
    password: Secret


class BuilderMissing(UsageError):
    """No usable image builder: names what was looked for (exit 2)."""


class BuildFailed(DmReleaseError):
    """The builder ran and failed: names the context and shows the end of its output."""


class PushFailed(UsageError):
    """The registry refused or could not be reached (exit 2): names the destination."""


def split_destination(destination: str) -> tuple[str, str, str]:
    """``HOST[:PORT]/REPO:TAG`` or ``HOST[:PORT]/REPO@sha256:...`` -> (host, repo, ref).

    >>> split_destination("127.0.0.1:5000/lsst/stack:w_2025_24")
    ('127.0.0.1:5000', 'lsst/stack', 'w_2025_24')
    """
    host, slash, rest = destination.partition("/")
    if not slash or not rest:
        raise UsageError(f"{destination}: not HOST[:PORT]/REPOSITORY:TAG")
    if "@" in rest:
        repo, _, ref = rest.partition("@")
    else:
        repo, colon, ref = rest.rpartition(":")
        if not colon:
            repo, ref = rest, "latest"
    if not repo or not ref:
        raise UsageError(f"{destination}: not HOST[:PORT]/REPOSITORY:TAG")
    return host, repo, ref


class Builder(ABC):
    """One image builder; ``name`` is the tool and its version ("buildah 1.28.2")."""

    name: str

    @abstractmethod
    def build(
        self,
        context: Path,
        *,
        image: str,
        platform: str,
        build_args: Mapping[str, str],
        labels: Mapping[str, str],
        timestamp: int | None,
        log: TextIO = sys.stderr,
    ) -> str:
        """Build ``context``/Dockerfile as the local ``image``; returns the image id.

        ``timestamp`` (epoch seconds): the image's created time and every file's time in
        the new layers, so that the same context makes the same layers."""

    @abstractmethod
    def push(
        self,
        image: str,
        destination: str,
        *,
        credentials: RegistryCredentials | None,
        tls_verify: bool,
        log: TextIO = sys.stderr,
    ) -> str:
        """Push the local ``image`` to ``HOST[:PORT]/REPO:TAG``; returns its digest."""

    @abstractmethod
    def manifest_list(
        self,
        destination: str,
        members: Sequence[tuple[str, str]],
        *,
        credentials: RegistryCredentials | None,
        tls_verify: bool,
        log: TextIO = sys.stderr,
    ) -> str:
        """Push a manifest list of ``members`` ((platform, "HOST/REPO@sha256:..."), each
        already in the registry, in the destination's repository: a registry refuses a list
        naming manifests it does not hold there) as ``destination``; returns its digest."""

    @abstractmethod
    def has_image(self, image: str) -> bool:
        """Whether the local storage holds ``image`` (a name:tag or an id)."""

    @abstractmethod
    def remove(self, image: str) -> None:
        """Drop the local ``image`` (a name:tag); no error when it is absent."""

    @abstractmethod
    def labels(self, image: str) -> dict[str, str]:
        """The labels of the local ``image`` ({} when it has none); UsageError when absent."""

    @abstractmethod
    def image_id(self, image: str) -> str:
        """The id of the local ``image`` (the digest of its config: of what it holds);
        UsageError when absent."""


def _platform_parts(platform: str) -> tuple[str, str, str]:
    """linux/arm64/v8 -> (linux, arm64, v8); linux/amd64 -> (linux, amd64, '')."""
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"{platform}: not a platform OS/ARCH[/VARIANT] (linux/amd64)")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def _auth_entry(credentials: RegistryCredentials) -> dict[str, str]:
    pair = f"{credentials.username}:{credentials.password.value}".encode()
    return {"auth": base64.b64encode(pair).decode("ascii")}


@contextmanager
def _auth_folder(host: str, credentials: RegistryCredentials | None) -> Iterator[Path | None]:
    """A private folder with config.json / auth.json for ``host``, or None without
    credentials; removed afterwards."""
    if credentials is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="dm-release-auth-") as folder:
        path = Path(folder) / "config.json"
        text = json.dumps({"auths": {host: _auth_entry(credentials)}})
        path.touch(mode=0o600)
        path.write_text(text)
        yield Path(folder)


def _redact(text: str, credentials: RegistryCredentials | None) -> str:
    secrets = () if credentials is None else (credentials.password.value,)
    return redact(text, tuple(filter(None, secrets)))


def _tail(text: str, lines: int = 20) -> str:
    return "".join(text.splitlines(keepends=True)[-lines:]).rstrip()


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _stopped_by_hangup_or_term() -> Iterator[None]:
    """SIGTERM and SIGHUP end this process through its exceptions (exit 128 + the signal)
    while a tool runs, so that the tool's session is stopped too: in a session of its own,
    no hang-up or group signal reaches it. A handler already set is left as it is."""
    kept: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) == signal.SIG_DFL:
                kept[signum] = signal.signal(signum, _stop)
    try:
        yield
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def stream_command(argv: list[str], log: TextIO, cwd: Path | None = None) -> tuple[int, str]:
    """Run argv, copying its output (stdout and stderr) to log line by line as it comes;
    returns (exit code, the whole output)."""
    with _stopped_by_hangup_or_term():
        return _stream(argv, log, cwd)


def _stream(argv: list[str], log: TextIO, cwd: Path | None) -> tuple[int, str]:
    try:
        # a session of its own: a RUN step's processes keep its id even where buildah's
        # chroot gives them another process group, so they can all be found and stopped
        process = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        )  # fmt: skip
    except OSError as error:
        raise BuilderMissing(f"{argv[0]}: cannot run it: {error.strerror}") from None
    seen: list[str] = []
    assert process.stdout is not None
    try:
        with process.stdout:
            for line in process.stdout:
                seen.append(line)
                log.write(line)
                log.flush()
    except BaseException:  # Ctrl-C, a log that cannot be written: the tool stops too
        stop_process(process, 30)
        _kill_session(process.pid)
        raise
    return process.wait(), "".join(seen)


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM ``process`` and wait for it; SIGKILL it when it has not ended within
    ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _session_members(session: int) -> list[int]:
    """The live processes whose session id is ``session`` (Linux /proc; [] elsewhere):
    zombies, already dead and waiting for their reaper, are not counted."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if len(fields) > 3 and fields[3] == str(session) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


#: rounds of _kill_session, SESSION_PAUSE seconds apart, and how many in a row must find
#: the session empty before it is taken as ended
SESSION_ROUNDS, SESSION_PAUSE, SESSION_QUIET = 100, 0.1, 3


def _kill_session(session: int) -> None:
    """SIGKILL what the stopped tool left running in its session (a RUN step whose parent
    buildah was stopped runs on, reparented, otherwise), round after round until the
    session stays empty: a process that forks between one listing and its kill (a RUN
    step's shell starting its command, buildah's chroot runtime starting the step) leaves
    a child the next round finds."""
    quiet = 0
    for _ in range(SESSION_ROUNDS):
        members = _session_members(session)
        for pid in members:
            with suppress(OSError):  # gone meanwhile
                os.kill(pid, signal.SIGKILL)
        quiet = 0 if members else quiet + 1
        if quiet >= SESSION_QUIET:
            return
        time.sleep(SESSION_PAUSE)


def _quick(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """A short question to a tool: its answer, or BuilderMissing when it cannot be run or
    does not answer within QUICK seconds."""
    try:
        return subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
            timeout=QUICK, check=False,
        )  # fmt: skip
    except OSError as error:
        raise BuilderMissing(f"{argv[0]}: cannot run it: {error.strerror}") from None
    except subprocess.TimeoutExpired:
        raise BuilderMissing(
            f"{' '.join(argv[:3])}: no answer within {QUICK} s (is its storage locked?)"
        ) from None


def _built(tool: str, context: Path, image: str, code: int, output: str, iidfile: Path) -> str:
    """The id of the image a build wrote in ``iidfile``, or BuildFailed with the tool's
    last lines when it failed or wrote none."""
    if code != 0 or not iidfile.is_file():
        raise BuildFailed(
            f"{context}: {tool} build of {image} exited {code}; its last lines:\n{_tail(output)}"
        )
    return iidfile.read_text().strip()


def _pairs(option: str, values: Mapping[str, str]) -> list[str]:
    """``option KEY=VALUE`` for each item, in order (--build-arg, --label)."""
    return [word for key, value in values.items() for word in (option, f"{key}={value}")]


def _inspected(argv: list[str], image: str) -> Any:
    """The JSON a tool's inspect of a local image prints, or UsageError when there is none."""
    done = _quick(argv)
    if done.returncode != 0:
        raise UsageError(f"{image}: no such local image ({_tail(done.stderr, 3)})")
    return json.loads(done.stdout)


class Buildah(Builder):
    """buildah: no daemon, no OCI runtime (chroot isolation), local containers-storage."""

    def __init__(self, executable: str = "buildah", version: str = "") -> None:
        self.executable = executable
        self.name = f"buildah {version}".strip()

    def _argv(self, *args: str) -> list[str]:
        return [self.executable, *args]

    def build(
        self,
        context: Path,
        *,
        image: str,
        platform: str,
        build_args: Mapping[str, str],
        labels: Mapping[str, str],
        timestamp: int | None,
        log: TextIO = sys.stderr,
    ) -> str:
        _platform_parts(platform)
        context = Path(context).absolute()
        with tempfile.TemporaryDirectory(prefix="dm-release-build-") as scratch:
            iidfile = Path(scratch) / "iid"
            argv = self._argv(
                "bud", "--isolation", "chroot", "--network", "host", "--platform", platform,
                "--iidfile", str(iidfile), "--tag", image, "--file",
                str(context / "Dockerfile"),
            )  # fmt: skip
            if timestamp is not None:
                argv += ["--timestamp", str(timestamp)]
            argv += [*_pairs("--build-arg", build_args), *_pairs("--label", labels)]
            before = self._local_id(image)
            code, output = stream_command([*argv, str(context)], log)
            built = _built("buildah", context, image, code, output, iidfile)
            self._drop_replaced(before, built)
            return built

    def _local_id(self, image: str) -> str | None:
        done = _quick(self._argv("inspect", "--type", "image", "--format", "{{.FromImageID}}",
                                 image))  # fmt: skip
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    def _drop_replaced(self, before: str | None, built: str) -> None:
        """Drop the image a build took the name from, once it has no name left: a rebuild
        of the same name otherwise leaves it behind, untagged (about 190 MB each)."""
        if before is None or before.removeprefix("sha256:") == built.removeprefix("sha256:"):
            return
        done = _quick(self._argv("inspect", "--type", "image", "--format", "{{.FromImage}}",
                                 before))  # fmt: skip
        if done.returncode == 0 and not done.stdout.strip():
            _quick(self._argv("rmi", before))  # refused while a container uses it: kept

    def push(
        self,
        image: str,
        destination: str,
        *,
        credentials: RegistryCredentials | None,
        tls_verify: bool,
        log: TextIO = sys.stderr,
    ) -> str:
        host, _, _ = split_destination(destination)
        with _auth_folder(host, credentials) as auth, tempfile.TemporaryDirectory() as scratch:
            digestfile = Path(scratch) / "digest"
            argv = self._argv(
                "push", f"--tls-verify={str(tls_verify).lower()}", "--digestfile",
                str(digestfile),
            )  # fmt: skip
            if auth is not None:
                argv += ["--authfile", str(auth / "config.json")]
            code, output = stream_command([*argv, image, f"docker://{destination}"], log)
            return _pushed(destination, code, output, digestfile, credentials)

    def manifest_list(
        self,
        destination: str,
        members: Sequence[tuple[str, str]],
        *,
        credentials: RegistryCredentials | None,
        tls_verify: bool,
        log: TextIO = sys.stderr,
    ) -> str:
        host, _, _ = split_destination(destination)
        if not members:
            raise UsageError(f"{destination}: a manifest list needs at least one member")
        key = hashlib.sha256(json.dumps([destination, list(members)]).encode()).hexdigest()
        local = f"localhost/dm-release-list:{key[:16]}"
        self._remove_list(local)
        verify = f"--tls-verify={str(tls_verify).lower()}"
        with _auth_folder(host, credentials) as auth, tempfile.TemporaryDirectory() as scratch:
            authfile = [] if auth is None else ["--authfile", str(auth / "config.json")]
            try:
                code, output = stream_command(self._argv("manifest", "create", local), log)
                if code != 0:
                    raise PushFailed(f"{destination}: buildah manifest create failed:\n"
                                     f"{_tail(output)}")  # fmt: skip
                for platform, member in members:
                    os_, arch, variant = _platform_parts(platform)
                    argv = self._argv("manifest", "add", verify, *authfile, "--os", os_,
                                      "--arch", arch)  # fmt: skip
                    if variant:
                        argv += ["--variant", variant]
                    code, output = stream_command([*argv, local, f"docker://{member}"], log)
                    if code != 0:
                        raise PushFailed(_redact(
                            f"{member}: buildah manifest add exited {code}:\n{_tail(output)}",
                            credentials,
                        ))  # fmt: skip
                digestfile = Path(scratch) / "digest"
                argv = self._argv("manifest", "push", verify, *authfile, "--digestfile",
                                  str(digestfile), local, f"docker://{destination}")  # fmt: skip
                code, output = stream_command(argv, log)
                return _pushed(destination, code, output, digestfile, credentials)
            finally:
                self._remove_list(local)

    def _remove_list(self, name: str) -> None:
        """Drop a local manifest list (left by a run that died), if there is one."""
        if _quick(self._argv("manifest", "inspect", name)).returncode == 0:
            _quick(self._argv("manifest", "rm", name))

    def has_image(self, image: str) -> bool:
        return _quick(self._argv("inspect", "--type", "image", image)).returncode == 0

    def remove(self, image: str) -> None:
        if self.has_image(image):
            _quick(self._argv("rmi", image))

    def labels(self, image: str) -> dict[str, str]:
        found = _inspected(self._argv("inspect", "--type", "image", image), image)
        return dict(found["OCIv1"]["config"].get("Labels") or {})

    def image_id(self, image: str) -> str:
        argv = self._argv("inspect", "--type", "image", image)
        found = str(_inspected(argv, image)["FromImageID"])
        return found if found.startswith("sha256:") else f"sha256:{found}"


def _pushed(
    destination: str, code: int, output: str, digestfile: Path | None,
    credentials: RegistryCredentials | None,
) -> str:  # fmt: skip
    """The digest a push wrote (in ``digestfile``; without one, the last digest its output
    names: docker push ends with ``TAG: digest: sha256:… size: N``, docker manifest push
    with the digest alone), or PushFailed naming the destination and the tool's words."""
    if code != 0:
        raise PushFailed(_redact(
            f"{destination}: push refused or registry unreachable (exit {code}):\n"
            f"{_tail(output, 8)}", credentials,
        ))  # fmt: skip
    text = digestfile.read_text() if digestfile is not None and digestfile.is_file() else ""
    found = _DIGEST.findall(text if digestfile is not None else output)
    if not found:
        raise PushFailed(f"{destination}: the push said no digest")
    return str(found[-1])


class Docker(Builder):
    """A docker engine (``docker info`` answers): docker build, docker push."""

    def __init__(self, executable: str = "docker", version: str = "") -> None:
        self.executable = executable
        self.name = f"docker {version}".strip()

    def build(
        self,
        context: Path,
        *,
        image: str,
        platform: str,
        build_args: Mapping[str, str],
        labels: Mapping[str, str],
        timestamp: int | None,
        log: TextIO = sys.stderr,
    ) -> str:
        _platform_parts(platform)
        context = Path(context).absolute()
        with tempfile.TemporaryDirectory(prefix="dm-release-build-") as scratch:
            iidfile = Path(scratch) / "iid"
            argv = [self.executable, "build", "--network", "host", "--platform", platform,
                    "--iidfile", str(iidfile), "--tag", image]  # fmt: skip
            # BuildKit's reproducible timestamps (0.11+) read SOURCE_DATE_EPOCH
            arguments = dict(build_args)
            if timestamp is not None:
                arguments.setdefault("SOURCE_DATE_EPOCH", str(timestamp))
            argv += [*_pairs("--build-arg", arguments), *_pairs("--label", labels)]
            before = self._inspect(image)
            code, output = stream_command([*argv, str(context)], log)
            built = _built("docker", context, image, code, output, iidfile)
            # the image the name was taken from goes once it has no name left, as buildah's
            replaced = None if before is None else self._inspect(str(before["Id"]))
            if replaced is not None and replaced["Id"] != built and not replaced.get("RepoTags"):
                _quick([self.executable, "image", "rm", str(replaced["Id"])])
            return built

    def _inspect(self, image: str) -> dict[str, object] | None:
        done = _quick([self.executable, "image", "inspect", image])
        if done.returncode != 0:
            return None
        (found,) = json.loads(done.stdout)
        return dict(found)

    def push(
        self,
        image: str,
        destination: str,
        *,
        credentials: RegistryCredentials | None,
        tls_verify: bool,
        log: TextIO = sys.stderr,
    ) -> str:
        # an insecure registry is the engine's setting (daemon.json), not a push option
        host, _, _ = split_destination(destination)
        with _auth_folder(host, credentials) as auth:
            config = [] if auth is None else ["--config", str(auth)]
            code, output = stream_command([self.executable, "tag", image, destination], log)
            if code == 0:
                code, output = stream_command([self.executable, *config, "push", destination], log)
            return _pushed(destination, code, output, None, credentials)

    def manifest_list(
        self,
        destination: str,
        members: Sequence[tuple[str, str]],
        *,
        credentials: RegistryCredentials | None,
        tls_verify: bool,
        log: TextIO = sys.stderr,
    ) -> str:
        host, _, _ = split_destination(destination)
        insecure = [] if tls_verify else ["--insecure"]
        with _auth_folder(host, credentials) as auth:
            config = [] if auth is None else ["--config", str(auth)]
            docker = [self.executable, *config, "manifest"]
            _quick([*docker, "rm", destination])
            argv = [*docker, "create", *insecure, destination, *(m for _, m in members)]
            code, output = stream_command(argv, log)
            for platform, member in members if code == 0 else ():
                os_, arch, variant = _platform_parts(platform)
                extra = ["--variant", variant] if variant else []
                argv = [*docker, "annotate", "--os", os_, "--arch", arch, *extra, destination,
                        member]  # fmt: skip
                code, output = stream_command(argv, log)
                if code != 0:
                    break
            if code == 0:
                code, output = stream_command([*docker, "push", *insecure, destination], log)
            return _pushed(destination, code, output, None, credentials)

    def has_image(self, image: str) -> bool:
        argv = [self.executable, "image", "inspect", image]
        return _quick(argv).returncode == 0

    def remove(self, image: str) -> None:
        if self.has_image(image):
            _quick([self.executable, "image", "rm", image])

    def labels(self, image: str) -> dict[str, str]:
        (found,) = _inspected([self.executable, "image", "inspect", image], image)
        return dict(found.get("Config", {}).get("Labels") or {})

    def image_id(self, image: str) -> str:
        (found,) = _inspected([self.executable, "image", "inspect", image], image)
        return str(found["Id"])


def _version(argv: list[str], pattern: str) -> str | None:
    """The version a tool prints, or None when it is absent or does not answer."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = _quick(argv)
    except BuilderMissing:
        return None
    found = re.search(pattern, done.stdout) if done.returncode == 0 else None
    return found.group(1) if found else None


def _buildah() -> Buildah | None:
    version = _version(["buildah", "--version"], r"buildah version (\S+)")
    return None if version is None else Buildah(version=version)


def _docker() -> Docker | None:
    # the client alone is not enough: `docker info` answers only with an engine behind it
    version = _version(["docker", "info", "--format", "{{.ServerVersion}}"], r"^(\S+)")
    return None if version is None else Docker(version=version)


def find_builder(choice: str = "auto") -> Builder:
    """The builder named by ``choice`` (auto: buildah, else a docker engine that answers).

    Raises BuilderMissing (exit 2) naming what was looked for."""
    if choice not in BUILDER_CHOICES:
        raise UsageError(f"{choice}: not an image builder (one of {', '.join(BUILDER_CHOICES)})")
    found: Builder | None = None
    if choice in ("auto", "buildah"):
        found = _buildah()
    if found is None and choice in ("auto", "docker"):
        found = _docker()
    if found is not None:
        return found
    looked = {
        "auto": "buildah (`buildah --version`) or a docker engine (`docker info`)",
        "buildah": "buildah (`buildah --version`)",
        "docker": "a docker engine (`docker info`)",
    }[choice]
    raise BuilderMissing(
        f"no image builder: looked for {looked}; install buildah (apt-get install buildah) "
        "or start a docker engine"
    )


def builder_available(choice: str = "auto") -> str | None:
    """The name of the builder ``find_builder(choice)`` would use, or None."""
    try:
        return find_builder(choice).name
    except BuilderMissing:
        return None
