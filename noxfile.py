"""Developer and Jenkins entry points. Sessions only pass parameters on (STYLE.md habit 10)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True



@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit and integration, real git repositories)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, mypy --strict on the pure core."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Create the embedded demo product in a fresh directory and run the flow on it."""
    session.install("-e", ".")
    session.run("dm-release", "demo", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in benchmarks/ and print their figures."""
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks", *session.posargs)
