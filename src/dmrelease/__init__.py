"""dm-release: release engineering for multi-repository EUPS products (DMTN-106)."""

__version__ = "0.11.0"
