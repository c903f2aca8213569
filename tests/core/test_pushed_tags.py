"""core/pushed_tags: git's pre-push lines and lsst_distrib's real tags (moved from the
check-pushed-tags hook's tests, issue 9 §5)."""

from __future__ import annotations

from pathlib import Path

from dmrelease.core.pushed_tags import parse_pushed_refs, tag_problem

DATA = Path(__file__).resolve().parents[1] / "data"
SHA, ZERO = "1" * 40, "0" * 40


def test_ref_names_with_spaces_are_split_from_the_right() -> None:
    (ref,) = parse_pushed_refs(f"HEAD~1 with space {SHA} refs/tags/29.0.0 {ZERO}\n")
    assert (ref.local_ref, ref.remote_ref, ref.line) == ("HEAD~1 with space", "refs/tags/29.0.0", 1)


def real_tags() -> list[tuple[str, str]]:
    rows = (DATA / "tags" / "lsst_distrib-tags.tsv").read_text().splitlines()[1:]
    return [(row.split("\t")[0], row.split("\t")[2]) for row in rows]


def test_every_lsst_distrib_tag_since_17_0_would_be_accepted() -> None:
    """The conventions of DESIGN.md §3 are what DM has tagged since March 2019."""
    refused = sorted((date, tag) for tag, date in real_tags() if tag_problem(tag))
    assert len(real_tags()) == 436
    assert len(refused) == 50
    assert refused[-1] == ("2019-03-04T22:37:02+00:00", "17.0")
    assert {tag_problem(tag)[0] for _date, tag in refused} == {  # type: ignore[index]
        "name-legacy",
        "name-week",
        "tag-kind",
    }
