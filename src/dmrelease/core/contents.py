"""The distribution contents file of a product (DMTN-106 §6, A.2.2).

``ups/<product>.contents.yaml`` in the product's metapackage repository lists what the
product distributes besides its own git packages, and who approved it::

    third_party:
      - name: eigen            # the EUPS product or conda package name
        type: 1                # 1 build/run dependency, 2 convenience for users,
                               # 3 collaborator code
        delivery: eups         # eups | conda
        license: MPL-2.0       # an SPDX licence expression
        support: full          # full | best-effort | none
        rfc: RFC-123           # the CCB approval: RFC-N or DM-N
    packages:                  # git packages approved into the product's closure (CCB)
      - name: meas_extensions_foo
        rfc: RFC-456

Both lists are optional (``[]`` for none); entries need not be sorted; a name appears once
in the whole file (conda names compared without case, as conda does). The file is composed
into YAML nodes (:mod:`dmrelease.core.contents_file`) so that every problem points at its line.
Rule ids: ``contents-syntax``, ``contents-structure``, ``contents-key``,
``contents-duplicate``, ``contents-name``, ``contents-type``, ``contents-delivery``,
``contents-license``, ``contents-support``, ``contents-rfc``; :func:`check_third_party`
reports ``third-party-unapproved``.

A third-party name is approved by its entry whatever the entry's delivery (which says how
the distribution ships it, for the release notes): an EUPS product a table sets up matches
its name exactly, a conda package matches it without case, as conda compares names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dmrelease.core.contents_file import ThirdParty, read_contents
from dmrelease.core.errors import CheckFailed, Diagnostic

__all__ = [
    "CONTENTS_PATH",
    "Contents",
    "ThirdParty",
    "Use",
    "approval_of",
    "check_contents",
    "check_third_party",
    "parse_contents",
]

#: where the file lives in the metapackage repository (``.format(product=...)``)
CONTENTS_PATH = "ups/{product}.contents.yaml"


@dataclass(frozen=True)
class Contents:
    """A product's contents file: the approved third-party packages (file order) and the
    git packages approved into its closure (name -> RFC); ``path`` is the file's."""

    third_party: tuple[ThirdParty, ...] = ()
    packages: Mapping[str, str] = field(default_factory=dict, hash=False)
    path: str = ""

    def approved(self, name: str, used_by: str = "eups") -> ThirdParty | None:
        """The entry approving ``name`` as an EUPS product (``used_by="eups"``: the same
        name) or as a conda package (``"conda"``: the same name without case), or None."""
        if used_by == "conda":
            folded = name.lower()
            return next((e for e in self.third_party if e.name.lower() == folded), None)
        return next((e for e in self.third_party if e.name == name), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "third_party": [entry.to_dict() for entry in self.third_party],
            "packages": dict(sorted(self.packages.items())),
        }


@dataclass(frozen=True)
class Use:
    """A third-party name where a file uses it (a table's setup line, an environment's
    dependency); ``column`` None when the place has none."""

    name: str
    path: str
    line: int
    column: int | None = None

    @property
    def place(self) -> str:
        return f"{self.path}:{self.line}"


def approval_of(contents: Contents, package: str) -> str | None:
    """The RFC that approved ``package`` into the product: its ``packages`` entry, else its
    ``third_party`` entry; None when the file approves neither."""
    if package in contents.packages:
        return contents.packages[package]
    entry = contents.approved(package, "eups")
    return entry.rfc if entry is not None else None


def check_third_party(
    contents: Contents,
    eups: Iterable[str | Use],
    conda: Iterable[str | Use],
    where: str,
) -> list[Diagnostic]:
    """One ``third-party-unapproved`` diagnostic per name that ``contents`` does not
    approve: the EUPS products ``eups``, then the conda packages ``conda``, in the
    order given. A :class:`Use` is reported at its place (further uses of the same name are
    named in the message); a plain name at ``where`` (line 1)."""
    found: list[Diagnostic] = []
    for used_by, names in (("eups", eups), ("conda", conda)):
        unapproved: dict[str, list[Use]] = {}
        for item in names:
            use = item if isinstance(item, Use) else Use(item, where, 1)
            if contents.approved(use.name, used_by) is None:
                key = use.name.lower() if used_by == "conda" else use.name
                places = unapproved.setdefault(key, [])
                if use not in places:
                    places.append(use)
        found += [_unapproved(contents, used_by, uses) for uses in unapproved.values()]
    return found


def _unapproved(contents: Contents, used_by: str, uses: list[Use]) -> Diagnostic:
    first = uses[0]
    kind = "EUPS product" if used_by == "eups" else "conda package"
    listing = contents.path or CONTENTS_PATH.format(product="<product>")
    message = f"{kind} {first.name!r} is not approved in {listing}"
    if len(uses) > 1:
        message += "; also used at " + ", ".join(use.place for use in uses[1:])
    hint = (
        "add it under third_party with its type, delivery, license, support and the rfc "
        "that approved it"
    )
    return Diagnostic(first.path, first.line, "third-party-unapproved", message, first.column, hint)


def parse_contents(text: str, path: str) -> Contents:
    """The contents file ``text``; raises CheckFailed with every problem found."""
    contents, problems = _read(text, path)
    if problems:
        raise CheckFailed(problems)
    return contents


def check_contents(text: str, path: str) -> list[Diagnostic]:
    """Every problem of the contents file ``text``, in file order (empty when it is fine)."""
    return _read(text, path)[1]


def _read(text: str, path: str) -> tuple[Contents, list[Diagnostic]]:
    third_party, packages, problems = read_contents(text, path)
    return Contents(third_party, packages, path), problems
