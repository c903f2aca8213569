"""The shell lines the candidate validation runs a product's demo command after, in
dm-release's own stack (no EUPS): each product's <NAME>_DIR and bin/ on PATH, the paths
quoted, so a work dir holding ``$(...)``, a quote or a backtick stays text in bash."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
