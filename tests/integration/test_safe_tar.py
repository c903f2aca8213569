"""The safe unpacking works on the oldest Python dm-release admits (Debian 12's 3.11.2 has
no tarfile.data_filter) with the same rules as tarfile's data filter where it exists: real
tarballs, each built to defeat one rule, unpacked into tmp_path. CI runs this file on both
interpreters (nox -s tests and tests_floor); the comparison with tarfile's own filter runs
where tarfile has it."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dmrelease.adapters.safe_tar import Entry, Refused, data_rules, extract

#: a member: (name, type, mode, link target)
Spec = tuple[str, bytes, int, str]
FILE, DIR, SYM, HARD = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def _member(name: str, kind: bytes = FILE, mode: int = 0o644, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    info.uid, info.gid, info.uname, info.gname = 4242, 4343, "someone", "somegroup"
    info.mtime = 1_700_000_000
    return info


def _archive(path: Path, specs: list[Spec]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, kind, mode, link in specs:
            info = _member(name, kind, mode, link)
            data = f"{name}\n".encode() if kind == FILE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _unpack(tmp_path: Path, specs: list[Spec]) -> Path:
    into = tmp_path / "into"
    with tarfile.open(_archive(tmp_path / "t.tar", specs)) as tar:
        extract(tar, into)
    return into


def _refused(tmp_path: Path, specs: list[Spec]) -> str:
    with pytest.raises(Refused) as refused:
        _unpack(tmp_path, specs)
    return str(refused.value)


@pytest.mark.parametrize(
    ("mode", "written"),
    [
        (0o6755, 0o755),
        (0o4777, 0o755),
        (0o1777, 0o755),
        (0o666, 0o644),
        (0o000, 0o600),
        (0o750, 0o750),
        (0o077, 0o644),
        (0o7100, 0o700),
    ],
)
def test_modes_lose_setuid_and_group_other_write_and_the_owner_can_read_and_write(
    tmp_path: Path, mode: int, written: int
) -> None:
    into = _unpack(tmp_path, [("x", FILE, mode, ""), ("h", HARD, mode, "x")])
    assert stat.S_IMODE((into / "x").stat().st_mode) == written
    assert (into / "h").stat().st_ino == (into / "x").stat().st_ino


def test_ownership_is_never_taken_from_the_archive(tmp_path: Path) -> None:
    # as root (CI), tarfile's own extract on 3.11.2 would chown to uid 4242
    into = _unpack(tmp_path, [("d", DIR, 0o755, ""), ("d/x", FILE, 0o644, "")])
    assert {(p.stat().st_uid, p.stat().st_gid) for p in (into / "d", into / "d" / "x")} == {
        (os.getuid(), os.getgid())
    }


def test_a_well_formed_tree_unpacks_with_its_links_and_times(tmp_path: Path) -> None:
    into = _unpack(
        tmp_path,
        [
            ("./p/", DIR, 0o755, ""),
            ("p/lib/x.txt", FILE, 0o644, ""),
            ("p/lib/y", SYM, 0o777, "x.txt"),
            ("p/bin/z", HARD, 0o755, "p/lib/x.txt"),
            ("/p/abs.txt", FILE, 0o644, ""),
        ],
    )
    assert (into / "p" / "lib" / "x.txt").read_text() == "p/lib/x.txt\n"
    assert os.readlink(into / "p" / "lib" / "y") == "x.txt"
    assert (into / "p" / "bin" / "z").read_text() == "p/lib/x.txt\n"
    assert (into / "p" / "abs.txt").read_text() == "/p/abs.txt\n"  # the leading / stripped
    assert (into / "p").stat().st_mtime == (into / "p" / "lib" / "x.txt").stat().st_mtime
    assert (into / "p").stat().st_mtime == 1_700_000_000


@pytest.mark.parametrize(
    ("kind", "what"),
    [(tarfile.CHRTYPE, "char"), (tarfile.BLKTYPE, "block"), (tarfile.FIFOTYPE, "fifo")],
)
def test_devices_and_fifos_are_refused(tmp_path: Path, kind: bytes, what: str) -> None:
    assert _refused(tmp_path, [("ok", FILE, 0o644, ""), (what, kind, 0o666, "")]) == (
        f"{what!r} is a special file"
    )
    assert sorted(p.name for p in (tmp_path / "into").iterdir()) == ["ok"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([("../escaped", FILE, 0o644, "")], "'../escaped' would be extracted to '{out}/escaped'"),
        (
            [("a/../../escaped", FILE, 0o644, "")],
            "'a/../../escaped' would be extracted to '{out}/escaped'",
        ),
        ([("up", SYM, 0o777, "..")], "'up' would link to '{out}'"),
        ([("a/up", SYM, 0o777, "../../escaped")], "'a/up' would link to '{out}/escaped'"),
        ([("x", FILE, 0o644, ""), ("h", HARD, 0o644, "../x")], "'h' would link to '{out}/x'"),
        # a path through a link unpacked before it is resolved on disk: here/.. is out/
        (
            [("here", SYM, 0o777, "."), ("here/../escaped", FILE, 0o644, "")],
            "'here/../escaped' would be extracted to '{out}/escaped'",
        ),
        ([("l", SYM, 0o777, "sub/.."), ("m", SYM, 0o777, "l/..")], "'m' would link to '{out}'"),
    ],
)
def test_a_path_or_link_leaving_the_destination_is_refused(
    tmp_path: Path, specs: list[Spec], message: str
) -> None:
    text = _refused(tmp_path, specs)
    assert (
        text
        == message.format(out=os.path.realpath(tmp_path)) + ", which is outside the destination"
    )
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "x").exists()


def test_a_link_to_an_absolute_path_is_refused(tmp_path: Path) -> None:
    assert (
        _refused(tmp_path, [("etc", SYM, 0o777, "/etc")]) == "'etc' is a link to an absolute path"
    )
    assert _refused(tmp_path, [("pw", HARD, 0o644, "/etc/passwd")]) == (
        "'pw' is a link to an absolute path"
    )


def test_a_hard_link_must_name_a_file_unpacked_before_it(tmp_path: Path) -> None:
    # tarfile would copy the archive's later member in its place, with its unfiltered mode
    specs: list[Spec] = [("h", HARD, 0o644, "x"), ("x", FILE, 0o4755, "")]
    assert _refused(tmp_path, specs) == "'h' is a hard link to no file unpacked before it"
    assert _refused(tmp_path, [("d", DIR, 0o755, ""), ("h", HARD, 0o644, "d")]) == (
        "'h' is a hard link to no file unpacked before it"
    )


def _outcome(rule: object, member: tarfile.TarInfo, destination: Path) -> tuple[object, ...]:
    try:
        kept = rule(member, str(destination))  # type: ignore[operator]
    except (Refused, tarfile.TarError) as exc:
        return ("refused", str(exc))
    if isinstance(kept, Entry):
        return ("kept", kept.name, kept.mode)
    return ("kept", kept.name, kept.mode, kept.uid, kept.gid, kept.uname, kept.gname)


MEMBERS = [
    *[
        ("x", FILE, mode, "")
        for mode in (0o644, 0o755, 0o6755, 0o1777, 0o666, 0o000, 0o070, 0o7100)
    ],
    ("d", DIR, 0o2775, ""),
    ("/abs/x", FILE, 0o644, ""),
    ("//abs", DIR, 0o755, ""),
    ("./a/./b", FILE, 0o644, ""),
    ("../x", FILE, 0o644, ""),
    ("a/../../x", FILE, 0o644, ""),
    ("out/x", FILE, 0o644, ""),
    ("inside/x", FILE, 0o644, ""),
    ("s", SYM, 0o777, "/etc"),
    ("s", SYM, 0o777, "a/../../x"),
    ("a/s", SYM, 0o777, "../b"),
    ("s", SYM, 0o777, "out/x"),
    ("h", HARD, 0o4755, "x"),
    ("h", HARD, 0o644, "../x"),
    ("h", HARD, 0o644, "/x"),
    ("h", HARD, 0o644, "out"),
    ("c", tarfile.CHRTYPE, 0o666, ""),
    ("b", tarfile.BLKTYPE, 0o600, ""),
    ("f", tarfile.FIFOTYPE, 0o644, ""),
    ("g", tarfile.CONTTYPE, 0o755, ""),
]


@pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="tarfile without data_filter")
@pytest.mark.parametrize(("name", "kind", "mode", "link"), MEMBERS)
def test_the_rules_are_tarfiles_data_filter(
    tmp_path: Path, name: str, kind: bytes, mode: int, link: str
) -> None:
    # on disk already: a link out of the destination (out) and one inside it (inside)
    destination = tmp_path / "dest"
    (destination / "real").mkdir(parents=True)
    (destination / "out").symlink_to(tmp_path)
    (destination / "inside").symlink_to("real")
    member = _member(name, kind, mode, link)
    ours = _outcome(data_rules, member, destination)
    theirs = _outcome(tarfile.data_filter, member, destination)
    assert ours[:3] == theirs[:3]
    assert theirs[3:] in ((), (None, None, None, None))
