"""Names from files and users are checked before any side effect (issue 8 §5): an edited
plan (checksum recomputed) naming another product, or a ref that is an option, is refused
before a journal or lock is made; an over-long tag is refused at the edge and holds no
lock; a repos.yaml URL that is an option never reaches git."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from release_helpers import PACKAGES, Setup, clean_environment, make_setup, ok, run, tags

from dmrelease.core.plan import PackagePlan, parse_plan, plan_to_json

pytestmark = pytest.mark.usefixtures(clean_environment.__name__)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Setup, str]:
    setup = make_setup(tmp_path_factory.mktemp("names"))
    ok(setup, "weekly", "w.2025.24")
    plan = setup.root / "plan.json"
    ok(setup, "plan", "v29.1.0.rc1", "--refs", "w.2025.24", "--output", str(plan))
    return setup, plan.read_text()


def _edited(setup: Setup, text: str, **changes: object) -> Path:
    """The plan with ``changes``, its checksum recomputed as an attacker would."""
    plan = dataclasses.replace(parse_plan(text), **changes)  # type: ignore[arg-type]
    path = setup.root / "edited.json"
    path.write_text(plan_to_json(plan))
    return path


def _state(setup: Setup) -> list[str]:
    state = setup.root / "work" / "state"
    return sorted(str(p.relative_to(state)) for p in state.rglob("*") if p.is_file())


@pytest.mark.parametrize("product", ["../../outside", "afw", "meta/../x"])
def test_an_edited_plan_naming_another_product_is_refused_before_any_write(
    planned: tuple[Setup, str], product: str
) -> None:
    setup, text = planned
    before = _state(setup)
    code, _out, err = run(setup, "apply", str(_edited(setup, text, product=product)))
    assert (code, err.strip()) == (
        1,
        f"{setup.root / 'edited.json'}:1: plan-product: {product!r} is not a product "
        "configured here (configured: meta) (apply a plan in the work directory and "
        "configuration that made it)",
    )
    assert _state(setup) == before  # no journal, no lock, nowhere
    assert not (setup.root / "outside").exists() and not (setup.root.parent / "outside").exists()
    assert all("v29.1.0.rc1" not in tags(setup.remote(n)) for n in PACKAGES)


def test_an_edited_plan_with_an_option_for_a_ref_is_refused(planned: tuple[Setup, str]) -> None:
    setup, text = planned
    plan = parse_plan(text)
    first = plan.packages[0]
    bad = dataclasses.replace(first, ref="--upload-pack=touch pwned")
    packages = (bad, *plan.packages[1:])
    edited = _edited(setup, text, packages=packages, source_refs=("w.2025.24", "a..b"))
    code, _out, err = run(setup, "apply", str(edited))
    assert code == 1
    assert err.splitlines() == [
        f"{edited}:1: plan-name: source ref 'a..b': '..', '@{{' and '//' are not allowed",
        f"{edited}:1: plan-name: {first.name}: ref '--upload-pack=touch pwned': must not "
        "start with '-' (git would read it as an option)",
    ]
    assert not (setup.root / "pwned").exists()


def test_an_edited_plan_with_another_branch_pattern_is_refused(planned: tuple[Setup, str]) -> None:
    setup, text = planned
    edited = _edited(setup, text, branch_pattern="x{major}.{minor}")
    code, _out, err = run(setup, "apply", str(edited))
    assert (code, err.strip()) == (
        1,
        f"{edited}:1: plan-product: release branch pattern 'x{{major}}.{{minor}}' is not "
        "'v{major}.{minor}.x' configured for meta",
    )


def test_a_tag_too_long_for_a_file_name_is_refused_at_the_edge_and_holds_no_lock(
    tmp_path: Path,
) -> None:
    setup = make_setup(tmp_path)
    tag = "v29.1.0.rc" + "1" * 300
    code, _out, err = run(setup, "candidate", tag, "--refs", "main", "--no-build")
    assert code == 2  # a TAG argument that names no tag: a usage error
    assert f"config-value: TAG: {tag!r} is not a git tag name: longer than 200 bytes" in err
    assert "Traceback" not in err
    assert not setup.lock().exists()


def test_a_repos_yaml_url_that_is_an_option_never_reaches_git(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    urls = {n: str(make_setup(tmp_path / "real").product.remote(n)) for n in PACKAGES}
    urls["afw"] = "--template=x@h:y"
    setup = make_setup(tmp_path / "hostile", urls=urls)
    code, _out, err = run(setup, "plan", "v29.1.0.rc1", "--refs", "main")
    assert code == 1
    assert (
        f"{setup.product.repos_yaml}:1:6: repos-url: `--template=x@h:y` starts with '-': "
        "git would read it as an option"
    ) in err
    assert not (setup.root / "work" / "clones").exists() and not marker.exists()


def test_backport_refuses_a_package_name_that_is_a_path(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    code, _out, err = run(setup, "backport", "DM-1", "--to", "v29.1.x", "--packages", "../afw")
    assert (code, err.strip()) == (
        2,
        "dm-release: error: '../afw': not a package name (letters, digits, _)",
    )


def test_plans_stay_json(planned: tuple[Setup, str]) -> None:
    # the edits above go through the plan's own writer: only the checksum protects a plan
    _setup, text = planned
    assert json.loads(text)["format"] and isinstance(parse_plan(text).packages[0], PackagePlan)


def test_no_journal_path_is_made_of_a_name_that_is_not_a_package_name(tmp_path: Path) -> None:
    from dmrelease.adapters.config import load_config
    from dmrelease.core.errors import UsageError
    from dmrelease.core.plan import Session
    from dmrelease.stages.release import journal_for

    config = load_config(make_setup(tmp_path).config, environ={})
    assert journal_for(config, "meta", Session.WEEKLY, "w.2025.24").path == (
        config.state_dir / "journal" / "meta" / "weekly-w.2025.24.json"
    )
    with pytest.raises(UsageError) as caught:
        journal_for(config, "../outside", Session.WEEKLY, "w.2025.24")
    assert str(caught.value) == "'../outside' is not a product name: no journal is made of it"
