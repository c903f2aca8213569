"""Change control as release rules on real bare remotes (DMTN-106 §3, §4.4, A.2.2): the rc1
criteria against a local Jira speaking REST v2, a patch's RFC, the approval of a package
new to the product's closure in the metapackage's contents file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_helpers import (
    PACKAGES,
    Setup,
    all_repos,
    clean_environment,
    commit_on_branch,
    make_setup,
    ok,
    run,
    snapshot,
    tags,
)

from dmrelease.demo.jira_server import LocalJira, serve_jira
from dmrelease.demo.synthetic import PackageSpec, create_remote, table_text

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)

TOKEN = "pat-criteria-0123456789"
WAIVE = ("--waive", "DM-3", "--why", "moved to 29.2 by the product owner")


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalJira]:
    """A local Jira: release issue DM-1, blocked by DM-2 (done) and DM-3 (open); RFC-7
    adopted, RFC-8 proposed."""
    monkeypatch.setenv("DM_RELEASE_JIRA_TOKEN", TOKEN)
    with serve_jira(TOKEN) as server:
        server.add_issue("DM-1", "Release 29.1.0", status="In Progress")
        server.add_issue("DM-2", "Fix the flux", blocks=("DM-1",))
        server.add_issue("DM-3", "Faster warping", status="In Progress", blocks=("DM-1",))
        server.add_issue("RFC-7", "Patch 29.1.1 for the flux", issue_type="RFC", status="Adopted")
        server.add_issue("RFC-8", "Patch 29.1.1 again", issue_type="RFC", status="Proposed")
        yield server


def with_jira(setup: Setup, jira: LocalJira) -> Setup:
    setup.config.write_text(setup.config.read_text() + f'\n[jira]\nurl = "{jira.url}"\n')
    return setup


@pytest.fixture
def weekly(tmp_path: Path) -> Setup:
    """The test product with its weekly w.2025.24 built and tagged."""
    setup = make_setup(tmp_path)
    ok(setup, "weekly", "w.2025.24")
    return setup


def rc1_tags(setup: Setup) -> dict[str, bool]:
    return {name: "v29.1.0.rc1" in tags(setup.remote(name)) for name in PACKAGES}


def test_rc1_with_an_open_blocker_is_refused_naming_it(weekly: Setup, jira: LocalJira) -> None:
    setup = with_jira(weekly, jira)
    before = snapshot(all_repos(setup), fetched=True)
    code, out, err = run(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build",
                         "--release-issue", "DM-1", "--approved-by", "Jane Doe")  # fmt: skip
    assert code == 1, err
    problems = [line for line in err.splitlines() if ": rc1-" in line]
    assert problems == [
        "meta:1: rc1-blocker-open: DM-3 (In Progress) blocks release issue DM-1 of v29.1.0.rc1: "
        "Faster warping (finish it, or waive it: --waive DM-3 --why TEXT)"
    ]
    assert rc1_tags(setup) == dict.fromkeys(PACKAGES, False)
    assert snapshot(all_repos(setup), fetched=True) == before
    assert not setup.lock().exists()
    assert out == ""
    jira.set_status("DM-3", "Done")  # Jira is asked again, not its cache: done now
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build",
       "--release-issue", "DM-1", "--approved-by", "Jane Doe")  # fmt: skip
    assert rc1_tags(setup) == dict.fromkeys(PACKAGES, True)


def test_rc1_missing_approval_is_refused(weekly: Setup, jira: LocalJira) -> None:
    setup = with_jira(weekly, jira)
    code, _out, err = run(setup, "plan", "v29.1.0.rc1", "--refs", "w.2025.24",
                          "--release-issue", "DM-1", *WAIVE)  # fmt: skip
    assert code == 1
    assert [line for line in err.splitlines() if ": rc1-" in line] == [
        "meta:1: rc1-approval: v29.1.0.rc1 needs the product owner's approval "
        "(give --approved-by NAME once they approved it)"
    ]


def test_rc1_accepted_with_a_recorded_waiver(weekly: Setup, jira: LocalJira) -> None:
    setup = with_jira(weekly, jira)
    plan_file = setup.root / "plan.json"
    asked = ("--refs", "w.2025.24", "--release-issue", "DM-1", "--approved-by", "Jane Doe", *WAIVE)
    code, out, err = run(setup, "plan", "v29.1.0.rc1", *asked, "--output", str(plan_file))
    assert code == 0, err
    record = json.loads(plan_file.read_text())["plan"]["change_control"]
    assert record == {
        "release_issue": "DM-1",
        "blockers": [
            {"key": "DM-2", "status": "Done"},
            {"key": "DM-3", "status": "In Progress"},
        ],
        "waivers": [{"key": "DM-3", "why": "moved to 29.2 by the product owner"}],
        "approved_by": "Jane Doe",
        "weekly": "w.2025.24 b1",
        "rfc": None,
        "rfc_status": None,
        "approvals": [],
    }
    assert [line for line in out.splitlines() if "change control" in line] == [
        "  change control: release issue DM-1",
        "  change control: blocker DM-2 Done",
        "  change control: blocker DM-3 In Progress: waived (moved to 29.2 by the product owner)",
        "  change control: approved by Jane Doe",
        "  change control: source weekly w.2025.24 b1: green",
    ]
    code, out, err = run(setup, "validate", "v29.1.0.rc1", *asked)
    assert code == 0, err
    assert "  change control: source weekly w.2025.24 b1: green" in out.splitlines()
    ok(setup, "apply", str(plan_file))
    assert rc1_tags(setup) == dict.fromkeys(PACKAGES, True)
    message = setup.remote("meta").run("tag", "-l", "--format=%(contents)", "v29.1.0.rc1")
    assert f"plan: {json.loads(plan_file.read_text())['checksum']}" in message


def test_the_session_accepts_the_waiver_and_its_dry_run_shows_the_criteria(
    weekly: Setup, jira: LocalJira
) -> None:
    setup = with_jira(weekly, jira)
    asked = ("--refs", "w.2025.24", "--no-build", "--release-issue", "DM-1",
             "--approved-by", "Jane Doe", *WAIVE)  # fmt: skip
    text = ok(setup, "candidate", "v29.1.0.rc1", *asked, "--dry-run")
    assert (
        "  change control: blocker DM-3 In Progress: waived (moved to 29.2 by the product owner)"
        in (text.splitlines())
    )
    assert rc1_tags(setup) == dict.fromkeys(PACKAGES, False)
    ok(setup, "candidate", "v29.1.0.rc1", *asked)
    assert rc1_tags(setup) == dict.fromkeys(PACKAGES, True)


def test_a_waiver_outside_an_rc1_is_not_recorded(weekly: Setup, jira: LocalJira) -> None:
    setup = with_jira(weekly, jira)
    ok(setup, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build",
       "--release-issue", "DM-1", "--approved-by", "Jane Doe", *WAIVE)  # fmt: skip
    plan_file = setup.root / "plan.json"
    code, out, err = run(setup, "plan", "v29.1.0.rc2", "--refs", "w.2025.24", *WAIVE,
                         "--output", str(plan_file))  # fmt: skip
    assert code == 0, err
    assert "change_control" not in json.loads(plan_file.read_text())["plan"]
    assert [line for line in err.splitlines() if "--waive" in line] == [
        "note: --waive not recorded (DM-3): v29.1.0.rc2 is not an rc1, whose blockers alone"
        " are waived"
    ]
    assert "change control" not in out


def test_rc1_not_from_a_green_weekly_is_refused(weekly: Setup, jira: LocalJira) -> None:
    """A weekly tag the weekly session did not make (by hand, on meta only, then on every
    package, without the build its session records): not a green weekly."""
    setup = with_jira(weekly, jira)
    asked = ("--release-issue", "DM-1", "--approved-by", "Jane Doe", *WAIVE)
    meta = setup.remote("meta")
    meta.run("tag", "-a", "-m", "made by hand", "w.2025.23", "main")
    code, _out, err = run(setup, "plan", "v29.1.0.rc1", "--refs", "w.2025.23", "main", *asked)
    assert code == 1
    assert [line for line in err.splitlines() if ": rc1-" in line] == [
        "meta:1: rc1-weekly: base, utils, afw not at w.2025.23: the source weekly's tag is on "
        "every package of a green weekly"
    ]
    for name in ("base", "utils", "afw"):
        setup.remote(name).run("tag", "-a", "-m", "made by hand", "w.2025.23", "main")
    code, _out, err = run(setup, "plan", "v29.1.0.rc1", "--refs", "w.2025.23", *asked)
    assert code == 1
    assert [line for line in err.splitlines() if ": rc1-" in line] == [
        "meta:1: rc1-weekly: w.2025.23's tag names no build: not a green weekly"
    ]
    code, _out, err = run(setup, "plan", "v29.1.0.rc1", "--refs", "main", *asked)
    assert code == 1
    assert [line for line in err.splitlines() if ": rc1-" in line] == [
        "meta:1: rc1-weekly: v29.1.0.rc1 is not made from a weekly "
        "(make an rc1 from a green weekly: --refs w.YYYY.WW)"
    ]


def test_without_jira_the_plan_says_the_criteria_were_not_checked(weekly: Setup) -> None:
    code, out, err = run(weekly, "plan", "v29.1.0.rc1", "--refs", "w.2025.24")
    assert code == 0, err
    assert (
        "note: rc1 criteria not checked, jira.url is not set: the release issue and its"
        " blockers (rc1-release-issue, rc1-blocker-open, rc1-waiver), the product owner's"
        " approval (rc1-approval), the source weekly's green build (rc1-weekly)"
    ) in err.splitlines()
    assert "change control" not in out


@pytest.fixture
def final(weekly: Setup) -> Setup:
    """29.1.0 made from its rc1 (tagged only), the test product's first final."""
    ok(weekly, "candidate", "v29.1.0.rc1", "--refs", "w.2025.24", "--no-build")
    ok(weekly, "final", "29.1.0", "--no-build")
    return weekly


