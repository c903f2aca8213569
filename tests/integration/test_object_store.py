"""Server trees in object storage (s3://), against moto's S3 server on 127.0.0.1: what is
uploaded and in which order, that a rerun uploads nothing, that an object with other bytes
is refused before anything is written and never overwritten, and the exit-2 errors
(credentials missing, endpoint unreachable, no bucket, no library) without a secret in
the output. The last test publishes a real build's binary tree to the bucket with
dm-release tarball and installs it from there with the real EUPS client."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eups_client import Listed, distrib_install, eups_list, setup_ok
from object_store_emulator import ACCESS_KEY, SECRET_KEY, S3Emulator, s3_emulator
from publish_helpers import Built, built_product, publish_json, tree
from vendor import Vendor

from dmrelease.adapters import object_store
from dmrelease.adapters.object_store import ObjectStoreError, open_destination, parse_url
from dmrelease.adapters.server_tree import ServerConflict, publish_tree

TREE = {
    "config.txt": b"# config\n",
    "a-1.0@Linux64.tar.gz": b"\x1f\x8b tarball a",
    "manifests/a-1.0@Linux64.manifest": b"EUPS distribution manifest for a (1.0). Version 1.0\n",
    "tables/a-1.0.table": b"setupRequired(b)\n",
    "w_2025_24.list": b"EUPS distribution w_2025_24 version list. Version 1.0\n",
}
#: the order publish_tree uploads TREE in: packages and metadata, indexes, tag lists, the
#: root index naming the tag list last
ORDER = [
    "a-1.0@Linux64.tar.gz", "manifests/a-1.0@Linux64.manifest", "tables/a-1.0.table",
    "config.txt", "manifests/index.json", "tables/index.json", "w_2025_24.list", "index.json",
]  # fmt: skip


def _is_list(path: str) -> bool:
    return path.endswith(".list")


@pytest.fixture(scope="module")
def emulator() -> Iterator[S3Emulator]:
    with s3_emulator() as running:
        yield running


@pytest.fixture
def s3(emulator: S3Emulator, monkeypatch: pytest.MonkeyPatch) -> S3Emulator:
    """The emulator's endpoint and credentials in the environment (and nothing else of AWS)."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_")) or name == "STORAGE_EMULATOR_HOST":
            monkeypatch.delenv(name)
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)
    return emulator


def _publish(where: str, files: dict[str, bytes], log: Path) -> tuple[str, ...]:
    with log.open("a") as out:
        outcome = publish_tree(
            open_destination(where, dict(os.environ)), files, replaceable=_is_list, log=out
        )
    return outcome.written


def test_publish_uploads_in_write_order_and_a_rerun_uploads_nothing(
    s3: S3Emulator, tmp_path: Path
) -> None:
    bucket = s3.new_bucket()
    where = f"s3://{bucket}/binary/rubin-env-9"
    assert _publish(where, TREE, tmp_path / "log") == tuple(ORDER)
    objects = s3.objects(bucket, "binary/rubin-env-9/")
    assert objects == {
        **TREE,
        "index.json": b'["a-1.0@Linux64.tar.gz", "config.txt", "manifests", "tables", '
        b'"w_2025_24.list"]\n',
        "manifests/index.json": b'["a-1.0@Linux64.manifest"]\n',
        "tables/index.json": b'["a-1.0.table"]\n',
    }
    head = s3.client().head_object(Bucket=bucket, Key="binary/rubin-env-9/w_2025_24.list")
    assert head["Metadata"] == {"sha256": hashlib.sha256(TREE["w_2025_24.list"]).hexdigest()}
    assert head["CacheControl"] == "no-cache" and head["ContentType"] == "text/plain"
    tarball = s3.client().head_object(Bucket=bucket, Key="binary/rubin-env-9/a-1.0@Linux64.tar.gz")
    assert "CacheControl" not in tarball and tarball["ContentType"] == "application/gzip"
    # a rerun: every object is there with its bytes (read from its metadata): none uploaded
    assert _publish(where, TREE, tmp_path / "log") == ()
    assert s3.uploads(bucket) == {f"binary/rubin-env-9/{p}": 1 for p in sorted(ORDER)}
    assert (tmp_path / "log").read_text() == (
        f"{where}: 8 to add, 0 to skip, 0 to replace, 0 refused\n{where}: wrote 8 files\n"
        f"{where}: 0 to add, 8 to skip, 0 to replace, 0 refused\n{where}: wrote 0 files\n"
    )


