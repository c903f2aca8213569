"""check-requirements: Python requirements parse as PEP 508 with ``packaging`` (DESIGN.md §4).

The rules are :mod:`dmrelease.core.requirements`; this hook reads the files and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from dmrelease.core.requirements import check_requirements_file
from dmrelease.hooks._common import HookParser, run_checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-requirements",
        description="Check that Python requirement files parse (PEP 508, packaging).",
    )
    parser.add_argument("filenames", nargs="*", help="requirements*.txt or pyproject.toml files")
    parser.add_argument(
        "--pinned",
        action="store_true",
        help="demand that each requirement pins one version with ==",
    )
    args = parser.parse_args(argv)
    check = partial(check_requirements_file, pinned=args.pinned)
    return run_checks(parser.prog, args.filenames, check)


if __name__ == "__main__":
    raise SystemExit(main())
