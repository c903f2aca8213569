"""dm-release's sessions: the tests, the demo, and the release sessions Jenkins and the
release engineer run. Each session installs dm-release and passes its arguments on."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


#: the oldest Python CI tests on: Debian 12's (3.11.2, requires-python's floor; it lacks
#: tarfile's data filter, 3.11.4+)
FLOOR_PYTHON = "/usr/bin/python3"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit and integration, real git repositories)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=FLOOR_PYTHON, default=False)
def tests_floor(session: nox.Session) -> None:
    """The test suite on /usr/bin/python3 (Debian 12: 3.11.2, the oldest Python supported).

    CI runs it besides tests when /usr/bin/python3 is not the interpreter nox runs on."""
    tests(session)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, mypy --strict on the pure core."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")


#: npm-groovy-lint (CodeNarc on the Java installed), the Jenkinsfiles' linter
GROOVY_LINT = "npm-groovy-lint@16.2.0"


@nox.session(default=False)
def lint_jenkins(session: nox.Session) -> None:
    """Render the job definitions offline (jenkins-jobs test jenkins/jobs) and lint the
    Jenkinsfiles (npm-groovy-lint, installed by npm, on Java 17), failing on a warning."""
    session.install("jenkins-job-builder>=6,<7", "setuptools<81")  # JJB 6 imports pkg_resources
    rendered = f"{session.create_tmp()}/jobs"
    session.run("jenkins-jobs", "test", "--config-xml", "jenkins/jobs", "-o", rendered)
    jenkinsfiles = sorted(str(path) for path in Path("jenkins").glob("*.Jenkinsfile"))
    session.run(
        "npm", "exec", "--yes", f"--package={GROOVY_LINT}", "--", "npm-groovy-lint",
        "--noserver", "--config", "jenkins/.groovylintrc.json", "--failon", "warning",
        *jenkinsfiles, external=True,
    )  # fmt: skip


@nox.session(default=False)
def fuzz(session: nox.Session) -> None:
    """The fuzz suite's long run: -- [N] examples per target (default 3000), random seed.

    CI runs the same suite derandomized with a few dozen examples per target (tests/fuzz)."""
    session.install("-e", ".[test]")
    count = session.posargs[:1] if session.posargs[:1] and session.posargs[0].isdigit() else []
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz", *session.posargs[len(count):],
        env={"HYPOTHESIS_PROFILE": "long", "DM_RELEASE_FUZZ_EXAMPLES": "".join(count) or "3000"},
    )  # fmt: skip


#: the EUPS source tarball beside this checkout (../shared/vendor) that the demo makes its
#: image's base image from; without it the demo skips the image and says so
EUPS_SOURCE = Path(__file__).resolve().parent.parent / "shared" / "vendor" / "eups-2.2.15.tar.gz"


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Create the embedded demo product in a fresh directory and run the flow on it."""
    source = ("--eups-source", str(EUPS_SOURCE)) if EUPS_SOURCE.is_file() else ()
    _dm_release(session, "demo", *source, *session.posargs)


@nox.session(default=False)
def rebuild(session: nox.Session) -> None:
    """Prepare and build the products: nox -s rebuild -- [dm-release rebuild args]."""
    _dm_release(session, "rebuild", *session.posargs)


@nox.session(default=False)
def publish(session: nox.Session) -> None:
    """Write a build to the source server: nox -s publish -- --tag TAG [publish args]."""
    _dm_release(session, "publish", *session.posargs, extras=PUBLISHING)


@nox.session(default=False)
def tarball(session: nox.Session) -> None:
    """Pack a build onto the binary server: nox -s tarball -- --tag TAG [tarball args]."""
    _dm_release(session, "tarball", *session.posargs, extras=PUBLISHING)


@nox.session(name="build_stack", default=False)
def build_stack(session: nox.Session) -> None:
    """Build and push the distribution image: nox -s build_stack -- --tag TAG [docker args]."""
    _dm_release(session, "docker", *session.posargs)


