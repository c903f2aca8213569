"""Plan, validate and apply releases; run the sessions of the release flow.

plan prints (and with --output writes) the release plan with its checksum; validate runs
the release rules alone and writes nothing; apply executes exactly a reviewed plan.
weekly, candidate, final, patch and backport are the sessions of the flow
weekly -> release candidates -> final -> patch (run by the nox sessions weekly,
release_candidate, final_release, patch_release and backport). Tags are never moved or
deleted: a rerun of an interrupted session finishes it. When paths.source_server (and
paths.binary_server) are set, a weekly, a candidate and a final publish their green build
under their EUPS tag (w_YYYY_WW and w_latest, vM_n_p_rcN, vM_n_p and o_latest with the
source embedded). nightly rebuilds from the default branch (git.default_branch, main) and
publishes d_YYYY_MM_DD and d_latest, with no git tag (the nox session nightly).
Options come from dm-release.toml < environment < flags: the tag from RELEASE_GIT_TAG
(else GIT_TAG) when the TAG argument is not given, the refs from REFS, else
SOURCE_GIT_REFS, else GIT_REFS, the products from PRODUCTS. A product named in
EXCLUDE_FROM_BUILDS (build.exclude_products) is left out of the sessions, plan and
validate, as out of a rebuild: with every product asked excluded they say so and exit 0.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmrelease.adapters.config import (
    add_config_option,
    add_option_flags,
    flag_values,
    reads_environment,
)
from dmrelease.commands.machine import add_json_flag, emit, human, wants_json
from dmrelease.core.config import Loaded, RequestOptions, options
from dmrelease.core.errors import CheckFailed, Diagnostic, UsageError
from dmrelease.core.journal import Journal
from dmrelease.core.names import InvalidName, Tag, parse_tag
from dmrelease.core.plan import Session, session_making
from dmrelease.core.requests import BackportRequest, ReleaseRequest

if TYPE_CHECKING:
    from dmrelease.stages.release import WouldRun

FLAGS = ("refs",)
_TAG_VARIABLES = " or ".join(options()["release_tag"].env)
_RAW = argparse.RawDescriptionHelpFormatter

_SESSIONS = {str(s): s for s in Session}
_EPILOG = (
    "sessions: weekly, release_candidate, final_release, patch_release, backport\n"
    "refs default per session: rcN from '<release branch> vM.n.p.rc(N-1)', a final from the\n"
    "last candidate, a patch's branches from the previous final; rc1 needs --refs w.YYYY.WW"
)
_PUBLISHES = {
    Session.WEEKLY: "w_YYYY_WW and w_latest",
    Session.CANDIDATE: "vM_n_p_rcN",
    Session.FINAL: "vM_n_p and o_latest, each package with its source inside",
}


def _common(parser: argparse.ArgumentParser, *, tag: bool = True) -> None:
    add_config_option(parser)
    parser.add_argument("--product", help="the product (default: the only configured one)")
    parser.add_argument("--jobs", type=int, help="git pushes and fetches in parallel")
    if tag:
        parser.add_argument("tag", nargs="?", help=f"e.g. v29.1.0.rc1 [env {_TAG_VARIABLES}]")
    else:
        parser.set_defaults(tag=None)
    add_option_flags(parser, FLAGS)


def _writer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print every git command that would write, and change no repository",
    )
    parser.add_argument(
        "--break-lock",
        action="store_true",
        help="replace the release lock whatever it holds (another session's, empty, corrupt):"
        " only when no other session is running",
    )
    add_json_flag(
        parser, "what was done (the journal's counts and steps; with --dry-run, the git "
        "commands it would run)",
    )  # fmt: skip


def _change_control(parser: argparse.ArgumentParser) -> None:
    """The change-control flags of an rc1 and a patch (judged when jira.url is set)."""
    add_option_flags(parser, ("release_issue",))
    parser.add_argument(
        "--waive", action="append", default=[], metavar="KEY",
        help="rc1: let the open blocker KEY (e.g. DM-12345) of the release issue through; "
        "each --waive needs its --why (recorded in the plan); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--why", action="append", default=[], metavar="TEXT",
        help="why the blocker of the --waive before it is waived",
    )  # fmt: skip
    parser.add_argument(
        "--approved-by", metavar="NAME",
        help="rc1: the product owner who approved the candidate (recorded in the plan)",
    )  # fmt: skip
    parser.add_argument(
        "--rfc", metavar="KEY",
        help="a patch (patch session, candidate or final of M.n.p with p > 0): its RFC issue, "
        "e.g. RFC-123, approved in Jira (a status of jira.rfc_approved)",
    )  # fmt: skip


def _change_request(args: argparse.Namespace, loaded: Loaded) -> dict[str, Any]:
    """The request's change-control fields from the flags and the release issue option."""
    from dmrelease.core.criteria import parse_waivers

    return {
        "release_issue": loaded.request.release_issue,
        "waivers": parse_waivers(getattr(args, "waive", []), getattr(args, "why", [])),
        "approved_by": getattr(args, "approved_by", None),
        "rfc": getattr(args, "rfc", None),
    }


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "release",
        help="plan, validate and apply releases: weekly, candidates, finals, patches",
        description=__doc__,  # this module's docstring is the verb's --help: plain text
        formatter_class=_RAW,
    )
    commands = parser.add_subparsers(dest="release_command", metavar="COMMAND", required=True)
    _add_plan(commands)
    _add_apply(commands)
    for name, session, help_text in (
        ("weekly", Session.WEEKLY, "rebuild from main, then tag w.YYYY.WW (default: this week)"),
        ("candidate", Session.CANDIDATE, "tag vM.n.p.rcN, then rebuild from it"),
        ("final", Session.FINAL, "tag the last candidate's SHAs M.n.p, then rebuild"),
        ("patch", Session.PATCH, "release branches for patch M.n.p+1 from M.n.p"),
    ):
        description = help_text
        if session in _PUBLISHES:
            description += ".\n" + textwrap.fill(
                "When paths.source_server (and paths.binary_server) are set, the green build "
                f"is then published there as {_PUBLISHES[session]} (and packed onto the "
                "binary server); both are checked writable before anything is tagged. With "
                "--no-build the build it tags is published when it is already green.",
                79, break_on_hyphens=False,
            )  # fmt: skip
        sub = commands.add_parser(
            name, help=help_text, description=description, epilog=_EPILOG, formatter_class=_RAW
        )
        _common(sub)
        _writer(sub)
        if session is not Session.WEEKLY:
            _change_control(sub)
        if session in _PUBLISHES:
            reads_environment(sub, "object_storage")  # paths.*_server s3://, gs://
        sub.add_argument("--packages", nargs="+", default=[], help="patch: the packages to branch")
        sub.add_argument(
            "--no-build",
            action="store_true",
            help="tag only; skip the rebuild (a weekly then tags only a manifest built green)",
        )
        if session is Session.WEEKLY:
            sub.add_argument(
                "--require-tag", action="store_true",
                help=f"refuse to run without the TAG argument or {_TAG_VARIABLES} (exit 2) "
                "instead of making this week's weekly: a job whose later steps need the tag",
            )  # fmt: skip
        sub.set_defaults(handler=run_session, session=session, require_tag=False)
    _add_backport(commands)
    _add_nightly(commands)


