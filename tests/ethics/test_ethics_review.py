"""The gate against DOMAIN.md, rule by rule: the cases a review found the gate got wrong,
and the neighbouring cases it must keep getting right."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from ethics_support import NOW, VALID_TOML
from hypothesis import given
from hypothesis import strategies as st

from ethics import (
    CAPTURE,
    RULE_HOST_SCOPE,
    RULE_METER_STOP,
    RULE_OTHER_PERSON,
    SUPPLIED,
    CorroboratorFacts,
    Justification,
    KnownSubject,
    Look,
    LookFacts,
    ObservationFacts,
    RequestFacts,
    SourceFacts,
    Viewing,
    assess_reliance,
    blocking,
    decide_look,
    default_policy,
    evaluate,
    group_people,
    load_justification_toml,
    normalise_host,
    page_key,
    page_prefixes,
    parse_web_url,
    read_meter,
    template_toml,
    url_in_scope,
)
from ethics.answers import ANSWERS

# Subject 7 is Jay (photos.example/jay.doe); subject 8, in another case, is Alex.
PEOPLE = group_people(
    [
        KnownSubject(7, 1, ("https://photos.example/jay.doe",)),
        KnownSubject(8, 2, ("https://photos.example/alex.roe",)),
    ]
)


def codes(j: Justification) -> list[str]:
    return [f.code for f in evaluate(j, [], default_policy(), now=NOW)]


def look_at(url: str, request: Justification) -> str | None:
    facts = LookFacts(
        request=RequestFacts(id=1, status="approved", author="worker-a"), people=PEOPLE
    )
    look = Look(CAPTURE, 7, url, "worker-a", NOW, attested=True)
    return decide_look(request, facts, look, default_policy()).rule


# --- whose page an address is: the page the server is asked for ------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://photos.example/jay.doe/../alex.roe",
        "https://photos.example/jay.doe/%2e%2e/alex.roe",
        "https://photos.example/jay.doe/.%2E/alex.roe",
        "https://photos.example/jay.doe/./../alex.roe/photos",
        "https://photos.example/jay.doe\\..\\alex.roe",
        "https://photos.example/%61lex.roe",
        "https://photos.example//alex.roe",
    ],
)
def test_a_path_that_resolves_to_another_persons_page_is_refused(
    valid: Justification, url: str
) -> None:
    # Scope names the whole site; the page fetched is Alex's, whom the request does not name.
    request = dataclasses.replace(valid, scope_urls=())
    assert look_at(url, request) == RULE_OTHER_PERSON


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://photos.example/jay.doe/../alex.roe", "photos.example/alex.roe"),
        ("https://photos.example/a/./b/", "photos.example/a/b"),
        ("https://photos.example/..", "photos.example"),
        ("https://photos.example/k%C3%A9rry", "photos.example/kérry"),
        ("https://photos.example/a%2Fb", "photos.example/a%2fb"),
        ("https://photos.example/a?next=../b", "photos.example/a?next=..%2fb"),
        ("https://photos.example/a?utm_source=x&ref=share", "photos.example/a"),
    ],
)
def test_page_keys_name_the_page_fetched(url: str, key: str) -> None:
    assert page_key(url) == key


# Facebook names a profile without a vanity address by a query: profile.php?id=N.
FACEBOOK = group_people(
    [
        KnownSubject(1, 1, ("https://www.facebook.com/profile.php?id=111",)),
        KnownSubject(2, 2, ("https://www.facebook.com/profile.php?id=222",)),
    ]
)


def test_two_profiles_known_by_a_query_are_two_people() -> None:
    assert FACEBOOK.person(1) != FACEBOOK.person(2)


@pytest.mark.parametrize(
    ("url", "owners"),
    [
        ("https://m.facebook.com/profile.php?id=111&sk=photos", {1}),
        ("https://www.facebook.com/profile.php?sk=about&id=222", {2}),
        ("https://facebook.com/profile.php?id=333", set()),
        ("https://facebook.com/profile.php", set()),
    ],
)
def test_a_page_known_by_a_query_belongs_to_its_own_profile(url: str, owners: set[int]) -> None:
    assert FACEBOOK.owners(url) == frozenset(owners)
    key = page_key(url)
    assert key is not None
    assert FACEBOOK.owners_by_prefixes(page_prefixes(key)) == frozenset(owners)


_PATHS = st.lists(st.sampled_from(["a", "b", "..", ".", "", "%61", "profile.php"]), max_size=4)
_QUERIES = st.lists(st.sampled_from(["id=1", "id=2", "sk=x", "ref=y", "n=3"]), max_size=3)


@given(profile_path=_PATHS, profile_query=_QUERIES, path=_PATHS, query=_QUERIES)
def test_whose_page_it_is_reads_the_same_by_prefix_keys(
    profile_path: list[str], profile_query: list[str], path: list[str], query: list[str]
) -> None:
    # A team server finds owners by hashing page_prefixes: it must agree with owners().
    def address(parts: list[str], params: list[str]) -> str:
        return "https://social.example/" + "/".join(parts) + "?" + "&".join(params)

    people = group_people([KnownSubject(1, 1, (address(profile_path, profile_query),))])
    key = page_key(address(path, query))
    assert key is not None
    assert people.owners(address(path, query)) == people.owners_by_prefixes(page_prefixes(key))


def test_a_resolved_look_counts_on_the_meter_of_the_person_whose_page_it_was() -> None:
    looks = [
        Viewing(7, NOW - timedelta(days=d), "w", PEOPLE.counted_for(7, url))
        for d, url in enumerate(
            (
                "https://photos.example/jay.doe/../alex.roe",
                "https://photos.example/jay.doe/%2e%2e/alex.roe",
                "https://photos.example/%61lex.roe",
            ),
            start=1,
        )
    ]
    assert read_meter(looks, PEOPLE.person(8), NOW, default_policy(), False).state == "stop"


@pytest.mark.parametrize(
    ("url", "scope", "inside"),
    [
        ("https://photos.example/jay.doe/x/..", "https://photos.example/jay.doe/", True),
        ("https://photos.example/x/../jay.doe", "https://photos.example/jay.doe", True),
        ("https://photos.example/jay.doe/../x", "https://photos.example/jay.doe", False),
        ("https://photos.example/%6Aay.doe", "https://photos.example/jay.doe", True),
    ],
)
def test_exact_pages_compare_the_resolved_path(url: str, scope: str, inside: bool) -> None:
    assert url_in_scope(parse_web_url(url), (), (scope,)) is inside


def test_colleague_material_without_an_address_counts_for_its_subject(valid: Justification) -> None:
    history = tuple(Viewing(7, NOW - timedelta(days=d), "w") for d in (1, 2, 3))
    facts = LookFacts(
        request=RequestFacts(id=1, status="approved", author="worker-a"),
        people=PEOPLE,
        history=history,
    )
    look = Look(SUPPLIED, 7, "", "worker-a", NOW, by_colleague=True)
    decision = decide_look(valid, facts, look, default_policy())
    assert decision.rule == RULE_METER_STOP
    assert decision.persons == frozenset({PEOPLE.person(7)})


# --- a scope host must be one site, not a domain ending ---------------------------------


@pytest.mark.parametrize("host", ["com", "uk", "CO.UK", "org.uk.", "com.au", "localhost"])
def test_a_domain_ending_is_not_a_scope_host(host: str) -> None:
    with pytest.raises(ValueError, match="domain ending"):
        normalise_host(host)


@pytest.mark.parametrize("host", ["bbc.co.uk", "x.com", "t.co", "social.example", "127.0.0.1"])
def test_sites_under_domain_endings_are_scope_hosts(host: str) -> None:
    assert normalise_host(host)


def test_a_domain_ending_in_scope_blocks_submission_and_covers_nothing(
    valid: Justification,
) -> None:
    request = dataclasses.replace(valid, scope_hosts=("co.uk",), scope_urls=())
    found = blocking(evaluate(request, [], default_policy(), now=NOW))
    assert "scope_hosts.invalid" in [f.code for f in found]
    assert look_at("https://anyone.co.uk/page", request) == RULE_HOST_SCOPE


# --- a plan to deceive breaks the promises beside it -------------------------------------


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        (
            "Send her a friend request from a work profile and keep posts that show him.",
            "attest_no_interaction.not_attested",
        ),
        (
            "Log in to the site and read the last week of posts that show the man.",
            "attest_logged_out.not_attested",
        ),
        (
            "Use a fake profile to see the last week of posts that show the man.",
            "attest_no_personal_or_fake_profile.not_attested",
        ),
        (
            "Use my own account to see the last week of posts that show the man.",
            "attest_no_personal_or_fake_profile.not_attested",
        ),
        (
            "Join the closed group she runs and keep only posts that show the man.",
            "attest_no_restricted_content.not_attested",
        ),
        (
            "Look once at her friends-only photos and keep those that show the man.",
            "attest_no_restricted_content.not_attested",
        ),
    ],
)
def test_a_plan_using_forbidden_means_blocks_submission(
    valid: Justification, plan: str, code: str
) -> None:
    request = dataclasses.replace(valid, proportionality=plan)
    findings = evaluate(request, [], default_policy(), now=NOW)
    found = [f for f in blocking(findings) if f.code == code]
    assert found and found[0].field == "proportionality"
    assert "Change the plan" in found[0].message


@pytest.mark.parametrize(
    "plan",
    [
        "One look at his public page; I will not log in or send a friend request.",
        "Posts in closed groups will not be viewed; one look at his public posts only.",
        "If his account is a private account, stop; otherwise one look at public posts.",
        "One look without logging in, keeping only posts from the last week that show a place.",
        "I won't use a fake profile: one look at his public posts from the last week.",
    ],
)
def test_a_plan_that_rules_forbidden_means_out_passes(valid: Justification, plan: str) -> None:
    assert codes(dataclasses.replace(valid, proportionality=plan)) == []


def test_discussing_forbidden_means_elsewhere_is_not_a_plan(valid: Justification) -> None:
    ethics_case = (
        "He may feel watched; a fake profile or a friend request would break trust for good, "
        "so only what anyone can see logged out will be looked at."
    )
    assert codes(dataclasses.replace(valid, ethics_case=ethics_case)) == []


# --- an answer must not be the form's own prompt pasted back --------------------------


@pytest.mark.parametrize(
    "key", ["ethics_case", "balance", "collateral_intrusion", "why_not_enough"]
)
def test_the_forms_prompt_pasted_back_is_a_stock_answer(valid: Justification, key: str) -> None:
    pasted = ANSWERS[key].asks[0].upper() + ANSWERS[key].asks[1:] + "."
    found = codes(dataclasses.replace(valid, **{key: pasted}))
    assert f"{key}.boilerplate" in found


@pytest.mark.parametrize(
    ("key", "padded"),
    [
        ("safety_case", "Safeguarding concerns. " * 7),
        (
            "ethics_case",
            "There are child protection concerns and a risk, see case notes, see above.",
        ),
        (
            "balance",
            "Risk assessment, risk assessment, risk assessment, risk assessment, see above.",
        ),
    ],
)
def test_stock_phrases_repeated_past_the_word_minimum_are_a_stock_answer(
    valid: Justification, key: str, padded: str
) -> None:
    assert f"{key}.boilerplate" in codes(dataclasses.replace(valid, **{key: padded}))


def test_an_answer_in_the_forms_words_about_the_case_passes(valid: Justification) -> None:
    answer = (
        "Friends and other children are likely to be seen in his photos; they will be kept "
        "out of the record by cropping every capture to Jay alone."
    )
    assert codes(dataclasses.replace(valid, collateral_intrusion=answer)) == []


# --- corroboration: a second copy of the same post confirms nothing -------------------------


@pytest.mark.parametrize(
    "copy",
    [
        "https://m.social.example/kerry/posts/1",
        "https://mobile.social.example/kerry/posts/1/",
        "https://social.example/kerry/photos/../posts/1",
        "https://social.example/kerry/posts/%31",
    ],
)
def test_the_same_post_from_a_mirror_or_another_spelling_does_not_corroborate(
    copy: str,
) -> None:
    mine = SourceFacts(1, "a" * 64, ("https://social.example/kerry/posts/1",))
    theirs = SourceFacts(2, "b" * 64, (copy,))
    answer = assess_reliance(
        ObservationFacts(mine, "B", 3),
        [CorroboratorFacts(9, theirs, "B", 2)],
        None,
        default_policy(),
    )
    assert not answer.relied
    assert "same page captured again" in " ".join(answer.reasons)


def test_a_different_post_on_a_mirror_still_corroborates() -> None:
    mine = SourceFacts(1, "a" * 64, ("https://social.example/kerry/posts/1",))
    theirs = SourceFacts(2, "b" * 64, ("https://m.social.example/kerry/posts/2",))
    answer = assess_reliance(
        ObservationFacts(mine, "B", 3),
        [CorroboratorFacts(9, theirs, "B", 2)],
        None,
        default_policy(),
    )
    assert answer.relied


# --- wording: an authorisation lifts a limit only once confirmed ------------------------------


def test_the_high_intrusion_limit_names_a_confirmed_authorisation(valid: Justification) -> None:
    request = dataclasses.replace(valid, intrusion_level="high", planned_viewings=2)
    (found,) = [
        f
        for f in evaluate(request, [], default_policy(), now=NOW)
        if f.code == "intrusion_level.high_repeat"
    ]
    assert "confirmed by a second" in found.message
    assert "recorded a surveillance authorisation reference" not in found.message


# --- dates in requests are UK dates -------------------------------------------------------


def test_the_template_calls_valid_until_a_uk_date() -> None:
    text = template_toml()
    comment = text[: text.index("\nvalid_until")]
    assert "(UTC)" not in comment
    assert "UK date" in comment


def test_the_valid_example_still_passes() -> None:
    assert codes(load_justification_toml(VALID_TOML)) == []