def test_a_new_tag_uploads_its_list_and_the_index_only(s3: S3Emulator, tmp_path: Path) -> None:
    bucket = s3.new_bucket()
    where = f"s3://{bucket}"
    _publish(where, TREE, tmp_path / "log")
    second = {**TREE, "w_2025_25.list": b"EUPS distribution w_2025_25 version list.\n"}
    second["w_2025_24.list"] = b"EUPS distribution w_2025_24 version list. (moved)\n"
    assert _publish(where, second, tmp_path / "log") == (
        "w_2025_24.list", "w_2025_25.list", "index.json",
    )  # fmt: skip
    uploads = s3.uploads(bucket)
    assert {k: n for k, n in uploads.items() if n != 1} == {"index.json": 2, "w_2025_24.list": 2}
    assert s3.objects(bucket)["w_2025_24.list"] == second["w_2025_24.list"]


def test_an_object_with_other_bytes_is_refused_before_anything_is_uploaded(
    s3: S3Emulator, tmp_path: Path
) -> None:
    bucket = s3.new_bucket()
    other = b"EUPS distribution manifest for a (1.0). Version 1.0\n# other bytes\n"
    key = "src/manifests/a-1.0@Linux64.manifest"
    s3.client().put_object(Bucket=bucket, Key=key, Body=other)  # no sha256 metadata: hashed
    with pytest.raises(ServerConflict) as refused:
        _publish(f"s3://{bucket}/src", TREE, tmp_path / "log")
    assert str(refused.value).splitlines()[0] == (
        f"s3://{bucket}/src/manifests/a-1.0@Linux64.manifest: already there with other bytes"
    )
    assert refused.value.exit_code == 1 and refused.value.written == 0
    assert s3.uploads(bucket) == {key: 1}
    assert s3.objects(bucket) == {key: other}


def test_create_never_overwrites_an_object_written_meanwhile(
    s3: S3Emulator, tmp_path: Path
) -> None:
    """The conditional put: an object another writer made after the plan stays as it is."""
    bucket = s3.new_bucket()
    dest = open_destination(f"s3://{bucket}/x", dict(os.environ))
    dest.create("config.txt", b"ours\n")
    with pytest.raises(FileExistsError):
        dest.create("config.txt", b"theirs\n")
    assert s3.objects(bucket) == {"x/config.txt": b"ours\n"}
    assert dest.digest("config.txt") == hashlib.sha256(b"ours\n").hexdigest()
    assert dest.digest("absent.txt") is None
    dest.replace("config.txt", b"replaced\n")
    assert s3.objects(bucket) == {"x/config.txt": b"replaced\n"}
    assert dest.names("") == ["config.txt"] and dest.names("nothing") == []
    dest.check_writable()  # a probe object, deleted
    assert s3.objects(bucket) == {"x/config.txt": b"replaced\n"}
    assert s3.uploads(bucket) == {"x/config.txt": 2}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dm_release(*args: str | Path, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "dmrelease", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def _environment(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM_RELEASE_")}
    env["DM_RELEASE_PROGRESS"] = "off"
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"AWS_ACCESS_KEY_ID": None},
         "s3://{bucket}/bin: no S3 credentials: set AWS_ACCESS_KEY_ID in the environment "
         "(credentials are taken from the environment only)"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:{port}"},
         "s3://{bucket}/bin: cannot write at http://127.0.0.1:{port}: cannot connect to the "
         "service (is the endpoint reachable?)"),
        ({"BUCKET": "dm-release-absent"},
         "s3://dm-release-absent/bin: no bucket 'dm-release-absent' at {endpoint}; create it "
         "or give another"),
    ],
    ids=["missing-credentials", "unreachable-endpoint", "no-bucket"],
)  # fmt: skip
def test_tarball_to_s3_errors_exit_2_without_a_secret(
    s3: S3Emulator, built: Built, tmp_path: Path,
    changes: dict[str, str | None], message: str,
) -> None:  # fmt: skip
    config = built.config
    bucket = changes.pop("BUCKET", None) or s3.new_bucket()
    port = str(_closed_port())
    env = _environment(**{k: v.format(port=port) if v else v for k, v in changes.items()})
    code, out, err = _dm_release(
        "tarball", "--config", config, "--tag", "w_2025_24", "--server-dir",
        f"s3://{bucket}/bin", cwd=tmp_path, env=env,
    )  # fmt: skip
    expected = message.format(bucket=bucket, port=port, endpoint=s3.endpoint)
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == f"dm-release: error: {expected}", err
    assert SECRET_KEY not in err and ACCESS_KEY not in err
    if bucket != "dm-release-absent":
        assert s3.uploads(bucket) == {}


