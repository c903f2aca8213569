"""``dm-release jira``: show Jira issues and their blockers, set a final's Fix Version.

The client is :mod:`dmrelease.adapters.jira` (Jira Data Center's REST API v2, the token of
the environment); the Fix Version run is :mod:`dmrelease.stages.jira_fix`. This module is
the edge: it parses the request and prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dmrelease.adapters.config import add_config_option, add_option_flags, flag_values
from dmrelease.commands.machine import add_json_flag, emit, human, wants_json

_ABOUT = (
    "Jira is jira.url of dm-release.toml, or DM_RELEASE_JIRA_URL, asked with the personal\n"
    "access token DM_RELEASE_JIRA_TOKEN (Bearer). What Jira answered is kept in the state\n"
    "directory (paths.state_dir, jira/): a rerun asks Jira nothing it has asked before;\n"
    "--refresh asks again. A busy Jira (429, 503) is asked again after its Retry-After, at\n"
    "most jira.retries times. Exit status 2 when Jira cannot be reached or refuses the\n"
    "token."
)


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "jira",
        help="show Jira issues and their blockers, or set a final's Fix Version",
        description=(
            "Read the issues of a release from Jira (the release issue, the issues that "
            "block it, their status, type, summary and Fix Versions), and after a final set "
            "its Fix Version on every issue of the release."
        ),
    )
    commands = parser.add_subparsers(dest="jira_command", metavar="COMMAND", required=True)
    _add_show(commands)
    _add_fix_version(commands)


def _add_show(commands: Any) -> None:
    parser = commands.add_parser(
        "show",
        help="show issues: status, type, summary, Fix Versions, blockers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Show each issue KEY as Jira has it: one line of key, status (done or not),\n"
            "type and summary, then its Fix Versions and the issues that block it (links of\n"
            "type Blocks). With --blockers, the issues blocking each KEY are shown too, one\n"
            "line each. An issue Jira does not know exits 1, naming it.\n\n"
            f"{_ABOUT}\n\n"
            "examples:\n"
            "  dm-release jira show DM-40000 --blockers\n"
            "  dm-release jira show DM-40011 DM-40017 --json"
        ),
    )
    add_config_option(parser, git=False)
    parser.add_argument("keys", nargs="+", metavar="KEY", help="the issues (DM-123)")
    parser.add_argument(
        "--blockers", action="store_true", help="show the issues that block each KEY too"
    )
    parser.add_argument("--refresh", action="store_true", help="ask Jira again, not the cache")
    add_json_flag(parser, "the issues")
    parser.set_defaults(handler=show)


def _add_fix_version(commands: Any) -> None:
    parser = commands.add_parser(
        "fix-version",
        help="set a final's Fix Version on every Jira issue of the release",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Set the Fix Version RELEASE (a final, as 29.1.0) on every issue of the release:\n"
            "the tickets its commits carry since the previous final (as in its release\n"
            "notes) and the issues blocking the release issue. The version of the project\n"
            "(jira.project) is made first when Jira lacks it. An issue that has the version\n"
            "is not written, so a second run writes nothing and says so. Tickets Jira does\n"
            "not know, and issues of other projects, are listed and skipped.\n\n"
            f"{_ABOUT}\n\n"
            "examples:\n"
            "  dm-release jira fix-version 29.1.0 --dry-run\n"
            "  dm-release jira fix-version 29.1.0 --release-issue DM-40000 --json"
        ),
    )
    add_config_option(parser)
    parser.add_argument("release", metavar="RELEASE", help="the final release (M.n.p)")
    parser.add_argument("--product", help="the product (default: the only configured one)")
    add_option_flags(parser, ("release_issue",))
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be written; write nothing"
    )
    add_json_flag(parser, "what was written")
    parser.set_defaults(handler=fix_version)


def show(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options_or_environment
    from dmrelease.adapters.jira import JiraClient
    from dmrelease.core.errors import UsageError
    from dmrelease.core.jira import is_issue_key

    for key in args.keys:
        if not is_issue_key(key):
            raise UsageError(f"{key!r} is not a Jira issue key (PROJECT-N, as DM-123)")
    config = load_options_or_environment(args.config).config
    client = JiraClient.of(config, refresh=args.refresh, log=sys.stderr)
    keys = list(dict.fromkeys(args.keys))
    found = client.issues(keys)
    blockers = {k: client.blockers(k) for k in keys if k in found} if args.blockers else {}
    out = human(args)
    for key in keys:
        issue = found.get(key)
        if issue is None:
            print(f"{key}: Jira does not know this issue", file=sys.stderr)
            continue
        for line in issue_lines(issue):
            print(line, file=out)
        for blocker in blockers.get(key, []):
            print(f"  blocker:      {_brief(blocker)}", file=out)
    missing = [k for k in keys if k not in found]
    if wants_json(args):
        data = {
            "issues": [found[k].to_dict() for k in keys if k in found],
            "missing": missing,
            "blockers": {k: [b.to_dict() for b in v] for k, v in blockers.items()}
            if args.blockers else None,
        }  # fmt: skip
        emit(args, data, ok=not missing)
    return 1 if missing else 0


def issue_lines(issue: Any) -> list[str]:
    """What ``show`` prints of one issue."""
    lines = [_brief(issue)]
    lines.append(f"  fix versions: {', '.join(issue.fix_versions) or '(none)'}")
    lines.append(f"  blocked by:   {', '.join(issue.blocked_by) or '(none)'}")
    return lines


def _brief(issue: Any) -> str:
    state = "done" if issue.done else "open"
    return f"{issue.key} [{issue.status}: {state}] {issue.issue_type}: {issue.summary}"


def fix_version(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.core.requests import FixVersionRequest
    from dmrelease.stages.jira_fix import fix_versions, release_version

    release_version(args.release)  # a usage error before the configuration is read
    loaded = load_options(args.config, flag_values(args, ("release_issue",)))
    request = FixVersionRequest(
        args.release, args.product, loaded.request.release_issue, args.dry_run
    )
    done = fix_versions(loaded.config, request, sys.stderr)
    out = human(args)
    for line in done.lines():
        print(line, file=out)
    if wants_json(args):
        emit(args, done.to_dict())
    return 0