def _add_nightly(commands: Any) -> None:
    from dmrelease.commands.tag import _iso_date

    help_text = (
        "rebuild from the default branch, then publish it as d_YYYY_MM_DD and d_latest (no git tag)"
    )
    sub = commands.add_parser(
        "nightly",
        help=help_text,
        description="Rebuild from the default branch (git.default_branch, main), then "
        "publish it as d_YYYY_MM_DD and d_latest (no git tag): the EUPS tag is declared over "
        "the built versions, and the build is published to paths.source_server (and packed "
        "onto paths.binary_server) when they are set, both checked writable before anything "
        "is built. A rerun the same day finishes an interrupted nightly and does nothing "
        "after a whole one; with build.env set, each environment gets its own nightly.",
    )
    add_config_option(sub)
    reads_environment(sub, "object_storage")  # paths.*_server s3://, gs://
    add_option_flags(sub, ("selected",))
    sub.add_argument(
        "--date", type=_iso_date, metavar="YYYY-MM-DD",
        help="the nightly's date (default: today in UTC)",
    )  # fmt: skip
    sub.add_argument(
        "--dry-run", action="store_true",
        help="print what would be built and published; write nothing",
    )  # fmt: skip
    add_json_flag(sub, "what was done (the journal's stages; with --dry-run, the commands "
                  "it would run)")  # fmt: skip
    sub.set_defaults(handler=run_nightly)


