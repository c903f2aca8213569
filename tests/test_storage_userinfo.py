"""An object-storage destination with credentials in its URL is refused (exit 2) in
words that repeat neither the user nor the password: object storage takes credentials from
the environment only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmrelease import cli
from dmrelease.adapters.object_store import ObjectStoreError, parse_url
from dmrelease.core.redact import storage_userinfo_problem

HINT = "destinations take no credentials in the URL (a URL is shown in logs): give"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("s3://AKIAXXX:secretpw@bucket/p",
         f"s3://****@bucket/p: s3:// {HINT} s3://bucket/PATH and set the credentials in the "
         "environment"),
        ("gs://AKIAXXX:secretpw@bucket",
         f"gs://****@bucket: gs:// {HINT} gs://bucket/PATH and set the credentials in the "
         "environment"),
        ("s3://AKIAXXX@secretpw@bucket/a/b",
         f"s3://****@bucket/a/b: s3:// {HINT} s3://bucket/PATH and set the credentials in "
         "the environment"),
        ("s3://AKIAXXX:secret/pw@bucket/p",  # a secret holding a '/': none of it shown
         f"s3://****: s3:// {HINT} s3://BUCKET/PATH and set the credentials in the "
         "environment"),
    ],
)  # fmt: skip
def test_userinfo_is_refused_without_repeating_it(where: str, message: str) -> None:
    assert storage_userinfo_problem(where) == message
    with pytest.raises(ObjectStoreError) as caught:
        parse_url(where)
    assert (str(caught.value), caught.value.exit_code) == (message, 2)


@pytest.mark.parametrize("where", ["s3://bucket/p", "gs://bucket", "s3://bucket/a@b", "/srv/x"])
def test_a_url_without_userinfo_passes(where: str) -> None:
    assert storage_userinfo_problem(where) is None


@pytest.mark.parametrize("verb", ["publish", "tarball"])
@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_publish_and_tarball_never_print_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, verb: str, scheme: str
) -> None:
    (tmp_path / "repos.yaml").write_text("base: https://example.invalid/base.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.base]\nrepos = "repos.yaml"\n')
    where = f"{scheme}://AKIAXXX:secretpw@bucket/p"
    message = (
        f"{scheme}://****@bucket/p: {scheme}:// {HINT} {scheme}://bucket/PATH and set the "
        "credentials in the environment"
    )
    argv = [verb, "--config", str(config), "--tag", "w_2025_24", "--server-dir", where]
    for extra in ([], ["--dry-run"], ["--json"], ["--dry-run", "--json"]):
        status = cli.main([*argv, *extra])
        out, err = capsys.readouterr()
        assert status == 2, (extra, err)
        for part in ("AKIAXXX", "secretpw"):
            assert part not in out and part not in err, (extra, part)
        if "--json" in extra:
            document = json.loads(out)
            assert (document["ok"], document["error"]) == (False, message)
            assert err == f"dm-release: error: {message}\n"
        else:
            assert (out, err) == ("", f"dm-release: error: {message}\n")
