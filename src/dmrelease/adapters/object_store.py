"""Server trees in object storage: ``s3://BUCKET/PREFIX`` and ``gs://BUCKET/PREFIX``.

One library for both, obstore (the Python binding of the Rust ``object_store`` crate: one
wheel, no dependency tree), installed with the ``s3`` or ``gcs`` extra
(``pip install 'dm-release[s3]'``); without it such a destination is a usage error (exit 2)
naming the extra.

A file is created with a conditional put (S3 ``If-None-Match: *``, GCS
``x-goog-if-generation-match: 0``), so an object another writer made meanwhile is never
overwritten: the put fails and :func:`~dmrelease.adapters.server_tree.publish_tree` compares
what is there. Each object carries the SHA-256 of its bytes in its user metadata
(``sha256``), so a rerun digests what is there from a HEAD request; an object without it
(written by another tool) is downloaded and hashed. Replaced files (tag lists, env files,
indexes) are a plain put, atomic on both services; they, and the indexes, are sent with
``Cache-Control: no-cache`` so that a CDN or a public bucket's default caching does not keep
serving an old tag list. The writes are ordered by publish_tree alone (tag lists last):
every call here returns once the service has the whole object. A conditional put is one
request (never multipart), so a file is read whole before it is sent: a file over S3's
single-PUT limit (5 GiB) is refused (exit 2) naming it, and files over 64 MiB are sent one
at a time so that the parallel writers hold at most one of them.

Credentials come from the environment only, and must be there: without them the libraries
would ask the cloud's instance metadata service, which a CI machine does not have.
S3: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN`` with
temporary ones), ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (default us-east-1), an endpoint
other than AWS's from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``. GCS:
``GOOGLE_APPLICATION_CREDENTIALS`` (a service-account key file), ``GOOGLE_SERVICE_ACCOUNT_KEY``
(its JSON text) or ``GOOGLE_OAUTH_ACCESS_TOKEN`` (a bearer token); ``STORAGE_EMULATOR_HOST``
names an emulator, which needs none. Messages name the variables, never their values.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from dmrelease.core.distrib import DIRECTORY, check_server_path
from dmrelease.core.errors import UsageError
from dmrelease.core.redact import redact, storage_userinfo_problem

__all__ = [
    "ENVIRONMENT",
    "SECRET_VARIABLES",
    "SHA256_KEY",
    "ObjectDestination",
    "ObjectStoreError",
    "open_destination",
    "parse_url",
]

#: the user-metadata key holding an object's SHA-256 (x-amz-meta-sha256, x-goog-meta-sha256)
SHA256_KEY = "sha256"
#: the pip extra that installs the library, by scheme
EXTRAS = {"s3": "s3", "gs": "gcs"}
S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
S3_ENDPOINTS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
S3_REGIONS = ("AWS_REGION", "AWS_DEFAULT_REGION")
GCS_CREDENTIALS = (
    "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_OAUTH_ACCESS_TOKEN",
)  # fmt: skip
GCS_EMULATOR = "STORAGE_EMULATOR_HOST"
#: variables whose values are secrets: redacted from every message (core/redact.py lists
#: them too, for the edge's redaction of all output)
SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)  # fmt: skip
#: (variables, what they are) for the --help of a verb that writes a server tree (the
#: secret ones are also on core/redact's credential list, which every --help shows)
ENVIRONMENT: tuple[tuple[tuple[str, ...], str], ...] = (
    (S3_KEYS, "s3:// destinations: the credentials, required (AWS_SESSION_TOKEN too for "
     "temporary ones)"),
    (S3_REGIONS, "s3:// destinations: the bucket's region (default us-east-1)"),
    (S3_ENDPOINTS, "s3:// destinations: an endpoint other than AWS's"),
    (GCS_CREDENTIALS, "gs:// destinations: the credentials, one required: a key file, a key, "
     "a bearer token"),
    ((GCS_EMULATOR,), "gs:// destinations: a storage emulator's host (no credentials then)"),
)  # fmt: skip
#: what a request may take: a refused connection is retried for at most RETRY_TIMEOUT
CLIENT_OPTIONS = {"connect_timeout": "10s", "timeout": "600s"}
RETRY = {"max_retries": 3, "retry_timeout": 20}
#: replaced files: a cache must ask again (GCS caches public objects for an hour)
NO_CACHE = "no-cache"
_CONTENT_TYPES = {".json": "application/json", ".gz": "application/gzip",
                  ".eupspkg": "application/gzip"}  # fmt: skip
#: the largest object one S3 PUT takes (5 GiB); a create-only upload is one PUT (the library
#: makes a conditional put only without multipart), so a larger file cannot be published
SINGLE_PUT_LIMIT = {"s3": 5 * 1024**3}
#: a file larger than this is uploaded alone: each upload is held in memory whole (one PUT),
#: so at most one such file is in memory at a time, whatever the number of writers
LARGE = 64 * 1024**2
_HEX = re.compile(r"[0-9a-f]{64}")


class ObjectStoreError(UsageError):
    """An object-storage destination that cannot be reached, read or written (exit 2)."""


@dataclass(frozen=True)
class StoreURL:
    scheme: str  # "s3" or "gs"
    bucket: str
    prefix: str  # "" or "a/b", no slash at either end

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")


def parse_url(where: str) -> StoreURL:
    """``s3://BUCKET[/PREFIX]`` or ``gs://BUCKET[/PREFIX]``; UsageError otherwise."""
    scheme, sep, rest = where.partition("://")
    if not sep or scheme not in EXTRAS:
        raise ObjectStoreError(f"{where}: not an s3:// or gs:// URL")
    if problem := storage_userinfo_problem(where):  # KEY:SECRET@bucket: never repeated
        raise ObjectStoreError(problem)
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]", bucket):
        raise ObjectStoreError(
            f"{redact(where)}: {bucket!r} is not a bucket name; give {scheme}://BUCKET/PATH"
        )
    if any(p in ("", ".", "..") for p in parts) or "?" in prefix or "#" in prefix:
        raise ObjectStoreError(f"{redact(where)}: {prefix!r} is not a path in the bucket")
    return StoreURL(scheme, bucket, prefix)


