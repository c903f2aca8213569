"""``dm-release table deps``: stdout, stderr and exit codes on real and broken tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease import cli

TABLES = Path(__file__).parent / "data" / "tables"


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    status = cli.main(["table", "deps", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_lsst_distrib_prints_32_dependencies_in_table_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, TABLES / "lsst_distrib.table")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 32
    assert lines[:4] == [
        "lsst_apps\trequired",
        "ctrl_execute\trequired",
        "ctrl_platform_s3df\toptional",
        "ctrl_mpexec\trequired",
    ]
    assert lines[-1] == "dax_images_cutout\trequired"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "python\trequired\ncfitsio\toptional\neigen\toptional\n"),
        (
            ("--build-type", "build"),
            "python\trequired\ncfitsio\toptional\neigen\toptional\ndoxygen\trequired\n",
        ),
        (("--flavor", "DarwinX86"), "python\trequired\ncfitsio\toptional\neigen\toptional\n"),
    ],
)
def test_flavor_and_build_type_select_if_blocks(
    capsys: pytest.CaptureFixture[str], options: tuple[str, ...], expected: str
) -> None:
    status, out, _ = run(capsys, TABLES / "eups-grammar" / "tablesyntax.table", *options)
    assert (status, out) == (0, expected)


@pytest.mark.parametrize(("flavor", "first"), [("IRIX+6", "fpgplot\trequired"), ("Linux64", None)])
def test_legacy_ups_table_for_a_flavor(
    capsys: pytest.CaptureFixture[str], flavor: str, first: str | None
) -> None:
    status, out, _ = run(capsys, TABLES / "eups-grammar" / "dervish.table", "--flavor", flavor)
    assert status == 0
    assert (out.splitlines() or [None])[0] == first


def test_external_dependencies_only_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    path = TABLES / "eups-grammar" / "externalProducts.table"
    assert run(capsys, path) == (0, "", "")
    status, out, _ = run(capsys, path, "--include-external")
    assert (status, out) == (0, "someExternalProduct\trequired\nanotherExternalProduct\toptional\n")


def test_exclusion_map_drops_an_optional_dependency(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exclusions = tmp_path / "exclusions.txt"
    exclusions.write_text("# dependency regex  product regex\ncuda_toolkit  .*\n")
    status, out, _ = run(capsys, TABLES / "lsst" / "afw.table", "--exclusion-map", exclusions)
    assert status == 0
    assert out.splitlines()[-2:] == ["pyfits\toptional", "afwdata\toptional"]
    assert "cuda_toolkit" not in out


def test_exclusion_map_needs_a_product_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = tmp_path / "table.txt"
    table.write_text("setupOptional(cuda_toolkit)\n")
    exclusions = tmp_path / "exclusions.txt"
    exclusions.write_text("cuda_toolkit .*\n")
    status, _, err = run(capsys, table, "--exclusion-map", exclusions)
    assert status == 2
    assert "--product" in err
    assert run(capsys, table, "--exclusion-map", exclusions, "--product", "afw")[:2] == (0, "")


def test_a_broken_table_prints_each_problem_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (TABLES / "lsst" / "afw.table").read_text()
    broken = tmp_path / "afw.table"
    broken.write_text(
        text.replace("setupRequired(eigen >= 3.0.0)", "setupRequired(eigen >= 3.0.0").replace(
            "setupOptional(afwdata)", "setupOptionl(afwdata)"
        )
    )
    status, out, err = run(capsys, broken)
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        f"{broken}:9:14: table-unbalanced-paren: `(` is never closed: add `)` at the end of "
        "the directive",
        f"{broken}:15:1: table-unknown-directive: `setupOptionl` is not an EUPS directive "
        "(did you mean `setupOptional`?)",
    ]


def test_a_broken_exclusion_map_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    exclusions = tmp_path / "exclusions.txt"
    exclusions.write_text("cuda_toolkit\n")
    status, out, err = run(capsys, TABLES / "lsst" / "afw.table", "--exclusion-map", exclusions)
    assert (status, out) == (1, "")
    assert err.startswith(f"{exclusions}:1:1: exclusion-syntax: ")


@pytest.mark.parametrize("missing", ["table", "exclusion map"])
def test_a_missing_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, missing: str
) -> None:
    absent = tmp_path / "absent.txt"
    if missing == "table":
        status, out, err = run(capsys, absent)
    else:
        status, out, err = run(capsys, TABLES / "lsst_distrib.table", "--exclusion-map", absent)
    assert (status, out) == (2, "")
    assert err == f"dm-release: error: {absent}: no such file\n"


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["table", "deps", "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert "dm-release table deps ups/afw.table" in help_text
    assert "--flavor" in help_text and "--build-type" in help_text


def test_a_directory_exits_2_and_bad_bytes_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, tmp_path)
    assert status == 2
    assert err.startswith(f"dm-release: error: {tmp_path}: cannot read")
    latin1 = tmp_path / "x.table"
    latin1.write_bytes(b"setupRequired(caf\xe9)\n")
    status, _, err = run(capsys, latin1)
    assert status == 1
    assert err.startswith(f"{latin1}:1: file-encoding: not UTF-8 text (invalid continuation")
