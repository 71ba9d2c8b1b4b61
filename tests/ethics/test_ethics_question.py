"""The question must name a concern: a vague purpose is blocked however it is padded."""

from __future__ import annotations

import dataclasses

import pytest
from ethics_support import NOW, VALID_TOML
from hypothesis import given, settings
from hypothesis import strategies as st

from ethics import (
    Finding,
    Justification,
    Severity,
    default_policy,
    evaluate,
    load_justification_toml,
    policy_from_mapping,
)
from ethics.textcheck import STOP_WORDS, concern_words
from ethics.vocabulary import VAGUE_WORDS


def question_findings(valid: Justification, question: str) -> list[Finding]:
    j = dataclasses.replace(valid, question=question)
    found = evaluate(j, [], default_policy(), now=NOW)
    return [f for f in found if f.code.startswith("question.")]


VAGUE = [
    "Check Facebook.",
    "Check Facebook to see what is going on with the family at the moment.",
    "I would just like to see what is going on with the mother and her children.",
    "Look at their profile and find out more about them and their life.",
    "Monitor the parents' online activity for any concerns that may arise.",
    "General information gathering about the family's social media presence, please.",
    "See what is going on with Kerry Smith on Instagram and TikTok lately.",
    "To check the father's Facebook page for safeguarding purposes as part of the assessment.",
    "Background check: look at the mum's posts, photos and videos to get a picture.",
    "Keep an eye on what the young person is posting online these days.",
]

GOOD = [
    "Has Jay, aged 15 and missing since Friday, posted anything public that shows where he "
    "is staying?",
    "Is the adult shown in the mother's public posts the man named in the police disclosure "
    "of 3 November?",
    "Who is the man in the photos? And is he living there?",
    "Where is Zoë Nguyễn now? Her public posts may show her location.",
    "Is Kerry still in contact with Dan, as the school reports?",
    "Does the mother have a new partner who stays at the house overnight?",
    "Do Jordan's public videos show the inside of the home and who is living there?",
    "Does the football club's public page tell strangers where Jordan can be found each week?",
    "Is there public evidence of CSE, such as gifts from older men, on her profile?",
]


@pytest.mark.parametrize("question", VAGUE)
def test_a_vague_question_is_blocked(valid: Justification, question: str) -> None:
    found = question_findings(valid, question)
    assert [f.code for f in found] in (["question.vague"], ["question.too_short"])
    assert all(f.severity is Severity.BLOCK for f in found)


@pytest.mark.parametrize("question", [q for q in VAGUE if len(q.split()) >= 6])
def test_padding_to_the_minimum_length_does_not_hide_a_vague_question(
    valid: Justification, question: str
) -> None:
    (finding,) = question_findings(valid, question)
    assert finding.code == "question.vague"
    assert "names no concern" in finding.message
    assert "what this look must establish" in finding.message


@pytest.mark.parametrize("question", GOOD)
def test_a_question_that_names_a_concern_passes(valid: Justification, question: str) -> None:
    assert question_findings(valid, question) == []


def test_a_vague_question_is_reported_once_and_only_when_otherwise_complete(
    valid: Justification,
) -> None:
    # A stock phrase or an empty box is its own finding; "vague" adds nothing then.
    assert [f.code for f in question_findings(valid, "check social media")] == [
        "question.boilerplate"
    ]
    assert [f.code for f in question_findings(valid, "")] == ["question.missing"]


def test_names_and_numbers_are_not_a_concern() -> None:
    assert concern_words("See what Kerry Smith posted on 3 March 2026, please.", VAGUE_WORDS) == []


def test_a_term_in_capitals_counts_as_a_concern() -> None:
    assert concern_words("Look at her posts for signs of CSE.", VAGUE_WORDS) == ["signs", "cse"]


def test_a_name_first_is_still_a_name() -> None:
    assert concern_words("Kerry: check her Facebook.", VAGUE_WORDS) == []
    assert concern_words("Drugs: is he selling them from the flat?", VAGUE_WORDS) == [
        "selling",
        "flat",
    ]


def test_the_policy_stock_phrases_count_as_vague(valid: Justification) -> None:
    question = "Please look at her public profile for everything; see case notes."
    j = dataclasses.replace(valid, question=question)
    assert "question.vague" in [f.code for f in evaluate(j, [], default_policy(), now=NOW)]
    phrases = [p for p in default_policy().boilerplate_phrases if p != "see case notes"]
    without = policy_from_mapping({"boilerplate_phrases": phrases})
    assert "question.vague" not in [f.code for f in evaluate(j, [], without, now=NOW)]


def test_an_organisation_stock_phrase_makes_a_question_vague(valid: Justification) -> None:
    question = "Please run the quick wellbeing sweep of the family's online presence."
    j = dataclasses.replace(valid, question=question)
    assert "question.vague" not in [f.code for f in evaluate(j, [], default_policy(), now=NOW)]
    stricter = policy_from_mapping(
        {"boilerplate_phrases": [*default_policy().boilerplate_phrases, "quick wellbeing sweep"]}
    )
    assert "question.vague" in [f.code for f in evaluate(j, [], stricter, now=NOW)]


# --- padding never helps ----------------------------------------------------------------

_CORES = st.sampled_from(
    [
        "check facebook",
        "see what is going on",
        "look at their profile",
        "find out more",
        "general information",
        "monitor",
    ]
)
_FILLER = st.sampled_from(
    sorted(
        {*STOP_WORDS, *(w for w in VAGUE_WORDS if " " not in w)}
        | {"Facebook", "Kerry", "Smith", "2026", "3", "the", "mother's", "family's"}
    )
)
_PUNCTUATION = st.sampled_from([" ", " ", " ", ", ", ". ", "? ", "; ", " - "])


@settings(max_examples=300)
@given(
    core=_CORES,
    before=st.lists(st.tuples(_FILLER, _PUNCTUATION), max_size=12),
    after=st.lists(st.tuples(_FILLER, _PUNCTUATION), max_size=12),
    shout=st.booleans(),
)
def test_padding_a_vague_question_with_filler_never_makes_it_pass(
    core: str,
    before: list[tuple[str, str]],
    after: list[tuple[str, str]],
    shout: bool,
) -> None:
    def join(parts: list[tuple[str, str]]) -> str:
        return "".join(word + gap for word, gap in parts)

    question = f"{join(before)}{core.capitalize() if shout else core} {join(after)}"
    valid = _complete()
    found = question_findings(valid, question)
    assert any(f.severity is Severity.BLOCK for f in found), question


def _complete() -> Justification:
    # Hypothesis runs the test many times per fixture, so it builds its own request.
    return load_justification_toml(VALID_TOML)
