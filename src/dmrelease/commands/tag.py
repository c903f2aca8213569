"""``dm-release tag``: classify tag names, map them to EUPS tags, name this week's weekly.

The rules are :mod:`dmrelease.core.names` (DESIGN.md §3); this module is only the edge:
it reads the clock for ``tag weekly`` (Pacific time, the weekly build's clock).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from dmrelease.commands.machine import add_json_flag, emit, wants_json
from dmrelease.core.errors import Diagnostic
from dmrelease.core.names import InvalidName, Weekly, classify, eups_tag

#: the weekly build runs on Thursdays, Pacific time (DESIGN.md §3)
WEEKLY_CLOCK = ZoneInfo("America/Los_Angeles")

_RAW = argparse.RawDescriptionHelpFormatter


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "tag",
        help="classify tag names, map them to EUPS tags, name the weekly",
        description=(
            "Check and convert release tag names as DMTN-106 spells them: finals M.n.p "
            "(29.1.0; vM.n.p only on external repositories), release candidates vM.n.p.rcN "
            "(v29.1.0.rc1), weeklies w.YYYY.WW (w.2025.24), dailies d.YYYY.MM.DD and build "
            "ids bNNNN, with no zero padding. Historical spellings such as 16.0 read as legacy."
        ),
    )
    commands = parser.add_subparsers(dest="tag_command", metavar="COMMAND", required=True)
    _add_classify(commands)
    _add_eups(commands)
    _add_weekly(commands)


def _add_classify(commands: Any) -> None:
    parser = commands.add_parser(
        "classify",
        help="print each tag's kind: final, rc, weekly, daily, build or legacy",
        formatter_class=_RAW,
        description=(
            "Print TAG<TAB>KIND for each valid tag on stdout; KIND is final, rc, weekly,\n"
            "daily, build or legacy (a historical spelling such as 16.0 or v16.0.rc1).\n"
            "Invalid names are reported on stderr as 'TAG: reason'; exit status 1 if any.\n\n"
            "example:\n"
            "  $ dm-release tag classify 29.1.0 v29.1.0.rc2 w.2025.24 16.0\n"
            "  29.1.0\tfinal\n  v29.1.0.rc2\trc\n  w.2025.24\tweekly\n  16.0\tlegacy"
        ),
    )
    parser.add_argument(
        "--external",
        action="store_true",
        help="the tags are on an external repo, where a final may be spelled vM.n.p",
    )
    parser.add_argument("tags", nargs="+", metavar="TAG", help="tag names to check")
    add_json_flag(parser, "each tag's kind")
    parser.set_defaults(handler=run_classify)


def _add_eups(commands: Any) -> None:
    parser = commands.add_parser(
        "eups",
        help="print the EUPS tag of each git tag",
        formatter_class=_RAW,
        description=(
            "Print the EUPS tag of each git tag, one per line: 'v' before a leading digit,\n"
            "then '.' and '-' become '_'. Historical spellings are accepted. Invalid names\n"
            "are reported on stderr as 'TAG: reason'; exit status 1 if any.\n\n"
            "example:\n"
            "  $ dm-release tag eups 29.1.0 v29.1.0.rc1 w.2025.24\n"
            "  v29_1_0\n  v29_1_0_rc1\n  w_2025_24"
        ),
    )
    parser.add_argument("tags", nargs="+", metavar="TAG", help="git tag names")
    add_json_flag(parser, "each tag's EUPS tag")
    parser.set_defaults(handler=run_eups)


def _add_weekly(commands: Any) -> None:
    parser = commands.add_parser(
        "weekly",
        help="print the weekly tag w.YYYY.WW for a date (default: today, Pacific time)",
        formatter_class=_RAW,
        description=(
            "Print the weekly tag w.YYYY.WW of a date. Weeks start on Sunday and week 1\n"
            "holds 1 January (not ISO 8601): the last days of December can belong to\n"
            "week 1 of the next year, and some years have a week 53.\n\n"
            "example:\n"
            "  $ dm-release tag weekly --date 2020-12-31\n"
            "  w.2021.01"
        ),
    )
    parser.add_argument(
        "--date",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="the date (default: today in America/Los_Angeles, the weekly build's clock)",
    )
    add_json_flag(parser, "the weekly tag and its date")
    parser.set_defaults(handler=run_weekly)


def _iso_date(text: str) -> dt.date:
    """argparse type for ``--date``: a bad date, or one without a weekly (years 1000..9999),
    is a usage error (exit 2)."""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            day = dt.date.fromisoformat(text)
            Weekly.for_date(day)
            return day
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: no weekly: {exc.reason}") from None
    raise argparse.ArgumentTypeError(f"{text!r}: expected a date YYYY-MM-DD")


def _each(args: argparse.Namespace, key: str, render: Callable[[str], str]) -> int:
    """Print ``TAG<TAB>render(tag)`` (``render(tag)`` alone for ``eups``) for each tag;
    report invalid ones on stderr and go on. With ``--json`` the document lists each valid
    tag as ``{"tag", key}``, each invalid one as a diagnostic of ``<command line>`` whose
    line is the tag's position among the TAG arguments."""
    found: list[dict[str, str]] = []
    problems: list[Diagnostic] = []
    for position, tag in enumerate(args.tags, start=1):
        try:
            value = render(tag)
        except InvalidName as exc:
            print(f"{tag}: {exc.reason}", file=sys.stderr)
            message = f"{tag}: {exc.reason}"
            problems.append(Diagnostic("<command line>", position, exc.rule, message))
            continue
        found.append({"tag": tag, key: value})
        if not wants_json(args):
            print(f"{tag}\t{value}" if key == "kind" else value)
    if wants_json(args):
        emit(args, {"tags": found}, diagnostics=problems)
    return 1 if problems else 0


def run_classify(args: argparse.Namespace) -> int:
    return _each(args, "kind", lambda tag: str(classify(tag, external=args.external)))


def run_eups(args: argparse.Namespace) -> int:
    return _each(args, "eups", eups_tag)


def utc_now() -> dt.datetime:
    """The clock: read here, at the edge, never in core (STYLE.md habit 13)."""
    return dt.datetime.now(dt.UTC)


def weekly_at(moment: dt.datetime) -> Weekly:
    """The weekly of an instant, dated on the weekly build's clock (Pacific time)."""
    return Weekly.for_date(moment.astimezone(WEEKLY_CLOCK).date())


def run_weekly(args: argparse.Namespace) -> int:
    day: dt.date = args.date or utc_now().astimezone(WEEKLY_CLOCK).date()
    weekly = Weekly.for_date(day)
    if wants_json(args):
        emit(args, {"date": day.isoformat(), "weekly": str(weekly), "eups": eups_tag(str(weekly))})
    else:
        print(weekly)
    return 0
