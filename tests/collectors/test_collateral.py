"""Collateral-intrusion indicators: other people on a page, especially children.

Tested both ways, on sentences and on whole realistic pages: pages that show another
child's details or many people raise findings, ordinary news, council and shop pages
raise none. The check reads a bounded amount of text with bounded patterns, so a crafted
page cannot make it run long.
"""

from __future__ import annotations

import pytest

from collectors import COLLATERAL_KINDS, collateral_indicators, is_collateral
from collectors.collateral import GIVEN_NAMES, MAX_CUES, MAX_PER_KIND, MAX_TEXT

CHILD = "collateral_child"
MANY = "collateral_many_people"
SUBJECTS = ("Kerry Smith", "Jay Smith")


def found(text: str, kind: str, subjects: tuple[str, ...] = SUBJECTS) -> list[str]:
    return [i.value for i in collateral_indicators(text, subject_names=subjects) if i.kind == kind]


# --- another child's details -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            "So proud! My son Jack, 9, goes to Oakfield Primary with his best mate.",
            "Jack (age 9; Oakfield Primary)",
        ),
        ("Lily Evans (7) from Leeds won the colouring prize.", "Lily Evans (age 7; town Leeds)"),
        ("Happy 10th birthday to our gorgeous Mia!", "Mia (age 10)"),
        ("Tom's 8th birthday party was brilliant.", "Tom (age 8)"),
        (
            "Noah is in Year 6 at St Mary's Catholic Primary School.",
            "Noah (Year 6; St Mary's Catholic Primary School)",
        ),
        (
            "a 12-year-old Harry Patel, who lives in Wakefield, scored",
            "Harry Patel (age 12; town Wakefield)",
        ),
        ("Her daughter Poppy was born on 3 March 2015.", "Poppy (born 3 March 2015)"),
        (
            "Sophie Khan goes to Northfield Academy and loves netball.",
            "Sophie Khan (Northfield Academy)",
        ),
        (
            "Our little girl Zainab, aged 4, starts at Hillside Infant School.",
            "Zainab (age 4; Hillside Infant School)",
        ),
        (
            "Charlie turns 11 today. He goes to Grange High School.",
            "Charlie (age 11; Grange High School)",
        ),
    ],
    ids=[
        "son-age-school",
        "age-in-brackets-town",
        "birthday",
        "possessive-birthday",
        "school-year",
        "n-year-old",
        "kin-dob",
        "attends",
        "kin-any-name",
        "next-sentence",
    ],
)
def test_another_childs_details_are_found(text: str, value: str) -> None:
    assert found(text, CHILD) == [value]


@pytest.mark.parametrize(
    "text",
    [
        "John Smith, 45, of Leeds was fined £200 at the magistrates' court.",  # an adult
        "Sarah Jones said Oakfield Primary School would reopen on Monday.",  # a head teacher
        "Headteacher Paul Brown went to Eton College.",  # an adult's past
        "My son Jack is a star.",  # a child's name alone is not their details
        "Comments (12) Basket (2) Reviews (4)",  # counts are not ages
        "In March, 12 pupils from Leeds took part.",  # no name
        "Year 7 pupils at Oakfield Primary School raised £300.",  # no name
        "My son Jay, 9, goes to Oakfield Primary.",  # a subject of the case
        "Jay Smith is 9 and goes to Oakfield Primary School.",  # ditto, in full
        "Chapter 9, page 12: the Victorian school.",
        "Harry, 12 of us went to Leeds.",  # "12 of us" is not an age
    ],
)
def test_adults_counts_and_subjects_are_not_another_child(text: str) -> None:
    assert found(text, CHILD) == []


def test_each_finding_keeps_the_words_around_it() -> None:
    text = "Lovely day out. Proud mum moment, my son Jack, 9, goes to Oakfield Primary. The end"
    [indicator] = collateral_indicators(text, subject_names=SUBJECTS)
    assert "my son Jack, 9, goes to Oakfield Primary" in indicator.context
    assert "Lovely day" not in indicator.context  # its own sentence only
    assert len(indicator.context) <= 240


# --- pages of many people ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Kerry Smith\nFriends (243)\nPhotos", "a list of friends (243)"),
        ("Followers · 1.2K\nJack Jones\nTom Brown\nLily Evans", "a list of followers (1.2K)"),
        ("41 mutual friends", "a list of friends (41)"),
        ("Great team photo after the final whistle!", "a team photo"),
        ("Class of 2019 reunion", "a class of 2019"),
    ],
)
def test_lists_of_friends_and_group_photos_are_found(text: str, value: str) -> None:
    assert value in found(text, MANY)


@pytest.mark.parametrize(
    "text",
    [
        "Out with 3 friends on Saturday.",
        "Follow us on Facebook and Twitter",
        "Public profile · 212 followers",  # a count shows no one
        "School photo day is Thursday.",
        "Keir Starmer met Rachel Reeves and the Chancellor at Downing Street.",
    ],
)
def test_ordinary_mentions_of_people_are_not_many_people(text: str) -> None:
    assert found(text, MANY) == []


def test_a_list_of_names_is_many_people() -> None:
    lines = ["Jack Jones", "Tom Brown", "Harry Patel", "Lily Evans", "Sophie Khan", "Noah Green"]
    assert found("\n".join(lines), MANY) == ["6 people named in a list"]
    assert found("\n".join(lines[:5]), MANY) == []  # five is not many


def test_the_subjects_do_not_count_towards_many_people() -> None:
    lines = ["Kerry Smith", "Jay Smith", "Tom Brown", "Harry Patel", "Lily Evans", "Noah Green"]
    assert found("\n".join(lines), MANY) == []


