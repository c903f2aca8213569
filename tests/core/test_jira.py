"""Jira issues as dm-release reads them (core/jira.py) from Jira Data Center's REST v2 issue
shape, and the [jira] settings: the URL, the token of the environment only, the release
issue checked to be a key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dmrelease.core.config_layers import build_options
from dmrelease.core.errors import CheckFailed, ParseError
from dmrelease.core.jira import JiraIssue, is_issue_key, issue_sort_key, parse_issue
from dmrelease.core.redact import CREDENTIAL_VARIABLES, SECRETS

#: an issue as ``GET /rest/api/2/issue/DM-40000?fields=...`` answers it (fields trimmed to
#: the ones asked for; link ids and self URLs as Jira gives them)
RELEASE_ISSUE: dict[str, Any] = {
    "expand": "renderedFields,names,schema",
    "id": "512345",
    "self": "https://jira.example.org/rest/api/2/issue/512345",
    "key": "DM-40000",
    "fields": {
        "summary": "Release 29.1.0",
        "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate",
                                                            "name": "In Progress"}},
        "issuetype": {"name": "Task", "subtask": False},
        "fixVersions": [],
        "resolution": None,
        "issuelinks": [
            {"id": "1", "type": {"name": "Blocks", "inward": "is blocked by",
                                 "outward": "blocks"},
             "inwardIssue": {"key": "DM-40100", "fields": {"summary": "Fix fix.py"}}},
            {"id": "2", "type": {"name": "Blocks", "inward": "is blocked by",
                                 "outward": "blocks"},
             "inwardIssue": {"key": "DM-40011", "fields": {"summary": "The afw package"}}},
            {"id": "3", "type": {"name": "Blocks", "inward": "is blocked by",
                                 "outward": "blocks"},
             "outwardIssue": {"key": "DM-41000", "fields": {"summary": "Release 29.2.0"}}},
            {"id": "4", "type": {"name": "Relates", "inward": "relates to",
                                 "outward": "relates to"},
             "inwardIssue": {"key": "DM-40005", "fields": {"summary": "Make log a package"}}},
            {"id": "5", "type": {"name": "Blocks", "inward": "is blocked by",
                                 "outward": "blocks"},
             "inwardIssue": {"key": "DM-40017", "fields": {"summary": "pipe_tasks"}}},
        ],
    },
}  # fmt: skip
EPIC: dict[str, Any] = {
    "key": "DM-40011",
    "fields": {
        "summary": "The afw Python package",
        "status": {"name": "Done", "statusCategory": {"key": "done"}},
        "issuetype": {"name": "Epic"},
        "fixVersions": [{"name": "29.1.0", "id": "10001"}, {"name": "29.0.1", "id": "9"}],
        "resolution": {"name": "Done"},
        "issuelinks": [],
    },
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("DM-1", True), ("DM-40000", True), ("RFC-800", True), ("A1-3", True),
     ("dm-1", False), ("DM-0", False), ("DM-01", False), ("D-1", False), ("DM1", False),
     ("DM-1 ", False), ("1DM-1", False), ("DM--1", False), ("", False)],
)  # fmt: skip
def test_issue_keys(text: str, expected: bool) -> None:
    assert is_issue_key(text) is expected


def test_keys_sort_by_project_then_number() -> None:
    keys = ["DM-10", "RFC-2", "DM-9", "DM-100", "AB-7"]
    assert sorted(keys, key=issue_sort_key) == ["AB-7", "DM-9", "DM-10", "DM-100", "RFC-2"]


def test_the_release_issue_is_blocked_by_the_inward_issues_of_its_blocks_links() -> None:
    issue = parse_issue(RELEASE_ISSUE, "https://jira/rest/api/2/issue/DM-40000")
    assert issue == JiraIssue(
        "DM-40000", "Release 29.1.0", "Task", "In Progress", False,
        fix_versions=(), blocked_by=("DM-40011", "DM-40017", "DM-40100"), resolution=None,
    )  # fmt: skip
    assert issue.epic is False


def test_a_done_epic_with_its_fix_versions() -> None:
    issue = parse_issue(EPIC, "x")
    assert (issue.done, issue.epic, issue.fix_versions, issue.resolution) == (
        True, True, ("29.1.0", "29.0.1"), "Done",
    )  # fmt: skip
    assert issue.to_dict() == {
        "key": "DM-40011", "summary": "The afw Python package", "type": "Epic",
        "status": "Done", "done": True, "epic": True, "fix_versions": ["29.1.0", "29.0.1"],
        "blocked_by": [], "resolution": "Done",
    }  # fmt: skip
    assert JiraIssue.from_dict(issue.to_dict()) == issue


def test_done_is_the_status_category_not_the_status_name() -> None:
    data = copy.deepcopy(EPIC)
    data["fields"]["status"] = {"name": "Done", "statusCategory": {"key": "indeterminate"}}
    assert parse_issue(data, "x").done is False
    data["fields"]["status"] = {"name": "Adopted", "statusCategory": {"key": "done"}}
    assert parse_issue(data, "x").done is True


def test_missing_optional_fields_read_as_empty() -> None:
    data = copy.deepcopy(EPIC)
    del data["fields"]["fixVersions"], data["fields"]["issuelinks"], data["fields"]["resolution"]
    issue = parse_issue(data, "x")
    assert (issue.fix_versions, issue.blocked_by, issue.resolution) == ((), (), None)


def _bad(change: Any) -> str:
    data = copy.deepcopy(EPIC)
    change(data)
    with pytest.raises(ParseError) as raised:
        parse_issue(data, "https://jira/rest/api/2/issue/DM-40011")
    return str(raised.value)


AT = "https://jira/rest/api/2/issue/DM-40011:1: jira-response: "


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("key"), "an issue without a key"),
        (lambda d: d.update(key="dm-4"), "bad issue key 'dm-4'"),
        (lambda d: d.pop("fields"), "DM-40011: no fields"),
        (lambda d: d["fields"].pop("summary"), "DM-40011: field summary is not a string"),
        (lambda d: d["fields"].update(status="Done"), "DM-40011: field status is not an object"),
        (lambda d: d["fields"]["status"].pop("statusCategory"),
         "DM-40011: field status.statusCategory is not an object"),
        (lambda d: d["fields"]["status"]["statusCategory"].update(key=3),
         "DM-40011: field status.statusCategory.key is not a string"),
        (lambda d: d["fields"].update(issuetype={}),
         "DM-40011: field issuetype.name is not a string"),
        (lambda d: d["fields"].update(fixVersions={"name": "1"}),
         "DM-40011: field fixVersions is not a list"),
        (lambda d: d["fields"].update(fixVersions=[{"id": "1"}]),
         "DM-40011: field fixVersions[].name is not a string"),
        (lambda d: d["fields"].update(issuelinks=["DM-1"]),
         "DM-40011: an issue link is not an object"),
        (lambda d: d["fields"].update(issuelinks=[{"type": {"name": "Blocks"},
                                                   "inwardIssue": {}}]),
         "DM-40011: field issuelinks[].inwardIssue.key is not a string"),
        (lambda d: d["fields"].update(resolution="Done"),
         "DM-40011: field resolution is not an object or null"),
    ],
)  # fmt: skip
def test_a_bad_shape_names_the_key_and_the_field(change: Any, message: str) -> None:
    assert _bad(change) == AT + message


def test_the_jira_settings_from_the_file_and_the_environment() -> None:
    text = '[jira]\nurl = "https://jira.example.org"\nproject = "RFC"\njobs = 8\n'
    loaded = build_options(text=text, environ={"DM_RELEASE_JIRA_RETRIES": "2"})
    config = loaded.config
    assert (config.jira_url, config.jira_project, config.jira_jobs) == (
        "https://jira.example.org", "RFC", 8)  # fmt: skip
    assert (config.jira_timeout, config.jira_retries) == (30, 2)
    assert config.jira_rfc_approved == ("Adopted", "Implemented")
    assert (loaded.sources["jira_url"], loaded.sources["jira_retries"]) == (
        "dm-release.toml:2", "environment DM_RELEASE_JIRA_RETRIES")  # fmt: skip
    default = build_options(text="").config
    assert (default.jira_url, default.jira_token, default.jira_jobs) == (None, None, 4)


def test_the_token_comes_from_the_environment_only_and_is_never_shown() -> None:
    loaded = build_options(environ={"DM_RELEASE_JIRA_TOKEN": "pat-0123456789abcdef"})
    token = loaded.config.jira_token
    assert token is not None and token.value == "pat-0123456789abcdef"
    assert (str(token), "pat-0123" in repr(loaded.config)) == ("****", False)
    assert SECRETS["jira_token"] == "DM_RELEASE_JIRA_TOKEN"
    assert "DM_RELEASE_JIRA_TOKEN" in CREDENTIAL_VARIABLES
    with pytest.raises(CheckFailed) as failed:
        build_options(text='[jira]\ntoken = "pat-0123456789abcdef"\n')
    assert [str(d) for d in failed.value.diagnostics] == [
        "dm-release.toml:2: config-secret: jira.token: secrets are not read from the file "
        "(set it in the environment: DM_RELEASE_JIRA_TOKEN)"
    ]


def test_the_release_issue_is_a_request_option_checked_to_be_a_key() -> None:
    loaded = build_options(text='[jira]\nrelease_issue = "DM-40000"\n')
    assert loaded.request.release_issue == "DM-40000"
    assert build_options(environ={"RELEASE_ISSUE": "DM-7"}).request.release_issue == "DM-7"
    flags = {"release_issue": "DM-9"}
    assert build_options(environ={"RELEASE_ISSUE": "DM-7"}, flags=flags).request.release_issue \
        == "DM-9"  # fmt: skip
    with pytest.raises(CheckFailed) as failed:
        build_options(text='[jira]\nrelease_issue = "dm-1"\nurl = "https://u:p@jira/"\n'
                      "jobs = 0\n")  # fmt: skip
    assert [str(d) for d in failed.value.diagnostics] == [
        "dm-release.toml:2: config-value: jira.release_issue: 'dm-1' is not a Jira issue key "
        "(PROJECT-N, as DM-123)",
        "dm-release.toml:3: config-value: jira.url: the value is a URL with credentials: set "
        "DM_RELEASE_JIRA_TOKEN instead",
        "dm-release.toml:4: config-value: jira.jobs: 0 is not a positive number",
    ]
