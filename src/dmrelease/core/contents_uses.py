"""Where a metapackage repository uses third-party names (DMTN-106 §6, for
:func:`dmrelease.core.contents.check_third_party`).

- A table file's setup lines (every ``if`` branch): a product is third-party unless it is
  a git package of the product. ``--external`` products are always third-party (EUPS's
  word for "not built here"). A name the contents file lists under ``packages`` is a git
  package. Given ``git_packages`` (repos.yaml's names: what lsst-build clones and builds),
  a name there is a git package too, unless the contents file lists it under
  ``third_party`` (a third-party library wrapped in a git repository, such as eigen).
  Without ``git_packages`` nothing else is known to be a git package, so every other
  product must be approved: the check never passes a name it cannot place. The ``eups``
  version check and the table's own product are never third-party.
- A conda environment file's ``dependencies``: each conda match spec's package name
  (``channel::`` dropped). ``pip:`` requirements are not conda packages and are left out;
  specs that do not parse are left to ``check-conda-env``.
"""

from __future__ import annotations

from collections.abc import Collection

from dmrelease.core.contents import Contents, Use
from dmrelease.core.errors import Diagnostic, ParseError
from dmrelease.core.tables import TableFile

__all__ = [
    "conda_uses",
    "table_uses",
]


def table_uses(
    table: TableFile,
    contents: Contents,
    git_packages: Collection[str] | None = None,
    product: str | None = None,
) -> list[Use]:
    """The third-party EUPS products ``table`` sets up, at their lines, in text order;
    ``product`` (default: the table's own name) is skipped."""
    own = {name for name in (product, table.product_name) if name}
    uses: list[Use] = []
    for dependency in table.all_dependencies():
        name = dependency.name
        if dependency.is_version_check or name in own:
            continue
        if not dependency.external:
            if name in contents.packages:
                continue
            listed = contents.approved(name) is not None
            if git_packages is not None and name in git_packages and not listed:
                continue
        uses.append(Use(name, table.path, dependency.line, dependency.column or None))
    return uses


def conda_uses(text: str, path: str) -> tuple[list[Use], list[Diagnostic]]:
    """The conda packages an environment file lists, at their lines, and the problem that
    stopped the reading when it is not YAML (rule ``conda-env-syntax``)."""
    import yaml

    from dmrelease.core.conda_env import CondaSpec, parse_spec
    from dmrelease.core.yaml_nodes import compose

    try:
        root = compose(text, path, "conda-env-syntax")
    except ParseError as exc:
        return [], [exc.diagnostic]
    if not isinstance(root, yaml.MappingNode):
        return [], []
    uses: list[Use] = []
    for key, value in root.value:
        if key.value != "dependencies" or not isinstance(value, yaml.SequenceNode):
            continue
        for item in value.value:
            if not isinstance(item, yaml.ScalarNode):
                continue  # a pip: section
            spec = parse_spec(str(item.value))
            if isinstance(spec, CondaSpec):
                mark = item.start_mark
                uses.append(Use(spec.name, path, mark.line + 1, mark.column + 1))
    return uses, []
