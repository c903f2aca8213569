"""``dm-release config``: the configuration as dm-release sees it.

``show`` prints every effective value and where it came from (default, ``FILE:LINE``,
environment variable, flag; secrets as ``****``), ``init`` writes a commented
dm-release.toml to start from, ``reference`` prints docs/configuration.md. All three are
made from the one declaration of the options (core/config.py), so none can drift from it;
tests/test_config_command.py fails when docs/configuration.md is not what ``reference``
prints (``dm-release config reference > docs/configuration.md`` updates it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from dmrelease.adapters.config import (
    CONFIG_NAME,
    CONFIG_VARIABLE,
    add_config_option,
    add_option_flags,
    environment_variables,
    flag_values,
)
from dmrelease.commands.machine import add_json_flag, emit, wants_json
from dmrelease.core.config import (
    AUXILIARY_HELP,
    LIBRARY_HELP,
    PRODUCT_HELP,
    SECRET_HELP,
    SECRETS,
    Config,
    Loaded,
    OptionSpec,
    ProductConfig,
    RequestOptions,
    options,
    request_options,
    setting_options,
)
from dmrelease.core.errors import UsageError
from dmrelease.core.redact import REDACTED

#: the options ``config show`` takes as flags: every one that has a flag, so that it
#: shows what a command given the same flags would use
FLAGS = tuple(name for name, spec in options().items() if spec.flag)


def register(verbs: Any) -> None:
    parser = verbs.add_parser(
        "config",
        help="show, start or document the configuration (dm-release.toml)",
        description=(
            "The configuration: dm-release.toml (given with --config, else named by "
            f"{CONFIG_VARIABLE}, else found in this directory or the nearest parent), then "
            "the environment, then flags, each overriding the one before."
        ),
    )
    commands = parser.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    show = commands.add_parser(
        "show",
        help="print every effective value and where it came from",
        description=(
            "Print every setting with its effective value and its source: default, "
            "FILE:LINE, environment VARIABLE or flag. The flags are those of the other "
            "verbs: give the ones a command would get to see what it would use. Secrets are "
            "shown as ****, never their value."
        ),
    )
    add_config_option(show, git=False)
    add_json_flag(show, "the values")
    add_option_flags(show, FLAGS)
    show.set_defaults(handler=run_show)
    init = commands.add_parser(
        "init",
        help=f"write a commented {CONFIG_NAME} with every key and its default",
        description=(
            f"Write a {CONFIG_NAME} listing every key with its help and default, commented "
            "out, and an example product table. An existing file is never replaced: move it "
            "away first."
        ),
    )
    init.add_argument(
        "path", nargs="?", type=Path, default=Path(CONFIG_NAME), metavar="FILE",
        help=f"the file to write (default: {CONFIG_NAME} in this directory)",
    )  # fmt: skip
    init.add_argument(
        "--dry-run", action="store_true", help="print the file on stdout; write nothing"
    )
    init.set_defaults(handler=run_init)
    reference = commands.add_parser(
        "reference",
        help="print the configuration reference (Markdown): every key, variable and flag",
        description="Print the reference of every key of dm-release.toml: its type, default, "
        "environment variables and flag, in Markdown (docs/configuration.md is this output).",
    )
    reference.set_defaults(handler=run_reference)


def run_show(args: argparse.Namespace) -> int:
    from dmrelease.adapters.config import find_config, load_found

    found = find_config(args.config)
    loaded = load_found(found, flag_values(args, FLAGS))
    rows = show_rows(loaded)
    if wants_json(args):
        values = [{"name": n, "value": _plain(v), "source": w} for n, v, w in rows]
        emit(args, {"file": str(found.path.absolute()), "found": found.how, "values": values})
        return 0
    lines = [f"# {found.path.absolute()} ({_how(found.how)})"]
    shown = [(f"{name} = {toml_value(value)}", source) for name, value, source in rows]
    width = min(60, max(len(text) for text, _ in shown))
    lines += [f"{text:<{width}}  # {source}" for text, source in shown]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _how(how: str) -> str:
    return f"given with {how}" if how in ("--config", CONFIG_VARIABLE) else how


class _Masked:
    """A secret's value as shown: ``****``."""


