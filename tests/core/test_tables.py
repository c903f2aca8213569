"""EUPS table files (DESIGN.md §4): real tables, EUPS's grammar tests, seeded mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmrelease.core.errors import ParseError
from dmrelease.core.table_conditions import (
    Comparison,
    Condition,
    Constant,
    Group,
    Junction,
    Not,
    evaluate,
    parse_condition,
)
from dmrelease.core.tables import (
    Dependency,
    Directive,
    ExclusionMap,
    TableFile,
    TableParseError,
    check_duplicate_dependencies,
    check_exclusion_map,
    check_self_dependency,
    check_table,
    parse_table,
)

DATA = Path(__file__).parent.parent / "data" / "tables"
ALL_TABLES = sorted(DATA.glob("**/*.table"))
#: lsst/lsstsw etc/exclusions.txt, verbatim
LSSTSW_EXCLUSIONS = """\
# Exclusion map. Format:
# dependency regex      product regex

cuda_toolkit            .*
cuda_sdk                .*
scipy                   .*
healpy                  .*
condor                  .*
"""


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def table(name: str) -> TableFile:
    return parse_table(read(name), str(DATA / name))


def deps(name: str, flavor: str = "Linux64", build_type: str | None = None) -> list[str]:
    return [f"{d.name}:{d.kind}" for d in table(name).dependencies(flavor, build_type)]


def required(*names: str) -> list[str]:
    return [f"{n}:required" for n in names]


def optional(*names: str) -> list[str]:
    return [f"{n}:optional" for n in names]


# --- every real table ------------------------------------------------------------------------


def test_the_glob_finds_every_table() -> None:
    assert len(ALL_TABLES) == 12


@pytest.mark.parametrize("path", ALL_TABLES, ids=lambda p: p.name)
def test_every_real_table_parses_without_problems(path: Path) -> None:
    # None of these is rejected by EUPS itself, so none may be rejected here.
    text = path.read_text(encoding="utf-8")
    assert check_table(text, str(path), product=path.stem) == []
    parse_table(text, str(path))


@pytest.mark.parametrize("path", ALL_TABLES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    ("flavor", "build_type"),
    [("Linux64", None), ("DarwinX86", "build"), ("Linux", None), ("IRIX+6", None), ("OSF1", "x")],
)
def test_canonical_text_keeps_every_dependency(
    path: Path, flavor: str, build_type: str | None
) -> None:
    parsed = parse_table(path.read_text(encoding="utf-8"), str(path))
    again = parse_table(str(parsed), str(path))
    assert str(again) == str(parsed)

    def key(t: TableFile) -> list[tuple[str, bool, str, bool]]:
        deps = t.dependencies(flavor, build_type, include_external=True)
        return [(d.name, d.required, d.constraint, d.external) for d in deps]

    assert key(again) == key(parsed)


# --- dependency lists --------------------------------------------------------------------------

LSST_DISTRIB = [
    *required("lsst_apps", "ctrl_execute"),
    *optional("ctrl_platform_s3df"),
    *required("ctrl_mpexec", "ctrl_bps", "lsst_bps_plugins"),
    *optional(
        "meas_extensions_convolved",
        "meas_extensions_shapeHSM",
        "meas_extensions_photometryKron",
        "meas_extensions_scarlet",
        "meas_extensions_trailedSources",
        "meas_extensions_gaap",
        "rucio_register",
        "meas_extensions_multiprofit",
        "lsst_obs",
        "cbp",
    ),
    *required(
        "jointcal",
        "verify",
        "ap_verify",
        "display_firefly",
        "display_matplotlib",
        "cp_pipe",
        "sdm_tools",
        "sdm_schemas",
        "fgcmcal",
        "faro",
        "cp_verify",
        "atmospec",
        "drp_pipe",
        "display_astrowidgets",
        "analysis_ap",
        "dax_images_cutout",
    ),
]
AFW = [
    *required(
        "daf_base", "daf_persistence", "ndarray", "cfitsio", "wcslib", "xpa", "numpy",
        "minuit2", "eigen", "gsl", "fftw", "utils",
    ),
    *optional("pyfits", "afwdata", "cuda_toolkit"),
]  # fmt: skip
PIPE_TASKS = [
    *required(
        "afw", "daf_persistence", "log", "meas_base", "pipe_base", "pex_config", "utils",
        "obs_base",
    ),
    *optional(
        "meas_algorithms", "meas_astrom", "meas_extensions_astrometryNet", "meas_deblender",
        "astrometry_net_data", "ip_isr", "ip_diffim", "coadd_utils", "skymap", "sphgeom",
        "obs_test", "matplotlib",
    ),
]  # fmt: skip
DAF_BUTLER = required(
    "sphgeom", "sqlalchemy", "numpy", "scons", "sconsUtils", "log", "utils", "daf_persistence",
    "afw",
)  # fmt: skip
MWI = [
    *required("scons", "core", "boost", "jaula", "coral", "seal", "mysqlclient"),
    *optional("swig", "doxygen"),
]
TABLESYNTAX = [*required("python"), *optional("cfitsio", "eigen")]
DERVISH = required("fpgplot", "fsao", "sdsstools", "ftcl", "libfits")


@pytest.mark.parametrize(
    ("name", "flavor", "build_type", "expected"),
    [
        ("lsst_distrib.table", "Linux64", None, LSST_DISTRIB),
        ("lsst_build.table", "Linux64", None, []),
        ("lsst/afw.table", "Linux64", None, AFW),
        ("lsst/pipe_tasks.table", "Linux64", None, PIPE_TASKS),
        ("lsst/daf_butler.table", "Linux64", None, DAF_BUTLER),
        ("eups-grammar/tablesyntax.table", "Linux64", None, TABLESYNTAX),
        ("eups-grammar/tablesyntax.table", "DarwinX86", None, TABLESYNTAX),
        ("eups-grammar/tablesyntax.table", "Linux64", "build", [*TABLESYNTAX, "doxygen:required"]),
        (
            "eups-grammar/tablesyntax.table",
            "DarwinX86",
            "build",
            [*TABLESYNTAX, "doxygen:required"],
        ),
        ("eups-grammar/ifElse.table", "Linux64", "sdss", []),
        ("eups-grammar/empty.table", "DarwinX86", None, []),
        ("eups-grammar/externalProducts.table", "Linux64", None, []),
        ("eups-grammar/eupsVersion.table", "Linux64", None, []),
        ("eups-grammar/mwi.table", "Darwin", None, MWI),
        ("eups-grammar/mwi.table", "Linux+2.1.2", None, MWI),
        ("eups-grammar/mwi.table", "Linux64", None, MWI),
        ("eups-grammar/dervish.table", "IRIX+6", None, DERVISH),
        ("eups-grammar/dervish.table", "Linux", None, DERVISH),
        ("eups-grammar/dervish.table", "Linux+2.4", None, DERVISH),
        ("eups-grammar/dervish.table", "DarwinX86", None, DERVISH),
        ("eups-grammar/dervish.table", "OSF1", None, DERVISH),
        ("eups-grammar/dervish.table", "Linux64", None, []),
    ],
)
def test_dependencies_in_table_order(
    name: str, flavor: str, build_type: str | None, expected: list[str]
) -> None:
    assert deps(name, flavor, build_type) == expected


def test_lsst_distrib_has_32_dependencies_11_of_them_optional() -> None:
    dependencies = table("lsst_distrib.table").dependencies()
    assert len(dependencies) == 32
    assert sum(not d.required for d in dependencies) == 11


@pytest.mark.parametrize(
    ("name", "flavor", "build_type", "product", "constraint"),
    [
        ("lsst/afw.table", "Linux64", None, "gsl", ">= 1.8 && < 1.15"),
        ("lsst/afw.table", "Linux64", None, "minuit2", ">= 5.22.00+1"),
        ("eups-grammar/mwi.table", "Linux64", None, "coral", ">= 1_9_0+1"),
        ("eups-grammar/tablesyntax.table", "Linux64", "build", "doxygen", "1.5.9 [>= 1.5.7.1]"),
        ("eups-grammar/tablesyntax.table", "Linux64", None, "eigen", "2.1.0"),
        ("eups-grammar/dervish.table", "IRIX+6", None, "fpgplot", "-f ${UPS_PROD_FLAVOR} v1_7a"),
        ("eups-grammar/dervish.table", "Linux", None, "fpgplot", "-f ${UPS_PROD_FLAVOR} v1_8a"),
        ("eups-grammar/dervish.table", "OSF1", None, "ftcl", "-f ${UPS_PROD_FLAVOR} v3_3"),
        ("eups-grammar/dervish.table", "IRIX+6", None, "ftcl", "-f ${UPS_PROD_FLAVOR} v3_3b"),
    ],
)
def test_constraints_are_kept_as_written(
    name: str, flavor: str, build_type: str | None, product: str, constraint: str
) -> None:
    found = {d.name: d.constraint for d in table(name).dependencies(flavor, build_type)}
    assert found[product] == constraint


def test_dependency_knows_its_line_and_column() -> None:
    gsl = next(d for d in table("lsst/afw.table").dependencies() if d.name == "gsl")
    assert (gsl.line, gsl.column) == (10, 15)
    obs_test = next(
        d for d in table("lsst/pipe_tasks.table").dependencies() if d.name == "obs_test"
    )
    assert (obs_test.line, obs_test.column) == (20, 15)


def test_external_dependencies_are_listed_only_on_request() -> None:
    externals = table("eups-grammar/externalProducts.table").dependencies(include_external=True)
    assert [(d.name, d.required, d.external) for d in externals] == [
        ("someExternalProduct", True, True),
        ("anotherExternalProduct", False, True),
    ]


def test_eups_itself_is_only_a_version_check() -> None:
    parsed = table("eups-grammar/eupsVersion.table")
    assert parsed.dependencies(include_external=True) == []
    assert [str(d) for d in parsed.version_checks()] == ["setupRequired(eups [> 2.0.2])"]


@pytest.mark.parametrize(
    ("flavor", "count"), [("Darwin", 13), ("Linux", 12), ("Linux+2.1.2", 13), ("DarwinX86", 13)]
)
def test_mwi_flavor_blocks_give_eups_action_counts(flavor: str, count: int) -> None:
    # EUPS tests/testTable.py expects one more: EUPS adds its default product.
    assert len(table("eups-grammar/mwi.table").actions(flavor)) == count


@pytest.mark.parametrize(
    ("build_type", "value"), [("sdss", "SDSS"), ("sst", "SST"), (None, "OTHER")]
)
def test_if_else_if_else_picks_one_branch(build_type: str | None, value: str) -> None:
    actions = table("eups-grammar/ifElse.table").actions("Linux64", build_type)
    assert actions == [Directive("setEnv", ("FOO", value), actions[0].line, 4)]


def test_tablesyntax_env_directives_are_kept_in_order_with_the_dependencies() -> None:
    actions = table("eups-grammar/tablesyntax.table").actions("DarwinX86")
    assert [str(a) for a in actions] == [
        "setupRequired(python)",
        "setupOptional(cfitsio)",
        "setupOptional(eigen 2.1.0)",
        "addAlias(longls, ls, -l)",
        "envSet(GOOBPATH, /opt/goob)",
        "setEnv(GOOBPATH, /usr/goob)",
        "envAppend(GOOBPATH, /usr/local/goob)",
        "envPrepend(GOOBPATH, /home/user/goob)",
        "setEnv(FOO, 1)",
    ]


def test_product_name_comes_from_the_path() -> None:
    assert table("lsst/afw.table").product_name == "afw"
    assert parse_table("").product_name is None


# --- the grammar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "setupRequired(afw)",
        "setuprequired(afw)",
        "SETUPREQUIRED(afw);",
        "  setupRequired ( afw )  ;  # trailing comment",
        'setupRequired("afw")',
        'setupRequired( "afw" )',
        "setupRequired(afw, 1.0)",
    ],
)
def test_directive_spellings(line: str) -> None:
    (dependency,) = parse_table(line).dependencies()
    assert (dependency.name, dependency.required) == ("afw", True)


@pytest.mark.parametrize(
    ("line", "name", "constraint", "external"),
    [
        ("setupRequired(afw -j -k)", "afw", "-j -k", False),
        ("setupRequired(-f Linux64 afw 1.0)", "afw", "-f Linux64 1.0", False),
        ("setupRequired(afw --vro version -t current -T build -r /opt)", "afw",
         "--vro version -t current -T build -r /opt", False),
        ('setupRequired("-j afw [>= 27.0]")', "afw", "-j [>= 27.0]", False),
        ("setupOptional(x 1.0 --external)", "x", "1.0 --external", True),
    ],
)  # fmt: skip
def test_flags_do_not_hide_the_product(
    line: str, name: str, constraint: str, external: bool
) -> None:
    (dependency,) = parse_table(line).dependencies(include_external=True)
    assert (dependency.name, dependency.constraint, dependency.external) == (
        name,
        constraint,
        external,
    )


def test_unsetup_drops_a_dependency_listed_before() -> None:
    text = "setupRequired(a)\nsetupRequired(b)\nunsetupRequired(a)\nsetupOptional(c)\n"
    assert [d.name for d in parse_table(text).dependencies()] == ["b", "c"]


@pytest.mark.parametrize(
    ("condition", "flavor", "build_type", "expected"),
    [
        ("flavor == Linux64", "Linux64", None, True),
        ("FLAVOR == 'Linux64'", "Linux64", None, True),
        ('Flavor == "DarwinX86"', "Linux64", None, False),
        ("flavor != Linux64", "DarwinX86", None, True),
        ("type == build", "Linux64", None, False),
        ("type != build", "Linux64", None, True),
        ("TYPE == build", "Linux64", "build", True),
        ("flavor == Linux64 || flavor == Linux", "Linux", None, True),
        ("flavor == Linux64 && type == build", "Linux64", None, False),
        ("flavor == Linux64 and type == build", "Linux64", "build", True),
        ("flavor == A or flavor == B", "B", None, True),
        ("!(flavor == Linux64)", "Linux64", None, False),
        ("not flavor == Linux64 || flavor == Linux", "Linux", None, False),
        ("flavor =~ Linux", "Linux64", None, True),
        ("flavor !~ Linux", "Linux64", None, False),
        ("flavor =~ 'Darwin'", "DarwinX86", None, True),
        ("flavor =~ Linux.4", "Linux64", None, True),
        ("True", "Linux64", None, True),
        ("(flavor == A || flavor == B) && type == build", "A", None, False),
        # EUPS's short-circuit loop: `a && b || c` is `a && (b || c)`
        ("flavor == A && type == build || flavor == B", "B", None, False),
        ("flavor == A && type == build || flavor == A", "A", None, True),
    ],
)
def test_conditions_evaluate_as_in_eups(
    condition: str, flavor: str, build_type: str | None, expected: bool
) -> None:
    parsed = parse_condition(condition)
    assert evaluate(parsed, flavor, build_type) is expected
    assert parse_condition(str(parsed)) == parsed


LEGACY_GROUP = """\
File = Table
Group:
   Flavor = ANY
   Qualifiers = ""
