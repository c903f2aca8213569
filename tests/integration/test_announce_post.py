"""dm-release announce against a local Discourse (discourse_fake) and a local Jira
(demo/jira_server): a dry run sends nothing; --post posts once and a rerun finds the topic
and posts nothing; Discourse's refusals exit 2 naming what it said, never the key; a
rate-limited post is sent again after the wait Discourse gives; the blockers come from
Jira."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from discourse_fake import INVALID_ACCESS, FakeDiscourse, fake_discourse

from dmrelease import cli
from dmrelease.core.announce import Announcement, Blocker, render_markdown
from dmrelease.demo.jira_server import serve_jira

KEY = "d1sc0urse-k3y-0123456789abcdef"
USER = "release-bot"
CATEGORY = 5
START = dt.date(2025, 3, 10)
ARGS = ("announce", "29.1.0", "--weekly", "w.2025.10", "--start", "2025-03-10",
        "--end", "2025-03-21")  # fmt: skip
TITLE = "Upcoming release 29.1.0, from w.2025.10"
VARIABLES = ("DM_RELEASE_CONFIG", "DM_RELEASE_DISCOURSE_URL", "DM_RELEASE_DISCOURSE_USER",
             "DM_RELEASE_DISCOURSE_CATEGORY", "DM_RELEASE_DISCOURSE_API_KEY",
             "DM_RELEASE_ANNOUNCE_FEEDBACK", "DM_RELEASE_JIRA_URL", "DM_RELEASE_JIRA_TOKEN",
             "RELEASE_ISSUE")  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeDiscourse]:
    with fake_discourse({KEY: USER}) as fake:
        fake.add_category(CATEGORY, "announcements")
        fake.add_category(7, "support")
        yield fake


@pytest.fixture
def configured(fake: FakeDiscourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dm-release.toml naming the fake, its user and category; the key in the environment."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "dm-release.toml"
    config.write_text(
        f'[discourse]\nurl = "{fake.url}"\nuser = "{USER}"\ncategory = {CATEGORY}\n\n'
        '[announce]\nfeedback = "Reply here, or write to #dm-release."\n'
    )
    monkeypatch.setenv("DM_RELEASE_DISCOURSE_API_KEY", KEY)
    return config


def dm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    """Exit code, stdout, and the lines of stderr but the note on how far the start is
    (which depends on today: checked in its own test)."""
    code = cli.main([*ARGS, *argv])
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, out, [line for line in err.splitlines() if not line.startswith("note: ")]


def expected_post(release_issue: str | None = None, blockers=None) -> str:  # type: ignore[no-untyped-def]
    return render_markdown(Announcement(
        "29.1.0", "w.2025.10", START, dt.date(2025, 3, 21), release_issue, blockers,
        "Reply here, or write to #dm-release.",
    ))  # fmt: skip


LOOKUP = [f"GET /c/{CATEGORY}.json?page=0", f"GET /c/announcements/{CATEGORY}.json?page=0"]


def test_a_dry_run_prints_the_post_and_what_it_would_send_and_sends_nothing(
    fake: FakeDiscourse, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "announce.md"
    code, out, err = dm(capsys, "--output", str(output))
    assert code == 0
    assert out == expected_post()
    assert out.splitlines()[0] == f"# {TITLE}"
    assert output.read_bytes() == out.encode()
    assert err == [
        f"wrote {output}",
        f"dry run: would POST {fake.url}/posts.json (title '{TITLE}', category {CATEGORY}) "
        "unless that category has a topic of this title; nothing sent",
    ]
    assert fake.requests == []
    code, out, _ = dm(capsys, "--dry-run", "--json")
    document = json.loads(out)
    assert (code, document["ok"], document["dry_run"], document["topic"]) == (0, True, True, None)
    assert document["would"] == {"method": "POST", "url": f"{fake.url}/posts.json", "body": {
        "title": TITLE, "raw": expected_post(), "category": CATEGORY}}  # fmt: skip
    assert document["markdown"] == expected_post()
    assert document["announcement"]["title"] == TITLE
    assert fake.requests == []


def test_post_posts_once_and_a_rerun_finds_the_topic_and_posts_nothing(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = dm(capsys, "--post")
    topic = fake.topics[-1]
    url = f"{fake.url}/t/{topic.slug}/{topic.id}"
    assert (code, out, err) == (0, expected_post(), [f"posted: topic {topic.id} ({url})"])
    assert (topic.title, topic.raw, topic.category, topic.username) == (
        TITLE, expected_post(), CATEGORY, USER)  # fmt: skip
    assert fake.requests == [*LOOKUP, "POST /posts.json"]
    assert {(h["api-key"], h["api-username"]) for h in fake.headers} == {(KEY, USER)}
    count = len(fake.topics)
    code, out, err = dm(capsys, "--post", "--json")
    document = json.loads(out)
    assert (code, document["dry_run"], document["would"]) == (0, False, None)
    assert document["topic"] == {"id": topic.id, "slug": topic.slug, "url": url,
                                 "created": False}  # fmt: skip
    assert err == [
        *expected_post().splitlines(),  # the human text: on stderr under --json
        f"already posted: topic {topic.id} ({url}) has this title: nothing posted",
    ]
    assert fake.requests == [*LOOKUP, "POST /posts.json", *LOOKUP]
    assert len(fake.topics) == count and fake.posts() == ["POST /posts.json"]


def test_the_topic_is_found_past_the_first_page_of_the_category(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = fake.add_topic(TITLE, CATEGORY)  # posted by an earlier run, then 40 newer topics
    for number in range(40):
        fake.add_topic(f"Another topic, number {number}", CATEGORY)
    code, _, err = dm(capsys, "--post")
    slug = "upcoming-release-29-1-0-from-w-2025-10"
    assert (code, err) == (0, [f"already posted: topic {mine} ({fake.url}/t/{slug}/{mine}) has "
                               "this title: nothing posted"])  # fmt: skip
    assert fake.requests == [*LOOKUP, f"GET /c/{CATEGORY}.json?page=1",
                             f"GET /c/announcements/{CATEGORY}.json?page=1"]  # fmt: skip


def test_refusals_exit_2_with_what_discourse_said_never_the_key(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    fake.add_topic(TITLE, 7)  # the title is taken in another category: Discourse refuses it
    code, _, err = dm(capsys, "--post")
    assert (code, err) == (2, [
        f"dm-release: error: POST /posts.json: Discourse at {fake.url} refused the post (422 "
        "Unprocessable Entity: Title has already been used)"])  # fmt: skip
    assert fake.requests == [*LOOKUP, "POST /posts.json"]
    wrong = "not-the-key-of-release-bot-42"
    monkeypatch.setenv("DM_RELEASE_DISCOURSE_API_KEY", wrong)
    code, out, err = dm(capsys, "--post", "--json")
    message = (f"GET /c/{CATEGORY}.json: Discourse at {fake.url} refused the request (403 "
               f"Forbidden: {INVALID_ACCESS}): check discourse.user (DM_RELEASE_DISCOURSE_USER) "
               "and DM_RELEASE_DISCOURSE_API_KEY")  # fmt: skip
    assert (code, err[-1], len(err)) == (2, f"dm-release: error: {message}", 18)  # after the post
    assert wrong not in out and json.loads(out)["error"] == message
    assert fake.posts() == ["POST /posts.json"]  # the first run's only


def test_a_rate_limited_request_is_sent_again_after_the_wait_discourse_gives(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail_next("/posts.json", 429, retry_after="0")
    fake.fail_next("/c/", 429, wait_seconds=0)  # no Retry-After: extras.wait_seconds (not 1 s)
    code, _, err = dm(capsys, "--post")
    topic = fake.topics[-1]
    assert (code, err) == (0, [
        f"discourse: GET /c/{CATEGORY}.json: 429 Too Many Requests: trying again in 0 s (1 of 5)",
        "discourse: POST /posts.json: 429 Too Many Requests: trying again in 0 s (1 of 5)",
        f"posted: topic {topic.id} ({fake.url}/t/{topic.slug}/{topic.id})",
    ])  # fmt: skip
    assert fake.requests == [f"GET /c/{CATEGORY}.json?page=0", *LOOKUP, "POST /posts.json",
                             "POST /posts.json"]  # fmt: skip
    assert [t.title for t in fake.topics].count(TITLE) == 1
    fake.fail_next("/c/", 429, retry_after="0", times=6)
    code, _, err = dm(capsys, "--post")
    assert (code, err[-1]) == (2, (
        f"dm-release: error: GET /c/{CATEGORY}.json: Discourse at {fake.url} still limits the "
        "rate (429 Too Many Requests: You\u2019ve performed this action too many times. Please "
        "wait 0 seconds before trying again.) after 5 retries"))  # fmt: skip
    assert len(err) == 6


def test_post_without_its_settings_or_an_unreachable_forum_exits_2(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("DM_RELEASE_DISCOURSE_API_KEY")
    code, out, err = dm(capsys, "--post")
    assert (code, out, err) == (
        2,
        "",
        ["dm-release: error: cannot post the announcement: set DM_RELEASE_DISCOURSE_API_KEY"],
    )
    assert fake.requests == []
    monkeypatch.setenv("DM_RELEASE_DISCOURSE_API_KEY", KEY)
    monkeypatch.setenv("DM_RELEASE_DISCOURSE_URL", "http://127.0.0.1:9")  # discard: closed
    code, out, err = dm(capsys, "--post")
    assert (code, err) == (2, [
        f"dm-release: error: GET /c/{CATEGORY}.json: Discourse at http://127.0.0.1:9 is "
        "unreachable: ConnectionError"])  # fmt: skip
    with pytest.raises(SystemExit) as stop:
        cli.main([*ARGS, "--post", "--dry-run"])
    assert (stop.value.code, capsys.readouterr().err.splitlines()[-1]) == (
        2,
        ("dm-release announce: error: argument --dry-run: not allowed with argument --post"),
    )


def test_bad_arguments_exit_2_before_anything_is_asked(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["announce", "29.1.0.rc1", "--weekly", "2025.10", "--start", "2025-03-10",
                     "--end", "2025-03-01", "--post"])  # fmt: skip
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "dm-release: error: version '29.1.0.rc1': expected a final release M.n.p (such as "
        "29.1.0); --weekly '2025.10': expected w.YYYY.WW (such as w.2025.10); --end "
        "2025-03-01 is before --start 2025-03-10\n"
    )
    assert fake.requests == []


def test_the_note_says_how_far_the_start_is(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(list(ARGS)) == 0
    note = capsys.readouterr().err.splitlines()[0]
    days = (dt.datetime.now(dt.UTC).date() - START).days  # the date is in the past
    assert note == (f"note: the release started {days} days ago: an announcement comes a few "
                    "days before")  # fmt: skip


def test_the_blockers_and_their_state_come_from_jira(
    fake: FakeDiscourse, configured: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    token = "jira-pat-0123456789abcdef"
    with serve_jira(token=token) as jira:
        jira.add_issue("DM-48000", "Release 29.1.0", status="In Progress")
        jira.add_issue("DM-48010", "Fix the flaky | test", status="In Progress",
                       blocks=["DM-48000"])  # fmt: skip
        jira.add_issue("DM-48002", "Pin numpy", status="Done", blocks=["DM-48000"])
        jira.add_issue("DM-9", "Not a blocker", status="To Do")
        monkeypatch.setenv("DM_RELEASE_JIRA_URL", jira.url)
        monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", token)
        monkeypatch.setenv("RELEASE_ISSUE", "DM-48000")  # as a Jenkins parameter gives it
        code, out, err = dm(capsys, "--post")
        blockers = (Blocker("DM-48002", "Pin numpy", "Done", True),
                    Blocker("DM-48010", "Fix the flaky | test", "In Progress", False))  # fmt: skip
        assert (code, out) == (0, expected_post("DM-48000", blockers))
        assert out.splitlines()[12:20] == [
            "2 issues block DM-48000; 1 of them done.",
            "",
            "| Issue | Summary | Status |",
            "| --- | --- | --- |",
            "| DM-48002 | Pin numpy | Done |",
            "| DM-48010 | Fix the flaky \\| test | In Progress |",
            "",
            "Still open: DM-48010.",
        ]
        assert token not in out + "".join(err) and fake.topics[-1].raw == out
        jira.set_status("DM-48010", "Done")  # the state now, not the last run's
        code, out, err = dm(capsys, "--release-issue", "DM-48000")
        assert code == 0 and out.splitlines()[12] == "2 issues block DM-48000; 2 of them done."
        assert "Still open" not in out and fake.posts() == ["POST /posts.json"]
        code, out, err = dm(capsys, "--release-issue", "DM-47999")
        assert (code, out, err) == (
            2,
            "",
            [f"dm-release: error: the release issue DM-47999 is not in the Jira at {jira.url}"],
        )


def test_an_output_that_cannot_be_written_exits_2_and_posts_nothing(
    fake: FakeDiscourse, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = dm(capsys, "--post", "--output", str(tmp_path))  # a directory
    assert (code, out) == (2, expected_post())
    assert err == [
        f"dm-release: error: {tmp_path}: cannot write the announcement: Is a directory "
        "[EISDIR]; nothing was half-written: fix it and rerun"
    ]
    assert fake.requests == []