def _library(url: StoreURL) -> ModuleType:
    try:
        import obstore
    except ImportError:
        extra = EXTRAS[url.scheme]
        raise ObjectStoreError(
            f"{url}: {url.scheme}:// destinations need the object storage library: "
            f"pip install 'dm-release[{extra}]'"
        ) from None
    return obstore


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((environ[n] for n in names if environ.get(n)), None)


def _s3_store(url: StoreURL, environ: Mapping[str, str]) -> tuple[Any, str]:
    from obstore.store import S3Store

    missing = [n for n in S3_KEYS if not environ.get(n)]
    if missing:
        raise ObjectStoreError(
            f"{url}: no S3 credentials: set {' and '.join(missing)} in the environment "
            "(credentials are taken from the environment only)"
        )
    config: dict[str, Any] = {
        "access_key_id": environ["AWS_ACCESS_KEY_ID"],
        "secret_access_key": environ["AWS_SECRET_ACCESS_KEY"],
        "region": _first(environ, S3_REGIONS) or "us-east-1",
    }
    if environ.get("AWS_SESSION_TOKEN"):
        config["session_token"] = environ["AWS_SESSION_TOKEN"]
    endpoint = _first(environ, S3_ENDPOINTS)
    if endpoint:
        config["endpoint"] = endpoint
    client = {**CLIENT_OPTIONS, "allow_http": bool(endpoint and endpoint.startswith("http:"))}
    store = S3Store(
        url.bucket, prefix=url.prefix or None, config=config, client_options=client,
        retry_config=_retry(),
    )  # fmt: skip
    return store, endpoint or ""


def _gcs_store(url: StoreURL, environ: Mapping[str, str]) -> tuple[Any, str]:
    from obstore.store import GCSStore

    config: dict[str, Any] = {}
    emulator = environ.get(GCS_EMULATOR, "")
    if emulator:
        base = emulator if "://" in emulator else f"http://{emulator}"
        # an emulator takes any token; without one the library would ask for a real one
        config.update(base_url=base.rstrip("/"), bearer_token="emulator")
    elif environ.get("GOOGLE_OAUTH_ACCESS_TOKEN"):
        config["bearer_token"] = environ["GOOGLE_OAUTH_ACCESS_TOKEN"]
    elif environ.get("GOOGLE_SERVICE_ACCOUNT_KEY"):
        config["service_account_key"] = environ["GOOGLE_SERVICE_ACCOUNT_KEY"]
    elif environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        config["application_credentials"] = environ["GOOGLE_APPLICATION_CREDENTIALS"]
    else:
        raise ObjectStoreError(
            f"{url}: no Google Cloud credentials: set one of {', '.join(GCS_CREDENTIALS)} "
            f"in the environment (or {GCS_EMULATOR} for an emulator)"
        )
    base = config.get("base_url", "")
    client = {**CLIENT_OPTIONS, "allow_http": base.startswith("http:")}
    try:
        store = GCSStore(
            url.bucket, prefix=url.prefix or None, config=config, client_options=client,
            retry_config=_retry(),
        )  # fmt: skip
    except Exception as exc:  # a key file that is not there or not a key
        raise ObjectStoreError(f"{url}: the Google Cloud credentials: {_reason(exc)}") from None
    return store, base


