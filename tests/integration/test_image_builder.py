"""The image builder for real (buildah here): finding it, building a context, pushing to a
real registry and pulling the image back, reproducible layers from a timestamp, a manifest
list, failures with their exit codes, and the base image (Debian + the real EUPS)."""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eups_client import Served
from image_fixtures import (
    PACKAGES,
    RunningRegistry,
    _htpasswd,
    apply_layer,
    buildah_label,
    tiny_context,
)

from dmrelease.adapters import base_image as base
from dmrelease.adapters.image_builder import (
    Builder,
    BuilderMissing,
    BuildFailed,
    PushFailed,
    RegistryCredentials,
    builder_available,
    find_builder,
    split_destination,
)
from dmrelease.core.config import Secret
from dmrelease.core.errors import UsageError

LOOKED_FOR = (
    "no image builder: looked for buildah (`buildah --version`) or a docker engine "
    "(`docker info`); install buildah (apt-get install buildah) or start a docker engine"
)


#: every local image this module builds (tags of localhost/dm-release-tests/builder)
MADE = (
    "pushed", "same1", "same2", "later", "small", "amd64", "arm64", "on-base", "rebuilt",
    "kept", "argv",
)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _drop_local_images() -> Iterator[None]:
    """The module's images leave the builder's local storage with it (a rerun builds
    them again; those built on the base image would otherwise pile up)."""
    yield
    found = builder_available()
    if found is not None:
        made = find_builder()
        for tag in MADE:
            made.remove(f"localhost/dm-release-tests/builder:{tag}")


def files_of(tree: Path) -> list[str]:
    return sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))


def test_find_builder_names_buildah_and_its_version(builder: Builder) -> None:
    said = subprocess.run(["buildah", "--version"], capture_output=True, text=True, check=True)
    version = re.match(r"buildah version (\S+) ", said.stdout)
    assert version is not None
    assert builder.name == f"buildah {version.group(1)}"
    assert find_builder("buildah").name == builder.name
    assert builder_available() == builder.name


def test_without_a_builder_on_path_it_is_exit_2_naming_what_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuilderMissing) as missing:
        find_builder()
    assert missing.value.exit_code == 2
    assert str(missing.value) == LOOKED_FOR
    assert builder_available() is None
    with pytest.raises(BuilderMissing, match=r"^no image builder: looked for a docker engine"):
        find_builder("docker")


def test_an_unknown_builder_choice_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as unknown:
        find_builder("podman")
    assert unknown.value.exit_code == 2
    assert str(unknown.value) == "podman: not an image builder (one of auto, buildah, docker)"


@pytest.mark.parametrize(
    ("destination", "parts"),
    [
        ("127.0.0.1:5000/lsst/stack:w_2025_24", ("127.0.0.1:5000", "lsst/stack", "w_2025_24")),
        ("registry.example.org/stack", ("registry.example.org", "stack", "latest")),
        ("h:1/r@sha256:" + "a" * 64, ("h:1", "r", "sha256:" + "a" * 64)),
    ],
)
def test_split_destination(destination: str, parts: tuple[str, str, str]) -> None:
    assert split_destination(destination) == parts


def test_a_destination_without_a_repository_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^stack: not HOST\[:PORT\]/REPOSITORY:TAG$"):
        split_destination("stack")