def test_patch_needs_its_rfc_approved(final: Setup, jira: LocalJira) -> None:
    setup = with_jira(final, jira)
    patch = ("patch", "29.1.1", "--packages", "afw")
    code, _out, err = run(setup, *patch)
    assert code == 1
    assert [line for line in err.splitlines() if ": patch-rfc" in line] == [
        "meta:1: patch-rfc: patch 29.1.1 needs its RFC approved "
        "(give --rfc RFC-N (approved: Adopted, Implemented))"
    ]
    code, _out, err = run(setup, *patch, "--rfc", "RFC-8")
    assert code == 1
    assert [line for line in err.splitlines() if ": patch-rfc" in line] == [
        "meta:1: patch-rfc: RFC-8 is Proposed: patch 29.1.1 needs it approved "
        "(Adopted, Implemented)"
    ]
    assert not setup.remote("afw").ok("rev-parse", "--verify", "--quiet", "refs/heads/v29.1.x")
    ok(setup, *patch, "--rfc", "RFC-7")
    assert setup.remote("afw").rev_parse("v29.1.x") == tags(setup.remote("afw"))["29.1.0"]


NEW = "meas_extra"


def add_package(setup: Setup) -> None:
    """A git package new to the product: its remote, its repos.yaml line, and meta's table
    now requiring it."""
    create_remote(setup.product.remote(NEW), NEW, PackageSpec(history=1))
    with setup.product.repos_yaml.open("a") as repos:
        repos.write(f"{NEW}: {setup.product.url(NEW)}\n")
    spec = PackageSpec(deps=("afw", "utils", NEW))
    commit_on_branch(setup, "meta", "main", "ups/meta.table", table_text("meta", spec))


