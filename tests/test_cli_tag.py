"""``dm-release tag``: classify, eups, weekly — stdout, stderr and exit codes."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from dmrelease.cli import main
from dmrelease.commands import tag as tag_command


def test_classify_prints_tag_tab_kind(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["tag", "classify", "29.1.0", "v29.1.0.rc2", "w.2025.24", "d.2025.06.11"])
    out, err = capsys.readouterr()
    assert status == 0
    assert out == "29.1.0\tfinal\nv29.1.0.rc2\trc\nw.2025.24\tweekly\nd.2025.06.11\tdaily\n"
    assert err == ""


def test_classify_reports_each_invalid_name_and_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["tag", "classify", "016.0.0", "b8466", "v29.0.0", "16.0", "w.2025.54"])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == "b8466\tbuild\n16.0\tlegacy\n"
    assert err.splitlines() == [
        "016.0.0: zero padding in '016' (write 16)",
        "v29.0.0: a DM final has no 'v' (write 29.0.0); 'v29.0.0' is only for external repos",
        "w.2025.54: the week must be 01..52 in 2025",
    ]


def test_classify_external_accepts_a_v_final(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "classify", "--external", "v29.0.0"]) == 0
    assert capsys.readouterr().out == "v29.0.0\tfinal\n"


def test_eups(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["tag", "eups", "29.0.0", "v29.0.0", "w.2025.24", "v29.1.0.rc1", "v16.0.rc1"])
    out, err = capsys.readouterr()
    assert status == 0
    assert out == "v29_0_0\nv29_0_0\nw_2025_24\nv29_1_0_rc1\nv16_0_rc1\n"
    assert err == ""


def test_eups_of_an_invalid_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "eups", "w.2025.24", "w.2025.4"]) == 1
    out, err = capsys.readouterr()
    assert out == "w_2025_24\n"
    assert err == "w.2025.4: the week must have two digits (write w.2025.04)\n"


@pytest.mark.parametrize(
    ("day", "weekly"),
    [("2020-12-31", "w.2021.01"), ("2022-12-29", "w.2022.53"), ("2025-06-12", "w.2025.24")],
)
def test_weekly_for_a_date(capsys: pytest.CaptureFixture[str], day: str, weekly: str) -> None:
    assert main(["tag", "weekly", "--date", day]) == 0
    assert capsys.readouterr().out == weekly + "\n"


@pytest.mark.parametrize(
    ("moment", "weekly"),
    [
        # Friday 2021-01-01 06:00 UTC is still Thursday 2020-12-31 in Los Angeles
        (dt.datetime(2021, 1, 1, 6, 0, tzinfo=dt.UTC), "w.2021.01"),
        # Sunday 2025-01-05 07:59 UTC is Saturday evening in Los Angeles: still week 1
        (dt.datetime(2025, 1, 5, 7, 59, tzinfo=dt.UTC), "w.2025.01"),
        (dt.datetime(2025, 1, 5, 8, 0, tzinfo=dt.UTC), "w.2025.02"),
    ],
)
def test_weekly_defaults_to_today_in_pacific_time(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moment: dt.datetime,
    weekly: str,
) -> None:
    monkeypatch.setattr(tag_command, "utc_now", lambda: moment)
    assert main(["tag", "weekly"]) == 0
    assert capsys.readouterr().out == weekly + "\n"


def test_the_clock_is_aware() -> None:
    assert tag_command.utc_now().utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("bad", ["2020-02-30", "20200101", "2020-W53-4", "yesterday", ""])
def test_weekly_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["tag", "weekly", "--date", bad])
    assert info.value.code == 2
    assert "--date" in capsys.readouterr().err


@pytest.mark.parametrize("day", ["0001-01-01", "0999-06-01", "9999-12-31"])
def test_a_date_without_a_four_digit_weekly_year_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], day: str
) -> None:
    """Valid dates whose weekly year is not 1000..9999: exit 2 with the reason, no traceback."""
    with pytest.raises(SystemExit) as info:
        main(["tag", "weekly", "--date", day])
    assert info.value.code == 2
    assert "no weekly: the year must have four digits" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("day", "weekly"), [("0999-12-31", "w.1000.01"), ("9999-12-25", "w.9999.52")]
)
def test_the_first_and_last_weeklies_there_are(
    capsys: pytest.CaptureFixture[str], day: str, weekly: str
) -> None:
    assert main(["tag", "weekly", "--date", day]) == 0
    assert capsys.readouterr().out == weekly + "\n"


@pytest.mark.parametrize("command", ["classify", "eups", "weekly"])
def test_help_has_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["tag", command, "--help"])
    assert info.value.code == 0
    assert f"$ dm-release tag {command}" in capsys.readouterr().out


def test_missing_sub_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        main(["tag"])
    assert info.value.code == 2


def test_console_script_classify() -> None:
    done = subprocess.run(
        ["dm-release", "tag", "classify", "29.1.0", "w.2025.4", "t.2016.34"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == "29.1.0\tfinal\nt.2016.34\tlegacy\n"
    assert done.stderr == "w.2025.4: the week must have two digits (write w.2025.04)\n"