def test_build_push_and_pull_back_the_same_files_and_labels(
    builder: Builder,
    registry: RunningRegistry,
    pull_image_tree: Callable[..., Path],
    tmp_path: Path,
) -> None:
    image = "localhost/dm-release-tests/builder:pushed"
    log = io.StringIO()
    image_id = builder.build(
        tiny_context(tmp_path / "context", "pushed\n"), image=image, platform="linux/amd64",
        build_args={"GREETING": "hello"}, labels={"org.example.kind": "test"}, timestamp=0,
        log=log,
    )  # fmt: skip
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
    assert builder.has_image(image) and builder.has_image(image_id)
    assert "COPY hello.txt /hello.txt" in log.getvalue()  # the builder's output, streamed
    labels = {"greeting": "hello", "org.example.kind": "test", **buildah_label(builder)}
    assert builder.labels(image) == labels
    destination = f"{registry.host}/tests/builder:pushed"
    digest = builder.push(image, destination, credentials=registry.credentials,
                          tls_verify=False, log=io.StringIO())  # fmt: skip
    assert registry.client().digest("tests/builder", "pushed") == digest
    assert registry.client().labels("tests/builder", "pushed") == labels
    tree = pull_image_tree(destination)
    assert files_of(tree) == ["hello.txt"]
    assert (tree / "hello.txt").read_bytes() == b"pushed\n"


