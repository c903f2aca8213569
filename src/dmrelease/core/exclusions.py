"""Products taken out of a run: EXCLUDE_FROM_BUILDS for a rebuild, EXCLUDE_FROM_TARBALLS
for a tarball run (the official-release job's parameters, build.exclude_products and
tarball.exclude_products). Pure: the command hands in what was asked and what is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Excluded", "exclude"]


@dataclass(frozen=True)
class Excluded:
    """What is left of the products asked (``kept``; empty with nothing ``dropped``: every
    product, as asked) and the products taken out (``dropped``, in the order asked)."""

    kept: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def nothing_left(self) -> bool:
        """Every product asked is excluded: the run has nothing to do."""
        return bool(self.dropped) and not self.kept

    def note(self, verb: str, variable: str, what: str) -> str | None:
        """The line the command prints, or None when nothing was taken out."""
        if not self.dropped:
            return None
        names = " ".join(self.dropped)
        if self.nothing_left:
            return f"{verb}: every product asked is in {variable} ({names}): nothing to {what}"
        return f"{verb}: not {what}ing {names} ({variable})"


def exclude(asked: Sequence[str], configured: Sequence[str], excluded: Sequence[str]) -> Excluded:
    """``asked`` (empty: every ``configured`` product) without the ``excluded`` products.
    With nothing excluded the request is left as it was (``kept`` is ``asked``, maybe
    empty); with nothing asked nor configured there is nothing to take out of."""
    if not excluded:
        return Excluded(tuple(asked), ())
    wanted = tuple(asked) or tuple(configured)
    dropped = tuple(name for name in wanted if name in excluded)
    if not dropped:
        return Excluded(tuple(asked), ())
    return Excluded(tuple(name for name in wanted if name not in excluded), dropped)
