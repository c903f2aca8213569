"""The release report's model and renderings (core/status.py): tag states, stages, the exact
terminal table, the page's escaping, the DOT graph, the JSON data."""

from __future__ import annotations

from html.parser import HTMLParser

from dmrelease.core.journal import Journal, Step
from dmrelease.core.status import (
    ImageState,
    JiraBlocker,
    JiraState,
    ReleaseStatus,
    build_status,
    graph_dot,
    image_state,
    render_html,
    render_table,
    status_to_dict,
    validation_state,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40
OPERATION = "release_candidate meta v29.1.0.rc1"


def journal() -> Journal:
    """afw and base pushed, utils tagged only, the build made, the source published."""
    j = Journal.start(OPERATION, "sha256:" + "0" * 64, ["base", "utils", "afw"], "t0")
    for name in ("base", "utils", "afw"):
        j = j.advance(name, Step.TAGGED, "t1")
    j = j.finish_stage("tagged", "t1", "3 packages")
    j = j.advance("base", Step.PUSHED, "t2").advance("afw", Step.PUSHED, "t2")
    j = j.fail("utils", "push refused by policy", "t2")
    j = j.finish_stage("built", "t3", "build b7 from v29.1.0.rc1", build_id="b7")
    j = j.finish_stage("packed", "t4", "b7 as v29_1_0_rc1 for Linux64 to /srv/binary")
    return j


def status(**changes: object) -> ReleaseStatus:
    facts: dict[str, object] = {
        "session": "release_candidate",
        "eups_tag": "v29_1_0_rc1",
        "packages": [
            ("base", A, ("v29.1.0.rc1",)),
            ("utils", B, ("v29.1.0.rc1",)),
            ("afw", C, ("v29.1.0.rc1",)),
        ],
        "remote": {
            "base": {"v29.1.0.rc1": A},
            "utils": {"v29.1.0.rc1": None},
            "afw": {"v29.1.0.rc1": "d" * 40},
        },
        "journal": journal(),
        "plan_checksum": "sha256:" + "0" * 64,
        "build_id": None,
        "tags": True,
        "expected": ("built", "published", "packed"),
        "validation": validation_state({"ok": True, "checks": [{"ok": True}] * 3}, "v.json"),
        "jira": JiraState(note="not configured (jira.url)"),
        "graph": {"base": (), "utils": ("base",), "afw": ("utils", "base", "eigen")},
    }
    facts.update(changes)
    return build_status("meta", "v29.1.0.rc1", **facts)  # type: ignore[arg-type]


HEAD = "status of release_candidate meta v29.1.0.rc1: plan sha256:000000000000, build b7, "
TABLE = (
    HEAD
    + """EUPS tag v29_1_0_rc1
  package  planned     tags                                step
  base     aaaaaaaaaa  v29.1.0.rc1 at plan                 pushed
  utils    bbbbbbbbbb  v29.1.0.rc1 missing                 failed
  afw      cccccccccc  v29.1.0.rc1 elsewhere (dddddddddd)  pushed
journal        3 of 5 stages done
tagged         3 packages
built          build b7 from v29.1.0.rc1
packed         b7 as v29_1_0_rc1 for Linux64 to /srv/binary
pushed         not done
published      not done
tarballs       Linux64
image          none recorded
validation     ok (3 checks; v.json)
release issue  not configured (jira.url)
2 problems
  utils: failed: push refused by policy
  afw: v29.1.0.rc1 elsewhere (dddddddddd)
"""
)


def test_the_table_says_each_tag_state_step_stage_and_problem() -> None:
    assert render_table(status()) == TABLE


def test_counts_and_problems() -> None:
    found = status()
    assert found.counts() == {
        "tags at plan": 1,
        "tags missing": 1,
        "tags elsewhere": 1,
        "pushed": 2,
        "failed": 1,
    }
    assert found.build_id == "b7"  # the journal's, the plan recording none
    assert found.tarballs == ("Linux64",)


def test_without_a_journal_nothing_is_done_and_a_tag_without_a_plan_is_present() -> None:
    found = status(
        journal=None,
        plan_checksum=None,
        packages=[("base", None, ("29.1.0",))],
        remote={"base": {"29.1.0": A}},
        graph={},
    )
    text = render_table(found)
    assert "  base     -        29.1.0 present  -\n" in text
    assert "journal        none\n" in text
    assert [(s.name, s.done) for s in found.stages] == [
        ("tagged", False),
        ("pushed", False),
        ("built", False),
        ("published", False),
        ("packed", False),
    ]
    assert found.problems() == []


def test_an_unreachable_remote_and_a_failed_validation_are_problems() -> None:
    failed = validation_state(
        {"ok": False, "checks": [{"name": "sha1", "ok": False}, {"name": "demo", "ok": True}]},
        "v.json",
    )
    found = status(remote={"base": "fatal: could not read from remote"}, validation=failed)
    assert found.packages[0].tags[0].state == "unreachable"
    assert str(found.packages[0].tags[0]) == "v29.1.0.rc1 unreachable"
    assert found.problems()[0] == "base: remote not listed: fatal: could not read from remote"
    assert found.problems()[-1] == "validation failed (2 checks, failed: sha1; v.json)"


def test_validation_states() -> None:
    assert str(validation_state(None, "x.json")) == "absent (no x.json)"
    assert validation_state([1], "x.json").state == "unreadable"
    assert str(validation_state({"ok": True, "checks": [{}]}, "x.json")) == "ok (1 check; x.json)"


def test_the_image_is_the_one_of_the_release_eups_tag() -> None:
    data = {"image": "r/demo", "eups_tag": "v29_1_0", "outcome": "pushed", "digest": "sha256:1",
            "list_digest": None, "tags": ["demo-v29_1_0"]}  # fmt: skip
    assert image_state(data, "v29_1_0") == ImageState(
        "r/demo", "pushed", "sha256:1", ("demo-v29_1_0",)
    )
    assert image_state(data, "v29_1_1") is None
    assert str(image_state(data, "v29_1_0")) == "pushed r/demo sha256:1"


def test_jira_state_names_open_blockers() -> None:
    jira = JiraState(
        "DM-1",
        "Release 29.1",
        "In Progress",
        False,
        (JiraBlocker("DM-2", "fix", "Done", True), JiraBlocker("DM-3", "doc", "To Do", False)),
        note="",
    )
    text = render_table(status(jira=jira))
    assert "release issue  DM-1 In Progress: Release 29.1 (2 blockers, open: DM-3)\n" in text
    assert "  DM-2         done  Done: fix\n  DM-3         open  To Do: doc\n" in text


def test_the_dot_graph_colours_packages_by_step_and_draws_internal_edges_only() -> None:
    assert graph_dot(status()) == (
        'digraph "meta" {\n  rankdir=BT;\n'
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fillcolor="#ffffff"];\n'
        '  "base" [fillcolor="#c8e6c9"];\n  "utils" [fillcolor="#ffcdd2"];\n'
        '  "afw" [fillcolor="#c8e6c9"];\n'
        '  "utils" -> "base";\n  "afw" -> "utils";\n  "afw" -> "base";\n}\n'
    )


