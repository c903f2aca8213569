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


def long_path_attack(destination: str, base: str, outside: str) -> list[Spec]:
    """CVE-2025-4517: members under ``base`` that ``os.path.realpath`` (not strict) judges
    inside ``destination`` but the kernel follows out of it. Sixteen directories nested, each
    with a one-letter link to it, sized so that ``a/b/…/p`` expands to about PATH_MAX: the
    lstat of ``a/b/…/p/lll…`` then fails (ENAMETOOLONG) and realpath takes that link for a
    directory; ``e`` goes through it and up 17 levels, ``base`` by its text, ``/`` for the
    kernel; the last member is ``outside``'s ``pwned`` through ``e``."""
    steps = "abcdefghijklmnop"
    start = len(f"{destination}/{base}/")
    component = "d" * ((os.pathconf("/", "PC_PATH_MAX") - start) // (len(steps) + 1))
    specs: list[Spec] = []
    path = base
    for step in steps:
        specs += [
            (f"{path}/{component}/", DIR, 0o755, ""),
            (f"{path}/{step}", SYM, 0o777, component),
        ]
        path = f"{path}/{component}"
    far = "/".join([*steps, "l" * 254])
    specs.append((f"{base}/{far}", SYM, 0o777, "/".join([".."] * len(steps))))
    specs.append((f"{base}/e", SYM, 0o777, far + "/.." * (len(steps) + 1)))
    specs.append((f"{base}/e{outside}/pwned", FILE, 0o644, ""))
    return specs


def _stamped(path: Path) -> Path:
    path.mkdir(parents=True)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def test_a_path_past_path_max_through_links_is_refused_and_nothing_is_written_outside(
    tmp_path: Path,
) -> None:
    # realpath's long-path bypass (CVE-2025-4517) on 3.11.2 and 3.11.7 alike: no member is
    # written through a symbolic link, so the first one below p/1/a is refused
    outside = _stamped(tmp_path / "outside")
    (tmp_path / "into").mkdir()
    specs = long_path_attack(os.path.realpath(tmp_path / "into"), "p/1", str(outside.resolve()))
    far = specs[-3][0]
    assert _refused(tmp_path, specs) == (
        f"{far!r} would be extracted through the symbolic link 'p/1/a'"
    )
    assert list(outside.iterdir()) == [] and outside.stat().st_mtime == 1_600_000_000
    assert not (tmp_path / "into" / "p" / "1" / "e").exists()


def test_a_member_through_a_link_unpacked_before_it_is_refused(tmp_path: Path) -> None:
    # inside either way, but never written through a link: a tree's tarball has no member
    # below one of its own links
    specs: list[Spec] = [("real/", DIR, 0o755, ""), ("l", SYM, 0o777, "real")]
    assert _refused(tmp_path, [*specs, ("l/x", FILE, 0o644, "")]) == (
        "'l/x' would be extracted through the symbolic link 'l'"
    )
    assert _refused(tmp_path, [*specs, ("l/", DIR, 0o755, "")]) == (
        "'l' would be extracted through the symbolic link 'l'"
    )
    assert _refused(tmp_path, [*specs, ("x", FILE, 0o644, ""), ("h", HARD, 0o644, "l/../x")]) == (
        "'h' is a hard link through the symbolic link 'l'"
    )
    assert list((tmp_path / "into" / "real").iterdir()) == []


def test_a_file_replaces_a_link_in_its_place_instead_of_writing_through_it(
    tmp_path: Path,
) -> None:
    into = _unpack(tmp_path, [("f", SYM, 0o777, "g"), ("f", FILE, 0o644, "")])
    assert sorted(p.name for p in into.iterdir()) == ["f"]
    assert not (into / "f").is_symlink() and (into / "f").read_text() == "f\n"


def test_a_link_through_a_link_is_judged_by_its_text_too(tmp_path: Path) -> None:
    # realpath says t is into/ (s/.. is sub/), its text says into/..: refused
    specs: list[Spec] = [("sub/deep/", DIR, 0o755, ""), ("s", SYM, 0o777, "sub/deep")]
    assert _refused(tmp_path, [*specs, ("t", SYM, 0o777, "s/../..")]) == (
        f"'t' would link to {os.path.realpath(tmp_path)!r}, which is outside the destination"
    )


@pytest.mark.parametrize("below", [True, False])
def test_a_link_re_pointed_by_a_later_member_is_refused_and_nothing_outside_changes(
    tmp_path: Path, below: bool
) -> None:
    # e -> d/../x is into/x while d -> y; once d -> ., e is <tmp_path>/x
    outside = _stamped(tmp_path / "x" / "sub")
    specs: list[Spec] = [
        ("x/", DIR, 0o755, ""),
        ("y/", DIR, 0o755, ""),
        ("d", SYM, 0o777, "y"),
        ("e", SYM, 0o777, "d/../x"),
        *([("e/sub/", DIR, 0o755, "")] if below else []),
        ("d", SYM, 0o777, "."),
    ]
    out = str(outside.parent.resolve())
    message = (
        "'e/sub' would be extracted through the symbolic link 'e'"
        if below
        else f"'e' would link to {out!r}, which is outside the destination"
    )
    assert _refused(tmp_path, specs) == message
    assert list(outside.iterdir()) == [] and outside.stat().st_mtime == 1_600_000_000
    assert not (tmp_path / "into" / "x" / "sub").exists()


def test_a_link_that_does_not_resolve_is_refused_and_a_dangling_one_unpacks(
    tmp_path: Path,
) -> None:
    # resolved strictly: a loop (or a name too long for lstat) is not taken for a directory
    assert _refused(tmp_path, [("a", SYM, 0o777, "b"), ("b", SYM, 0o777, "a")]) == (
        "'a' is a link that does not resolve: Too many levels of symbolic links"
    )
    specs: list[Spec] = [("lib/", DIR, 0o755, ""), ("lib/so", SYM, 0o777, "../build/lib.so.1")]
    (tmp_path / "dangling").mkdir()
    into = _unpack(tmp_path / "dangling", specs)
    assert os.readlink(into / "lib" / "so") == "../build/lib.so.1"
    assert not (into / "lib" / "so").exists()
