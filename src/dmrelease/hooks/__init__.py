"""pre-commit hooks: one module per hook, each ``main(argv) -> int``."""