@nox.session(default=False)
def announce(session: nox.Session) -> None:
    """Render the announcement of a planned release, posted to Discourse with --post:
    -- VERSION --weekly w.YYYY.WW --start YYYY-MM-DD [--end ...] [--release-issue DM-N]."""
    _dm_release(session, "announce", *session.posargs)


@nox.session(name="release_notes", default=False)
def release_notes(session: nox.Session) -> None:
    """The release notes between two releases or builds: -- [SINCE..]UNTIL [--format rst]
    [--output FILE] [--narrative FILE] [--overrides FILE] [--release-issue DM-N]."""
    _dm_release(session, "notes", *session.posargs)


def _release(session: nox.Session, command: str, extras: str = "") -> None:
    """Run dm-release release COMMAND; the Jenkins parameters (RELEASE_GIT_TAG,
    SOURCE_GIT_REFS, PRODUCTS) pass through the environment to the config adapter, posargs
    on the command line (a TAG given there wins over RELEASE_GIT_TAG)."""
    _dm_release(session, "release", command, *session.posargs, extras=extras)


#: the extras of the sessions that publish: paths.source_server / paths.binary_server may
#: be s3:// or gs:// (without them such a destination is refused, naming the extra)
PUBLISHING = "s3,gcs"


def _dm_release(session: nox.Session, *args: str, extras: str = "") -> None:
    """Install dm-release from this checkout (with the extras given), then run it in the
    directory nox was invoked from, not the noxfile's (where nox runs sessions): nox -f
    <dm-release>/noxfile.py -s validate -- TAG in a product's directory finds its
    dm-release.toml there or in a parent, and a relative --config, --dir or work_dir means
    what it means where the user stands."""
    session.install("-e", f".[{extras}]" if extras else ".")
    session.chdir(session.invoked_from)
    session.run("dm-release", *args)


@nox.session(default=False)
def weekly(session: nox.Session) -> None:
    """Rebuild from main, then tag w.YYYY.WW on every package (and publish it): -- [TAG]."""
    _release(session, "weekly", PUBLISHING)


@nox.session(default=False)
def nightly(session: nox.Session) -> None:
    """Rebuild from the default branch, publish it as d_YYYY_MM_DD, d_latest: -- [--date DAY]."""
    _release(session, "nightly", PUBLISHING)


@nox.session(default=False)
def release_candidate(session: nox.Session) -> None:
    """Plan, tag vM.n.p.rcN, rebuild from it: -- [TAG] [--refs w.YYYY.WW]."""
    _release(session, "candidate", PUBLISHING)


@nox.session(default=False)
def final_release(session: nox.Session) -> None:
    """Tag the last candidate's SHAs M.n.p, rebuild (binaries reused): -- [TAG]."""
    _release(session, "final", PUBLISHING)


@nox.session(default=False)
def patch_release(session: nox.Session) -> None:
    """Release branches for M.n.p+1 from M.n.p: -- TAG --packages a b."""
    _release(session, "patch")


@nox.session(default=False)
def backport(session: nox.Session) -> None:
    """Backport a merged ticket: -- DM-N --to vM.n.x --packages a b [--merge]."""
    _release(session, "backport")


@nox.session(default=False)
def validate(session: nox.Session) -> None:
    """Every release rule for a tag against the remotes, then the candidate installed from
    the binary and the source server into fresh stacks, inspected and its demo run; the
    validation summary under paths.state_dir/validation: -- [TAG] [--summary DIR]."""
    _dm_release(session, "release", "validate", "--install", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in benchmarks/ and print their figures: -- [NAME...] for some
    (-- baselines: prepare, re-run, ticket branch, no-change rebuild, release apply and a
    hook, each against the real lsst-build, raw git or check-yaml)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(default=False)
def mutate(session: nox.Session) -> None:
    """Mutation testing of core/ (mutmut 3, config in pyproject [tool.mutmut]), then the score
    per module: -- [--max-children N] ["dmrelease.core.graph*" ...]. Survivors:
    mutmut results, mutmut show NAME in the session's venv."""
    session.install("-e", ".[mutate]")
    session.run("mutmut", "run", *session.posargs)
    session.run("python", "-m", "benchmarks.mutation_score", *session.posargs)
