"""The announcement's two steps with the world: the blocking issues from Jira (when
jira.url is set and a release issue is given), and the post to Discourse, once: a topic of
the category with the same title already there is the announcement, and nothing is posted
again (a rerun after a post, or after a post whose answer was lost, posts nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from dmrelease.core.announce import Announcement, Blocker, blockers_of, render_markdown, title_of
from dmrelease.core.config import Config
from dmrelease.core.errors import UsageError

__all__ = ["Posted", "Sending", "blockers_of_issue", "post", "sending"]


def blockers_of_issue(
    config: Config, release_issue: str | None, log: TextIO
) -> tuple[Blocker, ...] | None:
    """The issues blocking ``release_issue`` in Jira, or None when there is no release
    issue or no Jira to ask (the post then says the list is not included). Read afresh
    (the cache is written, not read): the post shows their state now, not at the last run."""
    if not release_issue or not config.jira_url:
        return None
    from dmrelease.adapters.jira import JiraClient

    client = JiraClient.of(config, refresh=True, log=log)
    if client.issue(release_issue) is None:
        raise UsageError(f"the release issue {release_issue} is not in the Jira at "
                         f"{config.jira_url}")  # fmt: skip
    return blockers_of(client.blockers(release_issue))


@dataclass(frozen=True)
class Sending:
    """What posting the announcement sends: the forum, its category and the body."""

    url: str
    category: int
    title: str
    raw: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": f"{self.url.rstrip('/')}/posts.json",
            "body": {"title": self.title, "raw": self.raw, "category": self.category},
        }


@dataclass(frozen=True)
class Posted:
    """The topic of the announcement, and whether this run posted it (False: it was there)."""

    topic_id: int
    slug: str
    url: str
    created: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.topic_id, "slug": self.slug, "url": self.url, "created": self.created}


def sending(config: Config, announcement: Announcement, *, require: bool) -> Sending | None:
    """The post of ``announcement`` for the configured forum; None when discourse.url or
    discourse.category is unset and ``require`` is False (a dry run without a forum),
    else UsageError naming each setting missing (the key and the user too)."""
    missing = [
        name for name, value in (
            ("discourse.url (DM_RELEASE_DISCOURSE_URL)", config.discourse_url),
            ("discourse.category (DM_RELEASE_DISCOURSE_CATEGORY)", config.discourse_category),
        ) if value is None
    ]  # fmt: skip
    if require:
        if not config.discourse_user:
            missing.append("discourse.user (DM_RELEASE_DISCOURSE_USER)")
        if config.discourse_api_key is None:
            missing.append("DM_RELEASE_DISCOURSE_API_KEY")
    if missing:
        if not require:
            return None
        raise UsageError(f"cannot post the announcement: set {', '.join(missing)}")
    assert config.discourse_url is not None and config.discourse_category is not None
    if config.discourse_category <= 0:
        raise UsageError(f"discourse.category: {config.discourse_category} is not the id of a "
                         "category (a positive number)")  # fmt: skip
    return Sending(config.discourse_url, config.discourse_category, title_of(announcement),
                   render_markdown(announcement))  # fmt: skip


def post(config: Config, send: Sending, log: TextIO) -> Posted:
    """The announcement's topic: the one of the category with its title, else a new one."""
    from dmrelease.adapters.discourse import DiscourseClient

    assert config.discourse_user and config.discourse_api_key is not None
    client = DiscourseClient(send.url, config.discourse_user, config.discourse_api_key.value,
                             log=lambda line: print(line, file=log, flush=True))  # fmt: skip
    found = client.find_topic(send.category, send.title)
    if found is not None:
        return Posted(found.id, found.slug, found.url, created=False)
    topic = client.create_topic(send.category, send.title, send.raw)
    return Posted(topic.id, topic.slug, topic.url, created=True)