def show_rows(loaded: Loaded) -> list[tuple[str, Any, str]]:
    """(name, value, source) of every option, product and secret, in declaration order:
    an option by its key (its field name when it has none), a product's keys as
    ``products.NAME.KEY``, a secret by its field name (its value never: ``****``)."""
    rows = []
    holders: tuple[tuple[Config | RequestOptions, dict[str, OptionSpec]], ...] = (
        (loaded.config, setting_options()),
        (loaded.request, request_options()),
    )
    for holder, declared in holders:
        for name, spec in declared.items():
            rows.append((spec.key or name, getattr(holder, name), loaded.sources[name]))
    for product in loaded.config.products:
        for key in PRODUCT_HELP:
            name = f"products.{product.name}.{key}"
            rows.append((name, getattr(product, key), loaded.sources[name]))
    for library in loaded.config.libraries:
        for key in LIBRARY_HELP:
            name = f"libraries.{library.name}.{key}"
            rows.append((name, getattr(library, key), loaded.sources[f"libraries.{library.name}"]))
    for auxiliary in loaded.config.auxiliaries:
        for key in AUXILIARY_HELP:  # a key's own line, "default" for one not given
            name = f"auxiliary.{auxiliary.name}.{key}"
            rows.append((name, getattr(auxiliary, key), loaded.sources[name]))
    for name in SECRETS:
        value = _Masked() if getattr(loaded.config, name) is not None else None
        rows.append((name, value, loaded.sources[name]))
    return rows


def _plain(value: Any) -> Any:
    """A value as JSON holds it: paths as text, lists as arrays, a secret as ``****``."""
    if isinstance(value, _Masked):
        return REDACTED
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, (str, Path)):
        return str(value)
    return [str(item) for item in value]


def toml_value(value: Any) -> str:
    """A value as TOML writes it; ``(unset)`` for None."""
    if value is None:
        return "(unset)"
    if isinstance(value, _Masked):
        return REDACTED
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def run_init(args: argparse.Namespace) -> int:
    text = init_text()
    path: Path = args.path
    refused = UsageError(f"{path}: already exists; dm-release config init never replaces a "
                         "file: move it away, or edit it")  # fmt: skip
    if args.dry_run:  # says what the real run would do: refuse an existing file too
        if path.is_symlink() or path.exists():
            raise refused
        sys.stdout.write(text)
        return 0
    from dmrelease.adapters.files import create_exclusively

    if path.is_symlink() or not create_exclusively(path, text, what="configuration"):
        raise refused
    print(f"wrote {path}: every key is commented out at its default; edit it, then run "
          "'dm-release config show' to check what dm-release reads", file=sys.stderr)  # fmt: skip
    return 0


_UNSET = {"TEXT": '"<text>"', "PATH": '"<path>"'}
#: the placeholder of a setting whose value is checked against a grammar: an example of it
_EXAMPLES = {
    "docker_registry": '"registry.example.org"',
    "docker_base_image": '"newinstall"',
    "release_issue": '"DM-12345"',
    "discourse_category": "5",
}


def _defaults() -> dict[str, Any]:
    """Every option's default by field name: the settings', then the request options'."""
    fields = (*dataclasses.fields(Config), *dataclasses.fields(RequestOptions))
    return {f.name: f.default for f in fields}


