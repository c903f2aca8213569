"""The change-control end of the demo (DMTN-106 §2.3, §4.4, §4.6): after each final the
Fix Versions in the demo's Jira (set by the final's own ``jira`` step; the same step run
again changes nothing), then the status page of the last final, the validation of the last
candidate (installed into fresh stacks from the demo's servers) and, last, the release
notes of the last final: each a section of the tour (:mod:`dmrelease.demo.tour`), what
they write kept in the demo's directory under ``work/``.
"""

from __future__ import annotations

import dataclasses
import tarfile
from pathlib import Path

from dmrelease.adapters.files import write_atomically
from dmrelease.core.config import Config
from dmrelease.core.plan import ReleasePlan
from dmrelease.demo.jira import TICKETS
from dmrelease.demo.jira_server import LocalJira
from dmrelease.demo.tour import Row, Tour

#: where the demo keeps what this part writes, under its work dir
NOTES_DIR, STATUS_DIR = "notes", "status"


#: what the release engineer writes about a release, for its users (never generated: the
#: notes take it from this file, given with --narrative)
NARRATIVE = (
    "demo_distrib {release} is a release of the dm-release demo product. Its tickets, "
    "package changes and technical details below come from the data: the commits, Jira "
    "and versiondb.\n"
)


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def fix_versions_of(jira: LocalJira, key: str) -> list[str]:
    """The Fix Versions of ``key`` as the demo's Jira holds them."""
    return [version["name"] for version in jira.issue_fields(key).get("fixVersions", ())]


def show_fix_versions(
    tour: Tour, config: Config, jira: LocalJira, release: str, release_issue: str
) -> None:
    """The issues the final's ``jira`` step gave the Fix Version ``release`` (as the
    demo's Jira holds them), then the same step run again: it changes nothing."""
    from dmrelease.core.requests import FixVersionRequest
    from dmrelease.stages.jira_fix import fix_versions

    having = [t.key for t in TICKETS if release in fix_versions_of(jira, t.key)]
    tour.words(f"Fix Version {release} in Jira:", having)
    again = fix_versions(
        config, FixVersionRequest(release, release_issue=release_issue), tour.stage_log
    )
    tour.say(f"  dm-release jira fix-version {release}, run again: {again.lines()[-1]}")
    rerun = "changed something" if again.changed else "nothing changed"
    tour.row(Row(f"Fix Version {release}", release, repositories=_count(len(having), "issue")))
    tour.row(Row("fix-version again", release, repositories=rerun))


def status_section(tour: Tour, config: Config, release: str, release_issue: str) -> Path:
    """``dm-release status RELEASE --html``: the terminal table, and the page kept in
    ``work/status/RELEASE.html``."""
    from dmrelease.core.status import StatusRequest, render_table
    from dmrelease.stages.status import release_status, status_page

    page = config.work_dir / STATUS_DIR / f"{release}.html"
    with tour.section(
        f"Where {release} stands: dm-release status",
        "One report of a release: per package its tags on the remote (at the planned SHA), "
        "the journal's steps (tagged, pushed, built, published, packed), the image, the "
        "validation's result and the release issue in Jira; a terminal table and a "
        "static HTML page with the product's dependency graph drawn by graphviz (listed "
        "when graphviz is missing).",
        look=(f"{_relative(page, tour.root)} (open it in a browser)",),
        commands=(f"dm-release status {release} --html {_relative(page, tour.root)}",),
    ):
        status = release_status(
            config, StatusRequest(release, release_issue=release_issue), tour.stage_log
        )
        tour.detail(*(f"  {line}" for line in render_table(status).splitlines()))
        write_atomically(page, status_page(status), what="the status page")
        tour.say(
            f"  {release}: {len(status.packages)} packages; page: {_relative(page, tour.root)}"
        )
        tour.row(Row("status page", release, repositories=_relative(page, tour.root)))
    return page


