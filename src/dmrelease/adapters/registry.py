"""A container registry through the Docker Registry HTTP API v2 (docker-registry, Harbor,
GHCR, Docker Hub, Artifactory…): what a tag points at, a manifest and its image's labels,
the tags of a repository, and putting a manifest under a tag (moving a floating tag needs no
builder: the manifest is already there, only the tag is written).

Authentication follows the registry's challenge: ``WWW-Authenticate: Basic`` is answered
with the account, ``Bearer realm=…,service=…,scope=…`` by asking the realm for a token
(with the account when there is one) and sending it. A bare ``HOST[:PORT]`` is reached over
HTTPS; with ``tls_verify=False`` certificates are not checked and a registry that speaks
plain HTTP is reached over HTTP, as buildah's ``--tls-verify=false`` does. Every failure is
a :class:`RegistryError` (exit 2) naming the URL and, on refused credentials, the user,
never the password.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dmrelease.adapters.binaries import http_session
from dmrelease.adapters.image_builder import RegistryCredentials
from dmrelease.core.errors import UsageError
from dmrelease.core.redact import redact

if TYPE_CHECKING:
    import requests

__all__ = [
    "IMAGE_MEDIA_TYPES",
    "LIST_MEDIA_TYPES",
    "Registry",
    "RegistryError",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
#: one image (a platform's); a list of them (several platforms)
IMAGE_MEDIA_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
LIST_MEDIA_TYPES = (DOCKER_LIST, OCI_INDEX)
ACCEPT = ", ".join((*IMAGE_MEDIA_TYPES, *LIST_MEDIA_TYPES))
TIMEOUT = 60.0
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(UsageError):
    """The registry is unreachable, refused the account, or answered something unexpected."""


class Registry:
    """One registry: ``Registry("127.0.0.1:5000", credentials, tls_verify=False)`` or a URL
    (``https://registry.example.org``)."""

    def __init__(
        self,
        url_or_host: str,
        credentials: RegistryCredentials | None = None,
        tls_verify: bool = True,
        *,
        timeout: float = TIMEOUT,
    ) -> None:
        text = url_or_host.rstrip("/")
        self.explicit = "://" in text
        self.url = text if self.explicit else f"https://{text}"
        self.host = text.split("://", 1)[-1]
        self.credentials = credentials
        self.tls_verify = tls_verify
        self.timeout = timeout
        self.session = http_session()
        self.session.verify = tls_verify
        self._authorization: str | None = None

    # -- the API ---------------------------------------------------------------------------

    def digest(self, repo: str, tag: str) -> str | None:
        """The digest ``repo:tag`` points at, or None when there is no such tag."""
        response = self._request("HEAD", f"/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": ACCEPT}, missing_ok=True)  # fmt: skip
        if response is None:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        # a registry that omits the header on HEAD: the digest of the bytes a GET returns
        _, body = self.manifest(repo, tag)
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def manifest(self, repo: str, ref: str) -> tuple[str, bytes]:
        """(media type, bytes) of the manifest at ``ref`` (a tag or sha256:…)."""
        response = self._request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        assert response is not None
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if not media_type:
            media_type = str(self._json(response, repo, ref).get("mediaType", ""))
        return media_type, response.content

    def labels(self, repo: str, ref: str) -> dict[str, str]:
        """The Labels of the image's config; for a list, of its first member's image
        (attestations, whose platform is unknown/unknown, are not images)."""
        media_type, body = self.manifest(repo, ref)
        document = _document(body, self._where(repo, ref))
        if media_type in LIST_MEDIA_TYPES or "manifests" in document:
            # an image of a platform, not an attestation (BuildKit's unknown/unknown members)
            members = [
                m for m in document.get("manifests") or []
                if m.get("platform", {}).get("os", "") != "unknown"
            ]  # fmt: skip
            if not members:
                raise RegistryError(f"{self._where(repo, ref)}: a manifest list with no member")
            media_type, body = self.manifest(repo, members[0]["digest"])
            document = _document(body, self._where(repo, members[0]["digest"]))
        config = document.get("config", {}).get("digest")
        if not config:
            raise RegistryError(f"{self._where(repo, ref)}: {media_type or 'the manifest'} "
                                "names no image config")  # fmt: skip
        response = self._request("GET", f"/v2/{repo}/blobs/{config}")
        assert response is not None
        labels = self._json(response, repo, config).get("config", {}).get("Labels") or {}
        return {str(key): str(value) for key, value in labels.items()}

    def put_manifest(self, repo: str, tag: str, media_type: str, body: bytes) -> str:
        """Put ``body`` as ``repo:tag`` (a manifest whose blobs are in the repository);
        returns its digest."""
        response = self._request("PUT", f"/v2/{repo}/manifests/{tag}", data=body,
                                 headers={"Content-Type": media_type})  # fmt: skip
        assert response is not None
        return response.headers.get("Docker-Content-Digest") or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )

    def tags(self, repo: str, *, page: int = 1000) -> list[str]:
        """The repository's tags, sorted ([] when the repository does not exist), asked
        ``page`` at a time (the registry's Link header names the next page)."""
        found: list[str] = []
        path: str | None = f"/v2/{repo}/tags/list?n={page}"
        while path:
            response = self._request("GET", path, missing_ok=True)
            if response is None:
                break
            found.extend(self._json(response, repo, "tags").get("tags") or [])
            path = _next_page(response.headers.get("Link", ""))
        return sorted(set(found))

    # -- HTTP ------------------------------------------------------------------------------

    def _where(self, repo: str, ref: str) -> str:
        return f"{self.host}/{repo}{'@' if ref.startswith('sha256:') else ':'}{ref}"

    def _fail(self, message: str) -> RegistryError:
        secret = () if self.credentials is None else (self.credentials.password.value,)
        return RegistryError(redact(message, tuple(filter(None, secret))))

    def _request(
        self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> requests.Response | None:
        """One request, answering an auth challenge once; None for a 404 when missing_ok."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401:
            self._authorization = self._answer(response.headers.get("WWW-Authenticate", ""),
                                               self.url + path)  # fmt: skip
            response = self._send(method, path, **kwargs)
            if response.status_code == 401:
                raise self._fail(self._refused(self.url + path))
        if response.status_code == 404 and missing_ok:
            return None
        if not 200 <= response.status_code < 300:
            detail = response.text[:300].strip() if method != "HEAD" else ""
            raise self._fail(f"{self.url}{path}: {method} answered {response.status_code} "
                             f"{response.reason}{': ' + detail if detail else ''}")  # fmt: skip
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        import requests
        from urllib3.exceptions import InsecureRequestWarning

        headers: dict[str, str] = dict(kwargs.pop("headers", {}))
        if self._authorization:
            headers["Authorization"] = self._authorization
        # a bare host: HTTPS is tried once, without the session's retries, before HTTP
        send = self.session.request if self.explicit or self.tls_verify else requests.request
        try:
            with warnings.catch_warnings():
                if not self.tls_verify:  # asked for: not a warning on every request
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                response = send(method, self.url + path, headers=headers,
                                timeout=self.timeout, verify=self.tls_verify,
                                **kwargs)  # fmt: skip
            self.explicit = True
            return response
        except requests.exceptions.SSLError as error:
            if self.explicit or self.tls_verify:
                raise self._fail(f"{self.url}{path}: TLS failed ({error.__class__.__name__}); "
                                 "a registry with a self-signed certificate or plain HTTP "
                                 "needs TLS verification off") from None  # fmt: skip
        except requests.RequestException as error:
            if self.explicit or self.tls_verify:
                raise self._fail(f"{self.url}{path}: registry unreachable "
                                 f"({error.__class__.__name__})") from None  # fmt: skip
        # tls_verify off and HTTPS did not answer: the registry may speak plain HTTP
        self.url = f"http://{self.host}"
        self.explicit = True
        return self._send(method, path, headers=headers, **kwargs)

    def _refused(self, url: str) -> str:
        if self.credentials is None:
            return (f"{url}: the registry asks for credentials and none were given "
                    "(DM_RELEASE_REGISTRY_USER, DM_RELEASE_REGISTRY_PASSWORD)")  # fmt: skip
        return f"{url}: the registry refused the credentials of user {self.credentials.username}"

    def _answer(self, challenge: str, url: str) -> str:
        """The Authorization header that answers ``challenge``."""
        scheme, _, rest = challenge.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            if self.credentials is None:
                raise self._fail(self._refused(url))
            pair = f"{self.credentials.username}:{self.credentials.password.value}"
            import base64

            return "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        if scheme == "bearer":
            return "Bearer " + self._token(dict(_CHALLENGE.findall(rest)), url)
        raise self._fail(f"{url}: unsupported authentication challenge {scheme or '(none)'}")

    def _token(self, fields: Mapping[str, str], url: str) -> str:
        import requests

        realm = fields.get("realm")
        if not realm:
            raise self._fail(f"{url}: a Bearer challenge without a realm")
        params = {key: fields[key] for key in ("service", "scope") if key in fields}
        auth = None
        if self.credentials is not None:
            auth = (self.credentials.username, self.credentials.password.value)
        try:
            response = self.session.get(realm, params=params, auth=auth, timeout=self.timeout)
        except requests.RequestException as error:
            raise self._fail(f"{realm}: token service unreachable "
                             f"({error.__class__.__name__})") from None  # fmt: skip
        if response.status_code in (401, 403):
            raise self._fail(self._refused(realm))
        if response.status_code != 200:
            raise self._fail(f"{realm}: token service answered {response.status_code}")
        document = self._json(response, "token", realm)
        token = document.get("token") or document.get("access_token")
        if not token:
            raise self._fail(f"{realm}: the token service gave no token")
        return str(token)

    def _json(self, response: requests.Response, repo: str, ref: str) -> dict[str, Any]:
        return _document(response.content, f"{response.url} ({repo} {ref})")


def _document(body: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise RegistryError(f"{where}: the registry answered no JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"{where}: the registry answered no JSON object")
    return document


def _next_page(link: str) -> str | None:
    """The path of a ``Link: </v2/…?last=…>; rel="next"`` header, or None."""
    found = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', link)
    if not found:
        return None
    target = found.group(1)
    return target if target.startswith("/") else "/" + target.split("/", 3)[-1]
