"""An S3 emulator speaking the real REST API on 127.0.0.1 (moto's server mode), for the
object-storage tests: a free port, a fresh bucket per test, stopped by its fixture.

Without moto (the [test] extra installs it) the tests that need it skip with a message;
with DM_RELEASE_REQUIRE_EMULATOR=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REQUIRE_ENV = "DM_RELEASE_REQUIRE_EMULATOR"
#: what the tests give as credentials: the emulator takes any, the tests look for them
ACCESS_KEY = "AKIAEMULATOR0TESTKEY"
SECRET_KEY = "emulator-secret-6c1f0e3b9a2d4f57"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Emulator:
    endpoint: str  # http://127.0.0.1:PORT

    def client(self) -> Any:
        """A boto3 client of the emulator (moto's own dependency), to look at buckets
        without dm-release's code."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip

    def new_bucket(self, *, versioned: bool = True) -> str:
        """A fresh bucket; versioned, so that every upload to a key is counted."""
        name = f"dm-release-{secrets.token_hex(4)}"
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def make_public(self, bucket: str) -> None:
        """Anyone may GET the bucket's objects (the policy of a bucket users install from)."""
        import json

        statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": f"arn:aws:s3:::{bucket}/*"}  # fmt: skip
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def deny(self, bucket: str, action: str) -> None:
        """A bucket policy denying everyone ``action`` (s3:PutObject, s3:DeleteObject) on
        the bucket's objects: moto enforces a bucket policy's Deny as S3 does (403)."""
        import json

        statement = {"Effect": "Deny", "Principal": "*", "Action": action,
                     "Resource": f"arn:aws:s3:::{bucket}/*"}  # fmt: skip
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def probes(self, bucket: str) -> list[str]:
        """The keys of the probe objects (check_writable's) still in the bucket."""
        listed = self.client().list_objects_v2(Bucket=bucket).get("Contents", [])
        return [o["Key"] for o in listed if ".dm-release-probe." in o["Key"]]

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint,
        }  # fmt: skip

    def uploads(self, bucket: str) -> dict[str, int]:
        """Key -> how many versions it has: how many times each object was uploaded (the
        probe objects of check_writable, hidden names deleted at once, left out)."""
        counts: dict[str, int] = {}
        pages = self.client().get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            for version in page.get("Versions", []):
                if version["Key"].rpartition("/")[2].startswith(".dm-release-probe."):
                    continue
                counts[version["Key"]] = counts.get(version["Key"], 0) + 1
        return dict(sorted(counts.items()))

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Key (less ``prefix``) -> bytes of every object under ``prefix``."""
        client = self.client()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"][len(prefix) :]] = body
        return dict(sorted(found.items()))


def _unavailable(why: str) -> None:
    import pytest

    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 and the S3 emulator is unavailable: {why}")
    pytest.skip(f"S3 emulator unavailable ({why}): pip install -e '.[test]' installs moto")


@contextmanager
def s3_emulator() -> Iterator[S3Emulator]:
    """moto's server on a free port of 127.0.0.1 (in a thread of this process)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as missing:
        _unavailable(str(missing))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Emulator(f"http://{host}:{port}")
    finally:
        server.stop()