Common:
   Action = setup
      setupRequired("-f ${UPS_PROD_FLAVOR} tcl v8")
End:
Group:
   Flavor = Linux
   Flavor = Darwin
Common:
   Action=setup
      setupOptional(tk)
End:
"""


@pytest.mark.parametrize(
    ("flavor", "expected"),
    [("IRIX+6", ["tcl:required"]), ("Darwin", ["tcl:required", "tk:optional"])],
)
def test_legacy_group_flavor_any_matches_every_flavor(flavor: str, expected: list[str]) -> None:
    parsed = parse_table(LEGACY_GROUP)
    assert [f"{d.name}:{d.kind}" for d in parsed.dependencies(flavor)] == expected
    assert str(parsed).startswith("if (True) {\n")


# --- seeded mistakes ---------------------------------------------------------------------------

AFW_TEXT = (DATA / "lsst" / "afw.table").read_text(encoding="utf-8")
EIGEN = "setupRequired(eigen >= 3.0.0)"  # line 9 of afw.table


@pytest.mark.parametrize(
    ("replacement", "rule", "column"),
    [
        ("setupRequired(eigen >= 3.0.0", "table-unbalanced-paren", 14),
        ("setupRequired(eigen >= 3.0.0))", "table-unbalanced-paren", 30),
        ("setupRequird(eigen >= 3.0.0)", "table-unknown-directive", 1),
        ("setupRequired()", "table-empty-product", 1),
        ('setupRequired("")', "table-empty-product", 1),
        ("setupRequired(-j)", "table-empty-product", 1),
        ("setupRequired(>= 3.0.0)", "table-bad-product-name", 15),
        ("setupRequired(eigen >= 3.0.0) eigen2", "table-syntax", 31),
        ("setupRequired eigen", "table-syntax", 1),
        ("    setupRequired(eigen) oops", "table-syntax", 26),
        ("setupRequired('eigen')", "table-quoting", 15),
        ("setupRequired(eigen -t)", "table-bad-flag", 21),
        ("setupRequired(eigen -n)", "table-bad-flag", 15),
        ("setupRequired(eigen [>= 3.0.0)", "table-bad-constraint", 15),
        ("envSet(EIGEN_DIR)", "table-arguments", 1),
        ("envAppend(PATH, a, b, c)", "table-arguments", 1),
        ('envSet(COLOR, "#fff")', "table-syntax", 15),
        ("} else {", "table-else-without-if", 1),
        ("else", "table-else-without-if", 1),
        ("}", "table-unmatched-brace", 1),
        ("{", "table-syntax", 1),
        ("File = Version", "table-legacy", 1),
        ("Action = configure", "table-legacy", 1),
        ("End:", "table-legacy", 1),
        ("; stray", "table-syntax", 1),
    ],
)
def test_a_seeded_mistake_points_at_the_bad_text(replacement: str, rule: str, column: int) -> None:
    text = AFW_TEXT.replace(EIGEN, replacement)
    (problem,) = check_table(text, "ups/afw.table")
    assert (problem.path, problem.line, problem.rule, problem.column) == (
        "ups/afw.table",
        9,
        rule,
        column,
    )
    assert problem.message
    with pytest.raises(ParseError) as caught:
        parse_table(text, "ups/afw.table")
    assert str(caught.value).startswith(f"ups/afw.table:9:{column}: {rule}: ")


@pytest.mark.parametrize(
    ("block", "rule", "line", "column"),
    [
        ("if (flavor == Linux64) {\n  setupRequired(x)\n", "table-unclosed-block", 1, 1),
        ("  if (flavor = Linux64) {\n}\n", "table-bad-condition", 1, 14),
        ("if (flavor == Linux-64) {\n}\n", "table-bad-condition", 1, 20),
        ("if (flavor) {\n}\n", "table-bad-condition", 1, 5),
        ("if () {\n}\n", "table-bad-condition", 1, 5),
        ("if (flavor == A &&) {\n}\n", "table-bad-condition", 1, 19),
        ("if (${HOME} == x) {\n}\n", "table-bad-condition", 1, 5),
        ("if (flavor =~ ^Linux) {\n}\n", "table-bad-condition", 1, 15),
        ("if (flavor =~ +x) {\n}\n", "table-bad-condition", 1, 15),
        ("if (flavor == Linux64 type == build) {\n}\n", "table-bad-condition", 1, 23),
        ("if (flavor == 'Linux 64') {\n}\n", "table-bad-condition", 1, 15),
        ("if ((flavor == A) {\n}\n", "table-unbalanced-paren", 1, 5),
        ("if (flavor == A)) {\n}\n", "table-unbalanced-paren", 1, 16),
        ("if (flavor == A {\n}\n", "table-unbalanced-paren", 1, 1),
        ("if (flavor == A)\n}\n", "table-syntax", 1, 1),
        ("if (flavor == A) { setupRequired(x) }\n", "table-syntax", 1, 1),
        ("if (flavor == A) {\n} else {\n} else {\n}\n", "table-syntax", 3, 1),
        ("if (flavor == A) {\n  if (type == b) {\n  }\n}\n", "table-nested-block", 2, 3),
        ("} else if (flavor == A) {\n", "table-else-without-if", 1, 1),
        ("if (flavor == A) {\n}\nelse {\n  setupRequired(x)\n}\n", "table-else-without-if", 3, 1),
        ("if (flavor == A) {\n} else\n  setupRequired(x)\n}\n", "table-syntax", 2, 1),
        ("if (flavor == A) {\n} foo\n", "table-syntax", 2, 1),
        ("Group:\n  Flavor = Linux\nCommon:\n  setupRequired(x)\n", "table-unclosed-block", 1, 1),
        ("Group:\nCommon:\nEnd:\n", "table-legacy", 2, 1),
    ],
)
def test_a_seeded_block_mistake_points_at_the_bad_text(
    block: str, rule: str, line: int, column: int
) -> None:
    (problem,) = check_table(block, "t.table")
    assert (problem.line, problem.rule, problem.column) == (line, rule, column)


def test_every_problem_of_a_file_is_reported_in_order() -> None:
    text = (
        AFW_TEXT.replace(EIGEN, "setupRequired(eigen >= 3.0.0")
        .replace("setupRequired(xpa >= 2.1.13)", "setupRequird(xpa)")
        .replace("setupOptional(afwdata)", "if (flavor = X) {")
    )
    problems = check_table(text, "ups/afw.table")
    assert [(p.line, p.rule) for p in problems] == [
        (6, "table-unknown-directive"),
        (9, "table-unbalanced-paren"),
        (15, "table-unclosed-block"),
        (15, "table-bad-condition"),
    ]
    with pytest.raises(TableParseError) as caught:
        parse_table(text, "ups/afw.table")
    assert list(caught.value.diagnostics) == problems
    assert caught.value.diagnostic == problems[0]
    assert len(str(caught.value).splitlines()) == 4


def test_a_misspelt_directive_gets_a_suggestion() -> None:
    (problem,) = check_table("setupOptionnal(afw)")
    assert problem.hint == "did you mean `setupOptional`?"


def test_whole_list_quotes_explain_a_wrong_argument_count() -> None:
    (problem,) = check_table('envSet("A", "b")')
    assert problem.rule == "table-arguments"
    assert problem.hint is not None and "whole argument list" in problem.hint


# --- tricky inputs, read as EUPS reads them ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n \n\t\n",
        "# only a comment\n",
        "setupRequired(eigen);\nsetupOptional(afwdata) ;  \n",
        "setupRequired(eigen)\r\nsetupOptional(afwdata)\r\n",
        "\tsetupRequired(eigen)\t# tabs around a directive are blanks\nsetupOptional(afwdata)\t;\n",
        'setupRequired(eigen)\nenvSet(X, "a\tb")\nsetupOptional(afwdata)\n',
    ],
    ids=["empty", "blank", "comment", "semicolons", "crlf", "tabs-outside", "tab-quoted"],
)
def test_inputs_eups_reads_fine_parse_fine(text: str) -> None:
    assert check_table(text) == []
    names = [d.name for d in parse_table(text).dependencies()]
    assert names == ([] if "eigen" not in text else ["eigen", "afwdata"])


def test_a_byte_order_mark_is_reported_once_and_the_rest_still_read() -> None:
    """EUPS keeps a BOM as text: line 1 would be an unknown line and its dependency lost."""
    text = "\ufeffsetupRequired(eigen)\nsetupOptional(afwdata)\n"
    (problem,) = check_table(text, "ups/afw.table")
    assert (problem.line, problem.column, problem.rule) == (1, 1, "table-bom")
    assert problem.hint is not None and "without a BOM" in problem.hint
    assert [p.rule for p in check_table("\ufeff# comment\nsetupRequired(x)\n")] == ["table-bom"]


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("setupRequired(eigen\t>= 3.0.0)", 20),
        ("setupRequired(\teigen)", 15),
        ('setupOptional("eigen\t")', 21),
    ],
)
def test_a_tab_inside_the_arguments_is_reported(line: str, column: int) -> None:
    """EUPS splits arguments at spaces and commas only: `eigen\t>=` would be the product."""
    (problem,) = check_table(line, "ups/afw.table")
    assert (problem.line, problem.column, problem.rule) == (1, column, "table-tab")
    assert problem.hint == "write a space"


@pytest.mark.parametrize(
    "text",
    ["setupRequired(eigen # the linear algebra)", "if (flavor == Linux64 # mac too) {\n}\n"],
)
def test_a_comment_inside_parentheses_is_named_as_the_cause(text: str) -> None:
    """EUPS cuts the line at `#`, so `)` is lost: say so, not only "add `)`"."""
    (problem,) = check_table(text)
    assert problem.rule == "table-unbalanced-paren"
    assert problem.hint is not None and "`#`" in problem.hint and "move the comment" in problem.hint


def test_a_stray_brace_says_how_to_fix_it() -> None:
    (problem,) = check_table("setupRequired(x)\n}\n")
    assert (problem.line, problem.rule) == (2, "table-unmatched-brace")
    assert problem.hint == "remove it, or open the block with `if (…) {`"


# --- checks for the pre-commit hook ------------------------------------------------------------


def test_a_duplicated_dependency_is_reported_at_the_second_line() -> None:
    text = AFW_TEXT + "setupOptional(eigen)\n"
    (problem,) = check_duplicate_dependencies(parse_table(text, "ups/afw.table"))
    assert (problem.line, problem.column, problem.rule) == (23, 15, "table-duplicate-dependency")
    assert "line 9" in problem.message


def test_the_same_dependency_in_two_branches_is_not_a_duplicate() -> None:
    text = "if (flavor == A) {\n  setupRequired(x)\n} else {\n  setupRequired(x)\n}\n"
    assert check_duplicate_dependencies(parse_table(text)) == []
    (problem,) = check_duplicate_dependencies(parse_table(text + "setupRequired(x)\n"))
    assert problem.line == 6


def test_a_table_that_sets_up_its_own_product() -> None:
    text = AFW_TEXT + "setupOptional(afw)\n"
    (problem,) = check_self_dependency(parse_table(text, "ups/afw.table"), "afw")
    assert (problem.line, problem.rule) == (23, "table-self-dependency")
    assert [p.rule for p in check_table(text, "ups/afw.table", product="afw")] == [
        "table-self-dependency"
    ]


# --- exclusion map -----------------------------------------------------------------------------


def test_the_lsstsw_exclusion_map_drops_optional_cuda_toolkit_from_afw() -> None:
    exclusions = ExclusionMap.parse(LSSTSW_EXCLUSIONS, "etc/exclusions.txt")
    assert len(exclusions.rules) == 5
    names = [d.name for d in table("lsst/afw.table").dependencies(exclusions=exclusions)]
    assert names == [a.split(":")[0] for a in AFW if a != "cuda_toolkit:optional"]


@pytest.mark.parametrize(
    ("rules", "dependency", "product", "excluded"),
    [
        ("cuda_toolkit .*", "cuda_toolkit", "afw", True),
        ("afw$ pipe_.*", "afw", "pipe_tasks", True),
        ("afw$ pipe_.*", "afwdata", "pipe_tasks", False),
        ("afw pipe_.*", "afwdata", "pipe_tasks", True),  # re.match, as lsst-build
        ("afw pipe_.*", "afw", "meas_base", False),
        ("# a comment only", "afw", "x", False),
        ("scipy .*  # trailing comment", "scipy", "x", True),
    ],
)
def test_exclusion_patterns_match_from_the_start(
    rules: str, dependency: str, product: str, excluded: bool
) -> None:
    assert ExclusionMap.parse(rules).excludes(dependency, product) is excluded


def test_exclusions_never_drop_a_required_dependency() -> None:
    parsed = parse_table("setupRequired(scipy)\nsetupOptional(healpy)\n", "ups/x.table")
    exclusions = ExclusionMap.parse(LSSTSW_EXCLUSIONS)
    assert [d.name for d in parsed.dependencies(exclusions=exclusions)] == ["scipy"]


def test_exclusions_need_a_product_name() -> None:
    with pytest.raises(ValueError, match="product"):
        parse_table("setupOptional(x)").dependencies(exclusions=ExclusionMap())
    assert (
        parse_table("setupOptional(x)").dependencies(
            exclusions=ExclusionMap.parse("x .*"), product="p"
        )
        == []
    )


def test_a_bad_exclusion_map_reports_every_line() -> None:
    text = "cuda_toolkit .*\nlonely\nscipy( .*\na b c\n"
    problems = check_exclusion_map(text, "ex.txt")
    assert [(p.line, p.rule, p.column) for p in problems] == [
        (2, "exclusion-syntax", 1),
        (3, "exclusion-bad-regex", 1),
        (4, "exclusion-syntax", 1),
    ]
    with pytest.raises(TableParseError):
        ExclusionMap.parse(text, "ex.txt")


# --- property: generated tables read back -----------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True).filter(lambda n: n != "eups")
CONSTRAINTS = st.sampled_from(
    [
        "",
        ">= 4.6.0.0",
        "[>= 27.0]",
        ">= 1.8 && < 1.15",
        "1.0",
        "-j",
        "-f Linux64 2.1",
        "-k -t current",
    ]
)
SPELLINGS = st.sampled_from(["{}", "{}", "{};", '"{}"', "{}  # why"])


@st.composite
def generated_tables(draw: st.DrawFn) -> tuple[str, list[Dependency]]:
    entries = draw(st.lists(st.tuples(NAMES, st.booleans(), CONSTRAINTS), max_size=30))
    lines, expected = [], []
    for number, (name, is_required, constraint) in enumerate(entries, start=1):
        directive = "setupRequired" if is_required else "setupOptional"
        if draw(st.booleans()):
            directive = directive.lower()
        arguments = " ".join(filter(None, (name, constraint)))
        spelled = draw(SPELLINGS)
        if spelled.startswith('"'):
            line = f'{directive}("{arguments}")'
        else:
            line = spelled.format(f"{directive}({arguments})")
        lines.append(line)
        expected.append(Dependency(name, is_required, constraint, False, number, 0))
    return "\n".join(lines) + "\n", expected


@given(generated_tables())
def test_a_generated_table_reads_back_its_dependencies(
    generated: tuple[str, list[Dependency]],
) -> None:
    text, expected = generated
    parsed = parse_table(text)

    def key(ds: list[Dependency]) -> list[tuple[str, bool, str, int]]:
        return [(d.name, d.required, d.constraint, d.line) for d in ds]

    assert key(parsed.dependencies()) == key(expected)
    again = parse_table(str(parsed))
    assert [str(d) for d in again.dependencies()] == [str(d) for d in parsed.dependencies()]


VALUES = st.sampled_from(["flavor", "FLAVOR", "type", "Linux64", "DarwinX86", "build", "Linux+2.1"])
SIMPLE = st.one_of(
    st.builds(Comparison, VALUES, st.sampled_from(["==", "!=", "=~", "!~"]), VALUES),
    st.builds(Constant, st.booleans()),
)


def conditions() -> st.SearchStrategy[Condition]:
    """Conditions in the shape the parser gives: a junction's left side is never a
    junction or a negation (EUPS associates to the right, `!` takes the rest)."""

    def extend(inner: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
        left = st.one_of(SIMPLE, st.builds(Group, inner))
        return st.one_of(
            st.builds(Group, inner),
            st.builds(Not, inner),
            st.builds(Junction, st.sampled_from(["||", "&&"]), left, inner),
        )

    return st.recursive(SIMPLE, extend, max_leaves=8)


@given(conditions(), st.sampled_from(["Linux64", "DarwinX86"]), st.sampled_from([None, "build"]))
def test_a_condition_prints_as_text_that_parses_back_to_it(
    condition: Condition, flavor: str, build_type: str | None
) -> None:
    parsed = parse_condition(str(condition))
    assert parsed == condition
    assert evaluate(parsed, flavor, build_type) == evaluate(condition, flavor, build_type)