class _Texts(HTMLParser):
    """The page's text, its tags, and any attribute that would load something."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.loads += [f"{tag} {k}" for k, _ in attrs if k in ("src", "href")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_page_escapes_every_text() -> None:
    evil = '<script>alert("x")</script>&'
    jira = JiraState("DM-1", evil, "Open", False, (JiraBlocker("DM-9", evil, "<b>", False),), "")
    found = status(jira=jira, remote={"base": evil})
    page = render_html(found, None, graph_note="no <dot>")
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;") == 3
    parsed = _Texts()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.loads == []  # self-contained: nothing fetched from elsewhere
    assert "no <dot>" in parsed.text


def test_without_svg_the_graph_is_a_nested_list_in_build_order() -> None:
    page = render_html(status(), None, graph_note="dot missing")
    assert (
        '<div id="graph"><ul class="graph"><li class="node">base</li>'
        '<li class="node">utils<ul><li>base</li></ul></li>'
        '<li class="node">afw<ul><li>utils</li><li>base</li><li>eigen</li></ul></li></ul></div>'
    ) in page
    assert "<p>dot missing</p>" in page


def test_with_svg_the_graph_is_inline_and_rows_are_the_packages() -> None:
    page = render_html(status(), "<svg><g class='node'><title>base</title></g></svg>")
    assert '<div class="graph" id="graph"><svg><g class=\'node\'><title>base</title>' in page
    assert page.count("<tr><td>") == 3
    assert (
        "<tr><td>afw</td><td><code>cccccccccc</code></td>"
        '<td>v29.1.0.rc1 elsewhere (dddddddddd)</td><td class="pushed">pushed</td></tr>'
    ) in page
    assert render_html(status(graph={}), None).count("no manifest recorded") == 1


def test_json_data() -> None:
    data = status_to_dict(status())
    assert data["format"] == "dm-release-status/1"
    assert data["packages"][2] == {
        "name": "afw",
        "planned_sha": C,
        "step": "pushed",
        "error": None,
        "remote_error": None,
        "tags": [{"tag": "v29.1.0.rc1", "sha": "d" * 40, "state": "elsewhere"}],
    }
    assert [s["name"] for s in data["stages"] if s["done"]] == ["tagged", "built", "packed"]
    assert data["validation"] == {"state": "ok", "path": "v.json", "checks": 3, "failed": []}
    assert data["graph"]["afw"] == ["utils", "base", "eigen"]
    assert len(data["problems"]) == 2


def test_a_failed_validation_names_the_rules_its_own_summary_records() -> None:
    import json

    from dmrelease.core.validation import Changes, Check, DemoRun, Install, Summary, summary_to_json

    summary = Summary(
        "meta", "v29.1.0.rc1", "v29_1_0_rc1", "b7",
        (Install("binary", "eups", "http://b", "ok"), Install("source", "eups", "http://s", "ok")),
        (Check("binary", "pkginfo-sha1", ("afw",)), Check("binary", "table-file"),
         Check("source", "version", ("base", "utils"))),
        DemoRun(None), Changes(None),
    )  # fmt: skip
    state = validation_state(json.loads(summary_to_json(summary)), "v.json")
    assert (state.state, state.checks, state.failed) == (
        "failed", 3, ("binary pkginfo-sha1", "source version"))  # fmt: skip
    assert str(state) == "failed (3 checks, failed: binary pkginfo-sha1, source version; v.json)"
