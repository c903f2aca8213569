"""What the verbs that honour EXCLUDE_FROM_BUILDS or EXCLUDE_FROM_TARBALLS share (rebuild,
publish, tarball, docker, the release sessions): the products asked without the excluded
ones, and the line on stderr that says which were taken out."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the verbs' registration loads no settings model
    from dmrelease.core.config import Config
    from dmrelease.core.exclusions import Excluded


def excluded_products(
    verb: str,
    asked: Sequence[str],
    config: Config,
    excluded: Sequence[str],
    variable: str,
    what: str,
) -> Excluded:
    """``asked`` (empty: every product of ``config``) without the ``excluded`` products
    (the setting of the job parameter ``variable``), saying on stderr which ``verb`` does
    not ``what`` (build, pack, publish, install), when any."""
    from dmrelease.core.exclusions import exclude

    kept = exclude(asked, [product.name for product in config.products], excluded)
    if note := kept.note(verb, variable, what):
        print(note, file=sys.stderr)
    return kept
