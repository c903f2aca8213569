"""The demo's Jira: a local server speaking Jira's REST v2 (:mod:`dmrelease.demo.jira_server`)
on 127.0.0.1, seeded with every ticket the demo's commits carry and the release issues that
they block, so that the release flow's change control (the rc1 criteria, the patch's RFC,
the Fix Versions set after a final, the release notes' Jira join) runs against the same REST
contract as the real one.

The tickets: those of the product's history (a ticket branch merged in afw, utils, log and
pipe_tasks when the demo creates them, :data:`dmrelease.demo.rebuild.TICKETS`), the epic
DM-40050 of the change between the two nightlies, and the two the release flow backports
(DM-40100 into 29.1.0's rc2, DM-40200 into 29.1.1). The release issue of 29.1.0 is blocked
by DM-40050 (done) and DM-40100, still open when rc1 is made: rc1 waives it (the fix comes
by backport), and the developer resolves it with the backport. The patch 29.1.1 has its
own release issue, blocked by DM-40200, and its RFC, adopted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from dmrelease.demo.jira_server import LocalJira, serve_jira

#: the release issue of 29.1.0 and of the patch 29.1.1, the patch's RFC
RELEASE_ISSUE, PATCH_ISSUE, PATCH_RFC = "DM-40000", "DM-40300", "RFC-800"

#: the personal access token of the demo's Jira (a local server: not a secret anywhere
#: else); the demo passes it to dm-release through the environment, as on Jenkins
TOKEN = "demo-jira-token"

#: the blocker of 29.1.0 still open at rc1, waived there, resolved by its backport
WAIVED = "DM-40100"
WAIVER_WHY = "the fix is backported into rc2"
#: the product owner whose approval the first candidate records
APPROVER = "Demo Product Owner"


@dataclass(frozen=True)
class Ticket:
    key: str
    summary: str
    issue_type: str = "Story"
    status: str = "Done"
    blocks: tuple[str, ...] = ()


#: every issue of the demo's Jira, in key order
TICKETS: tuple[Ticket, ...] = (
    Ticket(RELEASE_ISSUE, "Release 29.1.0", "Task", "In Progress"),
    Ticket("DM-40002", "Make utils a Python package"),
    Ticket("DM-40005", "Make log a Python package"),
    Ticket("DM-40011", "The afw Python package"),
    Ticket("DM-40017", "Make pipe_tasks a Python package"),
    Ticket("DM-40050", "Document the changes of every package", "Epic", blocks=(RELEASE_ISSUE,)),
    Ticket(WAIVED, "Fix fix.py in afw and utils", "Bug", "In Progress", (RELEASE_ISSUE,)),
    Ticket("DM-40200", "Log at level INFO by default", "Bug", blocks=(PATCH_ISSUE,)),
    Ticket(PATCH_ISSUE, "Release 29.1.1", "Task", "In Progress"),
    Ticket(PATCH_RFC, "Patch release 29.1.1 with the log level fix", "RFC", "Adopted"),
)


@contextlib.contextmanager
def demo_jira() -> Iterator[LocalJira]:
    """The demo's Jira on a free port of 127.0.0.1, seeded with :data:`TICKETS`, until the
    block ends."""
    with serve_jira(TOKEN) as jira:
        for ticket in TICKETS:
            jira.add_issue(
                ticket.key, ticket.summary, ticket.issue_type, ticket.status, ticket.blocks
            )
        yield jira


def environment() -> dict[str, str]:
    """The environment the demo's configuration is read with: the token of its Jira."""
    return {"DM_RELEASE_JIRA_TOKEN": TOKEN}
