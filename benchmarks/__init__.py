"""Scaled workloads timed by ``nox -s bench`` (DESIGN.md §7): one ``bench_*.py`` per concern,
each with ``run() -> list[tuple[str, str]]`` returning (what, figures) rows."""