def test_tarball_to_a_bucket_denying_puts_exits_2_and_writes_nothing(
    s3: S3Emulator, built: Built, tmp_path: Path
) -> None:
    """A bucket policy denying s3:PutObject (moto enforces it: a 403, as S3 answers): the
    probe fails, tarball stops with exit 2 before anything is packed or uploaded."""
    bucket = s3.new_bucket()
    s3.deny(bucket, "s3:PutObject")
    code, out, err = _dm_release(
        "tarball", "--config", built.config, "--tag", "w_2025_24", "--server-dir",
        f"s3://{bucket}/bin", cwd=tmp_path, env=_environment(),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        f"dm-release: error: s3://{bucket}/bin: cannot write at {s3.endpoint}: the service "
        "answered 403 Forbidden; check the credentials in the environment and what they may do"
    ), err
    assert s3.uploads(bucket) == {} and s3.probes(bucket) == []


def test_a_bucket_denying_deletes_is_published_with_one_warning(
    s3: S3Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A "never rewrite" bucket (puts allowed, deletes denied): the probe object stays,
    one warning says so, and the tree is published; a rerun uploads nothing."""
    bucket = s3.new_bucket()
    s3.deny(bucket, "s3:DeleteObject")
    where = f"s3://{bucket}/src"
    with (tmp_path / "log").open("a") as log:
        dest = open_destination(where, dict(os.environ))
        outcome = publish_tree(dest, TREE, replaceable=_is_list, log=log)
        dest.check_writable()  # a second probe: no second warning
    assert outcome.written == tuple(ORDER)
    probes = [key.removeprefix("src/") for key in s3.probes(bucket)]
    assert len(probes) == 2 and set(s3.objects(bucket, "src/")) == {*ORDER, *probes}
    warnings = [
        [f"dm-release: warning: {where}/{probe}: cannot delete this empty probe object: the "
         "service refused it (AccessDenied); writing works, delete it when you may"]
        for probe in probes
    ]  # fmt: skip
    assert capsys.readouterr().err.splitlines() in warnings
    with (tmp_path / "log").open("a") as log:
        assert publish_tree(dest, TREE, replaceable=_is_list, log=log).written == ()


def test_a_file_over_the_single_put_limit_is_refused_naming_it(
    s3: S3Emulator, tmp_path: Path
) -> None:
    """A conditional put is one PUT: a (sparse) file of 5 GiB and one byte is refused with
    exit 2 before it is read, and nothing is uploaded."""
    big = tmp_path / "huge-1.0@Linux64.tar.gz"
    with big.open("wb") as out:
        out.truncate(5 * 1024**3 + 1)
    bucket = s3.new_bucket()
    where = f"s3://{bucket}/bin"
    with pytest.raises(ObjectStoreError) as refused, (tmp_path / "log").open("a") as log:
        publish_tree(
            open_destination(where, dict(os.environ)), {big.name: big, "config.txt": b"c\n"},
            replaceable=_is_list, log=log,
        )  # fmt: skip
    assert (str(refused.value), refused.value.exit_code) == (
        f"{where}/{big.name}: {big} is 5368709121 bytes, more than the 5368709120 bytes "
        "(5 GiB) of one S3 PUT; an upload that never overwrites is one PUT, so a file this "
        "large cannot be published to S3",
        2,
    )
    assert s3.uploads(bucket) == {}


def test_large_files_are_uploaded_one_at_a_time(
    s3: S3Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each upload is held in memory whole: files over LARGE go one at a time (the small
    ones through all the writers). Each large put waits for a second one to start; were
    two allowed at once, both would be seen inside."""
    import obstore

    monkeypatch.setattr(object_store, "LARGE", 100)
    inside, peak, guard = [0], [0], threading.Lock()
    meet = threading.Barrier(2, timeout=1)

    def put(store: Any, path: str, data: bytes, **options: Any) -> Any:
        large = len(data) > 100
        if large:
            with guard:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            with contextlib.suppress(threading.BrokenBarrierError):  # when they go alone
                meet.wait()
        try:
            return obstore.put(store, path, data, **options)
        finally:
            if large:
                with guard:
                    inside[0] -= 1

    library = types.SimpleNamespace(
        put=put, get=obstore.get, delete=obstore.delete,
        list_with_delimiter=obstore.list_with_delimiter, exceptions=obstore.exceptions,
    )  # fmt: skip
    files: dict[str, bytes | Path] = {}
    for n in range(3):
        path = tmp_path / f"p{n}-1.0@Linux64.tar.gz"
        path.write_bytes(bytes([n]) * 200)
        files[path.name] = path
        files[f"tables/p{n}-1.0.table"] = b"small\n"
    bucket = s3.new_bucket()
    real = open_destination(f"s3://{bucket}", dict(os.environ))
    dest = object_store.ObjectDestination(real.url, real._store, library)  # type: ignore[arg-type]
    with (tmp_path / "log").open("a") as log:
        outcome = publish_tree(dest, files, replaceable=_is_list, log=log)
    assert len(outcome.written) == 8 and peak == [1]
    assert s3.objects(bucket)["p2-1.0@Linux64.tar.gz"] == bytes([2]) * 200


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A product rebuilt into its stack once for this module: build b1 in versiondb."""
    return built_product(tmp_path_factory.mktemp("built"), extra='env = "rubin-env-9.0.0"\n')


def test_tarball_to_s3_installs_with_the_real_eups_from_the_bucket(
    s3: S3Emulator, built: Built, tmp_path: Path, eups_vendor: Vendor
) -> None:
    """dm-release tarball uploads the binary tree to s3://; the real EUPS client installs
    from the bucket's plain HTTP GETs (no listings: the index.json files), by tag."""
    config, versions = built.config, built.versions
    bucket = s3.new_bucket()
    where = f"s3://{bucket}/binary"
    args = ("tarball", "--config", config, "--tag", "w_2025_24", "--server-dir", where)
    code, out, err = _dm_release(*args, "--json", cwd=tmp_path, env=_environment())
    assert code == 0, err
    document = json.loads(out)
    written = document["files"]["written"]
    assert written[-3:] == ["w_2025_24.list", "w_latest.list", "index.json"]
    assert document["counts"]["written"] == len(written) == len(s3.uploads(bucket))
    code, out, err = _dm_release(*args, "--json", cwd=tmp_path, env=_environment())
    assert code == 0, err
    assert json.loads(out)["counts"]["written"] == 0
    assert set(s3.uploads(bucket).values()) == {1}
    s3.make_public(bucket)
    stack = tmp_path / "fresh-stack"
    distrib_install(eups_vendor, stack, f"{s3.endpoint}/{bucket}/binary", "meta", tag="w_2025_24")
    assert eups_list(eups_vendor, stack) == [
        Listed(name, version, ("current", "w_2025_24", "w_latest"))
        for name, version in sorted(versions.items())
    ]
    assert setup_ok(eups_vendor, stack, "meta")


def test_parse_url() -> None:
    assert str(parse_url("s3://bucket")) == "s3://bucket"
    assert str(parse_url("gs://my.bucket/a/b/")) == "gs://my.bucket/a/b"
    for bad, why in [
        ("s3://B/x", "'B' is not a bucket name; give s3://BUCKET/PATH"),
        ("gs:///x", "'' is not a bucket name; give gs://BUCKET/PATH"),
        ("s3://bucket/a//b", "'a//b' is not a path in the bucket"),
        ("s3://bucket/../b", "'../b' is not a path in the bucket"),
    ]:
        with pytest.raises(ObjectStoreError) as refused:
            parse_url(bad)
        assert (str(refused.value), refused.value.exit_code) == (f"{bad}: {why}", 2)


def test_gcs_needs_credentials_from_the_environment() -> None:
    """Without credentials nothing is asked of a metadata server: exit 2 naming them."""
    with pytest.raises(ObjectStoreError) as refused:
        open_destination("gs://bucket/src", {"GOOGLE_CLOUD_PROJECT": "p"})
    assert str(refused.value) == (
        "gs://bucket/src: no Google Cloud credentials: set one of "
        "GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_SERVICE_ACCOUNT_KEY, GOOGLE_OAUTH_ACCESS_TOKEN "
        "in the environment (or STORAGE_EMULATOR_HOST for an emulator)"
    )
    missing = "/nonexistent/key.json"
    with pytest.raises(ObjectStoreError) as bad_key:
        open_destination("gs://bucket/src", {"GOOGLE_APPLICATION_CREDENTIALS": missing})
    assert str(bad_key.value).startswith("gs://bucket/src: the Google Cloud credentials: ")
    emulated = open_destination("gs://bucket/src", {"STORAGE_EMULATOR_HOST": "127.0.0.1:1"})
    assert emulated.where == "gs://bucket/src"


def test_without_the_library_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "obstore", None)  # import obstore raises ImportError
    for where, extra in [("s3://bucket/x", "s3"), ("gs://bucket/x", "gcs")]:
        with pytest.raises(ObjectStoreError) as refused:
            object_store.open_destination(where, {})
        scheme = where.split(":")[0]
        assert str(refused.value) == (
            f"{where}: {scheme}:// destinations need the object storage library: "
            f"pip install 'dm-release[{extra}]'"
        )


