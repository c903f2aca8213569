"""core/notes: tickets from commits, sections, package changes, overrides, templates and
the exact Markdown, reStructuredText and JSON of the notes."""

from __future__ import annotations

import json

import pytest

from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.notes import (
    DEFAULT_TEMPLATES,
    Commit,
    Facts,
    IssueFacts,
    Override,
    build_notes,
    installation_text,
    package_changes,
    parse_overrides,
    render,
    render_markdown,
    render_rst,
    ticket_pattern,
    tickets_of,
)

A, B, C, D = "a" * 40, "b" * 40, "c" * 40, "d" * 40
FACTS = Facts(
    "lsst_distrib", "29.0.0", "v29.1.0.rc2", "b12", "f00d", since_build_id="b10",
    git_tag="v29.1.0.rc2", eups_tag="v29_1_0_rc2",
    third_party=(("eigen", "3.4.0"),), conda=(("numpy", "1.26.4"),),
)  # fmt: skip
COMMITS = {
    "afw": [
        Commit("3", "Merge pull request #5 from lsst/tickets/DM-20", True, "DM-20: Warp faster"),
        Commit("2", "DM-20: use SIMD"),
        Commit("1", "Merge branch 'tickets/DM-7'", True),
    ],
    "meas_base": [Commit("4", "DM-9: the *new* centroider | fast"), Commit("5", "no ticket")],
}
ISSUES = {
    "DM-7": IssueFacts("DM-7", "Wide-field <WCS>", "Epic", "Done", True),
    "DM-9": IssueFacts("DM-9", "Centroider_v2", "Story", "In Progress", False),
    "DM-30": IssueFacts("DM-30", "An open blocker", "Bug", "To Do", False),
}


def changes() -> tuple[list, int]:  # type: ignore[type-arg]
    return package_changes(
        {
            "afw": (A, "gaaaa"),
            "meas_base": (B, "gbbbb"),
            "old": (C, "gcccc"),
            "same": (D, "g"),
            "pipe": (D, "gd+1"),
        },
        {
            "afw": (B, "gbbbb"),
            "meas_base": (C, "gcccc"),
            "new_pkg": (A, "gnew"),
            "same": (D, "g"),
            "pipe": (D, "gd+2"),
        },
    )


def notes(**kwargs):  # type: ignore[no-untyped-def]
    packages, unchanged = changes()
    kwargs.setdefault("installation", installation_text(DEFAULT_TEMPLATES["md"], FACTS))
    return build_notes(FACTS, packages, COMMITS, unchanged=unchanged, **kwargs)


def test_a_commit_carries_the_projects_keys_as_words() -> None:
    pattern = ticket_pattern("DM")
    assert tickets_of(Commit("1", "Merge branch 'tickets/DM-12' into main", True), pattern) == (
        "DM-12",
    )
    assert tickets_of(Commit("1", "DM-3, DM-12 and DM-3 again; XDM-4, DM-05, RFC-6"), pattern) == (
        "DM-3", "DM-12",
    )  # fmt: skip
    assert tickets_of(Commit("1", "UTF-8 and DM-"), pattern) == ()


def test_package_changes_new_removed_changed_in_name_order() -> None:
    found, unchanged = changes()
    assert [(c.name, c.change, c.old_version, c.new_version) for c in found] == [
        ("afw", "changed", "gaaaa", "gbbbb"),
        ("meas_base", "changed", "gbbbb", "gcccc"),
        ("new_pkg", "new", None, "gnew"),
        ("old", "removed", "gcccc", None),
        ("pipe", "rebuilt", "gd+1", "gd+2"),
    ]
    assert unchanged == 1


def test_without_jira_every_ticket_is_an_other_issue_with_its_subject() -> None:
    got = notes()
    assert [(t.key, t.summary, t.section, t.packages, t.known) for t in got.tickets] == [
        ("DM-7", "Merge branch 'tickets/DM-7'", "issues", ("afw",), None),
        ("DM-9", "the *new* centroider | fast", "issues", ("meas_base",), None),
        ("DM-20", "Warp faster", "issues", ("afw",), None),
    ]
    assert got.problems == () and got.jira is False
    assert got.ticket_keys() == ("DM-7", "DM-9", "DM-20")
    assert (got.commits, [p.commits for p in got.packages]) == (5, [3, 2, 0, 0, 0])