def test_the_fixtures_put_no_password_on_a_command_line(
    builder: Builder,
    registry: RunningRegistry,
    pull_image_tree: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every argument is visible to anyone on the machine (ps): the fixtures' skopeo pull
    and htpasswd take the password from a private file or standard input."""
    image = "localhost/dm-release-tests/builder:argv"
    builder.build(tiny_context(tmp_path / "context", "argv\n"), image=image,
                  platform="linux/amd64", build_args={}, labels={}, timestamp=0)  # fmt: skip
    destination = f"{registry.host}/tests/builder:argv"
    builder.push(image, destination, credentials=registry.credentials, tls_verify=False,
                 log=io.StringIO())  # fmt: skip
    seen: list[list[str]] = []
    real = subprocess.run

    def spy(argv: list[str], *args: object, **kwargs: object) -> object:
        seen.append([str(a) for a in argv])
        return real(argv, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", spy)
    tree = pull_image_tree(destination)
    password = "argv-Secret-1234567"
    _htpasswd(tmp_path, "someone", password)
    monkeypatch.undo()
    assert (tree / "hello.txt").read_bytes() == b"argv\n"  # pulled with the account
    assert [a[:2] for a in seen if a[0] in ("skopeo", "htpasswd")] == [
        ["skopeo", "copy"], ["htpasswd", "-iBn"],
    ]  # fmt: skip
    for argv in seen:
        assert not any(registry.password in a or password in a for a in argv), argv
    assert not list(tree.parent.glob("auth.json"))  # the private file is gone after the pull
    verified = subprocess.run(
        ["htpasswd", "-vi", str(tmp_path / "htpasswd"), "someone"], input=password,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_the_same_context_and_timestamp_make_the_same_image(
    builder: Builder, registry: RunningRegistry, tmp_path: Path
) -> None:
    context = tiny_context(tmp_path / "context", "same\n")
    ids, digests = [], []
    for n in (1, 2):
        image = f"localhost/dm-release-tests/builder:same{n}"
        ids.append(builder.build(context, image=image, platform="linux/amd64", build_args={},
                                 labels={}, timestamp=1700000000, log=io.StringIO()))  # fmt: skip
        digests.append(builder.push(image, f"{registry.host}/tests/builder:same{n}",
                                    credentials=registry.credentials, tls_verify=False,
                                    log=io.StringIO()))  # fmt: skip
    later = builder.build(context, image="localhost/dm-release-tests/builder:later",
                          platform="linux/amd64", build_args={}, labels={},
                          timestamp=1700000001, log=io.StringIO())  # fmt: skip
    assert ids[0] == ids[1] != later
    assert digests[0] == digests[1]


def test_a_rebuild_under_the_same_name_drops_the_image_it_replaced(
    builder: Builder, tmp_path: Path
) -> None:
    image = "localhost/dm-release-tests/builder:rebuilt"
    kept = "localhost/dm-release-tests/builder:kept"
    build = {"platform": "linux/amd64", "build_args": {}, "labels": {}, "timestamp": None}
    first = builder.build(tiny_context(tmp_path / "1", "first\n"), image=image, **build)
    second = builder.build(tiny_context(tmp_path / "2", "second\n"), image=image, **build)
    assert first != second
    assert not builder.has_image(first)  # not left behind untagged
    assert builder.has_image(second) and builder.has_image(image)
    # an image that keeps another name is kept with it
    subprocess.run(["buildah", "tag", image, kept], check=True, capture_output=True)
    third = builder.build(tiny_context(tmp_path / "3", "third\n"), image=image, **build)
    assert builder.has_image(second) and builder.has_image(kept)
    assert builder.has_image(third)
    # the same context and timestamp again make the same id: it stays, under its name
    build["timestamp"] = 1700000000
    fourth = builder.build(tiny_context(tmp_path / "4", "fourth\n"), image=image, **build)
    again = builder.build(tiny_context(tmp_path / "4", "fourth\n"), image=image, **build)
    assert again == fourth
    assert builder.has_image(fourth) and builder.has_image(image)
    assert not builder.has_image(third)


def test_a_failing_build_is_build_failed_with_the_builders_last_lines(
    builder: Builder, tmp_path: Path
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY missing.txt /missing.txt\n")
    with pytest.raises(BuildFailed) as failed:
        builder.build(context, image="localhost/dm-release-tests/builder:failed",
                      platform="linux/amd64", build_args={}, labels={}, timestamp=None,
                      log=io.StringIO())  # fmt: skip
    assert failed.value.exit_code == 1
    head, _, tail = str(failed.value).partition("\n")
    assert re.fullmatch(
        rf"{re.escape(str(context))}: buildah build of localhost/dm-release-tests/builder:failed "
        r"exited [1-9]\d*; its last lines:", head,
    )  # fmt: skip
    assert "missing.txt" in tail
    assert not builder.has_image("localhost/dm-release-tests/builder:failed")


def test_a_bad_platform_is_a_usage_error(builder: Builder, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^amd64: not a platform OS/ARCH\[/VARIANT\]"):
        builder.build(tiny_context(tmp_path, "x\n"), image="localhost/x:y", platform="amd64",
                      build_args={}, labels={}, timestamp=None, log=io.StringIO())  # fmt: skip


@pytest.fixture(scope="module")
def small_image(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> str:
    image = "localhost/dm-release-tests/builder:small"
    builder.build(tiny_context(tmp_path_factory.mktemp("small"), "small\n"), image=image,
                  platform="linux/amd64", build_args={}, labels={}, timestamp=0,
                  log=io.StringIO())  # fmt: skip
    return image


def test_a_push_with_a_wrong_password_is_exit_2_without_the_password(
    builder: Builder, registry: RunningRegistry, small_image: str
) -> None:
    wrong = "wrong-" + registry.password
    destination = f"{registry.host}/tests/builder:refused"
    log = io.StringIO()
    with pytest.raises(PushFailed) as refused:
        builder.push(small_image, destination, credentials=RegistryCredentials(
            registry.username, Secret(wrong)), tls_verify=False, log=log)  # fmt: skip
    assert refused.value.exit_code == 2
    assert str(refused.value).startswith(
        f"{destination}: push refused or registry unreachable (exit 125):\n"
    )
    assert "unauthorized" in str(refused.value)
    assert wrong not in str(refused.value) + log.getvalue()
    assert registry.client().digest("tests/builder", "refused") is None


def test_a_push_without_credentials_is_exit_2(
    builder: Builder, registry: RunningRegistry, small_image: str
) -> None:
    destination = f"{registry.host}/tests/builder:anonymous"
    with pytest.raises(PushFailed, match=r"^.*: push refused or registry unreachable") as refused:
        builder.push(small_image, destination, credentials=None, tls_verify=False,
                     log=io.StringIO())  # fmt: skip
    assert refused.value.exit_code == 2
    assert "authentication required" in str(refused.value)


def test_a_manifest_list_of_two_platforms(
    builder: Builder, registry: RunningRegistry, pull_image_tree: Callable[..., Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    members = []
    for platform in ("linux/amd64", "linux/arm64"):
        arch = platform.split("/")[1]
        image = f"localhost/dm-release-tests/builder:{arch}"
        builder.build(tiny_context(tmp_path / arch, f"{arch}\n"), image=image,
                      platform=platform, build_args={}, labels={}, timestamp=0,
                      log=io.StringIO())  # fmt: skip
        digest = builder.push(image, f"{registry.host}/tests/list:{arch}",
                              credentials=registry.credentials, tls_verify=False,
                              log=io.StringIO())  # fmt: skip
        members.append((platform, f"{registry.host}/tests/list@{digest}"))
    destination = f"{registry.host}/tests/list:both"
    digest = builder.manifest_list(destination, members, credentials=registry.credentials,
                                   tls_verify=False, log=io.StringIO())  # fmt: skip
    assert registry.client().digest("tests/list", "both") == digest
    assert registry.client().tags("tests/list") == ["amd64", "arm64", "both"]
    for platform in ("linux/amd64", "linux/arm64"):
        tree = pull_image_tree(destination, platform=platform)
        assert (tree / "hello.txt").read_text() == platform.split("/")[1] + "\n"
    # the same list again: the same digest, no new local list left behind
    again = builder.manifest_list(destination, members, credentials=registry.credentials,
                                  tls_verify=False, log=io.StringIO())  # fmt: skip
    assert again == digest


# -- the base image ---------------------------------------------------------------------------


def test_the_base_image_has_the_real_eups_in_the_stack_and_builds_reach_127_0_0_1(
    builder: Builder,
    base_image: str,
    registry: RunningRegistry,
    pull_image_tree: Callable[..., Path],
    serve_tree: Callable[..., Served],
    tmp_path: Path,
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "payload.txt").write_text("from the host\n")
    server = serve_tree(served)
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        "RUN bash -c 'source /opt/lsst/software/stack/loadLSST.bash"
        ' && eups --version > /eups-version && echo "$EUPS_PATH" > /eups-path\'\n'
        f"RUN curl -fsS {server.url}/payload.txt -o /payload.txt\n"
    )
    image = "localhost/dm-release-tests/builder:on-base"
    builder.build(context, image=image, platform="linux/amd64", build_args={}, labels={},
                  timestamp=None, log=io.StringIO())  # fmt: skip
    destination = f"{registry.host}/tests/base:eups"
    builder.push(image, destination, credentials=registry.credentials, tls_verify=False,
                 log=io.StringIO())  # fmt: skip
    tree = pull_image_tree(destination)
    home = tree / "opt/lsst/software/stack"
    assert (tree / "eups-version").read_text() == "EUPS Version: 2.2.15\n"
    assert (tree / "eups-path").read_text() == "/opt/lsst/software/stack/stack\n"
    assert (tree / "payload.txt").read_text() == "from the host\n"
    assert (home / "loadLSST.bash").read_text() == (
        "# dm-release base image: source this file (bash) to use the stack's EUPS, as the\n"
        "# newinstall image's loadLSST.bash does\n"
        "export LSST_HOME=/opt/lsst/software/stack\n"
        'export EUPS_PATH="${LSST_HOME}/stack"\n'
        "# shellcheck disable=SC1091\n"
        'source "${LSST_HOME}/eups/2.2.15/bin/setups.sh"\n'
    )
    assert sorted(p.name for p in home.iterdir()) == ["eups", "loadLSST.bash", "stack"]
    assert sorted(p.name for p in (home / "stack").iterdir()) == ["site", "ups_db"]
    assert (home / "eups/2.2.15/bin/setups.sh").is_file()
    assert not (tree / "tmp/dm-release-base").exists()  # the build's scratch is gone
    for tool in ("python3", "bash", "make", "perl", "curl", "tar", "gzip", "bzip2", "patch"):
        assert (tree / "usr/bin" / tool).exists(), tool


def test_the_base_image_is_reused_by_its_key(builder: Builder, base_image: str) -> None:
    log = io.StringIO()
    tarball = Path(__file__).resolve().parents[3] / "shared/vendor/eups-2.2.15.tar.gz"
    again = base.make_base_image(builder, eups_source=tarball, log=log)
    key = base.base_image_key(tarball)
    assert again == base_image == base.base_image_name(key)
    assert log.getvalue() == f"base image {base_image}: in local storage (key {key[:16]})\n"
    assert builder.labels(base_image)[base.KEY_LABEL] == key


def test_the_base_image_key_follows_the_eups_tarball_and_the_suite(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / "eups-2.2.15.tar.gz", tmp_path / "b" / "eups-2.2.15.tar.gz"
    for path, text in ((one, b"one"), (two, b"two")):
        path.parent.mkdir()
        path.write_bytes(text)
    keys = {
        base.base_image_key(one),
        base.base_image_key(two),
        base.base_image_key(one, suite="trixie"),
        base.base_image_key(one, mirror="http://127.0.0.1:1/debian"),
    }
    assert len(keys) == 4
    assert base.base_image_key(one) == base.base_image_key(one)


def test_without_mmdebstrap_a_base_image_to_make_is_exit_2_naming_it(
    builder: Builder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"  # buildah, but no mmdebstrap
    tools.mkdir()
    found = shutil.which("buildah")
    assert found is not None
    (tools / "buildah").symlink_to(found)
    monkeypatch.setenv("PATH", str(tools))
    tarball = tmp_path / "eups-9.9.9.tar.gz"  # a key no image in local storage has
    tarball.write_bytes(b"not built")
    with pytest.raises(BuilderMissing) as missing:
        base.make_base_image(builder, eups_source=tarball, log=io.StringIO())
    assert missing.value.exit_code == 2
    assert str(missing.value) == (
        "mmdebstrap: not found; the base image is made with it (apt-get install mmdebstrap)"
    )


def test_a_missing_eups_tarball_is_exit_2(builder: Builder, tmp_path: Path) -> None:
    with pytest.raises(BuilderMissing) as missing:
        base.make_base_image(builder, eups_source=tmp_path / "eups.tar.gz", log=io.StringIO())
    assert missing.value.exit_code == 2
    assert str(missing.value) == f"{tmp_path / 'eups.tar.gz'}: no such EUPS source tarball"


# -- applying pulled layers (the fixture's own safety) ------------------------------------------


def _layer(*members: tuple[str, str, str]) -> tarfile.TarFile:
    """A layer of (kind, name, content-or-link-target) members."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for kind, name, text in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, text
                archive.addfile(info)
            else:
                info.size, info.mode = len(text), 0o644
                archive.addfile(info, io.BytesIO(text.encode()))
    data.seek(0)
    return tarfile.open(fileobj=data, mode="r")


def test_layers_apply_whiteouts_and_never_write_outside_the_tree(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    first = _layer(
        ("dir", "etc", ""), ("file", "etc/a", "a"), ("file", "etc/b", "b"),
        ("dir", "opq", ""), ("file", "opq/old", "old"),
        ("link", "abs", str(outside)), ("link", "rel", "../../outside"),
    )  # fmt: skip
    second = _layer(
        ("file", "etc/.wh.a", ""), ("file", "opq/.wh..wh..opq", ""), ("file", "opq/new", "new"),
        ("file", "abs/escaped", "x"), ("file", "rel/escaped", "y"),
    )  # fmt: skip
    assert apply_layer(first, tree) == 5
    assert apply_layer(second, tree) == 3
    assert list(outside.iterdir()) == []
    top = outside.parts[1]  # where the absolute link's target starts (tmp)
    assert sorted(p.name for p in tree.iterdir()) == sorted(
        ["abs", "etc", "opq", "outside", "rel", top]
    )
    assert files_of(tree / "etc") == ["b"] and (tree / "etc/b").read_text() == "b"
    assert files_of(tree / "opq") == ["new"] and (tree / "opq/new").read_text() == "new"
    # a link's target is taken inside the tree, as in the container: ../.. stops at its root
    assert (tree / "outside/escaped").read_text() == "y"
    assert (tree / str(outside).lstrip("/") / "escaped").read_text() == "x"


STOPPED_BUILD = """
import signal
import sys
from pathlib import Path
from dmrelease.adapters.image_builder import find_builder
# started from a shell's background job, SIGINT is ignored and Python then installs no
# handler: Ctrl-C must still be KeyboardInterrupt here, whatever started the test; under
# nohup SIGHUP is ignored, and the builder rightly leaves a signal's set handling alone,
# so the hang-up and SIGTERM are given back their default (a tool started in a terminal)
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
try:
    find_builder().build(Path(sys.argv[1]), image=sys.argv[2], platform="linux/amd64",
                         build_args={}, labels={}, timestamp=None, log=sys.stdout)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
except SystemExit as stop:  # SIGTERM, SIGHUP
    print(f"exit {stop.code}", flush=True)
    raise
"""


def _running(pattern: str) -> str:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout


@pytest.mark.parametrize(
    ("stop", "code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "exit 143"),
     (signal.SIGHUP, 129, "exit 129")],
    ids=["ctrl-c", "sigterm", "sighup"],
)  # fmt: skip
def test_ctrl_c_stops_the_build_and_the_builder_with_it(
    builder: Builder, base_image: str, tmp_path: Path, stop: int, code: int, said: str
) -> None:
    """Ctrl-C, and a SIGTERM or hang-up (a killed job, a closed terminal: the tools run in
    a session of their own, which neither reaches), stop buildah and its RUN step."""
    context = tmp_path / "context"
    context.mkdir()
    marker = f"dm-release-stopped-{tmp_path.name}"
    # a RUN step's own child (as eups distrib install's are), found by its unique duration:
    # sh stays its parent (a command follows), and buildah's chroot gives it another group
    nap = f"600.{abs(hash(marker)) % 10**9}"
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nRUN echo {marker} started && sh -c 'sleep {nap}; true' "
        f"{marker}-sleep\n"
    )
    image = "localhost/dm-release-tests/builder:stopped"
    process = subprocess.Popen(
        [sys.executable, "-c", STOPPED_BUILD, str(context), image],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    seen = []
    try:
        for line in process.stdout:  # until the RUN step is under way
            seen.append(line)
            if line.startswith(f"{marker} started"):
                break
        assert _running(f"sleep {nap}") != ""  # the step's child is there to be stopped
        process.send_signal(stop)
        rest, _ = process.communicate(timeout=120)
    finally:  # never leave the build running on (it holds the builder's storage)
        process.kill()
        process.wait()
    assert process.returncode == code, "".join(seen) + rest
    assert rest.splitlines()[-1] == said
    assert _running(f"echo {marker}") == ""  # the RUN step's shell is gone with buildah
    assert _running(f"{marker}-sleep") == ""  # and so is its child's shell
    assert _running(f"sleep {nap}") == ""  # and the child itself
    assert not builder.has_image(image)


def test_ci_installs_every_tool_the_image_tests_need_and_requires_them() -> None:
    """The image tests skip without their tools, but never in CI: .ci/run installs each
    missing one from Debian's packages and sets DM_RELEASE_REQUIRE_BUILDER=1."""
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    for tool, package in PACKAGES.items():
        assert f"command -v {tool} >/dev/null 2>&1 || missing+=({package})\n" in script, tool
    assert "\nexport DM_RELEASE_REQUIRE_BUILDER=1\n" in script
    assert script.index("export DM_RELEASE_REQUIRE_BUILDER=1") < script.index("nox -s tests")
    assert sorted(PACKAGES) == ["buildah", "docker-registry", "htpasswd", "mmdebstrap", "skopeo"]