def test_object_storage_secrets_are_redacted_everywhere() -> None:
    """The edge redacts every output with core/redact's list: the secrets are on it."""
    from dmrelease.core.redact import CREDENTIAL_VARIABLES

    assert set(object_store.SECRET_VARIABLES) <= set(CREDENTIAL_VARIABLES)


@pytest.mark.parametrize("verb", ["publish", "tarball"])
def test_the_verbs_that_write_a_tree_list_the_object_storage_variables(verb: str) -> None:
    code, out, _ = _dm_release(verb, "--help", env=_environment(COLUMNS="100"), cwd=Path.cwd())
    section = out.split("\nenvironment variables:\n")[1]
    listed = {word.rstrip(",") for word in section.split()}
    wanted = {name for names, _ in object_store.ENVIRONMENT for name in names}
    assert code == 0 and len(wanted) == 10 and wanted <= listed
    assert "  STORAGE_EMULATOR_HOST         gs:// destinations: a storage emulator's host" in out


def test_publish_to_s3_then_a_rerun_uploads_nothing(s3: S3Emulator, built: Built) -> None:
    """dm-release publish (in-process) writes the source server tree to s3://, the same
    files as to a directory, and a second run uploads nothing."""
    bucket = s3.new_bucket()
    where = f"s3://{bucket}/source/rubin-env-9"
    first = publish_json(built, "--tag", "w_2025_24", "--server-dir", where)
    local = publish_json(built, "--tag", "w_2025_24", "--server-dir", str(built.server))
    uploaded = s3.objects(bucket, "source/rubin-env-9/")
    assert uploaded == {path: (built.server / path).read_bytes() for path in tree(built.server)}
    assert first["files"]["written"] == local["files"]["written"]
    assert first["files"]["written"][-4:] == [
        "tags/w_2025_24.list", "tags/w_latest.list", "tags/index.json", "index.json",
    ]  # fmt: skip
    again = publish_json(built, "--tag", "w_2025_24", "--server-dir", where)
    assert again["counts"]["written"] == 0 and again["files"]["written"] == []
    assert set(s3.uploads(bucket).values()) == {1}
