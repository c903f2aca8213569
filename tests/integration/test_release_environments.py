"""The release sessions' and the nightly's publish per environment, of builds tagged with
``--no-build``, and their destinations checked first, on real bare remotes into local
server directories: with ``{env}`` in ``paths.stack`` and the servers' paths, a nightly or
a weekly is built and published once in each environment (journal stages
``built[<env>]``, ``published[<env>]``, ``packed[<env>]``, the build id kept as a field);
a weekly or a candidate tagged with ``--no-build`` publishes the green build it tags, and
says why not when there is none; a destination that cannot be written stops a session or
a nightly (exit 2) before anything is built, tagged or pushed; a nightly's dry run reads
the journal and says what the real run would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    clean_environment,
    journal_json,
    make_setup,
    merge_ticket,
    ok,
    run,
    snapshot,
)
from release_publish_helpers import binary, publishing, source, tag_list, tree, versions

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

ENV_PATHS = (
    'stack = "stack/{env}"\nsource_server = "srv/{env}/src"\nbinary_server = "srv/{env}/bin"\n'
)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No build environment from the machine the tests run on."""
    for name in ("RUBINENV_VER", "SPLENV_REF", "DM_RELEASE_ENV",
                 "DM_RELEASE_SOURCE_SERVER_DIR", "DM_RELEASE_BINARY_SERVER_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def per_environment(root: Path) -> Setup:
    """The release tests' product with one stack and one pair of servers per environment."""
    setup = make_setup(root)
    text = setup.config.read_text().replace('stack = "stack"\n', ENV_PATHS)
    setup.config.write_text(text)
    return setup


def with_env(tag: str, build: str, flavor: str, found: dict[str, str], env: str) -> str:
    """A tag list of a build made in environment ``env`` (its ``#CONDA_ENV`` line)."""
    head, _, rows = tag_list(tag, build, flavor, found).partition("#product")
    return f"{head}#CONDA_ENV={env}\n#product{rows}"


def remotes(setup: Setup) -> dict[str, str]:
    return snapshot(setup.product.remote(n) for n in PACKAGES)


def nightly(setup: Setup, *args: str) -> tuple[Any, str]:
    code, out, err = run(setup, "nightly", "--date", "2025-06-11", *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def nightly_journal(setup: Setup) -> dict[str, Any]:
    path = setup.root / "work" / "state" / "journal" / "meta" / "nightly-d.2025.06.11.json"
    return journal_json(path)


def test_a_nightly_is_built_and_published_in_each_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = per_environment(tmp_path)
    monkeypatch.setenv("DM_RELEASE_ENV", "8.0.0")
    first, _err = nightly(setup)
    assert first["stages"] == ["built[8.0.0]", "published[8.0.0]", "packed[8.0.0]"]
    eight = tree(tmp_path / "srv" / "8.0.0")
    monkeypatch.setenv("DM_RELEASE_ENV", "9.0.0")
    dry, err = nightly(setup, "--dry-run")  # not done in 9.0.0: it would build and publish
    assert "already done" not in err
    assert [w["command"][1] for w in dry["would"]] == ["publish", "tarball"]
    second, err = nightly(setup)
    assert "already done" not in err
    assert "EUPS tag d_2025_06_11 declared on 4 packages" in err
    assert second["stages"] == [
        "built[8.0.0]", "published[8.0.0]", "packed[8.0.0]",
        "built[9.0.0]", "published[9.0.0]", "packed[9.0.0]",
    ]  # fmt: skip
    built = versions(setup, "b1")  # the same content: versiondb gives it the same build id
    for env in ("8.0.0", "9.0.0"):
        srv = tmp_path / "srv" / env
        for tag in ("d_2025_06_11", "d_latest"):
            listed = (srv / "src" / "tags" / f"{tag}.list").read_text()
            assert listed == with_env(tag, "b1", "generic", built, env)
            packed = (srv / "bin" / f"{tag}.list").read_text().splitlines()
            assert packed[1:3] == ["#BUILD=b1", f"#CONDA_ENV={env}"]
        for name in PACKAGES:
            assert (srv / "bin" / f"{name}-{built[name]}@Linux64.tar.gz").is_file()
        chains = sorted((tmp_path / "stack" / env / "ups_db").glob("*/d_2025_06_11.chain"))
        assert [c.parent.name for c in chains] == sorted(PACKAGES)
    assert tree(tmp_path / "srv" / "8.0.0") == eight  # 9.0.0's nightly left 8.0.0's alone
    assert nightly_journal(setup)["builds"] == {"built[8.0.0]": "b1", "built[9.0.0]": "b1"}
    again, err = nightly(setup)
    assert "nightly d.2025.06.11: already done (journal)" in err
    assert again["stages"] == second["stages"]


def test_a_nightly_s_dry_run_says_what_the_real_run_would(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    nightly(setup)
    journal = nightly_journal(setup)
    servers = tree(tmp_path / "srv")
    document, err = nightly(setup, "--dry-run")
    assert err.splitlines() == ["nightly d.2025.06.11: already done (journal)"]
    assert (document["stages"], document["would"]) == (None, [])
    assert nightly_journal(setup) == journal
    assert tree(tmp_path / "srv") == servers


def test_a_nightly_built_but_not_published_dry_runs_the_publish_of_its_build(
    tmp_path: Path,
) -> None:
    setup = publishing(tmp_path)
    source(setup).mkdir(parents=True)
    (source(setup) / "config.txt").write_text("another server's\n")
    code, _out, err = run(setup, "nightly", "--date", "2025-06-11")
    assert code == 1, err
    document, err = nightly(setup, "--dry-run")
    assert "nightly d.2025.06.11: already built (journal)" in err
    assert "prepare:" not in err
    assert [w["command"][:4] for w in document["would"]] == [
        ["dm-release", "publish", "--build", "b1"],
        ["dm-release", "tarball", "--build", "b1"],
    ]


def test_a_weekly_rerun_in_another_environment_builds_and_publishes_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = per_environment(tmp_path)
    monkeypatch.setenv("DM_RELEASE_ENV", "8.0.0")
    ok(setup, "weekly", "w.2025.24")
    tagged = remotes(setup)
    monkeypatch.setenv("DM_RELEASE_ENV", "9.0.0")
    text = ok(setup, "weekly", "w.2025.24")
    assert "finishing the journaled plan" in text
    assert "publish b1 as w_2025_24, w_latest to " in text
    assert remotes(setup) == tagged  # no tag made again
    built = versions(setup, "b1")
    for env in ("8.0.0", "9.0.0"):
        listed = (tmp_path / "srv" / env / "src" / "tags" / "w_2025_24.list").read_text()
        assert listed == with_env("w_2025_24", "b1", "generic", built, env)
        for name in PACKAGES:
            assert (
                tmp_path / "srv" / env / "bin" / f"{name}-{built[name]}@Linux64.tar.gz"
            ).is_file()
            assert (tmp_path / "stack" / env / "Linux64" / name / built[name]).is_dir()
    document = journal_json(setup.journal("weekly", "w.2025.24"))
    assert document["stages"] == [
        "tagged", "pushed", "built[8.0.0]", "published[8.0.0]", "packed[8.0.0]",
        "built[9.0.0]", "published[9.0.0]", "packed[9.0.0]",
    ]  # fmt: skip
    assert document["builds"] == {"built[8.0.0]": "b1", "built[9.0.0]": "b1"}
    again = ok(setup, "weekly", "w.2025.24")
    assert "publish: w.2025.24: already published (journal)" in again


def test_a_weekly_without_build_publishes_the_green_build_it_tags(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")  # built green, not published (no servers yet)
    setup = publishing(tmp_path)
    text = ok(setup, "weekly", "w.2025.25", "--no-build")
    assert "built base" not in text
    assert "publish b1 as w_2025_25, w_latest to " in text
    built = versions(setup, "b1")
    for tag in ("w_2025_25", "w_latest"):
        listed = (source(setup) / "tags" / f"{tag}.list").read_text()
        assert listed == tag_list(tag, "b1", "generic", built)
        assert (binary(setup) / f"{tag}.list").read_text().splitlines()[1] == "#BUILD=b1"
    stages = journal_json(setup.journal("weekly", "w.2025.25"))["stages"]
    assert stages == ["tagged", "pushed", "published", "packed"]


def test_a_candidate_without_build_publishes_a_green_build_and_says_why_not_else(
    tmp_path: Path,
) -> None:
    setup = publishing(tmp_path, binary=False)
    ok(setup, "weekly", "w.2025.24")
    rc1 = ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    assert "publish b1 as v29_1_0_rc1 to " in rc1
    listed = (source(setup) / "tags" / "v29_1_0_rc1.list").read_text()
    assert listed == tag_list("v29_1_0_rc1", "b1", "generic", versions(setup, "b1"))
    stages = journal_json(setup.journal("release_candidate", "v29.1.0.rc1"))["stages"]
    assert stages == ["tagged", "pushed", "published"]
    merge_ticket(setup, "afw", "DM-40100", "python/afw/fix.py", "FIXED = True\n")
    ok(setup, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "--merge")
    before = tree(source(setup))
    rc2 = ok(setup, "candidate", "v29.1.0.rc2", "--no-build")
    assert rc2.splitlines()[-2] == (
        "publish: v29.1.0.rc2 not published: its build (b2) was never made; "
        "rerun without --no-build to build and publish it"
    )
    assert tree(source(setup)) == before
    text = ok(setup, "candidate", "v29.1.0.rc2")  # the rerun builds it and publishes it
    assert "publish b2 as v29_1_0_rc2 to " in text
    assert (source(setup) / "tags" / "v29_1_0_rc2.list").is_file()


@pytest.mark.parametrize(
    "variable", ["DM_RELEASE_SOURCE_SERVER_DIR", "DM_RELEASE_BINARY_SERVER_DIR"]
)
def test_a_destination_that_cannot_be_written_stops_a_nightly_before_its_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    setup = publishing(tmp_path)
    monkeypatch.setenv(variable, "/proc/x")
    before = remotes(setup)
    code, _out, err = run(setup, "nightly", "--date", "2025-06-11", "--json")
    assert code == 2, err
    assert err.splitlines()[-1] == (
        "dm-release: error: /proc/x: cannot write there (cannot create it in /proc: No such "
        "file or directory); check the permissions or give another server directory"
    )
    assert "prepare:" not in err
    assert not (tmp_path / "stack").exists()
    assert not (tmp_path / "work" / "state" / "journal").exists()
    assert not (tmp_path / "srv").exists()
    assert remotes(setup) == before


@pytest.mark.parametrize(
    "session",
    [("weekly", "w.2025.24"), ("candidate", "v29.1.0.rc1", "--refs", "w.2025.24")],
    ids=["weekly", "candidate"],
)
def test_a_destination_that_cannot_be_written_stops_a_session_before_any_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: tuple[str, ...]
) -> None:
    setup = make_setup(tmp_path)
    if session[0] == "candidate":
        ok(setup, "weekly", "w.2025.24")
    setup = publishing(tmp_path)
    (tmp_path / "srv").write_text("not a directory\n")
    before = remotes(setup)
    lock = setup.lock().exists()
    code, _out, err = run(setup, *session)
    assert code == 2, err
    assert err.splitlines()[-1] == (
        f"dm-release: error: {source(setup)}: {tmp_path / 'srv'} is not a directory; "
        "give a server directory"
    )
    assert "built base" not in err and "prepare:" not in err
    assert remotes(setup) == before  # nothing tagged, nothing pushed
    release = session[1]
    name = "weekly" if session[0] == "weekly" else "release_candidate"
    assert not setup.journal(name, release).exists()
    assert setup.lock().exists() == lock


def test_a_dry_run_says_it_did_not_check_the_destinations(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    code, _out, err = run(setup, "weekly", "w.2025.24", "--dry-run")
    assert code == 0, err
    lines = err.splitlines()
    assert lines[:2] == [
        f"would publish to {source(setup)} (not checked: a dry run writes nothing)",
        f"would publish to {binary(setup)} (not checked: a dry run writes nothing)",
    ]
    assert not (tmp_path / "srv").exists()
