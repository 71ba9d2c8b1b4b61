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
        ("ring +44 (0)20 7946 0958 now", "phone", "+44 (0)20 7946 0958"),
        ("home (01632) 960001", "phone", "(01632) 960001"),
        ("landline 020-7946-0958", "phone", "020-7946-0958"),
        ("email jay.smith99@example.co.uk for gigs", "email", "jay.smith99@example.co.uk"),
        ("we are at LS1 4AP now", "postcode", "LS1 4AP"),
        ("SW1A 1AA", "postcode", "SW1A 1AA"),
        ("postcode M11AE.", "postcode", "M11AE"),
        ("I go to Oakfield Primary School!", "school", "Oakfield Primary School"),
        ("Year 9 at St Mary's Catholic High School", "school", "St Mary's Catholic High School"),
        ("at Northfield Academy this term", "school", "Northfield Academy"),
        ("went to The Grange School", "school", "Grange School"),
        ("born on 3 March 2012", "date_of_birth", "3 March 2012"),
        ("DOB: 03/03/2012", "date_of_birth", "03/03/2012"),
        ("D.O.B 2012-03-03", "date_of_birth", "2012-03-03"),
        ("my birthday is 5th May", "date_of_birth", "5th May"),
        ("Date of birth - March 3rd, 2012", "date_of_birth", "March 3rd, 2012"),
        ("we live in Leeds now", "town", "Leeds"),
        ("She lives in Newcastle upon Tyne", "town", "Newcastle upon Tyne"),
        ("moved to Stoke-on-Trent last year", "town", "Stoke-on-Trent"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in kinds_and_values(text)


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
    ],
)
def test_not_found(text: str, kind: str) -> None:
    assert kind not in {k for k, _ in kinds_and_values(text)}


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
        "nothing here", html_meta={"geo.position": "51.5;-0.12"}, images_gps=[point]
    )
    assert {(i.kind, i.value) for i in found} == {
        ("geotag", "51.5;-0.12"),
        ("geotag", "51.507400, -0.127767"),
    }
    assert any("photo.jpg" in i.context for i in found)


def test_town_from_location_metadata() -> None:
    found = exposure_indicators("hi", html_meta={"geo.placename": "Wakefield"})
    assert [(i.kind, i.value) for i in found] == [("town", "Wakefield")]


def test_context_is_a_short_snippet() -> None:
    text = "x" * 200 + " email jay@example.com please " + "y" * 200
    (indicator,) = exposure_indicators(text)
    assert indicator.kind == "email"
    assert "jay@example.com" in indicator.context
    assert len(indicator.context) < 140
    assert indicator.context.startswith("…") and indicator.context.endswith("…")


def test_duplicates_are_reported_once() -> None:
    found = exposure_indicators("jay@example.com and again JAY@example.com")
    assert len(found) == 1


def test_clean_text_has_no_indicators() -> None:
    text = "We had a lovely day at the park. The weather was great and everyone enjoyed it."
    assert exposure_indicators(text) == ()