def test_an_image_description_naming_several_people_is_many_people() -> None:
    indicators = collateral_indicators(
        "A day out.",
        html_meta={"og:image:alt": "Jack, Tom, Lily and Mia at the park"},
        subject_names=SUBJECTS,
    )
    assert [(i.kind, i.value) for i in indicators] == [(MANY, "an image of 4 named people")]


def test_left_to_right_with_names_is_a_group_photo() -> None:
    text = "Pictured (left to right): Oliver Hughes, George Ward and Leo Turner."
    assert found(text, MANY) == ["a photo of 3 named people"]


# --- whole pages -----------------------------------------------------------------------

NEWS = """Home
News
Sport
Weather
UK Politics
Council tax to rise by 4.99% as budget agreed
By Sarah Jones, Local Democracy Reporter
Published 24 November 2026
Councillors voted 34 to 20 on Tuesday night to approve the budget for 2027.
Council leader John Smith, 58, said the rise was "unavoidable" given pressures on adult
social care and children's services. Opposition leader Rachel Green said residents in
Wakefield and Pontefract would "pay more for less".
The authority said 1,200 pupils at 14 schools, including Oakfield Primary School, would
benefit from new breakfast clubs from Year 1 to Year 6.
Most read
Man, 45, charged after Leeds crash
Share this article
Follow us on Facebook
Related topics
Keir Starmer
Rachel Reeves
"""

COUNCIL = """Skip to main content
Home
Bins and recycling
Council Tax
Schools and Childcare
Apply for a school place
Primary school places for September 2027 open on 1 September. Children born between
1 September 2022 and 31 August 2023 start in Reception in September 2027.
Find your catchment school. Oakfield Primary School, Northfield Academy and Grange High
School have sixth form open evenings in October.
Contact us
Phone 0345 850 6506
Privacy notice
Cookies
Accessibility statement
"""

SHOP = """Free delivery over £50
Basket (2)
Mens
Womens
Kids
School Uniform
Boys Grey Trousers (Age 9-10)
£8.00
Girls Pinafore Dress, Age 7
4.5 out of 5 stars, Reviews (128)
Customers also bought
Gift Cards
Jack Wills Hoodie
Sizes: 7-8 years, 9-10 years, 11-12 years
Follow us: 12K followers
"""

PARENT_POST = """Kerry Smith
2 hrs ·
So proud of my boy today! Sports day at Oakfield Primary and he came second to my \
friend's daughter Ellie Barnes, 8, who is in Year 3 with him. Well done Ellie!
Like · Comment · Share
"""

TEAM_PAGE = """Northfield Juniors FC
Under 11s squad 2026/27
Manager: Dave Wood
Oliver Hughes
George Ward
Leo Turner
Alfie Bell
Charlie Cox
Oscar Reid
Freddie Hall
Team photo: after our cup win on Sunday!
"""

FRIENDS_PAGE = """Kerry Smith
About
Friends (312)
Photos
Tracey Hill
Mark Bennett
Donna Price
Gary Lowe
Claire Shaw
Dean Walsh
See all friends
"""


@pytest.mark.parametrize("page", [NEWS, COUNCIL, SHOP], ids=["news", "council", "shop"])
def test_unrelated_pages_raise_nothing(page: str) -> None:
    assert collateral_indicators(page, subject_names=SUBJECTS) == ()


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (PARENT_POST, {(CHILD, "Ellie Barnes (age 8; Year 3; Oakfield Primary)")}),
        (
            TEAM_PAGE,
            {
                (MANY, "7 people named in a list, a children's group (Juniors)"),
                (MANY, "a team photo"),
            },
        ),
        (FRIENDS_PAGE, {(MANY, "a list of friends (312)"), (MANY, "6 people named in a list")}),
    ],
    ids=["parent-post", "team-page", "friends-page"],
)
def test_pages_of_other_people_raise_findings(page: str, expected: set[tuple[str, str]]) -> None:
    assert {(i.kind, i.value) for i in collateral_indicators(page, subject_names=SUBJECTS)} == (
        expected
    )


# --- bounded work ------------------------------------------------------------------------


def test_only_the_first_max_text_characters_are_read() -> None:
    late = "x" * MAX_TEXT + " My son Jack, 9, goes to Oakfield Primary."
    assert collateral_indicators(late) == ()
    early = "My son Jack, 9, goes to Oakfield Primary. " + "x" * MAX_TEXT
    assert len(collateral_indicators(early)) == 1


@pytest.mark.parametrize(
    "unit",
    [
        "Jack, 9, ",  # a near-match on every few characters
        "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa Bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, ",
        "my son my son my son ",
        "Oakfield Oakfield Oakfield Oakfield ",
        "Friends (1) ",
        "Jack Jones\n",
        "happy 9th birthday to our ",
        "St. St. St. ",
    ],
)
def test_a_crafted_page_is_read_within_bounds(unit: str) -> None:
    page = (unit * (200_000 // len(unit) + 1))[:200_000]
    indicators = collateral_indicators(page)
    assert len(indicators) <= 2 * MAX_PER_KIND
    assert all(len(i.context) <= 240 for i in indicators)


def test_distinct_children_stop_at_the_cap() -> None:
    names = sorted(GIVEN_NAMES)
    text = " ".join(f"{n.title()}, 9, goes to Oakfield Primary." for n in names)
    children = found(text, CHILD, ())
    assert len(children) == MAX_PER_KIND < len(names) and MAX_CUES >= MAX_PER_KIND


def test_the_kinds_have_plain_words() -> None:
    assert set(COLLATERAL_KINDS) == {CHILD, MANY}
    assert is_collateral(CHILD) and not is_collateral("school")
