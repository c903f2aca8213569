"""``dm-release release nightly`` (issue 12 §6) on real bare remotes, into local server
directories: the products rebuilt from main, the EUPS tag ``d_YYYY_MM_DD`` of the given
UTC date declared in the stack and published with ``d_latest`` on both servers; no git tag
or branch on any remote; a rerun the same day does nothing; the next day's nightly after a
change publishes a new build and moves ``d_latest`` only; a dry run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from release_helpers import PACKAGES, Setup, clean_environment, make_setup, run, snapshot
from release_publish_helpers import binary, publishing, source, tag_list, tree, versions

from dmrelease import cli
from dmrelease.demo.synthetic import push_change

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


def remotes(setup: Setup) -> dict[str, str]:
    """Every ref of every package's bare remote."""
    return snapshot(setup.product.remote(n) for n in PACKAGES)


def nightly(setup: Setup, *args: str) -> tuple[Any, str]:
    code, out, err = run(setup, "nightly", *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_a_nightly_publishes_its_date_and_d_latest_and_tags_no_remote(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    before = remotes(setup)
    document, err = nightly(setup, "--date", "2025-06-11")
    assert (document["verb"], document["ok"], document["dry_run"]) == (
        "release nightly",
        True,
        False,
    )
    assert (document["date"], document["eups_tag"]) == ("2025-06-11", "d_2025_06_11")
    assert document["stages"] == ["built", "published", "packed"]
    assert document["would"] is None
    assert "EUPS tag d_2025_06_11 declared on 4 packages" in err
    built = versions(setup, "b1")
    for tag in ("d_2025_06_11", "d_latest"):
        listed = (source(setup) / "tags" / f"{tag}.list").read_text()
        assert listed == tag_list(tag, "b1", "generic", built)
        assert (binary(setup) / f"{tag}.list").read_text() == tag_list(tag, "b1", "generic", built)
    chains = sorted((tmp_path / "stack" / "ups_db").glob("*/d_2025_06_11.chain"))
    assert [c.parent.name for c in chains] == sorted(PACKAGES)
    assert remotes(setup) == before  # no git tag, no branch, anywhere


def test_a_rerun_the_same_day_is_a_no_op(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    nightly(setup, "--date", "2025-06-11")
    servers = tree(tmp_path / "srv")
    versiondb = snapshot([tmp_path / "versiondb"])
    document, err = nightly(setup, "--date", "2025-06-11")
    assert err.splitlines() == [
        "nightly d.2025.06.11: already done (journal)",
        "nightly d.2025.06.11: built, published, packed",
    ]
    assert document["stages"] == ["built", "published", "packed"]
    assert tree(tmp_path / "srv") == servers
    assert snapshot([tmp_path / "versiondb"]) == versiondb


def test_the_next_nightly_after_a_change_moves_d_latest_only(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    nightly(setup, "--date", "2025-06-11")
    first = (source(setup) / "tags" / "d_2025_06_11.list").read_bytes()
    push_change(setup.product, "afw", "a change merged on main")
    nightly(setup, "--date", "2025-06-12")
    second = versions(setup, "b2")
    assert second["afw"] != versions(setup, "b1")["afw"]
    assert (source(setup) / "tags" / "d_2025_06_11.list").read_bytes() == first
    for tag in ("d_2025_06_12", "d_latest"):
        listed = (source(setup) / "tags" / f"{tag}.list").read_text()
        assert listed == tag_list(tag, "b2", "generic", second)
    assert json.loads((source(setup) / "tags" / "index.json").read_text()) == [
        "d_2025_06_11.list",
        "d_2025_06_12.list",
        "d_latest.list",
    ]


def test_a_dry_run_prints_the_commands_and_writes_nothing(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    document, err = nightly(setup, "--date", "2025-06-11", "--dry-run")
    src, bin_ = str(source(setup)), str(binary(setup))
    publish = ["dm-release", "publish", "--tag", "d_2025_06_11", "--products", "meta",
               "--source", "git", "--server-dir", src]  # fmt: skip
    tarball = ["dm-release", "tarball", "--tag", "d_2025_06_11", "--products", "meta",
               "--flavor", "Linux64", "--server-dir", bin_]  # fmt: skip
    assert document["would"] == [
        {"package": "meta", "command": publish},
        {"package": "meta", "command": tarball},
    ]
    assert document["stages"] is None
    assert err.splitlines()[-2:] == [f"meta: {' '.join(publish)}", f"meta: {' '.join(tarball)}"]
    assert not (tmp_path / "srv").exists()
    assert not (tmp_path / "stack").exists()
    assert not (tmp_path / "work" / "state" / "journal").exists()


def test_without_servers_a_nightly_builds_and_declares_only(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    document, err = nightly(setup, "--date", "2025-06-11")
    assert document["stages"] == ["built"]
    assert "EUPS tag d_2025_06_11 declared on 4 packages" in err
    assert "publish" not in err


def test_a_date_that_is_not_one_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = make_setup(tmp_path)
    argv = ["release", "nightly", "--date", "2025-13-01", "--config", str(setup.config)]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "dm-release release nightly: error: argument --date: '2025-13-01': month must be in 1..12"
    )
    assert not (tmp_path / "work").exists()


def test_a_nightly_whose_publish_failed_publishes_only_when_rerun(tmp_path: Path) -> None:
    """The build is green and journaled; the source server holds a file the publish would
    write with other bytes: exit 1; the rerun the same day builds nothing."""
    setup = publishing(tmp_path)
    source(setup).mkdir(parents=True)
    (source(setup) / "config.txt").write_text("another server's\n")
    code, _out, err = run(setup, "nightly", "--date", "2025-06-11")
    assert code == 1, err
    (source(setup) / "config.txt").unlink()
    document, err = nightly(setup, "--date", "2025-06-11")
    assert document["stages"] == ["built", "published", "packed"]
    assert "nightly d.2025.06.11: already built (journal)" in err
    assert "built base" not in err and "prepare:" not in err
    assert "publish b1 as d_2025_06_11, d_latest to " in err
    built = versions(setup, "b1")
    listed = (source(setup) / "tags" / "d_latest.list").read_text()
    assert listed == tag_list("d_latest", "b1", "generic", built)
