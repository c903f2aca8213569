"""``dm-release`` verbs: one module per verb group, each ``register(subparsers)``.

A verb module only parses arguments and calls a stage or a check; the front end in
:mod:`dmrelease.cli` maps exceptions to exit codes.
"""
