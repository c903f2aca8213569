"""dm-release: release engineering for multi-repository EUPS products (DMTN-106).

The supported Python API is the ``__all__`` of :mod:`dmrelease.core` modules and of the
stage fronts (:mod:`dmrelease.stages.rebuild`, ``.release``, ``.verify``, ``.workspace``,
``.release_state``); docs/api.md says what is kept stable. Importing this package loads
nothing else: the pre-commit hooks import it on every commit.
"""

__all__ = ["__version__"]

__version__ = "0.14.0"