def test_with_jira_completed_epics_first_and_the_problems() -> None:
    got = notes(issues=ISSUES, release_issue="DM-1", blockers=["DM-30", "DM-9"])
    assert [(t.key, t.summary, t.section, t.known) for t in got.tickets] == [
        ("DM-7", "Wide-field <WCS>", "epics", True),
        ("DM-9", "Centroider_v2", "issues", True),
        ("DM-20", "Warp faster", "issues", False),  # the pull request's title
    ]
    assert got.problems == (
        Diagnostic("<notes>", 1, "ticket-unknown", "DM-20 (in afw) is not known to Jira",
                   hint="fix the commit's ticket or hide it with an override"),
        Diagnostic("<notes>", 1, "blocker-not-in-commits",
                   "DM-30 blocks DM-1 but no commit of the release carries it",
                   hint="merge its work, or unlink it from the release issue"),
    )  # fmt: skip
    assert got.ticket_keys() == ("DM-7", "DM-9", "DM-20", "DM-30")
    assert got.unknown_keys() == ("DM-20",)


MARKDOWN = """\
# lsst_distrib v29.1.0.rc2 release notes

A *great* release.

2 tickets, 5 commits; packages: 1 new, 1 removed, 2 changed, 1 rebuilt, 1 unchanged.

## Completed epics

- **DM-7**: Wide-field \\<WCS\\> (afw)

## Other issues

- **DM-9**: Centroider_v2 (meas_base)

## Package changes

Rebuilt: the same commit, built again on changed dependencies.

| Package | Change | Old version | New version |
| --- | --- | --- | --- |
| afw | changed | `gaaaa` | `gbbbb` |
| meas_base | changed | `gbbbb` | `gcccc` |
| new_pkg | new | `-` | `gnew` |
| old | removed | `gcccc` | `-` |
| pipe | rebuilt | `gd+1` | `gd+2` |

## Technical details

- Since: `29.0.0`
- Since build: `b10`
- Git tag: `v29.1.0.rc2`
- EUPS tag: `v29_1_0_rc2`
- Build: `b12`
- Manifest checksum: `f00d`
- Third-party EUPS products: eigen `3.4.0`
- Conda environment: numpy `1.26.4`

## Installation

Install lsst_distrib v29.1.0.rc2 from the source server with EUPS:

```bash
eups distrib install -t v29_1_0_rc2 lsst_distrib
setup -t v29_1_0_rc2 lsst_distrib
```

## Problems

- blocker-not-in-commits: DM-30 blocks DM-1 but no commit of the release carries it
"""

RST = """\
lsst_distrib v29.1.0.rc2 release notes
======================================

A *great* release.

2 tickets, 5 commits; packages: 1 new, 1 removed, 2 changed, 1 rebuilt, 1 unchanged.

Completed epics
---------------

- **DM-7**: Wide-field <WCS> (afw)

Other issues
------------

- **DM-9**: Centroider_v2 (meas_base)

Package changes
---------------

Rebuilt: the same commit, built again on changed dependencies.

.. list-table::
   :header-rows: 1

   * - Package
     - Change
     - Old version
     - New version
   * - afw
     - changed
     - ``gaaaa``
     - ``gbbbb``
   * - meas_base
     - changed
     - ``gbbbb``
     - ``gcccc``
   * - new_pkg
     - new
     - ``-``
     - ``gnew``
   * - old
     - removed
     - ``gcccc``
     - ``-``
   * - pipe
     - rebuilt
     - ``gd+1``
     - ``gd+2``

Technical details
-----------------

- Since: ``29.0.0``
- Since build: ``b10``
- Git tag: ``v29.1.0.rc2``
- EUPS tag: ``v29_1_0_rc2``
- Build: ``b12``
- Manifest checksum: ``f00d``
- Third-party EUPS products: eigen ``3.4.0``
- Conda environment: numpy ``1.26.4``

Installation
------------

Install lsst_distrib v29.1.0.rc2 from the source server with EUPS:

.. code-block:: bash

   eups distrib install -t v29_1_0_rc2 lsst_distrib
   setup -t v29_1_0_rc2 lsst_distrib

Problems
--------

- blocker-not-in-commits: DM-30 blocks DM-1 but no commit of the release carries it
"""


def shown() -> dict:  # type: ignore[type-arg]
    """The Jira notes with DM-20 hidden, the release's narrative and an open blocker."""
    hide = {"DM-20": Override("DM-20", hide=True)}
    return {"issues": ISSUES, "release_issue": "DM-1", "blockers": ["DM-30"],
            "overrides": hide, "narrative": "A *great* release.\n"}  # fmt: skip


def test_markdown_exact() -> None:
    got = notes(**shown())
    assert render_markdown(got) == MARKDOWN
    assert render(got, "md") == MARKDOWN
    assert [t.key for t in got.tickets if t.hidden] == ["DM-20"]
    assert got.ticket_keys() == ("DM-7", "DM-9", "DM-20", "DM-30")  # hidden: still released


def test_rst_exact() -> None:
    installation = installation_text(DEFAULT_TEMPLATES["rst"], FACTS)
    assert render_rst(notes(**shown(), installation=installation)) == RST


