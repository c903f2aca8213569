"""publish and tarball read a build with adapters/versiondb.py read_build: the same
messages, and a manifest whose names or versions would leave the server tree refused with
exit 2 before anything is read or written, a dry run too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmrelease import cli
from dmrelease.adapters.versiondb import read_build
from dmrelease.core.errors import UsageError
from test_build_read import _line, _manifest, _message


def _config(tmp_path: Path) -> Path:
    (tmp_path / "repos.yaml").write_text("afwdata: https://example.invalid/afwdata.git\n")
    config = tmp_path / "dm-release.toml"
    config.write_text('[products.afwdata]\nrepos = "repos.yaml"\n')
    return config


@pytest.mark.parametrize("verb", ["publish", "tarball"])
@pytest.mark.parametrize("version", ["x/../../y", "a/b"])
def test_publish_and_tarball_refuse_such_a_build_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, verb: str, version: str
) -> None:
    """A dry run too (it used to end in a traceback for ``x/../../y``, and a publish of
    ``a/b`` wrote ``products/afwdata-a/b.eupspkg``)."""
    config = _config(tmp_path)
    file = _manifest(tmp_path / "versiondb", "b1", [_line("afwdata", version)])
    server = tmp_path / "server"
    argv = [verb, "--config", str(config), "--tag", "w_2025_24", "--server-dir", str(server)]
    expected = (
        f"{file}:3: manifest-name: version {version!r} is not an EUPS version: letters, "
        "digits, '.', '_', '+' and '-', starting with a letter or a digit, at most 100 "
        "characters\nbuild b1 cannot be published as recorded: nothing was read from the "
        "clones nor written"
    )
    for extra in (["--dry-run"], []):
        status = cli.main([*argv, *extra])
        out, err = capsys.readouterr()
        assert (status, out, err) == (2, "", f"dm-release: error: {expected}\n"), extra
        status = cli.main([*argv, *extra, "--json"])
        out, err = capsys.readouterr()
        assert status == 2 and json.loads(out)["error"] == expected
        assert "Traceback" not in err
    assert not server.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dm-release.toml", "repos.yaml",
                                                          "versiondb"]  # fmt: skip


def test_both_stages_read_with_it(tmp_path: Path) -> None:
    from dmrelease.core.config import Config
    from dmrelease.core.requests import PublishRequest, TarballRequest
    from dmrelease.stages.publish import check_request as publish_check
    from dmrelease.stages.tarball import check_request as tarball_check

    where = str(tmp_path / "server")

    def publish_read(config: Config, build_id: str) -> object:
        return publish_check(config, PublishRequest("w_2025_24", build_id, server_dir=where))[1]

    def tarball_read(config: Config, build_id: str) -> object:
        request = TarballRequest("w_2025_24", build_id, server_dir=where)
        return tarball_check(config, request).manifest

    stack = tmp_path / "stack"
    (stack / "ups_db" / "base").mkdir(parents=True)
    (stack / "ups_db" / "base" / "1.0.version").write_text("")
    (stack / "Linux64" / "base" / "1.0").mkdir(parents=True)  # b1 installed: tarball checks it
    config = Config(versiondb=tmp_path, stack=stack, flavor="Linux64")
    _manifest(tmp_path, "b1", [_line("base", "1.0")])
    said = []
    for reader in (publish_read, tarball_read):
        assert reader(config, "b1") == read_build(tmp_path, "b1")
        for bad in ("b2", "2"):
            with pytest.raises(UsageError) as caught:
                reader(config, bad)
            said.append(str(caught.value))
    assert said == [*(_message(tmp_path, b) for b in ("b2", "2"))] * 2