def contents(packages: str) -> str:
    return f"third_party: []\npackages:\n{packages}" if packages else "third_party: []\n"


def test_a_package_new_since_the_last_final_needs_its_approval(final: Setup) -> None:
    setup = final
    add_package(setup)
    path = "ups/meta.contents.yaml"
    commit_on_branch(setup, "meta", "main", path, contents(""))
    code, out, err = run(setup, "plan", "v29.2.0.rc1", "--refs", "main")
    assert code == 1, out
    assert [line for line in err.splitlines() if "package-unapproved" in line] == [
        f"{path}:1: package-unapproved: {NEW} is new to meta since 29.1.0: no approval there "
        "(add it under packages: in the contents file with the RFC that approved it)"
    ]
    commit_on_branch(setup, "meta", "main", path, contents(f"  - name: {NEW}\n    rfc: RFC-456\n"))
    plan_file = setup.root / "plan.json"
    ok(setup, "plan", "v29.2.0.rc1", "--refs", "main", "--output", str(plan_file))
    record = json.loads(plan_file.read_text())["plan"]["change_control"]
    assert record["approvals"] == [{"package": NEW, "rfc": "RFC-456"}]


def test_without_a_contents_file_a_new_package_is_a_note(final: Setup) -> None:
    add_package(final)
    code, _out, err = run(final, "plan", "v29.2.0.rc1", "--refs", "main")
    assert code == 0, err
    assert f"note: new packages since 29.1.0 not checked ({NEW}): no contents file" in (
        err.splitlines()
    )


APPROVED = "{type: 1, license: BSD-3-Clause, support: full, rfc: RFC-1}"
BOOST = f"  - {{name: boost, delivery: eups, {APPROVED[1:]}\n"
NUMPY = f"  - {{name: numpy, delivery: conda, {APPROVED[1:]}\n"


def test_third_party_products_of_the_closure_and_conda_need_approval(final: Setup) -> None:
    """meta's table sets up boost (an EUPS product no git package of the product is) and
    its conda environment has numpy: each must be approved in the contents file."""
    setup = final
    text = setup.config.read_text().replace(
        "[products.meta]\n", '[products.meta]\nexternal = ["boost"]\n'
    )
    setup.config.write_text(text)
    spec = PackageSpec(deps=("afw", "utils", "boost"))
    commit_on_branch(setup, "meta", "main", "ups/meta.table", table_text("meta", spec))
    environment = "name: meta\nchannels: [conda-forge]\ndependencies:\n  - numpy >=1.26\n"
    commit_on_branch(setup, "meta", "main", "environment.yaml", environment)
    path = "ups/meta.contents.yaml"
    commit_on_branch(setup, "meta", "main", path, "third_party: []\n")
    code, _out, err = run(setup, "plan", "v29.2.0.rc1", "--refs", "main")
    assert code == 1, err
    found = [line for line in err.splitlines() if "third-party-unapproved" in line]
    assert [line.partition(" (add it")[0] for line in found] == [  # the hint is the rule's
        f"{path}:1: third-party-unapproved: EUPS product 'boost' is not approved in {path}",
        f"{path}:1: third-party-unapproved: conda package 'numpy' is not approved in {path}",
    ]
    commit_on_branch(setup, "meta", "main", path, f"third_party:\n{BOOST}{NUMPY}")
    ok(setup, "plan", "v29.2.0.rc1", "--refs", "main")
