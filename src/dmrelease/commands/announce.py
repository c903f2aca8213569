"""``dm-release announce``: the community post of a planned release, rendered, and posted
to Discourse with ``--post`` (without it: a dry run that prints the post and what it would
send, and sends nothing). The clock is read here only, for the note on how far the start
is; the post itself depends on the arguments, the settings and Jira's answer only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import add_config_option
from dmrelease.commands.machine import add_json_flag, emit, human, wants_json

_RAW = argparse.RawDescriptionHelpFormatter


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "announce",
        help="render the announcement of a planned release; with --post, post it to Discourse",
        formatter_class=_RAW,
        description=(
            "Render the community post announcing release VERSION (M.n.p) a few days before\n"
            "it starts: the planned version, the weekly it is made from (--weekly), its\n"
            "start and expected end, the issues that block the release issue and their\n"
            "state (from Jira, when jira.url is set; else the post says the list is not\n"
            "included), and how to give feedback (announce.feedback). The post is Markdown,\n"
            "printed on stdout (and written to --output FILE).\n\n"
            "Without --post this is a dry run: it prints the post and the request that would\n"
            "post it, and sends nothing to Discourse. With --post it is posted as a new topic\n"
            "of discourse.category at discourse.url, as discourse.user with the API key\n"
            "DM_RELEASE_DISCOURSE_API_KEY (a secret: from the environment only, never\n"
            "printed); a topic of that category with the same title is the announcement\n"
            "already posted, and nothing is posted again. A rate-limited request is sent\n"
            "again after the wait Discourse gives. Exit 2 when Discourse or Jira cannot be\n"
            "reached or refuses (the message says what it said), or a setting is missing.\n"
            "The blockers are read from Jira afresh at each run (jira.url, with the token\n"
            "DM_RELEASE_JIRA_TOKEN; the release issue from --release-issue or RELEASE_ISSUE).\n"
            "Requests go through requests, which also reads HTTPS_PROXY, HTTP_PROXY,\n"
            "NO_PROXY, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE.\n\n"
            "example:\n"
            "  $ dm-release announce 29.1.0 --weekly w.2025.10 --start 2025-03-10 \\\n"
            "      --end 2025-03-21 --release-issue DM-48000 --post"
        ),
    )
    parser.add_argument("version", metavar="VERSION", help="the planned release, M.n.p")
    parser.add_argument("--weekly", required=True, metavar="w.YYYY.WW",
                        help="the weekly the release is made from")  # fmt: skip
    parser.add_argument("--start", required=True, type=_date, metavar="YYYY-MM-DD",
                        help="the day the release starts")  # fmt: skip
    parser.add_argument("--end", type=_date, metavar="YYYY-MM-DD",
                        help="the day it is expected to end (default: not fixed yet)")  # fmt: skip
    parser.add_argument(
        "--release-issue", dest="release_issue", metavar="KEY",
        help="the Jira issue of the release (DM-N): the issues blocking it are listed "
        "[env RELEASE_ISSUE]",
    )  # fmt: skip
    parser.add_argument("--product", metavar="PRODUCT",
                        help="the product released, named in the title and the text")  # fmt: skip
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="also write the post (Markdown) to FILE")  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--post", action="store_true",
                      help="post it to Discourse (once: a topic with its title is not posted "
                      "again)")  # fmt: skip
    mode.add_argument("--dry-run", action="store_true",
                      help="print the post and what would be sent, send nothing (the "
                      "default)")  # fmt: skip
    add_json_flag(parser, "the announcement, its text and what was (or would be) posted")
    add_config_option(parser, git=False)
    parser.set_defaults(handler=run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options_or_environment
    from dmrelease.core.announce import (
        DEFAULT_FEEDBACK,
        Announcement,
        announcement_problems,
        render_markdown,
    )
    from dmrelease.core.errors import UsageError
    from dmrelease.stages.announce import blockers_of_issue, post, sending

    flags = {"release_issue": args.release_issue} if args.release_issue else {}
    loaded = load_options_or_environment(args.config, flags)
    config = loaded.config
    release_issue = getattr(loaded.request, "release_issue", None) or args.release_issue
    draft = Announcement(args.version, args.weekly, args.start, args.end, release_issue,
                         None, config.announce_feedback or DEFAULT_FEEDBACK,
                         args.product)  # fmt: skip
    problems = announcement_problems(draft)
    if problems:
        raise UsageError("; ".join(problems))
    sending(config, draft, require=args.post)  # a setting missing: before Jira is asked
    found = blockers_of_issue(config, release_issue, sys.stderr)
    announcement = Announcement(draft.version, draft.weekly, draft.start, draft.end,
                                draft.release_issue, found, draft.feedback,
                                draft.product)  # fmt: skip
    text = render_markdown(announcement)
    out = human(args)
    out.write(text)
    out.flush()
    if args.output is not None:
        from dmrelease.adapters.files import write_atomically

        write_atomically(args.output, text, what="the announcement")  # whole, or exit 2
        _say(f"wrote {args.output}")
    days = (announcement.start - dt.datetime.now(dt.UTC).date()).days  # the clock, here only
    if days <= 0:
        _say(f"note: the release {_when(days)}: an announcement comes a few days before")
    send = sending(config, announcement, require=args.post)
    data: dict[str, Any] = {"announcement": announcement.to_dict(), "markdown": text,
                            "output": None if args.output is None else str(args.output),
                            "dry_run": not args.post, "would": None, "topic": None}  # fmt: skip
    if not args.post:
        if send is None:
            _say("dry run: not posted; set discourse.url and discourse.category to see what "
                 "--post would send")  # fmt: skip
        else:
            _say(f"dry run: would POST {send.to_dict()['url']} (title {send.title!r}, "
                 f"category {send.category}) unless that category has a topic of this "
                 "title; nothing sent")  # fmt: skip
            data["would"] = send.to_dict()
    else:
        assert send is not None
        posted = post(config, send, sys.stderr)
        if posted.created:
            _say(f"posted: topic {posted.topic_id} ({posted.url})")
        else:
            _say(f"already posted: topic {posted.topic_id} ({posted.url}) has this title: "
                 "nothing posted")  # fmt: skip
        data["topic"] = posted.to_dict()
    if wants_json(args):
        emit(args, data)
    return 0


def _when(days: int) -> str:
    if days == 0:
        return "starts today"
    return f"started {-days} day{'s' if days != -1 else ''} ago"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