def test_same_input_same_bytes_whatever_the_order_of_the_commits_mapping() -> None:
    first = render(notes(**shown()), "json")
    packages, unchanged = changes()
    reordered = build_notes(
        FACTS, packages, dict(reversed(list(COMMITS.items()))), unchanged=unchanged,
        installation=installation_text(DEFAULT_TEMPLATES["md"], FACTS), **shown(),
    )  # fmt: skip
    assert render(reordered, "json") == first
    data = json.loads(first)
    assert data["format"] == "dm-release-notes/1"
    assert data["ticket_keys"] == ["DM-7", "DM-9", "DM-20", "DM-30"]
    assert data["tickets"][2] == {
        "key": "DM-20", "summary": "Warp faster", "section": "issues", "packages": ["afw"],
        "issue_type": None, "status": None, "known": False, "hidden": True,
    }  # fmt: skip
    assert [p["rule"] for p in data["problems"]] == ["blocker-not-in-commits"]  # DM-20 hidden


def test_without_a_narrative_the_notes_say_where_it_goes() -> None:
    text = render_markdown(notes())
    assert text.split("\n")[2] == (
        "_No narrative yet: write it (what this release brings, for its users) in a text "
        "file and give it with --narrative FILE._"
    )


def test_overrides_rename_move_and_an_unused_one_is_a_problem() -> None:
    overrides = parse_overrides(
        "DM-9:\n  summary: ' A better centroider '\n  section: Highlights\nDM-55:\n  hide: true\n",
        "o.yaml",
    )
    assert overrides == {
        "DM-9": Override("DM-9", summary="A better centroider", section="Highlights", line=1),
        "DM-55": Override("DM-55", hide=True, line=4),
    }
    got = notes(overrides=overrides, overrides_path="o.yaml")
    assert [(s, [t.key for t in ts]) for s, ts in got.sections()] == [
        ("Other issues", ["DM-7", "DM-20"]), ("Highlights", ["DM-9"]),
    ]  # fmt: skip
    assert [str(p) for p in got.problems] == [
        "o.yaml:4: override-unused: DM-55 is overridden but no commit of the release carries it"
    ]


def test_toml_overrides() -> None:
    text = '[DM-7]\nsection = "issues"\n\n[DM-9]\nhide = true\nsummary = "x"\n'
    assert parse_overrides(text, "o.toml", toml=True) == {
        "DM-7": Override("DM-7", section="issues", line=1),
        "DM-9": Override("DM-9", hide=True, summary="x", line=4),
    }


@pytest.mark.parametrize(
    ("text", "toml", "where"),
    [
        ("DM-9:\n  hidden: true\n", False, "o:1: notes-overrides: DM-9: unknown field 'hidden'"),
        ("DM-9:\n  hide: 3\n", False, "o:1: notes-overrides: DM-9.hide: expected true or false"),
        ("DM-9:\n  hide: yes\n", False, "o:1: notes-overrides: DM-9.hide: expected true or false"),
        ("DM-9: {}\nDM-9: {}\n", False, "o:2: notes-overrides: DM-9 given twice (first at line 1)"),
        ("RFC-9:\n  hide: true\n", False, "o:1: notes-overrides: 'RFC-9' is not a DM ticket key"),
        ("- DM-9\n", False, "o:1: notes-overrides: expected a mapping of ticket keys"),
        ("DM-9: hide\n", False, "o:1: notes-overrides: DM-9: expected a mapping"),
        ('[DM-9]\nsummary = ""\n', True,
         "o:1: notes-overrides: DM-9.summary: expected a non-empty text"),
    ],
)  # fmt: skip
def test_bad_overrides_name_their_line(text: str, toml: bool, where: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_overrides(text, "o", toml=toml)
    hint = " (each ticket maps to hide: true, summary: TEXT and/or section: TITLE)"
    assert str(caught.value) == where + hint


def test_template_placeholders_and_braces() -> None:
    text = (
        "Tag {eups_tag} of {product} {version} ({git_tag}, {build_id}, {manifest_checksum}) {{x}}\n"
    )
    assert installation_text(text, FACTS) == (
        "Tag v29_1_0_rc2 of lsst_distrib v29.1.0.rc2 (v29.1.0.rc2, b12, f00d) {x}\n"
    )
    with pytest.raises(ParseError) as caught:
        installation_text("fine\nthen {tag}\n", FACTS, "t.txt")
    assert str(caught.value) == (
        "t.txt:2: notes-template: unknown placeholder {tag} (placeholders: {product}, "
        "{version}, {git_tag}, {eups_tag}, {build_id}, {manifest_checksum})"
    )
    with pytest.raises(ParseError, match=r"^t.txt:1: notes-template: bad placeholder"):
        installation_text("{oops\n", FACTS, "t.txt")