def init_text() -> str:
    """The commented dm-release.toml of ``config init``: every key of the file with its
    help, variables and default, commented out (uncommented, each is its default; one
    without a default shows a placeholder), and an example product table."""
    defaults = _defaults()
    out = [
        f"# {CONFIG_NAME}: the configuration of dm-release (written by dm-release config init).",
        "# Every key is shown at its default, commented out: uncomment a line to change it.",
        "# Relative paths are relative to this file's directory. The environment variables",
        "# and flags named override this file; 'dm-release config show' prints every value",
        "# dm-release uses and where it came from. Secrets are never read from this file.",
        "",
        "# One table per product (its metapackage's name); repos is required:",
        "# [products.my_product]",
    ]
    for key, text in PRODUCT_HELP.items():
        # a key unset by default (demo) shows a placeholder: uncommented, the file loads
        placeholder = _product_field(key).default is None
        default = _UNSET["TEXT"] if placeholder else _product_default(key)
        out.append(f"# {key} = {default}  # {text}")
    sections: dict[str, list[tuple[str, OptionSpec]]] = {}
    for name, spec in options().items():
        if spec.key:
            sections.setdefault(spec.key.partition(".")[0], []).append((name, spec))
    for section, entries in sections.items():
        out += ["", f"[{section}]"]
        for name, spec in entries:
            default = defaults[name]
            value = (
                toml_value(default)
                if default is not None
                else _EXAMPLES.get(name) or _UNSET[spec.kind.name]
            )
            unset = " (unset by default)" if default is None and "default" not in spec.help else ""
            out += textwrap.wrap(spec.help + unset, 88, initial_indent="# ", subsequent_indent="# ")
            given = [*(f"${v}" for v in spec.env), *([spec.flag] if spec.flag else [])]
            if given:
                out.append(f"#   overridden by {', '.join(given)}")
            out.append(f"# {spec.key.partition('.')[2]} = {value}")
    return "\n".join(out) + "\n"


def _product_default(key: str) -> str:
    if key == "repos":
        return '"repos.yaml"'
    return toml_value(_product_field(key).default)


def _product_field(key: str) -> dataclasses.Field[Any]:
    return {f.name: f for f in dataclasses.fields(ProductConfig)}[key]