def _add_plan(commands: Any) -> None:
    for name, help_text in (
        ("plan", "print the release plan (per package: ref, SHA, tags, branch) and its checksum"),
        ("validate", "run every release rule against the remotes; write nothing"),
    ):
        sub = commands.add_parser(
            name, help=help_text, description=help_text, epilog=_EPILOG, formatter_class=_RAW
        )
        _common(sub)
        sub.add_argument("--session", choices=sorted(_SESSIONS), help="default: from the tag")
        sub.add_argument("--packages", nargs="+", default=[], help="patch: the packages to branch")
        sub.add_argument("--output", "-o", type=Path, help="write the plan (JSON) for apply")
        _change_control(sub)
        add_json_flag(sub, "the plan")
        sub.set_defaults(handler=run_plan, validate=name == "validate", install=False)
        if name == "validate":
            from dmrelease.commands.validation import add_install_flags

            add_install_flags(sub)


def _add_apply(commands: Any) -> None:
    sub = commands.add_parser(
        "apply",
        help="apply a reviewed plan file: tag, verify, push (journaled, resumable)",
        description="Apply exactly the plan written by 'release plan --output'; a rerun "
        "finishes an interrupted run. Refuses a plan whose checksum does not match.",
    )
    _common(sub, tag=False)
    _writer(sub)
    sub.add_argument("plan", type=Path, help="the plan file")
    sub.set_defaults(handler=run_apply)


def _add_backport(commands: Any) -> None:
    sub = commands.add_parser(
        "backport",
        help="backport a merged ticket onto a release branch in the named packages",
        description="Create tickets/DM-N-vM from the merged ticket branch and rebase it onto "
        "the release branch (created from vM.n.0.rc1 where missing) in each package; "
        "conflicts are reported per package and no repository is left half-rebased.",
    )
    _common(sub, tag=False)
    _writer(sub)
    sub.add_argument("ticket", help="the ticket, e.g. DM-40011")
    sub.add_argument("--to", required=True, metavar="BRANCH", help="release branch, e.g. v29.1.x")
    sub.add_argument("--packages", nargs="+", required=True, help="packages to backport to")
    sub.add_argument("--merge", action="store_true", help="also fast-forward the release branch")
    sub.set_defaults(handler=run_backport)


def _loaded(args: argparse.Namespace) -> Loaded:
    """The settings and request options: the TAG argument and ``--jobs`` (git's) are flags."""
    from dmrelease.adapters.config import load_options

    flags = {**flag_values(args, (*FLAGS, "release_issue")), "release_tag": args.tag or None,
             "git_jobs": args.jobs}  # fmt: skip
    return load_options(args.config, flags)


def _product(args: argparse.Namespace, loaded: Loaded) -> str:
    from dmrelease.stages.release import product_of

    return product_of(loaded.config, args.product, loaded.request.selected).name


def _not_excluded(args: argparse.Namespace, loaded: Loaded) -> tuple[Loaded, tuple[str, ...]]:
    """``loaded`` with the products of EXCLUDE_FROM_BUILDS taken out of those asked (the
    real official-release leaves them out of its tags, build and publish), the line saying
    so on stderr, and the products taken out; every product asked excluded leaves an
    empty selection, and ``_nothing_left`` is true: there is nothing to do."""
    import dataclasses

    from dmrelease.commands.exclusions import excluded_products

    config = loaded.config
    asked = (args.product,) if args.product else loaded.request.selected
    excluded = excluded_products(f"release {args.release_command}", asked, config,
                                 config.exclude_from_builds, "EXCLUDE_FROM_BUILDS",
                                 "build")  # fmt: skip
    if not excluded.dropped:
        return loaded, ()
    args.product = None  # the product asked, when kept, is the selection's only one
    request = dataclasses.replace(loaded.request, selected=excluded.kept)
    return dataclasses.replace(loaded, request=request), excluded.dropped


def _nothing_left(args: argparse.Namespace, loaded: Loaded, dropped: tuple[str, ...]) -> bool:
    """Every product asked is excluded: with --json the document says which, and the
    command exits 0 (a job's run of an excluded product is a success with nothing done)."""
    if not dropped or loaded.request.selected:
        return False
    if wants_json(args) and hasattr(args, "validate"):  # plan, validate: no plan
        from dmrelease.core.plan import PLAN_FORMAT

        emit(args, {"format": PLAN_FORMAT, "checksum": None, "plan": None,
                    "excluded": list(dropped)})  # fmt: skip
    elif wants_json(args):
        emit(args, {"dry_run": bool(getattr(args, "dry_run", False)), "journal": None,
                    "would": None, "excluded": list(dropped)})  # fmt: skip
    return True