def validation_section(
    tour: Tour, config: Config, plan: ReleasePlan, eups_source: Path | None
) -> Path:
    """``release validate --install`` of the last candidate: with the real EUPS client when
    ``eups_source`` is given (EUPS built from it once into the demo's work dir), else
    dm-release's own binary fetch (the source install skipped), said so; the summary's
    Markdown is printed and kept where the status page reads it."""
    from dmrelease.adapters.eups_client import EupsBuildFailed, build_eups
    from dmrelease.core.requests import ValidationRequest
    from dmrelease.stages.candidate_check import candidate_check, summary_paths

    release = plan.release
    how = (
        "EUPS is built from the given source tarball and installs it with eups distrib "
        "install from the binary server; the source install, where eupspkg builds every "
        "package (minutes), is left to the command below"
        if eups_source is not None
        else "no EUPS source tarball was given (--eups-source), so the real EUPS client is not "
        "used: the binary install is dm-release's own binary fetch and the source install is "
        "skipped"
    )
    with tour.section(
        f"Validation of the last candidate {release}: installed, inspected, its demo run",
        "A candidate is installed into fresh stacks from the binary and the source server, "
        "each product checked at its manifest version with its table file (and, from "
        "sources, its pkginfo SHA1 the tag's SHA), and the product's demo command is run "
        f"in the set-up stack; the summary says what changed since the last final. Here {how}.",
        look=("work/state/validation/demo_distrib/ (the summary, JSON and Markdown)",),
        commands=(
            f"dm-release release validate {release} --install   (before the final; after it "
            "the final's tag, same build; validate.eups: the EUPS to install with)",
        ),
    ):
        if eups_source is not None:
            try:
                setups = build_eups(eups_source, config.work_dir / "eups")
            except (EupsBuildFailed, tarfile.TarError) as exc:  # said, then without EUPS
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                tour.say(
                    f"  could not build EUPS from {eups_source.name} ({reason}): "
                    "dm-release's binary fetch instead, the source install skipped"
                )
            else:  # the binary server only: the source install builds every package
                config = dataclasses.replace(
                    config, validate_eups=str(setups), source_server=None, source_server_dir=None
                )
                tour.say(f"  EUPS: {_relative(setups, tour.root)}")
        summary = candidate_check(config, ValidationRequest(), plan, tour.stage_log)
        assert summary is not None  # the candidate is on both servers
        _json, markdown = summary_paths(config, plan.product, release)
        tour.say(*(f"  | {line}".rstrip() for line in markdown.read_text("utf-8").splitlines()))
        verdict = "passed" if summary.ok else f"failed: {'; '.join(summary.failures())}"
        tour.row(Row("validate --install", release, plan.build_id or "-", repositories=verdict))
    return markdown


def notes_section(tour: Tour, config: Config, releases: tuple[tuple[str, str], ...]) -> Path:
    """``dm-release notes`` of each final (release, its release issue), kept as
    ``work/notes/RELEASE.md``; the last one's is printed, the tour's last words."""
    from dmrelease.core.requests import NotesRequest
    from dmrelease.stages.notes import release_notes, render_markdown

    folder = config.work_dir / NOTES_DIR
    last, _issue = releases[-1]
    with tour.section(
        f"Release notes of {last}",
        "What a release contains, from the data: per package the commits since the "
        "previous final (one git log each), the tickets they carry (merged tickets/DM-N "
        "branches, DM-N in subjects) joined with Jira (completed epics first, then the "
        "other issues), the packages changed with their old and new versions, and the "
        "technical facts (git tag, EUPS tag, build, manifest checksum). Issues blocking "
        "the release issue that no commit carries, and tickets Jira does not know, would "
        "be listed as problems.",
        look=tuple(f"work/{NOTES_DIR}/{release}.md" for release, _ in releases),
        commands=tuple(
            f"dm-release notes {release} --narrative work/{NOTES_DIR}/{release}.narrative.md "
            f"--release-issue {issue} --format md|rst|json"
            for release, issue in releases
        ),
    ):
        for release, issue in releases:
            narrative = folder / f"{release}.narrative.md"
            write_atomically(narrative, NARRATIVE.format(release=release), what="the narrative")
            request = NotesRequest(None, None, release, narrative=narrative, release_issue=issue)
            notes = release_notes(config, request, tour.stage_log)
            path = folder / f"{release}.md"
            text = render_markdown(notes)
            write_atomically(path, text, what="the release notes")
            keys = notes.ticket_keys()
            tour.row(Row(f"notes {release}", release, repositories=_count(len(keys), "ticket")))
            tour.detail(f"  {release}: {', '.join(keys)}")
        tour.say(*(f"  | {line}".rstrip() for line in text.splitlines()))
    return path


def show_announcement(
    tour: Tour, config: Config, version: str, weekly: str, release_issue: str
) -> Path:
    """``dm-release announce`` of the coming release, a dry run: the community post with
    the release issue's blockers as Jira holds them now, kept as ``work/announce/V.md``."""
    from dmrelease.core.announce import Announcement, render_markdown
    from dmrelease.stages.announce import blockers_of_issue
    from dmrelease.stages.release import product_of

    blockers = blockers_of_issue(config, release_issue, tour.stage_log)
    start = tour.moment().date()
    product = product_of(config, None).name
    announcement = Announcement(
        version, weekly, start, release_issue=release_issue, blockers=blockers, product=product
    )
    path = config.work_dir / "announce" / f"{version}.md"
    text = render_markdown(announcement)
    write_atomically(path, text, what="the announcement")
    tour.say(f"  the announcement of {version} ({_relative(path, tour.root)}; --post sends it):")
    tour.say(*(f"  | {line}".rstrip() for line in text.splitlines()))
    return path
