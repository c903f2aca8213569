"""The one redaction of credentials, applied at every edge where text leaves dm-release.

Credentials reach dm-release in three ways (issue 8 §4): in the userinfo of a URL
(``https://user:password@host/…``, ``https://TOKEN@host/…``, in repos.yaml or a server
URL), in a query value (``?token=…``, ``&access_token=…``, signed URLs), and as values of
the environment (the binary-server token, git credentials). :func:`redact` replaces each
with ``****``; git echoes URLs in its messages, so every message is redacted before it is
printed, raised, journaled or written, not only the ones known to hold a URL.
Pure: the caller hands in the known secret values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CREDENTIAL_VARIABLES",
    "MIN_SECRET_LENGTH",
    "MIN_TOKEN_LENGTH",
    "REDACTED",
    "SECRETS",
    "redact",
    "secret_forms",
    "storage_userinfo_problem",
    "url_secrets",
]

REDACTED = "****"

#: secrets, each from one environment variable only (DESIGN.md: never from the file); the
#: settings (core/config.py) take them from here
SECRETS: dict[str, str] = {
    "binary_token": "DM_RELEASE_BINARY_TOKEN",
    "registry_password": "DM_RELEASE_REGISTRY_PASSWORD",
    "jenkins_token": "JENKINS_API_TOKEN",
    "jira_token": "DM_RELEASE_JIRA_TOKEN",
    "discourse_api_key": "DM_RELEASE_DISCOURSE_API_KEY",
}

#: environment variables whose values are credentials: dm-release's secrets, those git
#: and its credential helpers are commonly given on CI, and those of object storage
#: (s3:// and gs:// server destinations); their values are redacted wherever they would be
#: printed or written
CREDENTIAL_VARIABLES: tuple[str, ...] = (
    *SECRETS.values(), "GIT_PASSWORD", "GIT_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN",
    "CI_JOB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)  # fmt: skip

#: a secret shorter than this is not looked for as a bare value (it would blank out common
#: words and numbers); in a URL's userinfo or a query value it is still redacted
MIN_SECRET_LENGTH = 4

#: ``scheme://userinfo@``: the userinfo runs to the last ``@`` before the host's ``/``; a
#: scheme is taken to be at most 32 characters (RFC 3986 sets no limit, real ones are
#: short), so that a long run of letters and dots costs 32 steps a character, not the
#: rest of the run; text glued before a scheme (``-https://…``) does not hide it
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,31}://)"
    r"[^/\s?#@'\"`]*(?:@[^/\s?#@'\"`]*)*@"
)
#: query (or fragment) parameters whose name says they carry a credential
_QUERY = re.compile(
    r"(?P<name>[?&;#][\w.-]{0,64}?(?:token|password|passwd|pwd|secret|key|signature|sig|auth"
    r"|credential|session)[\w.-]{0,64}=)[^&\s#'\"`]+",
    re.IGNORECASE,
)
#: an HTTP header line as servers and clients echo it
_AUTHORIZATION = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization\s{0,8}[:=]\s{0,8}"
    r"(?:(?:bearer|basic|token|digest)\s{1,8})?)"
    r"[^\s'\"`,;]+",
    re.IGNORECASE,
)


def _forms(secret: str) -> set[str]:
    """The spellings under which a secret value can appear: as is and percent-encoded
    (git and URLs print the encoded form of a password with ``@``, ``:`` or ``/``)."""
    from urllib.parse import quote  # with the first secret: a hook without one loads none

    return {secret, quote(secret, safe=""), quote(secret)}


def secret_forms(secrets: Iterable[str]) -> set[str]:
    """Every spelling :func:`redact` replaces of ``secrets``: each one long enough to be
    told from ordinary text (:data:`MIN_SECRET_LENGTH`), as is and percent-encoded."""
    return {
        form for secret in secrets if len(secret) >= MIN_SECRET_LENGTH for form in _forms(secret)
    }


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential replaced by ``****``: URL userinfo, credential query
    values, Authorization headers, and each of ``secrets`` (known values, e.g. from the
    environment) wherever it appears, longest first."""
    for form in sorted(secret_forms(secrets), key=lambda s: (-len(s), s)):
        text = text.replace(form, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _QUERY.sub(lambda m: f"{m['name']}{REDACTED}", text)
    return _AUTHORIZATION.sub(lambda m: f"{m['name']}{REDACTED}", text)


#: a userinfo without a password is taken for a token when it is at least this long (a
#: user name such as ``git`` or ``alice`` is not a secret, and blanking it everywhere would
#: blank package names too)
MIN_TOKEN_LENGTH = 16


def url_secrets(url: str) -> tuple[str, ...]:
    """The credential in a URL's userinfo, to be redacted wherever it appears on its own
    (git names a URL without it, but may echo the password): the password, or a lone
    token-sized user; empty when the URL has none."""
    match = _USERINFO.match(url)
    if match is None:
        return ()
    user, colon, password = url[len(match["scheme"]) : match.end() - 1].partition(":")
    if colon:
        return (password,) if password else ()
    return (user,) if len(user) >= MIN_TOKEN_LENGTH else ()


def storage_userinfo_problem(where: str) -> str | None:
    """Why an object-storage URL (``s3://``, ``gs://``) with a userinfo (an ``@`` before
    the first ``/`` after the scheme, as in ``s3://KEY:SECRET@bucket/p``, or a ``:`` there:
    a secret holding a ``/``) is refused, in words that repeat neither its user nor its
    password; None when it has none. Object storage takes credentials from the
    environment only."""
    scheme, sep, rest = where.partition("://")
    host = rest.partition("/")[0]
    if not sep or ("@" not in host and ":" not in host):
        return None
    if "@" in host:
        bucket = host.rpartition("@")[2]
        shown = f"{scheme}://{REDACTED}@{bucket}{rest[len(host) :]}"
    else:  # KEY:SE/CRET@bucket: where the secret ends cannot be told, none of it is shown
        bucket, shown = "", f"{scheme}://{REDACTED}"
    return (
        f"{shown}: {scheme}:// destinations take no credentials in the URL (a URL is shown "
        f"in logs): give {scheme}://{bucket or 'BUCKET'}/PATH and set the credentials in "
        "the environment"
    )
