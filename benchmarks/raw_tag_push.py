"""The baseline of ``release apply`` (issue 10): raw ``git tag -a`` + ``git push`` of one tag
in every clone, from a pool of 8 threads; nothing checked, nothing journaled.

``python raw_tag_push.py LIST TAG`` with LIST lines of ``<clone dir> <sha>``; run as a
script of its own (standard library only), so the benchmark measures it as a process.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

POOL = 8


def tag_and_push(clone: str, sha: str, tag: str) -> None:
    for args in (("tag", "-a", "-m", f"Release {tag}", tag, sha),
                 ("push", "--quiet", "origin", f"refs/tags/{tag}")):  # fmt: skip
        subprocess.run(["git", *args], cwd=clone, check=True, stdin=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    listing, tag = argv
    with open(listing) as lines:
        jobs = [line.split() for line in lines if line.strip()]
    with ThreadPoolExecutor(max_workers=POOL) as pool:
        for done in [pool.submit(tag_and_push, clone, sha, tag) for clone, sha in jobs]:
            done.result()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
