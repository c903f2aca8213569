"""The weekly rule of DESIGN.md §3 names the real weekly tags of lsst_distrib.

Weekly builds run on Thursdays, Pacific time: for every annotated ``w.`` tag whose tagger
date, on the Pacific clock, is a Thursday, ``Weekly.for_date`` must give the tag's name.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dmrelease.core.names import Weekly

TAGS_TSV = Path(__file__).parents[1] / "data" / "tags" / "lsst_distrib-tags.tsv"
PACIFIC = ZoneInfo("America/Los_Angeles")
THURSDAY = 3

#: The one Thursday tag the rule does not name, and why: the 2017 weeklies were tagged on
#: Saturdays (w.2017.33 on Sat 2017-08-19, w.2017.35 on Sat 2017-09-02), so w.2017.34 was
#: due Sat 2017-08-26 and was tagged five days late, Thu 2017-08-31 18:07 PDT, in week 35.
KNOWN_LATE = {"w.2017.34": "w.2017.35"}


def _weekly_tags() -> list[tuple[str, dt.datetime]]:
    with TAGS_TSV.open(newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    # lightweight tags ("commit") carry the commit's date, not a tagger date
    return [
        (row["tag"], dt.datetime.fromisoformat(row["date"]).astimezone(PACIFIC))
        for row in rows
        if row["tag"].startswith("w.") and row["kind"] == "tag"
    ]


THURSDAY_TAGS = [(tag, when) for tag, when in _weekly_tags() if when.weekday() == THURSDAY]


def test_the_data_holds_the_thursday_runs() -> None:
    assert len(_weekly_tags()) == 348  # 351 w. tags, 3 of them lightweight
    assert len(THURSDAY_TAGS) == 117


def test_the_weekly_rule_names_every_thursday_tag_but_the_one_tagged_late() -> None:
    misses = {
        tag: str(Weekly.for_date(when.date()))
        for tag, when in THURSDAY_TAGS
        if str(Weekly.for_date(when.date())) != tag
    }
    assert misses == KNOWN_LATE


@pytest.mark.parametrize(("tag", "when"), THURSDAY_TAGS, ids=[tag for tag, _ in THURSDAY_TAGS])
def test_thursday_tag_is_named_by_the_rule(tag: str, when: dt.datetime) -> None:
    expected = KNOWN_LATE.get(tag, tag)
    assert str(Weekly.for_date(when.date())) == expected


@pytest.mark.parametrize(
    ("day", "tag"),
    [
        (dt.date(2020, 12, 31), "w.2021.01"),  # DESIGN.md: tagged 2020-12-31
        (dt.date(2022, 12, 29), "w.2022.53"),  # DESIGN.md: week 53 exists
    ],
)
def test_design_examples(day: dt.date, tag: str) -> None:
    assert str(Weekly.for_date(day)) == tag
    assert (tag, day) in {(name, when.date()) for name, when in THURSDAY_TAGS}  # real tags


def test_the_rule_is_not_iso_8601() -> None:
    # ISO 8601 puts 2020-12-31 in 2020-W53; the weekly calendar in week 1 of 2021
    assert dt.date(2020, 12, 31).isocalendar()[:2] == (2020, 53)
    assert Weekly.for_date(dt.date(2020, 12, 31)) == Weekly(2021, 1)
