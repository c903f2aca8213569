"""The registry client against a real registry (docker-registry on 127.0.0.1, htpasswd
auth), with images a real builder pushed: digests, labels, tags, moving a tag by putting a
manifest, a manifest list, and every refusal exit 2 naming the URL, never the password."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pytest
from image_fixtures import RunningRegistry, buildah_label, tiny_context

from dmrelease.adapters.image_builder import Builder, PushFailed, RegistryCredentials
from dmrelease.adapters.registry import OCI_INDEX, Registry, RegistryError, _next_page
from dmrelease.core.config import Secret

Pushed = dict[str, str]


@pytest.fixture(scope="module")
def pushed(
    builder: Builder, registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Pushed:
    """registry/tests/registry:one (linux/amd64, greeting=one) and :two (linux/arm64,
    greeting=two), and the list :both joining them; their digests by tag."""
    folder = tmp_path_factory.mktemp("registry-images")
    digests: Pushed = {}
    with (folder / "log").open("w") as log:
        return _push_all(builder, registry, folder, digests, log)


def _push_all(
    builder: Builder, registry: RunningRegistry, folder: Path, digests: Pushed, log: TextIO
) -> Pushed:
    for tag, platform in (("one", "linux/amd64"), ("two", "linux/arm64")):
        image = f"localhost/dm-release-tests/registry:{tag}"
        builder.build(
            tiny_context(folder / tag, f"{tag}\n"), image=image, platform=platform,
            build_args={"GREETING": tag}, labels={}, timestamp=0, log=log,
        )  # fmt: skip
        digests[tag] = builder.push(
            image, f"{registry.host}/tests/registry:{tag}", credentials=registry.credentials,
            tls_verify=False, log=log,
        )  # fmt: skip
    members = [
        ("linux/amd64", f"{registry.host}/tests/registry@{digests['one']}"),
        ("linux/arm64", f"{registry.host}/tests/registry@{digests['two']}"),
    ]
    for tag in ("one", "two"):
        builder.remove(f"localhost/dm-release-tests/registry:{tag}")
    digests["both"] = builder.manifest_list(
        f"{registry.host}/tests/registry:both", members, credentials=registry.credentials,
        tls_verify=False, log=log,
    )  # fmt: skip
    return digests


def test_the_digest_of_a_pushed_tag_is_the_one_the_push_returned(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    client = registry.client()
    assert client.digest("tests/registry", "one") == pushed["one"]
    assert client.digest("tests/registry", "two") == pushed["two"]
    assert client.digest("tests/registry", "both") == pushed["both"]
    assert len({pushed["one"], pushed["two"], pushed["both"]}) == 3


def test_an_absent_tag_or_repository_has_no_digest(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    client = registry.client()
    assert client.digest("tests/registry", "three") is None
    assert client.digest("tests/nothing-here", "one") is None
    assert client.tags("tests/nothing-here") == []


def test_labels_of_an_image_and_of_a_list_its_first_member(
    builder: Builder, registry: RunningRegistry, pushed: Pushed
) -> None:
    client = registry.client()
    added = buildah_label(builder)
    assert client.labels("tests/registry", "one") == {"greeting": "one", **added}
    assert client.labels("tests/registry", pushed["two"]) == {"greeting": "two", **added}
    assert client.labels("tests/registry", "both") == {"greeting": "one", **added}


def test_the_labels_of_a_list_skip_an_attestation_member(
    builder: Builder, registry: RunningRegistry, pushed: Pushed
) -> None:
    client = registry.client()
    members = []
    for tag, platform in (("two", ("unknown", "unknown")), ("one", ("linux", "amd64"))):
        media_type, body = client.manifest("tests/registry", tag)
        members.append({"mediaType": media_type, "digest": pushed[tag], "size": len(body),
                        "platform": {"os": platform[0], "architecture": platform[1]}})  # fmt: skip
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": members})
    digest = client.put_manifest("tests/registry", "attested", OCI_INDEX, index.encode())
    assert client.digest("tests/registry", "attested") == digest
    assert client.labels("tests/registry", "attested") == {
        "greeting": "one",
        **buildah_label(builder),
    }


def test_the_manifest_list_names_both_platforms_by_digest(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    media_type, body = registry.client().manifest("tests/registry", "both")
    document = json.loads(body)
    members = [
        (m["platform"]["os"], m["platform"]["architecture"], m["digest"])
        for m in document["manifests"]
    ]  # fmt: skip
    assert media_type == OCI_INDEX
    assert members == [("linux", "amd64", pushed["one"]), ("linux", "arm64", pushed["two"])]


def test_put_manifest_moves_a_tag_without_a_builder(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    client = registry.client()
    for source in ("one", "two"):  # create the floating tag, then move it
        media_type, body = client.manifest("tests/registry", source)
        assert client.put_manifest("tests/registry", "moving", media_type, body) == pushed[source]
        assert client.digest("tests/registry", "moving") == pushed[source]
        assert client.labels("tests/registry", "moving")["greeting"] == source
    assert client.digest("tests/registry", "one") == pushed["one"]  # the source stays
    assert set(client.tags("tests/registry")) - {"attested"} == {"both", "moving", "one", "two"}


def test_tags_of_a_registry_that_answers_in_one_page(
    builder: Builder, registry: RunningRegistry, tmp_path: Path
) -> None:
    """docker-registry 2.8 answers every tag at once whatever ``n`` asks, with no Link
    (paging came with distribution 3): tags() reads that single page whole."""
    image = "localhost/dm-release-tests/registry:paged"
    builder.build(tiny_context(tmp_path, "paged\n"), image=image, platform="linux/amd64",
                  build_args={}, labels={}, timestamp=0, log=io.StringIO())  # fmt: skip
    try:
        for tag in ("c", "a", "b"):
            builder.push(image, f"{registry.host}/tests/paged:{tag}",
                         credentials=registry.credentials, tls_verify=False,
                         log=io.StringIO())  # fmt: skip
    finally:
        builder.remove(image)
    client = registry.client()
    first = client._request("GET", "/v2/tests/paged/tags/list?n=1")
    assert first is not None
    assert sorted(first.json()["tags"]) == ["a", "b", "c"]
    assert "Link" not in first.headers
    assert client.tags("tests/paged", page=1) == ["a", "b", "c"]  # sorted, once each


@pytest.mark.parametrize(
    ("link", "path"),
    [
        # the distribution spec's forms: a path, or a whole URL on the registry
        ('</v2/x/tags/list?last=a&n=1>; rel="next"', "/v2/x/tags/list?last=a&n=1"),
        ("<https://reg.example:5000/v2/x/tags/list?n=2&last=b>; rel=next",
         "/v2/x/tags/list?n=2&last=b"),
        ("", None),
        ('</v2/x/tags/list?last=a>; rel="prev"', None),
    ],
)  # fmt: skip
def test_the_next_page_of_tags_is_the_path_the_link_header_names(
    link: str, path: str | None
) -> None:
    assert _next_page(link) == path


def test_without_credentials_the_registry_refuses_exit_2(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    client = Registry(registry.host, None, tls_verify=False)
    with pytest.raises(RegistryError) as refused:
        client.digest("tests/registry", "one")
    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        f"{registry.url}/v2/tests/registry/manifests/one: the registry asks for credentials "
        "and none were given (DM_RELEASE_REGISTRY_USER, DM_RELEASE_REGISTRY_PASSWORD)"
    )


def test_a_wrong_password_is_refused_naming_the_user_never_the_password(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    wrong = "not-" + registry.password
    client = registry.client(RegistryCredentials(registry.username, Secret(wrong)))
    with pytest.raises(RegistryError) as refused:
        client.tags("tests/registry")
    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        f"{registry.url}/v2/tests/registry/tags/list?n=1000: the registry refused the "
        f"credentials of user {registry.username}"
    )
    assert wrong not in str(refused.value) and registry.password not in str(refused.value)


def test_an_unreachable_registry_is_exit_2_naming_its_url() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Registry(f"http://127.0.0.1:{port}", None, tls_verify=False)
    client.session.adapters["http://"].max_retries.total = 0  # type: ignore[attr-defined]
    with pytest.raises(RegistryError) as unreachable:
        client.digest("tests/registry", "one")
    assert unreachable.value.exit_code == 2
    assert str(unreachable.value) == (
        f"http://127.0.0.1:{port}/v2/tests/registry/manifests/one: registry unreachable "
        "(ConnectionError)"
    )


def test_a_bare_host_with_tls_verify_off_falls_back_to_plain_http(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    client = registry.client()
    assert client.url == f"https://{registry.host}"
    assert client.digest("tests/registry", "one") == pushed["one"]
    assert client.url == registry.url


def test_a_bare_host_with_tls_verify_on_does_not_fall_back(
    registry: RunningRegistry, pushed: Pushed
) -> None:
    client = Registry(registry.host, registry.credentials, tls_verify=True)
    client.session.adapters["https://"].max_retries.total = 0  # type: ignore[attr-defined]
    with pytest.raises(RegistryError) as refused:
        client.digest("tests/registry", "one")
    assert refused.value.exit_code == 2
    assert str(refused.value).startswith(
        f"https://{registry.host}/v2/tests/registry/manifests/one: TLS failed (SSLError)"
    )


# -- a registry that answers with Bearer challenges (token authentication) -------------------


@pytest.fixture(scope="module")
def bearer_pushed(
    builder: Builder, token_registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """tests/bearer:one pushed by the builder through the token service; its digest."""
    folder = tmp_path_factory.mktemp("bearer")
    image = "localhost/dm-release-tests/registry:bearer"
    with (folder / "log").open("w") as log:
        builder.build(tiny_context(folder / "context", "bearer\n"), image=image,
                      platform="linux/amd64", build_args={"GREETING": "bearer"}, labels={},
                      timestamp=0, log=log)  # fmt: skip
        try:
            return builder.push(image, f"{token_registry.host}/tests/bearer:one",
                                credentials=token_registry.credentials, tls_verify=False,
                                log=log)  # fmt: skip
        finally:
            builder.remove(image)


def test_a_bearer_registry_is_answered_with_a_token_for_the_scope(
    builder: Builder, token_registry: RunningRegistry, bearer_pushed: str
) -> None:
    assert token_registry.token is not None
    client = token_registry.client()
    del token_registry.token.asked[:]
    assert client.digest("tests/bearer", "one") == bearer_pushed
    assert client.labels("tests/bearer", "one") == {"greeting": "bearer", **buildah_label(builder)}
    assert client.tags("tests/bearer") == ["one"]
    # one token for the repository's pull scope, reused for the manifest, config and tags
    assert token_registry.token.asked == ["repository:tests/bearer:pull"]


def test_a_bearer_registry_grants_push_to_move_a_tag(
    token_registry: RunningRegistry, bearer_pushed: str
) -> None:
    assert token_registry.token is not None
    client = token_registry.client()
    media_type, body = client.manifest("tests/bearer", "one")
    del token_registry.token.asked[:]
    assert client.put_manifest("tests/bearer", "latest", media_type, body) == bearer_pushed
    # one token for the scope the challenge names; docker-registry 2.8 lists its actions
    # in no fixed order (pull,push or push,pull from one run to the next)
    (scope,) = token_registry.token.asked
    resource, _, actions = scope.rpartition(":")
    assert (resource, sorted(actions.split(","))) == ("repository:tests/bearer", ["pull", "push"])
    assert client.digest("tests/bearer", "latest") == bearer_pushed


def test_a_token_service_refusing_the_password_is_exit_2_naming_the_user(
    token_registry: RunningRegistry, bearer_pushed: str
) -> None:
    assert token_registry.token is not None
    wrong = "not-" + token_registry.password
    client = token_registry.client(RegistryCredentials(token_registry.username, Secret(wrong)))
    with pytest.raises(RegistryError) as refused:
        client.digest("tests/bearer", "one")
    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        f"{token_registry.token.url}: the registry refused the credentials of user "
        f"{token_registry.username}"
    )
    assert wrong not in str(refused.value)


def test_a_bearer_registry_without_credentials_is_exit_2(
    token_registry: RunningRegistry, bearer_pushed: str
) -> None:
    assert token_registry.token is not None
    with pytest.raises(RegistryError) as refused:
        Registry(token_registry.host, None, tls_verify=False).digest("tests/bearer", "one")
    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        f"{token_registry.token.url}: the registry asks for credentials and none were given "
        "(DM_RELEASE_REGISTRY_USER, DM_RELEASE_REGISTRY_PASSWORD)"
    )


# -- a registry over HTTPS with a self-signed certificate ------------------------------------


@pytest.fixture(scope="module")
def tls_pushed(
    builder: Builder, tls_registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """tests/tls:one pushed over HTTPS without verifying the certificate; its digest."""
    folder = tmp_path_factory.mktemp("tls")
    image = "localhost/dm-release-tests/registry:tls"
    with (folder / "log").open("w") as log:
        builder.build(tiny_context(folder / "context", "tls\n"), image=image,
                      platform="linux/amd64", build_args={"GREETING": "tls"}, labels={},
                      timestamp=0, log=log)  # fmt: skip
        try:
            return builder.push(image, f"{tls_registry.host}/tests/tls:one",
                                credentials=tls_registry.credentials, tls_verify=False,
                                log=log)  # fmt: skip
        finally:
            builder.remove(image)


def test_a_self_signed_registry_is_read_over_https_with_tls_verify_off(
    builder: Builder, tls_registry: RunningRegistry, tls_pushed: str,
    recwarn: pytest.WarningsRecorder,
) -> None:  # fmt: skip
    client = tls_registry.client()
    assert client.digest("tests/tls", "one") == tls_pushed
    assert client.labels("tests/tls", "one") == {"greeting": "tls", **buildah_label(builder)}
    assert client.url == tls_registry.url  # HTTPS answered: no fallback to HTTP
    assert [str(w.message) for w in recwarn] == []  # no InsecureRequestWarning when asked


def test_an_image_pushed_over_https_is_pulled_back_whole(
    tls_registry: RunningRegistry, tls_pushed: str, pull_image_tree: Callable[..., Path]
) -> None:
    tree = pull_image_tree(f"{tls_registry.host}/tests/tls@{tls_pushed}", source=tls_registry)
    assert sorted(p.name for p in tree.iterdir()) == ["hello.txt"]
    assert (tree / "hello.txt").read_bytes() == b"tls\n"


def test_a_self_signed_registry_with_tls_verify_on_is_exit_2(
    tls_registry: RunningRegistry, tls_pushed: str
) -> None:
    client = Registry(tls_registry.host, tls_registry.credentials, tls_verify=True)
    client.session.adapters["https://"].max_retries.total = 0  # type: ignore[attr-defined]
    with pytest.raises(RegistryError) as refused:
        client.digest("tests/tls", "one")
    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        f"{tls_registry.url}/v2/tests/tls/manifests/one: TLS failed (SSLError); a registry "
        "with a self-signed certificate or plain HTTP needs TLS verification off"
    )


def test_a_push_to_a_self_signed_registry_with_tls_verify_on_is_exit_2(
    builder: Builder, tls_registry: RunningRegistry, tls_pushed: str, tmp_path: Path
) -> None:
    image = "localhost/dm-release-tests/registry:tls-verify"
    builder.build(tiny_context(tmp_path, "verify\n"), image=image, platform="linux/amd64",
                  build_args={}, labels={}, timestamp=0, log=io.StringIO())  # fmt: skip
    destination = f"{tls_registry.host}/tests/tls:verified"
    try:
        with pytest.raises(PushFailed) as refused:
            builder.push(image, destination, credentials=tls_registry.credentials,
                         tls_verify=True, log=io.StringIO())  # fmt: skip
    finally:
        builder.remove(image)
    assert refused.value.exit_code == 2
    assert str(refused.value).startswith(
        f"{destination}: push refused or registry unreachable (exit 125):\n"
    )
    assert "x509: certificate signed by unknown authority" in str(refused.value)
    assert tls_registry.client().digest("tests/tls", "verified") is None
