"""``dm-release manifest verify``: the report on stdout, the summary last, exit 0/1/2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dmrelease.cli import main

VERSIONDB = Path(__file__).parent / "data" / "versiondb"
MANIFESTS = sorted(VERSIONDB.glob("manifests/b*.txt"))
DB = VERSIONDB / "content_sha.db.txt"


def test_all_real_manifests_verify_with_no_problem(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["manifest", "verify", "--content-db", str(DB), *map(str, MANIFESTS)])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out == "verified 51 manifests, 5290 packages, 0 problems\n"


def test_the_installed_command_gives_the_same_report() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmrelease",
            "manifest",
            "verify",
            "--content-db",
            str(DB),
            *map(str, MANIFESTS),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (
        0,
        "verified 51 manifests, 5290 packages, 0 problems\n",
    )


def test_a_seeded_copy_reports_exactly_that_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "b8466.txt"
    shutil.copy(VERSIONDB / "manifests" / "b8466.txt", copy)
    text = copy.read_text()
    copy.write_text(text.replace("g53246c7159+663e2227e0", "g53246c7159+663e2227e1"))
    status = main(["manifest", "verify", "--content-db", str(DB), str(copy)])
    out, err = capsys.readouterr()
    assert (status, err) == (1, "")
    assert out.splitlines() == [
        f"{copy}:17: eups-version: version `g53246c7159+663e2227e1` should be "
        "`g53246c7159+663e2227e0`: its `+` part is not the hash of its 1 dependency's SHA-1s "
        "(or a dependency's SHA is wrong)",
        "verified 1 manifests, 127 packages, 1 problems",
    ]


def test_a_crlf_copy_is_one_problem_not_a_clean_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file is checked as it is on disk: versiondb writes LF, byte for byte."""
    copy = tmp_path / "b8466.txt"
    copy.write_bytes((VERSIONDB / "manifests" / "b8466.txt").read_bytes().replace(b"\n", b"\r\n"))
    assert main(["manifest", "verify", "--content-db", str(DB), str(copy)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{copy}:1: manifest-format: CRLF line ends; versiondb writes LF only: "
        "convert the file (`dos2unix`)",
        "verified 1 manifests, 127 packages, 1 problems",
    ]


def test_problems_of_several_files_come_file_by_file_then_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "b1.txt", tmp_path / "b5927.txt"
    first.write_text((VERSIONDB / "manifests" / "b1.txt").read_text() + "\n")
    second.write_text((VERSIONDB / "manifests" / "b5927.txt").read_text().replace("=b5927", "=b1"))
    assert main(["manifest", "verify", str(first), str(second)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{first}:77: manifest-syntax: blank line; a manifest has one line per package",
        f"{second}:2: manifest-build: BUILD=b1 in a file named b5927.txt: they must agree",
        "verified 2 manifests, 96 packages, 2 problems",
    ]


@pytest.mark.parametrize("missing", ["manifest", "content-db"])
def test_a_file_that_cannot_be_read_exits_2(
    missing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = tmp_path / "b9999.txt"
    args = ["manifest", "verify", str(MANIFESTS[0]), str(gone)]
    if missing == "content-db":
        args = ["manifest", "verify", "--content-db", str(gone), str(MANIFESTS[0])]
    status = main(args)
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == f"dm-release: error: cannot read {gone}: No such file or directory\n"


def test_a_manifest_that_is_not_utf8_is_a_problem_of_that_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8: bad bytes are a FILE:LINE diagnostic (exit 1, was a usage error), and the
    other manifests are still checked."""
    good = VERSIONDB / "manifests" / "b8466.txt"
    bad = tmp_path / "b9999.txt"
    bad.write_bytes(good.read_bytes().replace(b"\nBUILD=b8466\n", b"\nBUILD=b8466\n\xff", 1))
    assert main(["manifest", "verify", str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{bad}:3: file-encoding: not UTF-8 text")
    assert out[1].startswith("verified 2 manifests, ") and out[1].endswith(", 1 problems")
