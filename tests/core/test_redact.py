"""core/redact: every form of credential a user can put somewhere becomes ``****``."""

from __future__ import annotations

import pytest

from dmrelease.core.redact import REDACTED, redact, url_secrets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # git echoes the URL it was given, userinfo and all
        (
            "fatal: unable to access 'https://alice:s3cr3t@127.0.0.1:8/x.git/': refused",
            "fatal: unable to access 'https://****@127.0.0.1:8/x.git/': refused",
        ),
        ("https://ghp_abcdef0123@github.com/lsst/afw", "https://****@github.com/lsst/afw"),
        # a password with a raw '@': the userinfo runs to the last '@' before the host
        ("git clone -- https://u:p@ss@host/x dest", "git clone -- https://****@host/x dest"),
        ("ssh://git@github.com/lsst/afw.git", "ssh://****@github.com/lsst/afw.git"),
        ("git+https://tok@h/p", "git+https://****@h/p"),
        ("-https://u:p@h/x", "-https://****@h/x"),
        ("x." * 40 + "https://u:p@h/x", "x." * 40 + "https://****@h/x"),
        # query values named as credentials, whatever the case and prefix
        ("GET http://h/x.tar.gz?token=abc&b=1", "GET http://h/x.tar.gz?token=****&b=1"),
        ("http://h/?a=1&access_token=zzz#f", "http://h/?a=1&access_token=****#f"),
        (
            "http://h/o?X-Amz-Signature=9f0e&X-Amz-Date=1",
            "http://h/o?X-Amz-Signature=****&X-Amz-Date=1",
        ),
        ("http://h/?PRIVATE_TOKEN=q", "http://h/?PRIVATE_TOKEN=****"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ****"),
        ("proxy-authorization=Basic dXNlcjpwYXNz", "proxy-authorization=Basic ****"),
        # what holds no credential is left as it is
        ("git@github.com:lsst/afw.git", "git@github.com:lsst/afw.git"),
        ("https://github.com/lsst/afw?ref=main", "https://github.com/lsst/afw?ref=main"),
        ("afw: v29.1.0.rc1 at 0123456789ab", "afw: v29.1.0.rc1 at 0123456789ab"),
        ("mail dev@example.org about it", "mail dev@example.org about it"),
    ],
)
def test_credentials_in_text_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_secret_values_are_redacted_as_is_and_percent_encoded() -> None:
    text = "token TOP SECRET, in a URL TOP%20SECRET, twice: TOP SECRET"
    assert redact(text, ["TOP SECRET"]) == "token ****, in a URL ****, twice: ****"


def test_the_longest_secret_goes_first_so_no_tail_of_it_is_left() -> None:
    assert redact("abcdefgh", ["abcd", "abcdefgh"]) == REDACTED


def test_a_short_value_is_not_blanked_everywhere() -> None:
    # "git" as a secret would blank every "git" of every message; a URL still hides it
    assert redact("git failed on https://git@h/x", ["git"]) == "git failed on https://****@h/x"


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact("https://u:p@h/x?token=t Authorization: Bearer b", ["secret-value"])
    assert redact(once, ["secret-value"]) == once


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("https://alice:s3cr3t@h/x", ("s3cr3t",)),
        ("https://u:p@ss@h/x", ("p@ss",)),
        ("https://ghp_0123456789abcdef@h/x", ("ghp_0123456789abcdef",)),
        ("ssh://git@h/x", ()),  # a user name, not a credential
        ("https://alice:@h/x", ()),
        ("https://h/x", ()),
        ("git@h:x", ()),
    ],
)
def test_url_secrets_are_the_password_or_a_token(url: str, secrets: tuple[str, ...]) -> None:
    assert url_secrets(url) == secrets


RUN = 200_000  # characters: a quadratic scan of this takes minutes, a linear one milliseconds


@pytest.mark.parametrize(
    "text",
    ["x." * RUN, "a1+" * RUN, "?" + "x." * RUN, "&k" * RUN, "authorization" + " " * RUN,
     "a://b" * RUN, ("?" + "a" * 60) * (RUN // 60)],
)  # fmt: skip
def test_long_runs_without_a_credential_are_scanned_once(text: str) -> None:
    assert redact(text, ["abcd"]) == text


def test_long_runs_of_credential_like_text_are_scanned_once() -> None:
    assert redact("h://" + "@" * RUN + "h/") == "h://****@h/"
    assert redact("Authorization: " * RUN) == "Authorization: **** " * (RUN // 2)


def test_a_credential_after_a_long_run_is_still_found() -> None:
    text = "x." * RUN + " https://u:p@h/x?token=t"
    assert redact(text).endswith(" https://****@h/x?token=****")


def test_a_secret_with_a_slash_is_found_encoded_as_a_url_encodes_a_password() -> None:
    assert redact("https://h/?p=pa%2Fss and pa/ss", ["pa/ss"]) == "https://h/?p=**** and ****"


def test_the_length_bounds_are_inclusive() -> None:
    assert redact("key abcd", ["abcd"]) == "key ****"  # MIN_SECRET_LENGTH characters
    token = "t" * 16  # MIN_TOKEN_LENGTH characters
    assert url_secrets(f"https://{token}@h/x") == (token,)
    assert url_secrets(f"https://{token[1:]}@h/x") == ()
