"""Release state: the product's release lock, the journal of an operation and the saved
plan a rerun finishes (DESIGN.md §1, issue 8, issue 9 §4).

The release sessions (:mod:`dmrelease.stages.release`) hold :func:`release_lock` while
they write, journal every step in :func:`journal_for`'s file, and :func:`resume` the plan
of an interrupted run instead of planning afresh.

Without ``paths.versiondb_remote`` all of it lives in the state dir of this machine. With
it, it lives on that remote as well, so that a fresh agent carries on (issue 9 §4):

- the lock is the ref ``refs/dm-release/locks/<product>``
  (:class:`~dmrelease.adapters.remote_state.LockRef`), taken and released by
  compare-and-swap pushes: of two agents, one holds it and the other is told who does;
- the plan (with its checksum) and the journal are stored in the commit of
  ``refs/dm-release/releases/<product>/<session>/<release>``, written when the journal
  starts (before the first push) and at each stage it finishes; a rerun on an empty work
  dir finds them there and finishes exactly that plan: a tag a remote has at the planned
  commit is skipped, a missing one pushed, one elsewhere an error (release_apply).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dmrelease.adapters.files import write_atomically
from dmrelease.adapters.journal import JournalFile, LockFile, journal_path, new_lock
from dmrelease.adapters.remote_state import NAMESPACE, LockRef, RemoteRefs, RemoteStateError
from dmrelease.adapters.remote_state import shown as shown_remote
from dmrelease.adapters.versiondb import VersionDb
from dmrelease.core.config import Config, ProductConfig
from dmrelease.core.errors import CheckFailed, UsageError
from dmrelease.core.journal import Journal, Lock, Step, parse_journal
from dmrelease.core.limits import decode_text
from dmrelease.core.packages import is_package_name
from dmrelease.core.plan import Session, parse_plan
from dmrelease.core.refnames import ref_name_problem
from dmrelease.stages.release_apply import saved_plan_path, untrusted
from dmrelease.stages.release_plan import Planned
from dmrelease.stages.release_publish import BUILT, stage_of

__all__ = ["journal_for", "lock_store", "read_lock", "release_lock", "release_ref", "resume"]

PLAN_FILE = "plan.json"
JOURNAL_FILE = "journal.json"


def _remote_refs(config: Config) -> RemoteRefs | None:
    """The versiondb remote's ``refs/dm-release/``, with the local versiondb (created or
    cloned when absent) holding the objects; None without a remote."""
    if not config.versiondb_remote:
        return None
    db = VersionDb.of(config)
    assert db.remote is not None
    return RemoteRefs(db.git, db.remote)


def _product_name(product: str, what: str) -> None:
    if not is_package_name(product):
        raise UsageError(f"{product!r} is not a product name: no {what} is made of it")


def lock_store(config: Config, product: str) -> LockFile | LockRef:
    """Where ``product``'s release lock is: the ref on the versiondb remote when there is
    one, else ``<state>/locks/<product>.json``."""
    _product_name(product, "lock")
    refs = _remote_refs(config)
    return LockFile.of(config.state_dir, product) if refs is None else LockRef(refs, product)


def read_lock(config: Config, product: str) -> Lock | None:
    """The release lock of ``product`` as it is now, None when nobody holds it."""
    return lock_store(config, product).read()


def release_ref(product: str, session: Session, release: str) -> str:
    """``refs/dm-release/releases/<product>/<session>/<release>``, refused (UsageError)
    when it is not a ref name git takes."""
    _product_name(product, "release record")
    ref = f"{NAMESPACE}/releases/{product}/{session}/{release}"
    problem = ref_name_problem(ref)
    if problem:
        raise UsageError(f"{release!r} cannot name a release on the versiondb remote: {problem}")
    return ref


@dataclass
class _Stored:
    """Stores the plan and journal of one release on the versiondb remote, each write a
    compare-and-swap on the commit the previous one left (or found there first)."""

    config: Config
    ref: str
    plan: Path
    refs: RemoteRefs | None = None
    last: str | None = None

    def __call__(self, journal: Journal) -> None:
        if self.refs is None:
            self.refs = _remote_refs(self.config)
            assert self.refs is not None
            self.last = self.refs.fetch(self.ref.removeprefix(f"{NAMESPACE}/")).get(self.ref)
        files = {JOURNAL_FILE: journal.to_json()}
        if self.plan.is_file():
            files[PLAN_FILE] = decode_text(self.plan.read_bytes(), str(self.plan))
        stages = ", ".join(journal.stages) or "started"
        new = self.refs.commit(files, f"{journal.operation}: {stages}", parent=self.last)
        if self.refs.swap(self.ref, new, self.last).commit is None:
            raise RemoteStateError(
                f"{shown_remote(self.refs.url)} {self.ref}: written by another agent meanwhile, "
                "although this one holds the release lock: check who runs this release"
            )
        self.last = new


def journal_for(config: Config, product: str, session: Session, release: str) -> JournalFile:
    """The journal of an operation: ``<state>/journal/<product>/<session>-<release>.json``,
    inside the state dir since a product is a package name (one path component); with a
    versiondb remote, also stored there with the plan (:func:`release_ref`)."""
    _product_name(product, "journal")
    file = JournalFile(journal_path(config.state_dir, product, str(session), release))
    if config.versiondb_remote:
        file.mirror = _Stored(config, release_ref(product, session, release), saved_plan_path(file))
    return file


def _fetch_stored(config: Config, product: str, session: Session, release: str) -> bool:
    """Copy the plan and journal the versiondb remote holds for this release into the state
    dir, as the agent that started it left them; False when it holds none. The plan's
    checksum is verified, it must be this journal's, and a product configured here."""
    refs = _remote_refs(config)
    if refs is None:
        return False
    ref = release_ref(product, session, release)
    commit = refs.fetch(ref.removeprefix(f"{NAMESPACE}/")).get(ref)
    if commit is None:
        return False
    where = f"{shown_remote(refs.url)} {ref}"
    files = refs.files(commit)
    if PLAN_FILE not in files or JOURNAL_FILE not in files:
        return False  # a journal without a plan (a branch session's): nothing to finish
    plan = parse_plan(files[PLAN_FILE], f"{where}:{PLAN_FILE}")
    journal = parse_journal(files[JOURNAL_FILE], f"{where}:{JOURNAL_FILE}")
    problems = untrusted(config, plan, f"{where}:{PLAN_FILE}")
    if problems:
        raise CheckFailed(problems)
    if journal.plan_checksum != plan.checksum or (plan.product, plan.release) != (product, release):
        raise UsageError(f"{where}: its journal and plan are not of one release; remove the ref")
    file = journal_for(config, product, session, release)
    write_atomically(saved_plan_path(file), files[PLAN_FILE], what="the plan")
    write_atomically(file.path, files[JOURNAL_FILE], what="the journal")
    return True