def _retry() -> Any:
    from datetime import timedelta

    return {"max_retries": RETRY["max_retries"],
            "retry_timeout": timedelta(seconds=RETRY["retry_timeout"])}  # fmt: skip


def open_destination(where: str, environ: Mapping[str, str]) -> ObjectDestination:
    """The destination ``where`` names (``s3://…`` or ``gs://…``), its credentials and
    endpoint from ``environ``."""
    url = parse_url(where)
    library = _library(url)
    make = _s3_store if url.scheme == "s3" else _gcs_store
    store, endpoint = make(url, environ)
    hidden = tuple(environ[n] for n in SECRET_VARIABLES if environ.get(n))
    return ObjectDestination(url, store, library, endpoint, hidden)


def _status(exc: BaseException) -> str | None:
    """The HTTP status the service answered (``404 Not Found``), None when none."""
    found = re.search(r"status code: (\d{3}[^:<\n]*)", str(exc))
    return found[1].strip() if found else None


def _reason(exc: BaseException, hidden: tuple[str, ...] = ()) -> str:
    """A library error in a few words, the same each time (no timings, no debug dump),
    redacted: the status and the service's error code, or that it could not be reached."""
    text = str(exc)
    status = _status(exc)
    if status:
        code = re.search(r"<Code>(\w+)</Code>", text)
        return f"the service answered {status}" + (f" ({code[1]})" if code else "")
    refused = re.search(r"\(code: (\w+)\)", text)  # a batch request's per-key error
    if refused:
        return f"the service refused it ({refused[1]})"
    if re.search(r"error sending request|connection|dns error|timed out", text, re.I):
        return "cannot connect to the service (is the endpoint reachable?)"
    first = text.strip().split("\n", 1)[0].split("Debug source:", 1)[0]
    first = re.sub(r" in [\d.]+\w?s\b(, after \d+ retries[^-]*)?", "", first).strip()
    return redact(first[:300], hidden) or type(exc).__name__


def _content_type(path: str) -> str:
    return next((t for s, t in _CONTENT_TYPES.items() if path.endswith(s)), "text/plain")


def _cached(path: str) -> bool:
    """Whether ``path`` is written once (a cache may keep it): not indexes, tag lists, env."""
    name = path.rpartition("/")[2]
    return not (name == "index.json" or name.endswith((".list", ".env")))


