"""Legal scenarios a review ran through the command line, as pure gate checks: the plans
and looks DOMAIN.md forbids that the gate let through, and their neighbours that must
still pass."""

from __future__ import annotations

import dataclasses

import pytest
from ethics_support import NOW

from ethics import (
    CAPTURE,
    NAVIGATE,
    RULE_HOST_SCOPE,
    VIEW,
    Justification,
    KnownSubject,
    Look,
    LookFacts,
    RequestFacts,
    blocking,
    decide_look,
    default_policy,
    evaluate,
    group_people,
)

# --- the plan of a look: personal profiles, following, liking, restricted content -------


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        (
            "I will view her posts once using my personal Instagram account and record only "
            "posts showing the man.",
            "attest_no_personal_or_fake_profile.not_attested",
        ),
        (
            "I will use a colleague's account to view her stories once and record only posts "
            "showing the man.",
            "attest_no_personal_or_fake_profile.not_attested",
        ),
        (
            "I will create an account to see her posts once, recording only the man.",
            "attest_no_personal_or_fake_profile.not_attested",
        ),
        (
            "I will follow her Instagram account once to see her stories and record posts "
            "showing the man.",
            "attest_no_interaction.not_attested",
        ),
        (
            "Follow her on TikTok for a week, keeping only videos that show the man.",
            "attest_no_interaction.not_attested",
        ),
        (
            "I will like her photos so she accepts me, recording only the man.",
            "attest_no_interaction.not_attested",
        ),
        (
            "One look at her close friends story, recording only the man.",
            "attest_no_restricted_content.not_attested",
        ),
        (
            "Ask to join the parents' group she runs and keep only posts that show the man.",
            "attest_no_restricted_content.not_attested",
        ),
    ],
)
def test_a_plan_to_look_through_an_account_or_to_interact_blocks_submission(
    valid: Justification, plan: str, code: str
) -> None:
    request = dataclasses.replace(valid, proportionality=plan)
    found = [f for f in blocking(evaluate(request, [], default_policy(), now=NOW))]
    assert [(f.code, f.field) for f in found] == [(code, "proportionality")]
    assert "Change the plan" in found[0].message


@pytest.mark.parametrize(
    "plan",
    [
        "I will not follow her account or like her posts; one look at public posts only.",
        "Record only the message her partner posted and the comment on the post that names "
        "him, once.",
        "Record only photos like the photo the police hold; follow her up at the next visit.",
        "One look at her public page without using my own Instagram or anyone else's account.",
        "One look at her public posts; photos of her close friends will be cropped.",
        "One look at her public posts; friends who like her photos will be cropped out.",
        "One look, recording people commenting on her posts only where they name him.",
        "One look at the club's sign up page, recording only what names Jo.",
        "One look at her public page; screenshots sent via a friend's account are supplied.",
    ],
)
def test_a_plan_that_names_such_means_without_using_them_passes(
    valid: Justification, plan: str
) -> None:
    request = dataclasses.replace(valid, proportionality=plan)
    assert blocking(evaluate(request, [], default_policy(), now=NOW)) == ()


PEOPLE = group_people([KnownSubject(7, 1, ("https://photos.example/jay.doe",))])


# --- scope: another page of a site whose exact pages the request lists -----------------


def scoped_look(valid: Justification, url: str, kind: str = CAPTURE) -> tuple[str | None, str]:
    request = dataclasses.replace(
        valid, scope_hosts=(), scope_urls=("https://photos.example/jay.doe",)
    )
    facts = LookFacts(
        request=RequestFacts(id=1, status="approved", author="worker-a"), people=PEOPLE
    )
    look = Look(kind=kind, subject_id=7, url=url, actor="worker-a", now=NOW, attested=True)
    decision = decide_look(request, facts, look, default_policy())
    return decision.rule, decision.message


@pytest.mark.parametrize("kind", [CAPTURE, VIEW, NAVIGATE])
def test_a_page_beside_the_listed_exact_page_is_refused_as_not_listed(
    valid: Justification, kind: str
) -> None:
    rule, message = scoped_look(valid, "https://photos.example/jay.doe/photos", kind)
    assert rule == RULE_HOST_SCOPE
    assert "https://photos.example/jay.doe/photos is not one of the" in message
    assert "photos.example is" not in message


def test_another_site_is_still_named_as_outside_the_scope(valid: Justification) -> None:
    rule, message = scoped_look(valid, "https://elsewhere.example/jay.doe")
    assert rule == RULE_HOST_SCOPE
    assert message.startswith("elsewhere.example is not among the sites and pages")


def test_the_listed_exact_page_itself_is_in_scope(valid: Justification) -> None:
    assert scoped_look(valid, "https://photos.example/jay.doe")[0] is None
