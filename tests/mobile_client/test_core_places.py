"""Safe places from the app core against the live server (the venues API)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mobile_client.core.location import DEMO_ROUTE

# 02:00 on a Saturday in Wigan: the moment the demo set exists for.
SATURDAY_2AM = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


@pytest.fixture
def venues(app):  # type: ignore[no-untyped-def]
    from tests.mobile_client.test_ui import seed_demo_venues

    seed_demo_venues()


def test_nearest_open_places_come_with_distance_direction_walk_and_hours(
    core_factory, resident, venues
):
    core = core_factory(resident)
    core.set_position(*DEMO_ROUTE[0])
    places = core.find_safe_places(limit=5, at=SATURDAY_2AM)
    assert places and core.state.places == places
    distances = [p["distance_m"] for p in places]
    assert distances == sorted(distances)
    for p in places:
        assert p["direction"] in ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
        assert p["walk_min"] >= 1 and p["distance_text"]
        assert p["hours_text"].startswith("Open now")
        assert p["status"] == "verified"


def test_choosing_a_place_makes_it_the_journey_destination(core_factory, resident, venues):
    core = core_factory(resident)
    core.set_position(*DEMO_ROUTE[0])
    place = core.find_safe_places(at=SATURDAY_2AM)[0]
    core.choose_place(place)
    assert core.state.destination == {
        "venue_id": place["id"],
        "lat": place["lat"],
        "lon": place["lon"],
        "label": place["name"],
    }


def test_no_position_yet_asks_to_wait_instead_of_querying(core_factory, resident, venues):
    core = core_factory(resident)
    assert core.find_safe_places() == [] and "location" in core.state.message