class ObjectDestination:
    """A server tree under a bucket's prefix; ``writers`` uploads at once (publish_tree
    overlaps a phase's files, never two phases)."""

    writers = 8

    def __init__(
        self, url: StoreURL, store: Any, library: ModuleType, endpoint: str = "",
        hidden: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.url = url
        self._store = store
        self._obs = library
        self._endpoint = endpoint
        self._hidden = hidden  # secret values, never in a message
        self._large = threading.Lock()  # held while a file over LARGE is in memory
        self._probe_warned = False

    def __repr__(self) -> str:
        return f"ObjectDestination({str(self.url)!r})"

    @property
    def where(self) -> str:
        return str(self.url)

    def _error(self, action: str, path: str, exc: BaseException) -> ObjectStoreError:
        target = f"{self.url}/{path}" if path else str(self.url)
        at = f" at {redact(self._endpoint)}" if self._endpoint else ""
        reason = _reason(exc, self._hidden)
        return ObjectStoreError(f"{target}: cannot {action}{at}: {reason}{_hint(exc, reason)}")

    def digest(self, path: str) -> str | None:
        check_server_path(path)
        try:
            result = self._obs.get(self._store, path, options={"head": True})
        except FileNotFoundError:
            return DIRECTORY if self._is_directory(path) else None
        except Exception as exc:
            raise self._error("read", path, exc) from None
        recorded = str(result.attributes.get(SHA256_KEY, ""))
        if _HEX.fullmatch(recorded):
            return recorded
        return self._hash(path)

    def read(self, path: str) -> bytes | None:
        """The bytes of the object at ``path`` (a tag list, a package checked), None if none."""
        check_server_path(path)
        try:
            return bytes(self._obs.get(self._store, path).bytes())
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error("read", path, exc) from None

    def _hash(self, path: str) -> str:
        """SHA-256 of an object without the recorded digest, streamed."""
        digest = hashlib.sha256()
        try:
            for chunk in self._obs.get(self._store, path).stream(min_chunk_size=1 << 20):
                digest.update(chunk)
        except FileNotFoundError:  # deleted since its HEAD
            return DIRECTORY if self._is_directory(path) else None
        except Exception as exc:
            raise self._error("read", path, exc) from None
        return digest.hexdigest()

    def _is_directory(self, path: str) -> bool:
        """Whether ``path`` is a common prefix (a name that a listing shows as a folder)."""
        listing = self._listing(path)
        return bool(listing["objects"] or listing["common_prefixes"])

    def _listing(self, directory: str) -> Any:
        try:
            return self._obs.list_with_delimiter(self._store, directory or None)
        except Exception as exc:
            if isinstance(exc, FileNotFoundError) or (_status(exc) or "").startswith("404"):
                raise self._no_bucket() from None  # what a listing's 404 means
            raise self._error("list", directory, exc) from None

    def _no_bucket(self) -> ObjectStoreError:
        at = f" at {redact(self._endpoint)}" if self._endpoint else ""
        return ObjectStoreError(
            f"{self.url}: no bucket {self.url.bucket!r}{at}; create it or give another"
        )

    def names(self, directory: str) -> list[str]:
        if directory:
            check_server_path(directory)
        listing = self._listing(directory)
        found = {o["path"].rpartition("/")[2] for o in listing["objects"]}
        found |= {p.rstrip("/").rpartition("/")[2] for p in listing["common_prefixes"]}
        return sorted(n for n in found if n and not n.startswith("."))

    def _put(self, path: str, source: bytes | Path, mode: str, digest: str | None) -> None:
        check_server_path(path)
        if isinstance(source, bytes):
            self._send(path, source, mode, digest)
            return
        size = Path(source).stat().st_size
        limit = SINGLE_PUT_LIMIT.get(self.url.scheme)
        if limit is not None and size > limit:
            raise ObjectStoreError(
                f"{self.url}/{path}: {source} is {size} bytes, more than the {limit} bytes "
                f"(5 GiB) of one S3 PUT; an upload that never overwrites is one PUT, so a "
                "file this large cannot be published to S3"
            )
        if size <= LARGE:
            self._send(path, Path(source).read_bytes(), mode, digest)
            return
        with self._large:  # one large file in memory at a time
            self._send(path, Path(source).read_bytes(), mode, digest)

    def _send(self, path: str, data: bytes, mode: str, digest: str | None) -> None:
        attributes = {
            SHA256_KEY: digest or hashlib.sha256(data).hexdigest(),
            "Content-Type": _content_type(path),
        }
        if not _cached(path):
            attributes["Cache-Control"] = NO_CACHE
        try:
            self._obs.put(
                self._store, path, data, attributes=attributes, mode=mode, use_multipart=False
            )
        except FileExistsError:
            raise
        except self._obs.exceptions.AlreadyExistsError:
            raise FileExistsError(f"{self.url}/{path}") from None
        except self._obs.exceptions.PreconditionError:
            raise FileExistsError(f"{self.url}/{path}") from None
        except Exception as exc:
            raise self._error("write", path, exc) from None

    def create(self, path: str, source: bytes | Path, digest: str | None = None) -> None:
        """Upload ``path`` unless an object is there (conditional put): FileExistsError.
        ``digest``: the SHA-256 of ``source`` when the caller has it (its metadata)."""
        self._put(path, source, "create", digest)

    def replace(self, path: str, source: bytes | Path, digest: str | None = None) -> None:
        self._put(path, source, "overwrite", digest)

    def check_writable(self) -> None:
        """Write and delete a probe object: the credentials may write under the prefix. A
        bucket may allow writes and deny deletes (objects are never rewritten): a probe
        that cannot be deleted is a warning on stderr (once), not an error."""
        probe = f".dm-release-probe.{secrets.token_hex(4)}.tmp"
        try:
            self._obs.put(self._store, probe, b"", mode="create", use_multipart=False)
        except FileNotFoundError:
            raise self._no_bucket() from None
        except Exception as exc:
            raise self._error("write", "", exc) from None
        try:
            self._obs.delete(self._store, probe)
        except Exception as exc:
            if not self._probe_warned:
                self._probe_warned = True
                reason = _reason(exc, self._hidden)
                print(
                    f"dm-release: warning: {self.url}/{probe}: cannot delete this empty probe "
                    f"object: {reason}; writing works, delete it when you may",
                    file=sys.stderr,
                )


def _hint(exc: BaseException, reason: str) -> str:
    """What to do, for the errors a user can fix."""
    status = _status(exc) or ""
    if type(exc).__name__ in ("PermissionDeniedError", "UnauthenticatedError") or status[:3] in (
        "401", "403",
    ):  # fmt: skip
        return "; check the credentials in the environment and what they may do"
    return ""
