"""Relied upon is earned: ethics.assess_reliance, table-driven, each rule both ways."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ethics import (
    CorroboratorFacts,
    ExternalCheck,
    ObservationFacts,
    Policy,
    SourceFacts,
    assess_reliance,
    rules_text,
)
from ethics.reliance import not_independent, page_address

MINE = SourceFacts(1, "a" * 64, ("https://social.example/kerry/posts/1",))
OTHER = SourceFacts(2, "b" * 64, ("https://news.example/story/9",))
SAME_BYTES = SourceFacts(3, "a" * 64, ("https://mirror.example/copy",))
SAME_PAGE = SourceFacts(4, "c" * 64, ("http://www.social.example/kerry/posts/1/",))
CORRECTION = SourceFacts(5, "d" * 64, ("https://social.example/kerry/posts/1?v=2",), (1,))
CHECK = ExternalCheck("the bruise on Kerry's arm", "the health visitor", date(2024, 11, 3))


def obs(
    reliability: str = "C", credibility: int = 3, confirmed_by: str | None = None
) -> ObservationFacts:
    return ObservationFacts(MINE, reliability, credibility, confirmed_by)


def by(source: SourceFacts, credibility: int = 3, reliability: str = "B") -> CorroboratorFacts:
    return CorroboratorFacts(10 + source.source_id, source, reliability, credibility)


CASES = [
    # (id, observation, corroborators, external check, relied)
    ("independent_source_credibility_3", obs(), [by(OTHER, 3)], None, True),
    ("copy_of_the_same_bytes", obs(), [by(SAME_BYTES, 3)], None, False),
    ("same_page_captured_again", obs(), [by(SAME_PAGE, 2)], None, False),
    ("a_correction_of_the_same_item", obs(), [by(CORRECTION, 2)], None, False),
    ("same_source", obs(), [by(MINE, 1)], None, False),
    ("corroborator_credibility_4", obs(), [by(OTHER, 4)], None, False),
    ("corroborator_credibility_5", obs(), [by(OTHER, 5)], None, False),
    ("external_check_complete", obs(), [], CHECK, True),
    ("external_check_missing_who", obs(), [], replace(CHECK, who=" "), False),
    ("external_check_missing_when", obs(), [], replace(CHECK, when=None), False),
    ("external_check_missing_what", obs(), [], replace(CHECK, what=""), False),
    ("legacy_free_text_check", obs(), [], ExternalCheck("Police log 12/11."), False),
    ("credibility_2_alone", obs("B", 2), [], None, False),
    ("credibility_1_named_alone", obs("A", 1, "the police log"), [], None, False),
    ("credibility_1_named_and_checked", obs("A", 1, "the police log"), [], CHECK, True),
    ("f_alone_credibility_1", obs("F", 1, "a friend said so"), [], None, False),
    ("f_alone_credibility_2", obs("F", 2), [], None, False),
    ("f_with_independent_corroboration", obs("F", 3), [by(OTHER, 2)], None, True),
    ("f_with_a_copy_only", obs("F", 1, "a repost"), [by(SAME_BYTES, 1)], None, False),
    ("f_with_external_check", obs("F", 3), [], CHECK, True),
    ("one_good_among_bad", obs(), [by(SAME_BYTES, 1), by(OTHER, 3)], None, True),
    ("nothing", obs(), [], None, False),
]


@pytest.mark.parametrize(
    ("observation", "corroborators", "check", "relied"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_relied_upon_only_when_earned(
    policy: Policy,
    observation: ObservationFacts,
    corroborators: list[CorroboratorFacts],
    check: ExternalCheck | None,
    relied: bool,
) -> None:
    answer = assess_reliance(observation, corroborators, check, policy)
    assert (answer.relied, bool(answer.supported_by), bool(answer.advice)) == (
        relied,
        relied,
        not relied,
    )


@pytest.mark.parametrize(
    ("limit", "credibility", "relied"),
    [(3, 3, True), (3, 4, False), (2, 2, True), (2, 3, False), (4, 4, True), (1, 2, False)],
)
def test_the_corroborators_credibility_limit_is_the_policys(
    policy: Policy, limit: int, credibility: int, relied: bool
) -> None:
    tuned = replace(policy, corroboration_max_credibility=limit)
    assert assess_reliance(obs(), [by(OTHER, credibility)], None, tuned).relied is relied


@pytest.mark.parametrize(
    ("corroborator", "words"),
    [
        (by(SAME_BYTES), "copy of the same bytes"),
        (by(SAME_PAGE), "same page captured again"),
        (by(CORRECTION), "correction of the same item"),
        (by(OTHER, 4), "graded B4, and corroboration needs credibility 1 to 3"),
    ],
    ids=["bytes", "page", "correction", "credibility"],
)
def test_a_corroborator_that_does_not_count_says_why(
    policy: Policy, corroborator: CorroboratorFacts, words: str
) -> None:
    answer = assess_reliance(obs(), [corroborator], None, policy)
    assert any(
        f"Observation {corroborator.observation_id} does not corroborate it" in r and words in r
        for r in answer.reasons
    )


def test_an_incomplete_check_says_what_is_missing(policy: Policy) -> None:
    answer = assess_reliance(obs(), [], ExternalCheck("the bruise", "", None), policy)
    assert "does not record who checked it or when" in " ".join(answer.reasons)


def test_f_says_an_anonymous_account_is_never_relied_upon_alone(policy: Policy) -> None:
    answer = assess_reliance(obs("F", 1, "a friend"), [], None, policy)
    assert answer.reasons[0] == (
        "Not relied upon: source reliability F (cannot be judged, e.g. an anonymous "
        "account) is never relied upon alone."
    )


def test_own_grading_is_not_enough(policy: Policy) -> None:
    answer = assess_reliance(obs("A", 2), [], None, policy)
    assert answer.reasons[0].startswith("Not relied upon: its own grading (credibility 2)")


def test_relied_upon_names_what_corroborates_it(policy: Policy) -> None:
    answer = assess_reliance(obs(), [by(OTHER, 2)], CHECK, policy)
    assert answer.supported_by == (
        "observation 12 on source 2 (B2), an independent source with different content",
        "external check: the bruise on Kerry's arm, by the health visitor, on 2024-11-03",
    )


def test_credibility_1_without_its_confirmation_is_noted(policy: Policy) -> None:
    answer = assess_reliance(obs("A", 1), [by(OTHER)], None, policy)
    assert "Credibility 1 (confirmed) does not name what confirmed it." in answer.reasons


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://social.example/a", "http://social.example/a/", True),
        ("https://www.social.example/a#top", "https://social.example/a", True),
        ("https://social.example:443/a", "https://SOCIAL.example/a", True),
        ("https://social.example/a", "https://social.example/b", False),
        ("https://social.example/a?x=1", "https://social.example/a?x=2", False),
    ],
)
def test_page_key_compares_spellings_of_one_page(a: str, b: str, same: bool) -> None:
    assert (page_address(a) == page_address(b)) is same


def test_independent_sources_have_no_reason_against() -> None:
    assert not_independent(MINE, OTHER) is None


def test_the_rules_text_states_every_rule(policy: Policy) -> None:
    text = rules_text(policy)
    for words in (
        "independent source",
        "different content",
        "second copy of the same page or of the same bytes is not independent",
        "credibility 1 to 3",
        "what was checked, who checked it and when",
        "source reliability F) is never relied upon alone",
        "Credibility 1 (confirmed) must name what confirmed it",
    ):
        assert words in text


def test_the_rules_text_follows_the_policy(policy: Policy) -> None:
    assert "graded credibility 1 to 2" in rules_text(
        replace(policy, corroboration_max_credibility=2)
    )
