"""check-conda-env: a conda environment YAML has a valid structure and specs (DESIGN.md §4).

The rules are :mod:`dmrelease.core.conda_env`; this hook reads the files and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from dmrelease.core.conda_env import check_conda_env
from dmrelease.hooks._common import HookParser, run_checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = HookParser(
        prog="check-conda-env",
        description="Check conda environment YAML files: structure and package specs.",
    )
    parser.add_argument("filenames", nargs="*", help="conda environment YAML files")
    parser.add_argument(
        "--pinned",
        action="store_true",
        help="demand exact versions, as a release needs: pkg=1.2=build or pkg==1.2",
    )
    args = parser.parse_args(argv)
    return run_checks(parser.prog, args.filenames, partial(check_conda_env, pinned=args.pinned))


if __name__ == "__main__":
    raise SystemExit(main())
