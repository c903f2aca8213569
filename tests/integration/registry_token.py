"""A token service for docker-registry's token authentication (the Bearer challenge that
Docker Hub, GHCR, Harbor and GitLab answer the same way), on 127.0.0.1.

The registry is configured with ``auth.token`` (realm = this service, its service name, the
issuer, and the certificate whose key signs the tokens); it challenges a client with
``WWW-Authenticate: Bearer realm=…,service=…,scope=repository:NAME:pull,push``. The client
asks ``GET realm?service=…&scope=…`` with Basic credentials; this service checks them against
its one account and answers ``{"token": JWT}``: an ES256 JWT whose header carries the
certificate (x5c) and whose claims grant the actions asked (none without valid credentials
is not answered: 401). The registry verifies the signature against its root bundle and the
grant against the request: the real protocol, both sides.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

SERVICE = "dm-release-tests"
ISSUER = "dm-release-tests-token-issuer"
#: seconds a token is valid
LIFETIME = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class TokenService:
    """The issuing side: its key, its certificate (PEM, for the registry's rootcertbundle),
    its account, and every scope it was asked for (the tests read them)."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    username: str
    password: str
    asked: list[str]
    url: str = ""

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def token(self, subject: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        header = {
            "typ": "JWT", "alg": "ES256",
            "x5c": [base64.b64encode(self.certificate.public_bytes(
                serialization.Encoding.DER)).decode("ascii")],
        }  # fmt: skip
        claims = {
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + LIFETIME,
            "nbf": now - 60, "iat": now, "jti": secrets.token_hex(8), "access": access,
        }  # fmt: skip
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        der = self.key.sign(signing.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def self_signed(address: str) -> tuple[bytes, bytes]:
    """(certificate, key), PEM, of a self-signed certificate for the IP ``address``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    return certificate.public_bytes(pem), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _handler(service: TokenService) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(
        f"{service.username}:{service.password}".encode()
    ).decode("ascii")  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scopes = query.get("scope", [])
            service.asked.extend(scopes)
            if self.headers.get("Authorization") != expected:
                self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                return
            self._answer(200, {"token": service.token(service.username, scopes)})

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def token_service(username: str, password: str, folder: Path) -> Iterator[TokenService]:
    """The service on a free port of 127.0.0.1; ``folder/token.pem`` holds its certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    service = TokenService(key, _certificate(key), username, password, [])
    (folder / "token.pem").write_bytes(service.certificate_pem())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    service.url = f"http://127.0.0.1:{server.server_address[1]}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
