"""``dm-release notes`` on real repositories (tests/integration/notes_helpers.py): two
releases made by the real release sessions, exact Markdown, reStructuredText (checked with
docutils) and JSON, the overrides, the template, the narrative, the usage errors."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from notes_helpers import checksum, notes, releases_fixture, versions
from release_helpers import Setup

from git_trace import tracing


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    yield from releases_fixture(tmp_path_factory)


def expected_markdown(setup: Setup, head: str, tickets: str, problems: str = "") -> str:
    old, new = versions(setup, "b1"), versions(setup, "b2")
    return (
        f"# meta v29.1.0.rc1 release notes\n\n{head}\n\n"
        "5 tickets, 8 commits; packages: 1 new, 1 removed, 3 changed, 0 rebuilt, 1 unchanged.\n\n"
        f"{tickets}"
        "## Package changes\n\n"
        "| Package | Change | Old version | New version |\n"
        "| --- | --- | --- | --- |\n"
        f"| afw | changed | `{old['afw']}` | `{new['afw']}` |\n"
        f"| meta | changed | `{old['meta']}` | `{new['meta']}` |\n"
        f"| newpkg | new | `-` | `{new['newpkg']}` |\n"
        f"| oldpkg | removed | `{old['oldpkg']}` | `-` |\n"
        f"| utils | changed | `{old['utils']}` | `{new['utils']}` |\n\n"
        "## Technical details\n\n"
        "- Since: `29.0.0`\n"
        "- Since build: `b1`\n"
        "- Git tag: `v29.1.0.rc1`\n"
        "- EUPS tag: `v29_1_0_rc1`\n"
        "- Build: `b2`\n"
        f"- Manifest checksum: `{checksum(setup, 'v29.1.0.rc1')}`\n"
        f"- Third-party EUPS products: base `{new['base']}`\n"
        "- Conda environment: numpy `1.26.4`, scipy `>=1.11`\n\n"
        "## Installation\n\n"
        "Install meta v29.1.0.rc1 from the source server with EUPS:\n\n"
        "```bash\n"
        "eups distrib install -t v29_1_0_rc1 meta\n"
        "setup -t v29_1_0_rc1 meta\n"
        "```\n"
        f"{problems}"
    )


NO_NARRATIVE = (
    "_No narrative yet: write it (what this release brings, for its users) in a text file "
    "and give it with --narrative FILE._"
)
TICKETS_FROM_COMMITS = (
    "## Other issues\n\n"
    "- **DM-99**: DM-102 and DM-99: the warper too (afw)\n"
    "- **DM-101**: Add the warper (afw)\n"
    "- **DM-102**: Speed up the parser (afw, utils)\n"
    "- **DM-103**: newpkg replaces oldpkg (meta)\n"
    "- **DM-104**: Read FITS v4 (utils)\n\n"
)


def test_notes_between_two_releases_from_the_commits_alone(releases: Setup) -> None:
    code, out, err = notes(releases, "29.0.0..v29.1.0.rc1", "--no-jira")
    assert (code, err) == (0, "")
    assert out == expected_markdown(releases, NO_NARRATIVE, TICKETS_FROM_COMMITS)


def test_until_alone_is_since_the_previous_final_and_gives_the_same_bytes(
    releases: Setup,
) -> None:
    first = notes(releases, "29.0.0..v29.1.0.rc1", "--no-jira")
    assert notes(releases, "v29.1.0.rc1", "--no-jira") == first
    assert notes(releases, "v29.1.0.rc1", "--no-jira") == first  # deterministic


def test_build_ids_and_manifest_files_give_the_same_tickets_and_packages(
    releases: Setup, tmp_path: Path
) -> None:
    code, out, _err = notes(releases, "b1..b2", "--no-jira", "--json")
    by_build = json.loads(out)
    manifests = releases.root / "versiondb" / "manifests"
    code2, out2, _err2 = notes(
        releases, "--manifests", str(manifests / "b1.txt"), str(manifests / "b2.txt"),
        "--no-jira", "--json",
    )  # fmt: skip
    by_file = json.loads(out2)
    assert (code, code2) == (0, 0)
    assert by_build["ticket_keys"] == ["DM-99", "DM-101", "DM-102", "DM-103", "DM-104"]
    assert by_file["tickets"] == by_build["tickets"]
    assert by_file["packages"] == by_build["packages"]
    assert [(p["name"], p["change"], p["commits"]) for p in by_build["packages"]] == [
        ("afw", "changed", 3), ("meta", "changed", 1), ("newpkg", "new", 0),
        ("oldpkg", "removed", 0), ("utils", "changed", 4),
    ]  # fmt: skip
    assert by_build["facts"]["git_tag"] is None
    assert (by_file["facts"]["since"], by_file["facts"]["until"]) == ("b1.txt", "b2.txt")
    assert by_build["verb"] == "notes" and by_build["ok"] is True


def test_narrative_overrides_and_template_from_files(releases: Setup, tmp_path: Path) -> None:
    narrative = tmp_path / "narrative.md"
    narrative.write_text("This release brings the warper.\n")
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        "DM-99:\n  hide: true\nDM-101:\n  summary: A new warper\n  section: Highlights\n"
    )
    template = tmp_path / "install.txt"
    template.write_text("Run: eups distrib install -t {eups_tag} {product} ({build_id})\n")
    code, out, err = notes(
        releases, "v29.1.0.rc1", "--no-jira", "--narrative", str(narrative),
        "--overrides", str(overrides), "--template", str(template),
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith(
        "# meta v29.1.0.rc1 release notes\n\nThis release brings the warper.\n\n"
        "4 tickets, 8 commits; packages: 1 new, 1 removed, 3 changed, 0 rebuilt, 1 unchanged.\n\n"
        "## Other issues\n\n"
        "- **DM-102**: Speed up the parser (afw, utils)\n"
        "- **DM-103**: newpkg replaces oldpkg (meta)\n"
        "- **DM-104**: Read FITS v4 (utils)\n\n"
        "## Highlights\n\n"
        "- **DM-101**: A new warper (afw)\n\n"
        "## Package changes\n"
    )
    assert out.endswith("## Installation\n\nRun: eups distrib install -t v29_1_0_rc1 meta (b2)\n")


def test_a_toml_override_naming_an_absent_ticket_is_a_problem_and_strict_fails(
    releases: Setup, tmp_path: Path
) -> None:
    overrides = tmp_path / "overrides.toml"
    overrides.write_text('[DM-7]\nhide = true\n\n[DM-103]\nsection = "epics"\n')
    args = ("v29.1.0.rc1", "--no-jira", "--overrides", str(overrides), "--format", "json")
    code, out, err = notes(releases, *args)
    problem = (
        f"{overrides}:1: override-unused: DM-7 is overridden but no commit of the release "
        "carries it"
    )
    assert (code, err) == (0, problem + "\n")
    data = json.loads(out)
    assert [(t["key"], t["section"]) for t in data["tickets"]][:1] == [("DM-103", "epics")]
    assert notes(releases, *args, "--strict") == (1, out, err)


def test_usage_errors_exit_2(releases: Setup) -> None:
    assert notes(releases, "29.0.0..v29.9.0.rc1", "--no-jira")[::2] == (
        2, "dm-release: error: release v29.9.0.rc1: no such tag in meta\n",
    )  # fmt: skip
    code, _out, err = notes(releases, "nonsense", "--no-jira")
    hint = (
        "give UNTIL or SINCE..UNTIL, each a release (29.0.0, v29.1.0.rc2), a weekly "
        "(w.2025.24) or a build id (b1234)"
    )
    assert (code, err) == (2, f"dm-release: error: 'nonsense' is not a range of releases: {hint}\n")
    code, _out, err = notes(releases, "b1..b9", "--no-jira")
    assert code == 2 and "build b9 is not in versiondb" in err


def test_rst_output_file_is_valid_restructuredtext(releases: Setup, tmp_path: Path) -> None:
    target = tmp_path / "notes.rst"
    code, out, err = notes(releases, "v29.1.0.rc1", "--no-jira", "--format", "rst",
                           "--output", str(target))  # fmt: skip
    text = target.read_text()
    assert (code, out) == (0, "")
    assert err == f"notes: wrote {target} ({len(text.encode())} bytes)\n"
    assert text.startswith("meta v29.1.0.rc1 release notes\n==============================\n\n")
    assert ".. code-block:: bash\n\n   eups distrib install -t v29_1_0_rc1 meta\n" in text
    docutils = pytest.importorskip("docutils.core", reason="docutils is not installed")
    messages = io.StringIO()
    docutils.publish_doctree(
        text, settings_overrides={"warning_stream": messages, "report_level": 2,
                                  "halt_level": 5},
    )  # fmt: skip
    assert messages.getvalue() == ""


def test_one_git_log_per_changed_package_and_one_fetch_each(
    releases: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tracing(releases.root, monkeypatch) as trace:
        assert notes(releases, "29.0.0..v29.1.0.rc1", "--no-jira")[0] == 0
    assert trace.count("log") == {"afw": 1, "meta": 1, "utils": 1}  # new/removed: none
    assert trace.count("fetch") == {"afw": 1, "base": 1, "meta": 1, "newpkg": 1, "utils": 1}
    assert trace.count("clone") == {}  # the release sessions' clones are reused


def test_the_files_a_person_wrote_are_refused_before_any_fetch(
    releases: Setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / "install.md"
    template.write_text("Install it:\n\n    eups distrib install {tag}\n")
    overrides = tmp_path / "o.yaml"
    overrides.write_text("DM-101:\n  summary: [a, b]\n")
    with tracing(releases.root, monkeypatch) as trace:
        assert notes(releases, "v29.1.0.rc1", "--template", str(template)) == (
            1, "", f"{template}:3: notes-template: unknown placeholder {{tag}} (placeholders: "
            "{product}, {version}, {git_tag}, {eups_tag}, {build_id}, {manifest_checksum})\n",
        )  # fmt: skip
        assert notes(releases, "v29.1.0.rc1", "--overrides", str(overrides)) == (
            1, "", f"{overrides}:1: notes-overrides: DM-101.summary: expected a non-empty text "
            "(each ticket maps to hide: true, summary: TEXT and/or section: TITLE)\n",
        )  # fmt: skip
        missing = tmp_path / "narrative.md"
        assert notes(releases, "v29.1.0.rc1", "--narrative", str(missing)) == (
            2, "", f"dm-release: error: {missing}: cannot read the narrative: No such file or "
            "directory\n",
        )  # fmt: skip
    assert trace.calls() == []
