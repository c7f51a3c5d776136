"""The borough gazetteer: a place typed in words becomes a named point inside Wigan Borough,
or a 422 that says exactly what is accepted. The report pin (GET /api/v1/areas/places) and
Open311's address_string use the same resolver."""

from __future__ import annotations

import pytest

from backend.areas import gazetteer, service
from backend.errors import ValidationError
from tests.backend.venues.factories import make_venue


def names(text: str) -> list[tuple[str, str, str]]:
    return [(p.name, p.kind, p.ward_name) for p in gazetteer.resolve(text)]


def test_a_town_is_its_centre_first_then_the_ward_named_after_it(app):
    found = gazetteer.resolve("Hindley")
    assert [(p.name, p.kind) for p in found] == [("Hindley", "town"), ("Hindley ward", "ward")]
    # The town's point is among its own places (Market Street, Hindley), not a ward's middle.
    market = gazetteer.resolve("Market Street, Hindley")[0]
    assert abs(found[0].lat - market.lat) < 0.005 and abs(found[0].lon - market.lon) < 0.005
    assert found[0].ward_code == service.ward_code_for_point(found[0].lat, found[0].lon)


@pytest.mark.parametrize(
    ("typed", "name", "kind", "ward"),
    [
        ("wn1 1ba", "WN1 1BA", "postcode", "Wigan Central"),
        ("WN1 1", "WN1 1 (the middle of that postcode area)", "sector", "Wigan Central"),
        ("wn7", "WN7 (the middle of that postcode area)", "district", None),
        ("Wigan Road, Leigh", "Wigan Road, Leigh", "street", "Leigh West"),
        ("wigan rd, leigh", "Wigan Road, Leigh", "street", "Leigh West"),
        ("Hindley Library", "Hindley Library, First Avenue, Hindley", "safe_place", "Hindley"),
        ("Platt Bridge", "Platt Bridge", "town", "Abram"),
        ("Whelley", "Whelley", "town", "Aspull, New Springs & Whelley"),
        ("Aspull, New Springs & Whelley", None, "ward", "Aspull, New Springs & Whelley"),
        ("Wigan", "Wigan", "town", "Wigan Central"),
        ("Leigh town centre", "Leigh", "town", "Leigh Central & Higher Folds"),
        ("wigan centre", "Wigan", "town", "Wigan Central"),
    ],
)
def test_each_kind_of_place_resolves_to_a_named_point_in_its_ward(app, typed, name, kind, ward):
    best = gazetteer.resolve(typed)[0]
    assert best.kind == kind
    if name:
        assert best.name == name
    if ward:
        assert best.ward_name == ward
    assert service.ward_code_for_point(best.lat, best.lon) == best.ward_code


def test_a_street_in_several_towns_gives_each_and_its_town_narrows_it(app):
    everywhere = names("Wigan Road")
    assert len(everywhere) >= 4
    assert {n for n, _kind, _ward in everywhere} >= {"Wigan Road, Leigh", "Wigan Road, Bryn"}
    assert names("Wigan Road, Bryn") == [
        ("Wigan Road, Bryn", "street", "Bryn with Ashton-in-Makerfield North")
    ]


def test_a_postcode_in_an_address_line_wins(app):
    assert names("Wallgate, Wigan WN1 1BA") == [("WN1 1BA", "postcode", "Wigan Central")]


def test_a_verified_safe_place_gives_its_name_and_street_but_a_pending_one_does_not(app):
    with pytest.raises(ValidationError):
        gazetteer.resolve("Wallgate, Wigan")
    make_venue(name="[DEMO] The Wallgate Tap", address="Wallgate, Wigan", lat=53.54385,
               lon=-2.63420)  # fmt: skip
    make_venue(name="Unchecked Bar", address="Hidden Street, Wigan", status="pending")
    street = gazetteer.resolve("Wallgate, Wigan")
    assert [(p.name, p.kind, p.lat, p.lon) for p in street] == [
        ("Wallgate, Wigan", "street", 53.54385, -2.63420)
    ]
    assert street[0].ward_code == service.ward_code_for_point(53.54385, -2.63420)
    assert names("wallgate tap")[0][:2] == ("The Wallgate Tap, Wallgate, Wigan", "safe_place")
    for unreviewed in ("Hidden Street, Wigan", "Unchecked Bar"):
        with pytest.raises(ValidationError):
            gazetteer.resolve(unreviewed)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("Wigan Pier", "'Wigan Pier' is not a place we can find in Wigan Borough"),
        ("Market Street, Standish", "is not a place we can find"),  # no Market Street there
        ("Piccadilly, Manchester", "is not a place we can find"),
        ("M1 1AE", "unknown postcode M1 1AE"),
        ("ZZ9", "no Wigan Borough postcodes start ZZ9"),
    ],
)
def test_what_is_not_found_says_exactly_what_is_accepted(app, typed, says):
    with pytest.raises(ValidationError) as caught:
        gazetteer.resolve(typed, "q")
    message = caught.value.errors["q"][0]
    assert says in message
    if "not a place" in says:
        assert gazetteer.ACCEPTED in message


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("Hindly", "Did you mean Hindley?"),
        ("Tyldsley", "Tyldesley"),
        ("Platt Brige", "Platt Bridge"),
    ],
)
def test_a_near_miss_suggests_the_name_it_was_probably_meant_to_be(app, typed, suggested):
    with pytest.raises(ValidationError) as caught:
        gazetteer.resolve(typed, "q")
    message = caught.value.errors["q"][0]
    assert suggested in message and gazetteer.ACCEPTED in message


def test_a_street_it_does_not_hold_is_not_taken_for_a_town_that_starts_alike(app):
    with pytest.raises(ValidationError) as caught:
        gazetteer.resolve("Standishgate", "q")  # a street in Wigan, not Standish
    assert "Did you mean" not in caught.value.errors["q"][0]


def test_every_place_in_the_gazetteer_is_inside_the_borough_in_its_ward(app):
    entries = [e for found in gazetteer._gazetteer().by_key.values() for e in found]
    kinds = {e.place.kind for e in entries}
    assert kinds == {"sector", "district", "town", "ward", "safe_place", "street"}
    assert len(entries) > 250
    for entry in entries:
        assert service.ward_code_for_point(entry.place.lat, entry.place.lon) == (
            entry.place.ward_code
        ), entry.place


def test_the_api_answers_with_the_places_or_a_422_naming_q(client):
    body = client.get("/api/v1/areas/places?q=Hindley").get_json()
    assert body["query"] == "Hindley"
    assert body["places"][0] == {
        **body["places"][0],
        "name": "Hindley",
        "kind": "town",
        "kind_words": "town or village",
        "ward_name": "Hindley",
        "postcode": None,
    }
    missing = client.get("/api/v1/areas/places?q=Wigan%20Pier")
    assert missing.status_code == 422
    assert gazetteer.ACCEPTED in missing.get_json()["errors"]["q"][0]
    assert client.get("/api/v1/areas/places").status_code == 422
    assert client.get("/api/v1/areas/places?q=" + "x" * 121).status_code == 422