def _half_made(journal: JournalFile, *, build: bool, built: str = "built") -> bool:
    """Whether the operation has writes left unfinished (pushes, or the build after its
    tags): a failure then keeps the lock for a rerun to finish; a done one does not. A
    journal that cannot be read counts as unfinished: the lock stays, and a rerun of the
    session takes it over since this process is gone by then."""
    try:
        found = journal.current()
    except Exception:  # the failure being handled is the one to report
        return True
    if found is None or all(s is Step.PLANNED for s in found.packages.values()):
        return False
    return not found.complete() or (build and not found.has_stage(built))


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
    file = lock_store(config, product)
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
        journal = journal_for(config, product, session, release)
        built = stage_of(config, BUILT)  # this environment's build
        if not _half_made(journal, build=build, built=built):
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
    if found is None and _fetch_stored(config, product.name, session, release):
        found = journal.load()  # an empty work dir: the release another agent started
    saved = saved_plan_path(journal)
    if found is None or not saved.is_file() or (found.complete() and not session.tags):
        return None
    plan = parse_plan(decode_text(saved.read_bytes(), str(saved)), str(saved))
    clones = {p.name: config.work_dir / "clones" / p.name for p in plan.packages}
    return Planned(plan, clones, (f"finishing the journaled plan {plan.checksum[:19]}",))
