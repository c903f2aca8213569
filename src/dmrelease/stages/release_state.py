"""Release state: the product's release lock, the journal of an operation and the saved
plan a rerun finishes (DESIGN.md §1, issue 8, issue 9 §4).

The release sessions (:mod:`dmrelease.stages.release`) hold :func:`release_lock` while
they write, journal every step in :func:`journal_for`'s file, and :func:`resume` the plan
of an interrupted run instead of planning afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TextIO

from dmrelease.adapters.journal import JournalFile, LockFile, journal_path, new_lock
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import UsageError
from dmrelease.core.journal import Lock, Step
from dmrelease.core.limits import decode_text
from dmrelease.core.packages import is_package_name
from dmrelease.core.plan import Session, parse_plan
from dmrelease.stages.release_apply import saved_plan_path
from dmrelease.stages.release_plan import Planned

__all__ = ["journal_for", "release_lock", "resume"]


def journal_for(config: Config, product: str, session: Session, release: str) -> JournalFile:
    """The journal of an operation: ``<state>/journal/<product>/<session>-<release>.json``,
    inside the state dir since a product is a package name (one path component)."""
    if not is_package_name(product):
        raise UsageError(f"{product!r} is not a product name: no journal is made of it")
    return JournalFile(journal_path(config.state_dir, product, str(session), release))


def _half_made(journal: JournalFile, *, build: bool) -> bool:
    """Whether the operation has writes left unfinished (pushes, or the build after its
    tags): a failure then keeps the lock for a rerun to finish; a done one does not. A
    journal that cannot be read counts as unfinished: the lock stays, and a rerun of the
    session takes it over since this process is gone by then."""
    try:
        found = journal.journal or journal.load()
    except Exception:  # the failure being handled is the one to report
        return True
    if found is None or all(s is Step.PLANNED for s in found.packages.values()):
        return False
    return not found.complete() or (build and not found.has_stage("built"))


@contextmanager
def release_lock(
    config: Config,
    product: str,
    session: Session,
    release: str,
    *,
    break_lock: bool,
    dry_run: bool,
    log: TextIO,
    build: bool = False,
) -> Iterator[Lock | None]:
    """Hold the product's release lock for the session (a dry run only reads it, and not
    even that with ``break_lock``); ``build``: the session builds after it tags. Whatever
    fails while it is held, the lock is released unless writes are left half-made."""
    file = LockFile.of(config.state_dir, product)
    if dry_run:
        yield None if break_lock else file.read()
        return
    lock = new_lock(product, str(session), release)
    replaced = file.take(lock, break_lock=break_lock)
    try:
        if replaced is not None:
            print(replaced, file=log)
        yield lock
    except BaseException:  # a failed build, a git error, a full disk, Ctrl-C
        if not _half_made(journal_for(config, product, session, release), build=build):
            with suppress(Exception):  # the failure to report is the one above
                file.release(lock)
        raise
    file.release(lock)


def resume(
    config: Config, product: ProductConfig, session: Session, release: str
) -> Planned | None:
    """The saved plan of this session's last run: a rerun finishes exactly it. A tagging
    session is resumed even when its pushes are done (its build may not be, and a release
    branch that moved since must not change what a rerun tags); a branch session that is
    done plans afresh, since it may be asked for other packages."""
    journal = journal_for(config, product.name, session, release)
    found = journal.load()
    saved = saved_plan_path(journal)
    if found is None or not saved.is_file() or (found.complete() and not session.tags):
        return None
    plan = parse_plan(decode_text(saved.read_bytes(), str(saved)), str(saved))
    clones = {p.name: config.work_dir / "clones" / p.name for p in plan.packages}
    return Planned(plan, clones, (f"finishing the journaled plan {plan.checksum[:19]}",))
