"""JiraClient against the local Jira (demo/jira_server), which speaks Jira Data Center's
REST v2: issues and their Blocks links, search with JQL and paging, project versions, Fix
Version updates; 401 for a missing or wrong Bearer token, 404, 429 with Retry-After and
503; the cache under the state directory; at most jira.jobs requests in flight."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmrelease.adapters.jira import JiraClient, JiraError, JiraNotConfigured
from dmrelease.core.config import Config, Secret
from dmrelease.core.jira import JiraIssue
from dmrelease.demo.jira_server import LocalJira, serve_jira

TOKEN = "pat-5e1f0c0ffee0123456789"
ISSUE = "/rest/api/2/issue/"
SEARCH = ("POST", "/rest/api/2/search")


@pytest.fixture
def jira() -> Iterator[LocalJira]:
    with serve_jira(TOKEN) as server:
        server.add_issue("DM-40000", "Release 29.1.0", "Task", "In Progress")
        server.add_issue("DM-40011", "The afw Python package", "Epic", blocks=["DM-40000"])
        server.add_issue("DM-40017", "Make pipe_tasks a Python package", blocks=["DM-40000"])
        server.add_issue("DM-40100", "Fix fix.py", "Bug", "In Progress", blocks=["DM-40000"],
                         fix_versions=["29.0.1"])  # fmt: skip
        yield server


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def client(jira: LocalJira, cache: Path | None = None, **options: object) -> JiraClient:
    token = options.pop("token", TOKEN)
    secret = Secret(str(token)) if token else None
    return JiraClient(jira.url, secret, cache_dir=cache, **options)  # type: ignore[arg-type]


def test_issues_with_their_status_type_fix_versions_and_blockers(jira: LocalJira) -> None:
    found = client(jira).issues(["DM-40100", "DM-40000", "DM-99999", "DM-40100"])
    assert found == {
        "DM-40000": JiraIssue("DM-40000", "Release 29.1.0", "Task", "In Progress", False,
                              blocked_by=("DM-40011", "DM-40017", "DM-40100")),
        "DM-40100": JiraIssue("DM-40100", "Fix fix.py", "Bug", "In Progress", False,
                              fix_versions=("29.0.1",)),
    }  # fmt: skip
    assert list(found) == ["DM-40000", "DM-40100"]
    assert sorted(jira.requests) == [
        ("GET", ISSUE + "DM-40000"), ("GET", ISSUE + "DM-40100"), ("GET", ISSUE + "DM-99999")
    ]  # fmt: skip


def test_the_blockers_of_the_release_issue_by_a_search_in_key_order(jira: LocalJira) -> None:
    blockers = client(jira).blockers("DM-40000")
    assert [(b.key, b.issue_type, b.done) for b in blockers] == [
        ("DM-40011", "Epic", True), ("DM-40017", "Story", True), ("DM-40100", "Bug", False)
    ]  # fmt: skip
    assert jira.requests == [SEARCH]


def test_a_search_reads_every_page(jira: LocalJira) -> None:
    for n in range(1, 6):
        jira.add_issue(f"DM-5000{n}", f"blocker {n}", blocks=["DM-40000"])
    jira.max_results = 2  # Jira gives fewer than asked: the client pages by what it got
    keys = [b.key for b in client(jira).blockers("DM-40000")]
    assert keys == ["DM-40011", "DM-40017", "DM-40100", *(f"DM-5000{n}" for n in range(1, 6))]
    assert jira.requests == [SEARCH] * 4  # 8 issues, 2 a page


def test_without_a_token_jira_asks_for_one_naming_the_variable(jira: LocalJira) -> None:
    with pytest.raises(JiraError) as raised:
        client(jira, token=None).issue("DM-40000")
    assert str(raised.value) == (
        f"GET {jira.url}/rest/api/2/issue/DM-40000: Jira asks to sign in (401 Unauthorized): "
        "set DM_RELEASE_JIRA_TOKEN (a personal access token)"
    )
    assert raised.value.exit_code == 2


def test_a_wrong_token_is_refused_and_never_shown(jira: LocalJira) -> None:
    wrong = "pat-wrong-0123456789abcdef"
    with pytest.raises(JiraError) as raised:
        client(jira, token=wrong).issue("DM-40000")
    assert str(raised.value) == (
        f"GET {jira.url}/rest/api/2/issue/DM-40000: Jira refused the token (401 "
        "Unauthorized): set DM_RELEASE_JIRA_TOKEN to a valid personal access token"
    )
    assert wrong not in str(raised.value) and TOKEN not in str(raised.value)


def test_an_unknown_issue_is_none_an_unknown_project_an_error_with_jiras_words(
    jira: LocalJira,
) -> None:
    jira_client = client(jira)
    assert jira_client.issue("DM-1") is None
    with pytest.raises(JiraError) as raised:
        jira_client.versions("NOPE")
    assert str(raised.value) == (
        f"GET {jira.url}/rest/api/2/project/NOPE/versions: Jira answered 404 Not Found: "
        "No project could be found with key 'NOPE'."
    )


def test_429_is_sent_again_after_its_retry_after(jira: LocalJira) -> None:
    jira.fail_next(ISSUE + "DM-40011", 429, retry_after=7)
    waits, log = Waits(), io.StringIO()
    issue = client(jira, sleep=waits, log=log).issue("DM-40011")
    assert issue is not None and issue.epic
    assert waits.seconds == [7.0]
    assert log.getvalue() == (
        "jira: GET /rest/api/2/issue/DM-40011: 429 Too Many Requests: trying again in 7 s "
        "(1 of 5)\n"
    )
    assert jira.requests == [("GET", ISSUE + "DM-40011")] * 2


def test_503_without_retry_after_backs_off_then_gives_up_at_jira_retries(
    jira: LocalJira,
) -> None:
    jira.fail_next("/rest/api/2/search", 503, times=2)
    waits = Waits()
    assert len(client(jira, sleep=waits, retries=2).blockers("DM-40000")) == 3
    assert waits.seconds == [1.0, 2.0]
    jira.fail_next("/rest/api/2/search", 503, times=3)
    waits = Waits()
    with pytest.raises(JiraError) as raised:
        client(jira, sleep=waits, retries=2).blockers("DM-40000")
    assert str(raised.value) == (
        f"POST {jira.url}/rest/api/2/search: Jira is still busy (503 Service Unavailable) "
        "after 2 retries (jira.retries)"
    )
    assert waits.seconds == [1.0, 2.0]


def test_at_most_jobs_requests_are_in_flight(jira: LocalJira) -> None:
    keys = [f"DM-6000{n}" for n in range(1, 10)]
    for key in keys:
        jira.add_issue(key, key)
    jira.gate(3)  # each answer waits until 3 requests are in flight together
    assert list(client(jira, jobs=3).issues(keys)) == keys
    assert jira.max_in_flight == 3
    assert len(jira.requests) == 9


def test_a_rerun_asks_jira_nothing_it_asked_before(jira: LocalJira, tmp_path: Path) -> None:
    cache = tmp_path / "state" / "jira"
    first = client(jira, cache)
    found = first.issues(["DM-40000", "DM-40011", "DM-2"])
    blockers = first.blockers("DM-40000")
    asked = list(jira.requests)
    assert len(asked) == 4
    again = client(jira, cache)
    assert again.issues(["DM-40000", "DM-40011", "DM-2"]) == found
    assert again.blockers("DM-40000") == blockers
    assert again.issue("DM-40017") == blockers[1]  # read by the search: cached as an issue
    assert jira.requests == asked
    jira.set_status("DM-40100", "Done")
    fresh = client(jira, cache, refresh=True)
    assert [b.done for b in fresh.blockers("DM-40000")] == [True, True, True]
    assert [b.done for b in fresh.blockers("DM-40000")] == [True, True, True]
    assert jira.requests == [*asked, SEARCH]  # refreshed once, then from the cache


def test_the_project_version_is_created_once(jira: LocalJira, tmp_path: Path) -> None:
    cache = tmp_path / "jira"
    assert client(jira, cache).ensure_version("DM", "29.1.0", dry_run=True) is True
    assert jira.versions("DM") == ["29.0.1"]
    assert client(jira, cache).ensure_version("DM", "29.1.0") is True
    assert client(jira, cache).ensure_version("DM", "29.1.0") is False
    assert client(jira, tmp_path / "other").ensure_version("DM", "29.1.0") is False
    assert jira.versions("DM") == ["29.0.1", "29.1.0"]
    assert jira.writes() == [("POST", "/rest/api/2/version")]


def test_a_version_made_by_a_request_answered_busy_is_not_made_twice(jira: LocalJira) -> None:
    """Jira made the version, its proxy answered 503: the POST sent again is refused (the
    version exists), and the version is taken as made."""
    jira.fail_next("/rest/api/2/version", 503, retry_after=1, after=True)
    waits = Waits()
    assert client(jira, sleep=waits).ensure_version("DM", "29.1.0") is True
    assert jira.versions("DM") == ["29.0.1", "29.1.0"]
    assert waits.seconds == [1.0]
    assert jira.requests == [
        ("GET", "/rest/api/2/project/DM/versions"),
        ("POST", "/rest/api/2/version"),
        ("POST", "/rest/api/2/version"),
        ("GET", "/rest/api/2/project/DM/versions"),
    ]


def test_a_fix_version_is_added_once_and_the_written_issue_read_again(
    jira: LocalJira, tmp_path: Path
) -> None:
    cache = tmp_path / "jira"
    jira.add_project("DM")
    jira_client = client(jira, cache)
    jira_client.ensure_version("DM", "29.0.1")
    jira_client.ensure_version("DM", "29.1.0")
    keys = ["DM-40011", "DM-40017", "DM-40100", "DM-404"]
    assert jira_client.add_fix_version(keys, "29.1.0", dry_run=True) == keys[:3]
    assert jira.writes() == [("POST", "/rest/api/2/version")]
    assert jira_client.add_fix_version(keys, "29.1.0") == keys[:3]
    assert [f["name"] for f in jira.issue_fields("DM-40100")["fixVersions"]] == [
        "29.0.1", "29.1.0"]  # fmt: skip
    puts = [("PUT", ISSUE + k) for k in keys[:3]]
    assert sorted(jira.writes()) == sorted([("POST", "/rest/api/2/version"), *puts])
    before = len(jira.requests)
    again = client(jira, cache)
    assert again.add_fix_version(keys, "29.1.0") == []
    # the written issues are read again (a write drops them from the cache), not written
    assert sorted(jira.requests[before:]) == [("GET", ISSUE + k) for k in keys[:3]]
    assert client(jira, cache).add_fix_version(keys, "29.1.0") == []
    assert len(jira.requests) == before + 3  # the third run asks nothing


def test_an_unknown_version_is_refused_with_jiras_field_error(jira: LocalJira) -> None:
    with pytest.raises(JiraError) as raised:
        client(jira).add_fix_version(["DM-40011"], "31.0.0")
    assert str(raised.value) == (
        f"PUT {jira.url}/rest/api/2/issue/DM-40011: Jira answered 400 Bad Request: "
        "fixVersions: Version name '31.0.0' is not valid"
    )


def test_an_unreachable_jira_says_so() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(JiraError) as raised:
        JiraClient(f"http://127.0.0.1:{port}", None).issue("DM-1")
    assert str(raised.value) == (
        f"GET http://127.0.0.1:{port}/rest/api/2/issue/DM-1: Jira is unreachable: "
        "Connection refused"
    )


def test_without_jira_url_the_client_is_not_configured() -> None:
    with pytest.raises(JiraNotConfigured) as raised:
        JiraClient.of(Config())
    assert (str(raised.value), raised.value.exit_code) == (
        "no Jira to ask: set jira.url in dm-release.toml, or DM_RELEASE_JIRA_URL", 2)  # fmt: skip


def test_the_client_of_a_config_caches_under_its_state_dir(jira: LocalJira, tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path / "state", jira_url=jira.url, jira_token=Secret(TOKEN))
    assert JiraClient.of(config).issue("DM-40011") is not None
    assert sorted(p.name for p in (tmp_path / "state" / "jira" / "issues").iterdir()) == [
        "DM-40011.json"]  # fmt: skip
