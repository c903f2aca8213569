"""What the candidate validation hands to bash and EUPS: the shell lines a product's demo
command runs after in dm-release's own stack (each product's <NAME>_DIR and bin/ on PATH,
the paths quoted, so a work dir holding ``$(...)``, a quote or a backtick stays text), an
environment without dm-release's secrets (the demo and eupspkg run the product's code), and
an install failure's reason without the server URL's credentials (the real EUPS)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from vendor import Vendor

from dmrelease.core.validation import Installed
from dmrelease.stages.candidate_check import stack_exports


def test_the_stack_paths_reach_bash_as_text(tmp_path: Path) -> None:
    root = tmp_path / 'w $(touch made) "q" `touch made2`' / "Linux64"
    products = [Installed("afw", "g0123456789", 0, True), Installed("base", "1.2+3", 0, True)]
    script = stack_exports(root, products) + 'printf "%s\\n" "$AFW_DIR" "$BASE_DIR" "$PATH"\n'
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"{root}/afw/g0123456789",
        f"{root}/base/1.2+3",
        f"{root}/base/1.2+3/bin:{root}/afw/g0123456789/bin:/usr/bin:/bin",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_eups_install_failure_names_the_server_without_its_credentials(
    tmp_path: Path, eups_vendor: Vendor
) -> None:
    from dmrelease.adapters.eups_client import EupsClient
    from dmrelease.stages.candidate_check import _eups_install

    client = EupsClient(eups_vendor.eups_dir / "bin" / "setups.sh", 120)
    url = "http://bob:pw-s3cret-0123456789@127.0.0.1:9/"  # nothing listens on port 9
    install = _eups_install(client, "binary", url, "http://****@127.0.0.1:9/",
                            tmp_path / "stack", "meta", "v29_1_0")  # fmt: skip
    assert (install.status, install.client) == ("failed", "eups")
    assert install.reason is not None and install.reason.startswith(
        "eups distrib install exited 1: eups distrib: Failed to contact URL "
        "http://****@127.0.0.1:9//config.txt ("
    )
    assert "s3cret" not in install.reason and "bob" not in install.reason


SHOW = 'echo "jira=${DM_RELEASE_JIRA_TOKEN-unset} key=${DM_RELEASE_DISCOURSE_API_KEY-unset} $1"\n'


def test_the_demo_command_and_eups_run_without_dm_releases_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eups_vendor: Vendor
) -> None:
    from dmrelease.adapters.eups_client import EupsClient
    from dmrelease.stages.candidate_check import _run_shell

    monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", "jira-pat-0123456789")
    monkeypatch.setenv("DM_RELEASE_DISCOURSE_API_KEY", "discourse-key-0123456789")
    monkeypatch.setenv("F1_KEPT", "kept")
    done = _run_shell(SHOW, ["$F1_KEPT"], tmp_path, 60)
    assert (done.exit_code, done.output) == (0, "jira=unset key=unset $F1_KEPT\n")
    client = EupsClient(eups_vendor.eups_dir / "bin" / "setups.sh", 60)
    done = client.run(tmp_path / "stack", "${F1_KEPT}", script=SHOW + 'echo "$F1_KEPT"\n')
    assert (done.exit_code, done.output.splitlines()[-2:]) == (
        0, ["jira=unset key=unset ${F1_KEPT}", "kept"])  # fmt: skip
