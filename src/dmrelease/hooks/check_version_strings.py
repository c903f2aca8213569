"""check-version-strings: literal version fields are canonical (DESIGN.md §3, PEP 440).

The rule (PEP 440 normalized for Python metadata, a DM release ``M.n.p`` elsewhere) is
:mod:`dmrelease.core.version_fields`; this hook reads the files and reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from dmrelease.core.version_fields import check_version_strings
from dmrelease.hooks._common import HookParser, run_checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-version-strings",
        description="Check version fields: PEP 440 normalized for Python metadata, "
        "canonical M.n.p elsewhere.",
    )
    parser.add_argument("filenames", nargs="*", help="pyproject.toml, setup.cfg, ups/*.cfg")
    args = parser.parse_args(argv)
    return run_checks(parser.prog, args.filenames, check_version_strings)


if __name__ == "__main__":
    raise SystemExit(main())
