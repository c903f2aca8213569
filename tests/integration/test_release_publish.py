"""The release sessions publish (issue 12 §7) on real bare remotes, into local server
directories: after a green build a weekly publishes ``w_YYYY_WW`` and ``w_latest``, a
candidate ``vM_n_p_rcN`` (no floating tag), a final ``vM_n_p`` and ``o_latest`` with
SOURCE=package, to the source server and, when ``paths.binary_server`` is set, the binary
server; the journal records ``published`` and ``packed`` so that a rerun after a failure
between the build and the publish publishes only, and a rerun after it writes nothing;
``--dry-run`` shows the publish and tarball commands and writes no server file."""

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
)
from release_publish_helpers import binary, pkginfo, publishing, source, tag_list, tree, versions

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

OPERATION_RC1 = "release_candidate meta v29.1.0.rc1"


def conflict(setup: Setup) -> None:
    """A source server whose config.txt has other bytes: its publish is refused (exit 1)
    before it writes anything, though the directory can be written."""
    source(setup).mkdir(parents=True)
    (source(setup) / "config.txt").write_text("another server's\n")


def stages(setup: Setup, session: str, release: str) -> list[str]:
    stages: list[str] = journal_json(setup.journal(session, release))["stages"]
    return stages


def test_a_weekly_publishes_its_tag_and_w_latest_to_both_servers(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    text = ok(setup, "weekly", "w.2025.24")
    built = versions(setup, "b1")
    assert "publish b1 as w_2025_24, w_latest to " in text
    for tag in ("w_2025_24", "w_latest"):
        listed = (source(setup) / "tags" / f"{tag}.list").read_text()
        assert listed == tag_list(tag, "b1", "generic", built)
        assert (binary(setup) / f"{tag}.list").read_text() == tag_list(tag, "b1", "generic", built)
    assert json.loads((source(setup) / "tags" / "index.json").read_text()) == [
        "w_2025_24.list",
        "w_latest.list",
    ]
    for name in PACKAGES:
        info = pkginfo(setup, name, built[name])
        assert (info["VERSION"], info["SOURCE"]) == (f"'{built[name]}'", "'git'")
        assert (binary(setup) / f"{name}-{built[name]}@Linux64.tar.gz").is_file()
    assert stages(setup, "weekly", "w.2025.24") == ["tagged", "pushed", "published", "packed"]


def test_without_a_binary_server_only_the_source_server_is_written(tmp_path: Path) -> None:
    setup = publishing(tmp_path, binary=False)
    ok(setup, "weekly", "w.2025.24")
    assert sorted(p.name for p in (source(setup) / "tags").iterdir()) == [
        "index.json",
        "w_2025_24.list",
        "w_latest.list",
    ]
    assert not binary(setup).exists()
    assert stages(setup, "weekly", "w.2025.24") == ["tagged", "pushed", "published"]


def test_without_servers_a_session_publishes_nothing(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    text = ok(setup, "weekly", "w.2025.24")
    assert "publish" not in text.replace("published", "")
    assert not (tmp_path / "srv").exists()


def test_weekly_candidate_final_publish_the_right_tags_and_sources(tmp_path: Path) -> None:
    setup = publishing(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    rc1 = ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert "publish b1 as v29_1_0_rc1 to " in rc1  # a candidate has no floating tag
    final = ok(setup, "final", "29.1.0")
    assert "publish b1 as v29_1_0, o_latest to " in final
    assert "SOURCE=package" in final
    built = versions(setup, "b1")  # the same SHAs all along: one build
    names = ["o_latest", "v29_1_0", "v29_1_0_rc1", "w_2025_24", "w_latest"]
    assert json.loads((source(setup) / "tags" / "index.json").read_text()) == [
        f"{n}.list" for n in names
    ]
    for tag in names:
        listed = (source(setup) / "tags" / f"{tag}.list").read_text()
        assert listed == tag_list(tag, "b1", "generic", built)
        assert (binary(setup) / f"{tag}.list").read_text() == tag_list(tag, "b1", "generic", built)
    assert stages(setup, "release_candidate", "v29.1.0.rc1") == [
        "tagged", "pushed", "built", "published", "packed",
    ]  # fmt: skip
    assert stages(setup, "final_release", "29.1.0")[-2:] == ["published", "packed"]
    for name in PACKAGES:  # a version is published once: the weekly's, cloned from git
        assert pkginfo(setup, name, built[name])["SOURCE"] == "'git'"


def test_a_final_embeds_the_source_of_the_versions_it_publishes_first(tmp_path: Path) -> None:
    """A final published to a server that has none of its versions (the weekly and the
    candidate were not published there): every package is made with SOURCE=package, the
    source inside it, so that it installs without git access."""
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    text = setup.config.read_text().replace('stack = "stack"\n', 'stack = "stack"\n'
                                            'source_server = "srv/src"\n')  # fmt: skip
    setup.config.write_text(text)
    ok(setup, "final", "29.1.0")
    built = versions(setup, "b1")
    for name in PACKAGES:
        info = pkginfo(setup, name, built[name])
        assert (info["VERSION"], info["SOURCE"]) == (f"'{built[name]}'", "'package'")
    assert sorted(p.name for p in (source(setup) / "tags").iterdir()) == [
        "index.json",
        "o_latest.list",
        "v29_1_0.list",
    ]


def test_a_failed_publish_is_finished_by_a_rerun_that_only_publishes(tmp_path: Path) -> None:
    """The build is green and journaled; the source server holds a file the publish would
    write with other bytes: exit 1 with nothing published; the rerun after the fix builds
    nothing, publishes, and a third run writes nothing. (A destination that cannot be
    written at all is refused before anything is tagged: see below.)"""
    setup = publishing(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    (tmp_path / "srv").rename(tmp_path / "srv-weekly")
    conflict(setup)
    code, _out, err = run(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 1, err
    assert stages(setup, "release_candidate", "v29.1.0.rc1") == ["tagged", "pushed", "built"]
    (source(setup) / "config.txt").unlink()
    text = ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert "build: v29.1.0.rc1: already built (journal)" in text
    assert "built base" not in text and "reused" not in text  # no rebuild at all
    assert "publish b1 as v29_1_0_rc1 to " in text
    events = journal_json(setup.journal("release_candidate", "v29.1.0.rc1"))["events"]
    mine = [(e[2], e[3].split(" to ")[0]) for e in events if e[1] == OPERATION_RC1]
    assert [e for e in mine if e[0] in ("built", "published", "packed")] == [
        ("built", "build b1 from v29.1.0.rc1"),
        ("published", "b1 as v29_1_0_rc1"),
        ("packed", "b1 as v29_1_0_rc1 for Linux64"),
    ]
    before = {"src": tree(source(setup)), "bin": tree(binary(setup))}
    again = ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert "publish: v29.1.0.rc1: already published (journal)" in again
    assert {"src": tree(source(setup)), "bin": tree(binary(setup))} == before


def test_a_dry_run_shows_the_publish_and_tarball_and_writes_no_server_file(
    tmp_path: Path,
) -> None:
    setup = publishing(tmp_path)
    code, out, err = run(setup, "weekly", "w.2025.24", "--dry-run", "--json")
    assert code == 0, err
    document: Any = json.loads(out)
    src, bin_ = str(source(setup)), str(binary(setup))
    publish = ["dm-release", "publish", "--tag", "w_2025_24", "--products", "meta",
               "--source", "git", "--server-dir", src]  # fmt: skip
    tarball = ["dm-release", "tarball", "--tag", "w_2025_24", "--products", "meta",
               "--flavor", "Linux64", "--server-dir", bin_]  # fmt: skip
    planned = [w for w in document["would"] if w["command"][0] == "dm-release"]
    assert planned == [
        {"package": "meta", "command": publish},
        {"package": "meta", "command": tarball},
    ]
    assert document["would"][-2:] == planned  # after the git commands
    lines = err.splitlines()
    assert lines[-2:] == [f"meta: {' '.join(publish)}", f"meta: {' '.join(tarball)}"]
    assert not (tmp_path / "srv").exists()


def test_a_final_s_dry_run_publishes_with_the_source_embedded(tmp_path: Path) -> None:
    setup = publishing(tmp_path, binary=False)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    before = tree(source(setup))
    code, out, err = run(setup, "final", "29.1.0", "--dry-run", "--json")
    assert code == 0, err
    planned = [w["command"] for w in json.loads(out)["would"] if w["command"][0] == "dm-release"]
    assert planned == [
        ["dm-release", "publish", "--tag", "v29_1_0", "--products", "meta", "--source",
         "package", "--server-dir", str(source(setup))],
    ]  # fmt: skip
    assert tree(source(setup)) == before


def test_a_weekly_whose_publish_failed_publishes_its_build_when_rerun(tmp_path: Path) -> None:
    """A weekly is built, then tagged, then published: rerun after a failed publish (a
    conflicting server file), it finishes its journaled plan (no build, no tag) and
    publishes the build it tagged."""
    setup = publishing(tmp_path)
    conflict(setup)
    code, _out, err = run(setup, "weekly", "w.2025.24")
    assert code == 1, err
    assert stages(setup, "weekly", "w.2025.24") == ["tagged", "pushed"]
    (source(setup) / "config.txt").unlink()
    text = ok(setup, "weekly", "w.2025.24")
    assert "finishing the journaled plan" in text and "built base" not in text
    assert "publish b1 as w_2025_24, w_latest to " in text
    listed = (source(setup) / "tags" / "w_2025_24.list").read_text()
    assert listed == tag_list("w_2025_24", "b1", "generic", versions(setup, "b1"))
    assert stages(setup, "weekly", "w.2025.24") == ["tagged", "pushed", "published", "packed"]


def test_a_final_embeds_the_source_of_its_new_versions_and_keeps_the_weekly_s(
    tmp_path: Path,
) -> None:
    """weekly (published), rc1 from it, a ticket backported to v29.1.x in afw and utils,
    rc2, then the final, built and published: afw, utils and meta (its dependency hash)
    are new versions, made with their source inside (SOURCE=package); base is the weekly's
    version, published once, with SOURCE=git, as the real eups distrib create keeps it."""
    setup = publishing(tmp_path, binary=False)
    ok(setup, "weekly", "w.2025.24")
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    for package in ("afw", "utils"):
        merge_ticket(setup, package, "DM-40100", f"python/{package}/fix.py", "FIXED = True\n")
    ok(setup, "backport", "DM-40100", "--to", "v29.1.x", "--packages", "afw", "utils", "--merge")
    ok(setup, "candidate", "v29.1.0.rc2", "--no-build")
    text = ok(setup, "final", "29.1.0")
    assert "publish b2 as v29_1_0, o_latest to " in text
    weekly, final = versions(setup, "b1"), versions(setup, "b2")
    assert [n for n in PACKAGES if final[n] != weekly[n]] == ["afw", "meta", "utils"]
    sources = {n: pkginfo(setup, n, final[n])["SOURCE"] for n in PACKAGES}
    assert sources == {"afw": "'package'", "base": "'git'", "meta": "'package'",
                       "utils": "'package'"}  # fmt: skip
    for tag in ("v29_1_0", "o_latest"):
        listed = (source(setup) / "tags" / f"{tag}.list").read_text()
        assert listed == tag_list(tag, "b2", "generic", final)
    listed = (source(setup) / "tags" / "w_latest.list").read_text()
    assert listed == tag_list("w_latest", "b1", "generic", weekly)  # the weekly's still
