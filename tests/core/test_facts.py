"""core.facts: what the rules know about the remotes, built from ``git ls-remote`` output."""

from __future__ import annotations

from dmrelease.core.facts import Facts, RepoFacts, all_tags, facts_from_remote, parse_or_none
from dmrelease.core.names import parse_tag

A = "a" * 40
B = "b" * 40
C = "c" * 40


def test_ls_remote_splits_branches_and_tags() -> None:
    refs = {
        "refs/heads/main": A,
        "refs/heads/tickets/DM-1": B,
        "refs/tags/w.2025.24": C,
        "refs/pull/3/head": A,
        "HEAD": A,
    }
    assert facts_from_remote(refs) == RepoFacts(
        tags={"w.2025.24": C}, branches={"main": A, "tickets/DM-1": B}
    )


def test_an_annotated_tag_counts_as_the_commit_it_points_at() -> None:
    refs = {"refs/tags/29.1.0": A, "refs/tags/29.1.0^{}": B, "refs/tags/w.2025.24": C}
    assert facts_from_remote(refs) == RepoFacts(tags={"29.1.0": B, "w.2025.24": C}, branches={})


def test_a_peeled_line_without_its_tag_is_no_tag() -> None:
    assert facts_from_remote({"refs/tags/x^{}": A}) == RepoFacts(tags={}, branches={})


def test_a_name_containing_the_prefix_elsewhere_is_not_stripped() -> None:
    refs = {"refs/heads/refs/heads/x": A, "refs/tags/refs/tags/y": B}
    assert facts_from_remote(refs) == RepoFacts(
        tags={"refs/tags/y": B}, branches={"refs/heads/x": A}
    )


def test_an_unknown_package_has_no_tags_and_no_branches() -> None:
    facts = Facts(repos={"a": RepoFacts(tags={"w.2025.24": A})})
    assert facts.repo("a").tags == {"w.2025.24": A}
    assert facts.repo("b") == RepoFacts()
    assert facts.repo("b").tags == {} and facts.repo("b").branches == {}


def test_descends_is_true_for_the_same_commit_and_for_known_descendants() -> None:
    facts = Facts(repos={}, ancestry={"p": {(A, B): True, (B, C): False}})
    assert facts.descends("p", A, A) is True
    assert facts.descends("p", A, B) is True
    assert facts.descends("p", B, C) is False


def test_descends_counts_an_unknown_answer_as_no() -> None:
    facts = Facts(repos={}, ancestry={"p": {(A, B): True}})
    assert facts.descends("p", B, A) is False
    assert facts.descends("other", A, B) is False


def test_all_tags_over_every_repo() -> None:
    facts = Facts(repos={"a": RepoFacts(tags={"w.2025.24": A}), "b": RepoFacts(tags={"29.1.0": B})})
    assert all_tags(facts) == {"w.2025.24", "29.1.0"}


def test_parse_or_none() -> None:
    assert parse_or_none("29.1.0") == parse_tag("29.1.0")
    assert parse_or_none("not a tag") is None
