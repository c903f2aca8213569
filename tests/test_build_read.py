"""The one reading of a versiondb build that publish and tarball share
(adapters/versiondb.py read_build): its messages, and the refusal of a manifest whose
names or versions would leave the server tree, before anything is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmrelease.adapters.versiondb import read_build
from dmrelease.core.errors import UsageError
from dmrelease.core.manifest import HEADER, parse_manifest, server_name_problems

SHA = "a" * 40


def _manifest(versiondb: Path, build: str, lines: list[str], *, header: str | None = None) -> Path:
    folder = versiondb / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{build}.txt"
    text = f"{HEADER}\nBUILD={header or build}\n" + "".join(f"{line}\n" for line in lines)
    file.write_text(text)
    return file


def _line(name: str, version: str, deps: str = "") -> str:
    return f"{name:<25} {SHA:<40}  {version:<40} {deps}"


def _message(versiondb: Path, build: str | None) -> str:
    with pytest.raises(UsageError) as caught:
        read_build(versiondb, build)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_the_last_build_is_read_and_a_given_one_too(tmp_path: Path) -> None:
    for number in (2, 10, 9):
        _manifest(tmp_path, f"b{number}", [_line("base", f"g{number:010d}")])
    last = read_build(tmp_path, None)
    assert (last.build_id, [(e.name, e.version, e.line) for e in last.entries]) == (
        "b10",
        [("base", "g0000000010", 3)],
    )
    assert [e.version for e in read_build(tmp_path, "b9").entries] == ["g0000000009"]


def test_one_message_per_cause(tmp_path: Path) -> None:
    assert _message(tmp_path, None) == (
        f"{tmp_path}: versiondb has no build yet; run dm-release rebuild first"
    )
    _manifest(tmp_path, "b1", [_line("base", "1.0")])
    _manifest(tmp_path, "b6", [_line("base", "1.0")])
    assert _message(tmp_path, "b99") == (
        f"build b99 is not in versiondb {tmp_path} (its builds: b1 to b6)"
    )
    for bad in ("99", "b1/../b6", "b1\n", "../b1"):
        assert _message(tmp_path, bad) == (
            f"build {bad!r}: a build id is b followed by digits (b1234)"
        )


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (_line("afwdata", "x/../../y"), "version 'x/../../y' is not an EUPS version"),
        (_line("afwdata", "a/b"), "version 'a/b' is not an EUPS version"),
        (_line("afwdata", ".."), "version '..' is not an EUPS version"),
        (_line("afwdata", "."), "version '.' is not an EUPS version"),
        (_line("afwdata", "1.0@Linux64"), "version '1.0@Linux64' is not an EUPS version"),
        (_line("afwdata", "1\x01"), "version '1\\x01' is not an EUPS version"),
        (_line("afwdata", "1" * 101), f"version {'1' * 60 + '...'!r} is not an EUPS version"),
        (_line("afw/data", "1.0"), "package name 'afw/data' is not an EUPS name"),
        (_line("..", "1.0"), "package name '..' is not an EUPS name"),
        (_line("afw\x7f", "1.0"), "package name 'afw\\x7f' is not an EUPS name"),
        (_line("afwdata", "1.0", "base,../x"), "dependency name '../x' is not an EUPS name"),
    ],
)
def test_a_name_or_version_leaving_the_server_tree_is_refused_at_its_line(
    tmp_path: Path, line: str, said: str
) -> None:
    file = _manifest(tmp_path, "b3", [_line("base", "g0123456789"), line])
    message = _message(tmp_path, "b3")
    first, second = message.split("\n")
    assert first.startswith(f"{file}:4: manifest-name: {said}: ")
    assert second == (
        "build b3 cannot be published as recorded: nothing was read from the clones nor written"
    )


def test_every_problem_is_named_and_good_names_pass() -> None:
    text = f"{HEADER}\nBUILD=b1\n" + "\n".join(
        [_line("a_b9", "g0123456789+0123456789"), _line("c", "2.6.0.lsst1+2", "a_b9"),
         _line("d", "tickets.DM-1234-gabc_1"), _line("e/f", "a/b")]
    ) + "\n"  # fmt: skip
    problems = server_name_problems(parse_manifest(text, "m.txt"), "m.txt")
    assert [(p.line, p.rule, p.message.split(":")[0]) for p in problems] == [
        (6, "manifest-name", "package name 'e/f' is not an EUPS name"),
        (6, "manifest-name", "version 'a/b' is not an EUPS version"),
    ]


def test_a_build_line_naming_another_build_is_refused(tmp_path: Path) -> None:
    file = _manifest(tmp_path, "b4", [_line("base", "1.0")], header="b../../x")
    assert _message(tmp_path, "b4") == (
        f"{file}:2: manifest-build: BUILD='b../../x' in the file of build b4\n"
        "build b4 cannot be published as recorded: nothing was read from the clones nor written"
    )
