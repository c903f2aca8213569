"""Adapters to the outside world: git, EUPS servers, HTTP services, the file system."""
