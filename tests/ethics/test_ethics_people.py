"""People, not labels: grouping subjects into persons and matching pages to them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ethics import KnownSubject, group_people, handle_key, page_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("https://social.example/alex.lee", "social.example/alex.lee"),
        ("http://www.social.example/Alex.Lee/", "social.example/alex.lee"),
        ("social.example/alex.lee", "social.example/alex.lee"),
        ("https://m.social.example/alex.lee?ref=share#top", "social.example/alex.lee"),
        ("@Alex_Lee", "@alex_lee"),
        ("07700 900123", None),
        ("", None),
        ("alex lee", None),
        ("ftp://social.example/alex", None),
    ],
)
def test_handle_keys(raw: str, key: str | None) -> None:
    assert handle_key(raw) == key


def test_subjects_sharing_a_profile_in_two_cases_are_one_person() -> None:
    people = group_people(
        [
            KnownSubject(3, 1, ("https://social.example/alex.lee",)),
            KnownSubject(11, 2, ("www.social.example/alex.lee/",)),
            KnownSubject(12, 2, ("https://social.example/sam",)),
        ]
    )
    assert people.person(11) == people.person(3) == 3
    assert people.subjects_of(3) == frozenset({3, 11})
    assert people.person(12) == 12


def test_a_shared_bare_handle_links_but_owns_no_page() -> None:
    people = group_people([KnownSubject(1, 1, ("@alexlee",)), KnownSubject(2, 1, ("@AlexLee",))])
    assert people.person(2) == 1
    assert people.owners("https://social.example/alexlee") == frozenset()


def test_a_managers_link_joins_people_transitively() -> None:
    subjects = [KnownSubject(i, 1, ()) for i in (1, 2, 3, 4)]
    people = group_people(subjects, [(1, 3), (3, 4)])
    assert people.subjects_of(1) == frozenset({1, 3, 4})
    assert people.person(2) == 2


@pytest.mark.parametrize(
    ("url", "owners"),
    [
        ("https://social.example/alex.lee", {1}),
        ("http://www.social.example/alex.lee/photos/2", {1}),
        ("https://social.example/alex.lee#about", {1}),
        ("https://social.example/alex.leex", set()),
        ("https://social.example/", set()),
        ("https://other.example/alex.lee", set()),
        ("https://social.example/sam/posts/1", {2}),
        ("not a url", set()),
    ],
)
def test_whose_page_an_address_is(url: str, owners: set[int]) -> None:
    people = group_people(
        [
            KnownSubject(1, 1, ("https://social.example/alex.lee",)),
            KnownSubject(2, 1, ("https://social.example/sam",)),
            # A whole site is nobody's profile.
            KnownSubject(3, 1, ("https://social.example/",)),
        ]
    )
    assert people.owners(url) == frozenset(owners)


def test_a_look_counts_for_the_chosen_subject_and_every_page_owner() -> None:
    people = group_people(
        [KnownSubject(1, 1, ("https://social.example/alex",)), KnownSubject(2, 1, ())]
    )
    assert people.counted_for(2, "https://social.example/alex/photos") == frozenset({1, 2})
    assert people.counted_for(None, "https://social.example/alex") == frozenset({1})


@given(st.text(max_size=60))
def test_handle_key_is_total(raw: str) -> None:
    key = handle_key(raw)
    assert key is None or isinstance(key, str)


@given(st.text(max_size=60))
def test_page_key_is_total(raw: str) -> None:
    assert page_key(raw) is None or "/" in (page_key(raw) or "/")
