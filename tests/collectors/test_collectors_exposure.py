"""Exposure indicators, tested both ways: what must be found and what must not be."""

from __future__ import annotations

import pytest

from collectors import GpsPoint, exposure_indicators


def kinds_and_values(text: str, subject_name: str | None = None) -> set[tuple[str, str]]:
    return {(i.kind, i.value) for i in exposure_indicators(text, subject_name=subject_name)}


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Call me on 07700 900123 after school", "phone", "07700 900123"),
        ("mobile: +44 7700 900123", "phone", "+44 7700 900123"),
        ("ring me on +44 (0)20 7946 0958 now", "phone", "+44 (0)20 7946 0958"),
        ("our home number (01632) 960001", "phone", "(01632) 960001"),
        ("our landline 020-7946-0958", "phone", "020-7946-0958"),
        ("email me: jay.smith99@example.co.uk for gigs", "email", "jay.smith99@example.co.uk"),
        ("jay.smith99@gmail.com", "email", "jay.smith99@gmail.com"),
        ("my address is 4 Park Road, LS1 4AP", "postcode", "LS1 4AP"),
        ("my son lives at SW1A 1AA", "postcode", "SW1A 1AA"),
        ("our postcode M11AE.", "postcode", "M11AE"),
        ("I go to Oakfield Primary School!", "school", "Oakfield Primary School"),
        (
            "my son is Year 9 at St Mary's Catholic High School",
            "school",
            "St Mary's Catholic High School",
        ),
        ("our girls are at Northfield Academy this term", "school", "Northfield Academy"),
        ("I went to The Grange School", "school", "Grange School"),
        ("born on 3 March 2012", "date_of_birth", "3 March 2012"),
        ("DOB: 03/03/2012", "date_of_birth", "03/03/2012"),
        ("D.O.B 2012-03-03", "date_of_birth", "2012-03-03"),
        ("my birthday is 5th May", "date_of_birth", "5th May"),
        ("Date of birth - March 3rd, 2012", "date_of_birth", "March 3rd, 2012"),
        ("we live in Leeds now", "town", "Leeds"),
        ("My daughter lives in Newcastle upon Tyne", "town", "Newcastle upon Tyne"),
        ("Jay Smith · Lives in Leeds", "town", "Leeds"),
        ("Jay moved to Stoke-on-Trent last year", "town", "Stoke-on-Trent"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in kinds_and_values(text, subject_name="Jay Smith")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("order number 1234567890123", "phone"),
        ("dates 12/05/2012 and 13/05/2012", "phone"),
        ("call 999 in an emergency", "phone"),
        ("tel 0800 123 4567 free", "phone"),  # a freephone line is not a personal number
        ("+1 415 555 0100 in the US", "phone"),
        ("ask @jaysmith on the app", "email"),
        ("jay at example dot com", "email"),
        ("the ABC 123 show", "postcode"),
        ("lowercase ls1 4ap is not claimed", "postcode"),
        ("I love school and high school was fun", "school"),
        ("The School is closed", "school"),
        ("born in 2012", "date_of_birth"),
        ("born to be wild", "date_of_birth"),
        ("my birthday party was great", "date_of_birth"),
        ("posted on 3 March 2012", "date_of_birth"),
        ("a message from Sarah", "town"),
        ("she lives in hope", "town"),
        # issue 13: no person on the page, or not a postcode at all
        ("color: #AB1 2CD;", "postcode"),
        ("LSE: AB12 3CD up 2%", "postcode"),
        ("SKU AB1-2CD and model CR2 4DF", "postcode"),
        ("Civic Hall, Calverley Street, Leeds LS1 1UR", "postcode"),
        ("Delivery to postcodes LS1 4AP.\nReviews: my son loves it", "postcode"),
        ("Home News Schools Oakfield Academy Sport", "school"),
        ("Pupils at Oakfield Primary School raised £500", "school"),
        ("The firm, based in Leeds, said", "town"),
        ("The singer was born on 3 March 1961", "date_of_birth"),
        ("call the admissions team on 0113 222 4444", "phone"),
        ("email enquiries@leeds.gov.uk", "email"),
    ],
)
def test_not_found(text: str, kind: str) -> None:
    assert kind not in {k for k, _ in kinds_and_values(text, subject_name="Jay Smith")}


def test_full_name_only_when_given_and_present() -> None:
    text = "Congratulations to jay   SMITH for the swimming gala!"
    assert ("full_name", "jay SMITH") in kinds_and_values(text, subject_name="Jay Smith")
    assert "full_name" not in {k for k, _ in kinds_and_values(text)}
    assert "full_name" not in {
        k for k, _ in kinds_and_values("Jay Smithson won", subject_name="Jay Smith")
    }
    assert "full_name" not in {k for k, _ in kinds_and_values("Jay won", subject_name="Jay Smith")}


def test_name_in_page_metadata_counts() -> None:
    found = exposure_indicators(
        "A photo", html_meta={"og:title": "Jay Smith at the fair"}, subject_name="Jay Smith"
    )
    assert [(i.kind, i.value) for i in found] == [("full_name", "Jay Smith")]
    assert "at the fair" in found[0].context


def test_geotags_from_images_and_metadata() -> None:
    point = GpsPoint(51.5074, -0.1277667, source="photo.jpg")
    found = exposure_indicators(
        "my son Jay", html_meta={"geo.position": "51.5;-0.12"}, images_gps=[point]
    )
    assert {(i.kind, i.value) for i in found} == {
        ("geotag", "51.5;-0.12"),
        ("geotag", "51.507400, -0.127767"),
    }
    assert any("photo.jpg" in i.context for i in found)


def test_town_from_location_metadata() -> None:
    found = exposure_indicators("my son Jay", html_meta={"geo.placename": "Wakefield"})
    assert [(i.kind, i.value) for i in found] == [("town", "Wakefield")]
    # a news site's own location is not a child's: metadata counts on a page about a person
    assert exposure_indicators("Council news", html_meta={"geo.placename": "Wakefield"}) == ()


def test_context_is_a_short_snippet() -> None:
    text = "x" * 200 + " email jay@gmail.com please " + "y" * 200
    (indicator,) = exposure_indicators(text)
    assert indicator.kind == "email"
    assert "jay@gmail.com" in indicator.context
    assert len(indicator.context) < 140
    assert indicator.context.startswith("…") and indicator.context.endswith("…")


def test_duplicates_are_reported_once() -> None:
    found = exposure_indicators("jay@gmail.com and again JAY@gmail.com")
    assert len(found) == 1


def test_clean_text_has_no_indicators() -> None:
    text = "We had a lovely day at the park. The weather was great and everyone enjoyed it."
    assert exposure_indicators(text) == ()
