"""dm-release publish checks that its destination can be written before it makes any
package, as tarball does before packing: an unwritable server directory is exit 2 naming
the directory asked, with nothing made; a dry run needs no write access."""

from __future__ import annotations

from pathlib import Path

from publish_helpers import built_product, dm_release


def test_an_unwritable_destination_stops_publish_before_any_package(tmp_path: Path) -> None:
    built = built_product(tmp_path)
    args = ("publish", "--config", str(built.config), "--tag", "w_2025_24")
    code, out, err = dm_release(*args, "--server-dir", "/proc/x")
    assert (code, out) == (2, ""), err
    assert err.splitlines()[-1] == (
        "dm-release: error: /proc/x: cannot write there (cannot create it in /proc: No such "
        "file or directory); check the permissions or give another server directory"
    )
    assert "publish b1 as w_2025_24" not in err  # printed once the check passed, then made
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory\n")
    code, _, err = dm_release(*args, "--server-dir", str(blocked / "srv"))
    assert code == 2
    assert err.splitlines()[-1] == (
        f"dm-release: error: {blocked / 'srv'}: {blocked} is not a directory; give a server "
        "directory"
    )
    assert "publish b1 as w_2025_24" not in err
    code, _, err = dm_release(*args, "--server-dir", "/proc/x", "--dry-run")
    assert code == 0, err
    assert "publish b1 as w_2025_24, w_latest to /proc/x: 6 packages" in err