def _tag(
    options: RequestOptions, session: Session | None, where: str, *, require: bool = False
) -> Tag:
    """The TAG argument, else the environment's, parsed once (``tag-canonical`` at
    ``where`` when it is not a canonical name); a weekly defaults to this week's unless
    ``require`` (its --require-tag)."""
    from dmrelease.commands.tag import utc_now, weekly_at

    text = options.release_tag
    if not text:
        if session is Session.WEEKLY and not require:
            return weekly_at(utc_now())
        if session is Session.WEEKLY:
            raise UsageError(
                f"weekly --require-tag: give the tag, e.g. w.2025.24, or set {_TAG_VARIABLES} "
                "(read in order)"
            )
        raise UsageError(f"give the tag, e.g. v29.1.0.rc1, or set {_TAG_VARIABLES} (read in order)")
    try:
        return parse_tag(text)
    except InvalidName as exc:
        problem = Diagnostic(where, 1, "tag-canonical", f"{text!r}: {exc.reason}")
        raise CheckFailed([problem]) from None


def _would(args: argparse.Namespace) -> WouldRun | None:
    """Where a dry run under ``--json`` keeps the git commands it prints (they go into
    the document as ``would``); None otherwise: the stage only prints them."""
    from dmrelease.stages.release import WouldRun

    return WouldRun() if args.dry_run and wants_json(args) else None


def _would_list(would: WouldRun | None) -> list[dict[str, Any]] | None:
    """``would``: the dry run's commands in the order of its lines; null for a real run."""
    if would is None:
        return None
    return [{"package": package, "command": list(command)} for package, command in would.commands]


def _report(args: argparse.Namespace, journal: Journal | None, would: WouldRun | None) -> None:
    """The journal's counts on stderr; with ``--json`` its document on stdout (a dry run
    or a session with nothing to do keeps no journal: ``"journal": null``; a dry run's
    commands are ``would``)."""
    if journal is not None:
        counts = ", ".join(f"{n} {step}" for step, n in journal.summary().items() if n)
        print(f"{journal.operation}: {counts}", file=sys.stderr)
    if wants_json(args):
        data = {"dry_run": args.dry_run, "journal": _journal_dict(journal)}
        emit(args, {**data, "would": _would_list(would)})


def _journal_dict(journal: Journal | None) -> dict[str, Any] | None:
    if journal is None:
        return None
    return {
        "operation": journal.operation,
        "plan_checksum": journal.plan_checksum,
        "complete": journal.complete(),
        "counts": journal.summary(),
        "packages": {name: str(step) for name, step in journal.packages.items()},
        "errors": dict(journal.errors),
        "stages": list(journal.stages),
    }


def run_session(args: argparse.Namespace) -> int:
    from dmrelease.stages.release import tag_then_build, weekly

    loaded = _loaded(args)
    if args.require_tag and not loaded.request.release_tag:  # before anything else
        _tag(loaded.request, args.session, "<tag>", require=True)
    loaded, dropped = _not_excluded(args, loaded)
    if _nothing_left(args, loaded, dropped):
        return 0
    product = _product(args, loaded)
    tag = _tag(loaded.request, args.session, product)
    if args.session is Session.CANDIDATE:  # before anything is tagged
        from dmrelease.commands.servers import refuse_o_latest

        refuse_o_latest("release candidate", tag.eups_tag, loaded)
    request = ReleaseRequest(
        args.session, tag, product, loaded.request.refs,
        tuple(args.packages), args.dry_run, args.break_lock, build=not args.no_build,
        **_change_request(args, loaded),
    )  # fmt: skip
    run = weekly if args.session is Session.WEEKLY else tag_then_build
    would = _would(args)
    _report(args, run(loaded.config, request, out=human(args), would=would), would)
    return 0