def run_reference(args: argparse.Namespace) -> int:
    sys.stdout.write(reference_text())
    return 0


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _prose(text: str) -> str:
    """A help text in Markdown: ``<work_dir>`` must not read as an HTML tag, ``****``
    as emphasis."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("*", "\\*")


def _code(text: str) -> str:
    return f"`{text}`"


def reference_text() -> str:
    """docs/configuration.md: the file's discovery and precedence, then every key."""
    defaults = _defaults()
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by 'dm-release config reference > docs/configuration.md' from the",
        "     declaration of the options; a test fails when this file differs. -->",
        "",
        "dm-release takes its settings from a `dm-release.toml` file, the environment and "
        "the command line. `dm-release config show` prints every value it would use and "
        "where it came from; `dm-release config init` writes a commented file with every "
        "key at its default.",
        "",
        "## Where the file is found",
        "",
        "1. `--config FILE`, for the verbs that read the configuration;",
        f"2. else the file named by `{CONFIG_VARIABLE}`;",
        f"3. else `{CONFIG_NAME}` in the working directory, else in the nearest parent "
        "directory that has one, up to the filesystem root.",
        "",
        "A relative name is relative to the working directory. The nox sessions of "
        "dm-release's noxfile (`nox -f <dm-release>/noxfile.py -s validate -- TAG`) run "
        "dm-release in the directory nox was started from, so they find the file the same "
        "way. When there is no file, the error names every place looked at.",
        "",
        "A file found by searching (3.) is refused when another user than you or root "
        "owns it, or when group (other than your private group) or others may write "
        "it: anyone can put a "
        "`dm-release.toml` in a shared parent such as `/tmp`, and its `build.command` "
        "would run. Name it with `--config FILE` to use it anyway. A directory named "
        "`dm-release.toml` stops the search with an error.",
        "",
        "## Precedence and values",
        "",
        "- default < file < environment < flag: each overrides the one before.",
        "- An environment variable set to the empty string counts as unset (an empty "
        "Jenkins parameter); where an option has several variables, the first one set wins.",
        "- Relative paths in the file are relative to the file's directory; the defaults "
        "too. Relative paths given in the environment or a flag are relative to the "
        "working directory.",
        "- In the environment a boolean is `1`, `true`, `yes`, `on` or `0`, `false`, "
        "`no`, `off`; a list is separated by spaces or commas.",
        "- Unknown keys, values of the wrong type and out-of-range numbers are reported "
        "each with its file and line (`config-unknown-key`, `config-type`, "
        "`config-value`); nothing runs until all are fixed.",
        "",
    ]
    header = [
        "| Key | Type | Default | Environment | Flag | Description |",
        "|---|---|---|---|---|---|",
    ]
    for title, names, intro in (
        ("Settings", setting_options(), "How dm-release is set up."),
        ("What a run is asked", request_options(), "What one run is asked to do: usually "
         "given by Jenkins parameters or flags. Those without a key are not read from the "
         "file."),
    ):  # fmt: skip
        out += [f"## {title}", "", intro, "", *header]
        for name in names:
            spec = options()[name]
            default = defaults[name]
            shown = "unset" if default is None else toml_value(default)
            if name == "state_dir":
                shown = "`<work_dir>/state`"
            elif default is not None:
                shown = _code(shown)
            cells = [
                _code(spec.key) if spec.key else f"(none; shown as {name})",
                spec.kind.value,
                shown,
                ", ".join(_code(v) for v in spec.env) or "(none)",
                _code(spec.flag) if spec.flag else "(none)",
                _prose(spec.help),
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    out += [
        "## Products: `[products.NAME]`",
        "",
        "One table per product, named after its metapackage; a product is found only here "
        "(there is no environment variable or flag for it).",
        "",
        "| Key | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    kinds = {"repos": "path", "release_branch": "text", "demo": "text"}
    for key, text in PRODUCT_HELP.items():
        default = "required" if key == "repos" else _code(_product_default(key))
        cells = [_code(key), kinds.get(key, "list"), default, _prose(text)]
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    out += [
        "",
        "## Libraries: `[libraries.NAME]`",
        "",
        "One table per library product, named after its metapackage: released on its own, "
        "used by the products that list it in `libraries`. The tag list `<tag>.list` on the "
        "binary server names the library's build (`#BUILD=bNNNN`) in the shared versiondb; "
        "its manifest gives each library package's SHA-1, version and dependencies. A "
        "product's rebuild installs those packages from the binary server (never clones or "
        "builds them), records them in its manifest, and its release sessions tag only its "
        "own packages. A package of a library must not be in the product's repos.yaml. "
        "Its keys:",
        "",
    ]
    for key, text in LIBRARY_HELP.items():
        default = "required" if key == "tag" else "default `servers.binary`"
        out.append(f"- `{key}` (text, {default}): {_prose(text)}")
    out += [
        "",
        "## Auxiliary repositories: `[auxiliary.NAME]`",
        "",
        "One table per repository that is not in the product but carries its releases "
        "(documentation, environment definitions, the installer, test data), named like "
        "the repository (letters, digits, '.', '_' and '-'). The release sessions that "
        "tag the product (weekly, candidate, final) tag it too, after the product's "
        "packages are pushed, at the first ref of the session's list it has (a final: "
        "its last candidate's tag), else at `ref`; a patch release or a backport makes "
        "the product's release branch in it where it lacks one, from the first ref of the "
        "session's list it has (the previous final, the first candidate), else from "
        "`ref`. A tag already there at the commit chosen is kept; at another commit the "
        "session is refused (exit 1) before anything is written; a branch already there "
        "is kept as it is. Its keys:",
        "",
    ]
    kinds = {"url": "text, required", "ref": "text", "products": "list"}
    for key, text in AUXILIARY_HELP.items():
        out.append(f"- `{key}` ({kinds[key]}): {_prose(text)}")
    out += [
        "",
        "## Secrets",
        "",
        "Read from the environment only, never from the file (a key that looks like one is "
        "refused: `config-secret`), and never printed: `config show` shows `****`.",
        "",
    ]
    out += [f"- `{variable}`: {SECRET_HELP[name]}" for name, variable in SECRETS.items()]
    out += [
        "",
        "## Other environment variables",
        "",
        "Every verb's `--help` ends with the environment variables it reads.",
        "",
    ]
    for variables, text in environment_variables(("credentials", "git")):
        out.append(f"- {', '.join(_code(v) for v in variables)}: {_prose(text)}.")
    return "\n".join(out) + "\n"