def run_plan(args: argparse.Namespace) -> int:
    from dmrelease.core.plan import PLAN_FORMAT, plan_to_json, render_plan
    from dmrelease.core.redact import redact
    from dmrelease.stages.release import plan_for, validate_request, with_auxiliaries
    from dmrelease.stages.workspace import work_dir_lock

    loaded, dropped = _not_excluded(args, _loaded(args))
    if _nothing_left(args, loaded, dropped):
        return 0
    config, product = loaded.config, _product(args, loaded)
    given = _SESSIONS[args.session] if args.session else None
    tag = _tag(loaded.request, None, product if given else "<tag>")
    session = given or session_making(tag)
    if session is None:
        raise UsageError(f"{tag}: give --session (the tag names no release session)")
    if session is Session.CANDIDATE:  # official-release's prepare stops on it, as its tag would
        from dmrelease.commands.servers import refuse_o_latest

        refuse_o_latest(f"release {args.release_command}", tag.eups_tag, loaded)
    request = ReleaseRequest(
        session, tag, product, loaded.request.refs, tuple(args.packages),
        **_change_request(args, loaded),
    )  # fmt: skip
    if args.validate:  # in clones of its own: validate changes no repository
        planned, problems = validate_request(config, request)
    else:
        with work_dir_lock(config):  # the plan is made in the work clones, fetched once
            planned, _workspace = plan_for(config, request)
        planned, problems = with_auxiliaries(config, planned)
    if problems:
        raise CheckFailed(problems)
    from dmrelease.commands.validation import install_candidate, report_install

    json_install = args.install and wants_json(args)  # its summary goes into the document
    validation = install_candidate(args, config, planned.plan) if json_install else None
    for target in planned.auxiliary:
        print(redact(target.line()), file=sys.stderr)
    for note in planned.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.output:
        from dmrelease.adapters.files import write_atomically

        text = plan_to_json(planned.plan)
        write_atomically(args.output, text, parents=False, what="the plan")
    if wants_json(args):
        plan = planned.plan
        document = {"format": PLAN_FORMAT, "checksum": plan.checksum, "plan": plan.to_dict()}
        if config.auxiliaries_of(plan.product):
            shown = [{**t.to_dict(), "url": redact(t.url)} for t in planned.auxiliary]
            document["auxiliary"] = shown
        if validation is not None:
            document["validation"] = validation.document
        emit(args, document, ok=validation.summary.ok if validation else None)
    else:
        sys.stdout.write(render_plan(planned.plan))
    if args.validate:
        print(f"{planned.plan.operation}: every rule holds", file=sys.stderr)
    if args.install and not json_install:  # after the plan and the rules
        validation = install_candidate(args, config, planned.plan)
    return report_install(validation) if validation is not None else 0


def run_apply(args: argparse.Namespace) -> int:
    from dmrelease.stages.release import apply_file

    config = _loaded(args).config
    would = _would(args)
    journal = apply_file(
        config, args.plan, dry_run=args.dry_run, break_lock=args.break_lock, out=human(args),
        would=would,
    )  # fmt: skip
    _report(args, journal, would)
    return 0


def run_backport(args: argparse.Namespace) -> int:
    from dmrelease.stages.release import backport

    loaded = _loaded(args)
    request = BackportRequest(
        args.ticket, args.to, tuple(args.packages), _product(args, loaded), args.merge,
        args.dry_run, args.break_lock,
    )  # fmt: skip
    would = _would(args)
    outcomes = backport(loaded.config, request, out=human(args), would=would)
    if wants_json(args):
        done = [{"package": o.package, "status": o.status, "commits": o.commits} for o in outcomes]
        data = {"dry_run": args.dry_run, "ticket": args.ticket, "to": args.to}
        emit(args, {**data, "packages": done, "would": _would_list(would)})
    return 0


def run_nightly(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import load_options
    from dmrelease.commands.tag import utc_now
    from dmrelease.core.names import Daily
    from dmrelease.core.requests import NightlyRequest
    from dmrelease.stages.release import nightly

    loaded = load_options(args.config, flag_values(args, ("selected",)))
    day = args.date or utc_now().date()  # the clock, read here: UTC
    request = NightlyRequest(Daily(day), loaded.request.selected, args.dry_run)
    would = _would(args)
    journal = nightly(loaded.config, request, out=human(args), would=would)
    if journal is not None:
        print(f"{journal.operation}: {', '.join(journal.stages) or 'nothing done'}",
              file=sys.stderr)  # fmt: skip
    if wants_json(args):
        data = {
            "dry_run": args.dry_run,
            "date": day.isoformat(),
            "eups_tag": request.daily.eups_tag,
        }
        stages = list(journal.stages) if journal is not None else None
        emit(args, {**data, "stages": stages, "would": _would_list(would)})
    return 0
