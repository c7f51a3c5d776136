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
    # Open long enough first, then closing soon; nearest first within each.
    rank = {"open": 0, "closing_soon": 1}
    keys = [(rank[p["availability"]], p["distance_m"]) for p in places]
    assert keys == sorted(keys)
    for p in places:
        assert p["direction"] in ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
        assert p["walk_min"] >= 1 and p["distance_text"]
        assert p["hours_text"] == "Open 24 hours" or p["hours_text"].startswith(
            ("Open until", "Closes in")
        )
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


def test_without_signal_the_list_says_how_old_it_is_and_recomputes_distance_and_hours(
    core_factory, resident, live_server
):
    from mobile_client.core import geo
    from tests.backend.venues.factories import make_venue

    here = (53.5448, -2.6318)
    bar = make_venue(name="Late bar", opening_hours="Mo-Su 18:00-04:00", lat=here[0] + 0.0009)
    station = make_venue(
        name="Police station", category="police_station", lat=here[0] + 0.0160
    )  # about 1.8 km north: a 23 min walk
    core = core_factory(resident)
    core.load_app_config()
    core.set_position(*here)
    at_0340 = datetime(2026, 11, 22, 3, 40, tzinfo=UTC)  # Sunday, GMT
    core.ctx.clock = at_0340.timestamp
    online = core.find_safe_places(at=at_0340)
    assert [(p["name"], p["availability"]) for p in online] == [
        ("Police station", "open"),
        ("Late bar", "closing_soon"),
    ]
    assert online[1]["hours_text"] == "Closes in 20 min (04:00)"
    assert core.state.places_note == "" and core.state.late_night is None
    # At 03:59 the bar cannot be reached open: the only open place is 23 min away, so the
    # late-night options come with the nearest staffed place the server names.
    at_0359 = datetime(2026, 11, 22, 3, 59, tzinfo=UTC)
    core.ctx.clock = at_0359.timestamp
    assert [p["name"] for p in core.find_safe_places(at=at_0359)] == ["Police station"]
    staffed = core.state.late_night["staffed_nearest"]
    assert staffed["name"] == "Police station" and staffed["walk_min"] == 23
    core.ctx.clock = at_0340.timestamp
    core.find_safe_places(at=at_0340)

    live_server.stop()  # no signal from here on
    moved = (here[0] - 0.0045, here[1])  # 500 m south
    core.set_position(*moved)
    at_0352 = datetime(2026, 11, 22, 3, 52, tzinfo=UTC)
    core.ctx.clock = at_0352.timestamp
    offline = core.find_safe_places()
    assert core.state.places_note == "as of 03:40, not updated: no signal"
    assert core.state.online is False
    by_name = {p["name"]: p for p in offline}
    for venue in (bar, station):
        expected = geo.haversine_m(*moved, venue.lat, venue.lon)
        assert by_name[venue.name]["distance_m"] == pytest.approx(expected, abs=0.1)
        assert by_name[venue.name]["direction"] == "N"
    # The bar is now 8 min away and closes in 8: not called open, and listed last.
    assert by_name["Late bar"]["availability"] == "closes_before_arrival"
    assert by_name["Late bar"]["hours_text"] == "Closes 04:00, before you could walk there"
    assert [p["name"] for p in offline] == ["Police station", "Late bar"]
    assert by_name["Police station"]["hours_text"] == "Open 24 hours"
    # The only open place is a long walk: the partnership's late-night options are offered.
    late = core.state.late_night
    assert late is not None and late["long_walk_min"] == 20
    assert late["staffed_nearest"] is None  # no signal: not guessed
    assert late["taxi_reminder"].startswith("Use a licensed taxi")
    assert late["staffed_safe_haven"]["source"]

    core.ctx.clock = datetime(2026, 11, 22, 4, 10, tzinfo=UTC).timestamp
    later = {p["name"]: p for p in core.find_safe_places()}
    assert later["Late bar"]["hours_text"] == "Closed, opens 18:00"
    assert later["Late bar"]["tone"] == "closed"
    assert core.state.places_note == "as of 03:40, not updated: no signal"


def test_directions_go_to_the_phones_maps_app_or_openstreetmap(core_factory, resident):
    core = core_factory(resident)
    core.set_position(53.5448, -2.6318)
    place = {"name": "The Swan & Bell", "lat": 53.5466, "lon": -2.6301}
    assert core.directions(place, android=True) == (
        "geo:53.546600,-2.630100?q=53.546600,-2.630100(The%20Swan%20%26%20Bell)"
    )
    assert core.directions(place, android=False) == (
        "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
        "&route=53.544800%2C-2.631800%3B53.546600%2C-2.630100"
    )


def test_a_place_opening_before_you_arrive_reads_the_same_online_and_offline(
    core_factory, resident, live_server
):
    """The app shows what the server answers; without signal it works the same out with the
    same shared rule, and both agree with the server asked again at that moment."""
    from tests.backend.venues.factories import make_venue

    here = (53.5448, -2.6318)
    cafe = make_venue(name="Early cafe", opening_hours="Mo-Su 05:00-23:00", lat=here[0] + 0.0104)
    make_venue(name="Police station", category="police_station", lat=here[0] - 0.0030)
    core = core_factory(resident)
    core.load_app_config()
    core.set_position(*here)
    at_0450 = datetime(2026, 11, 22, 4, 50, tzinfo=UTC)  # Sunday, GMT
    core.ctx.clock = at_0450.timestamp
    online = {p["name"]: p for p in core.find_safe_places(at=at_0450)}
    early = online["Early cafe"]
    assert early["walk_min"] == 15 and early["open_now"] is False
    assert early["availability"] == "open" and early["tone"] == "open"
    assert early["hours_text"] == "Opens 05:00, before you arrive; open until 23:00"

    def server_says(position, at):  # type: ignore[no-untyped-def]
        probe = core_factory(resident, name=f"probe-{at:%H%M}-{position[0]}")
        probe.set_position(*position)
        found = {p["name"]: p for p in probe.find_safe_places(at=at, limit=5)}
        return found.get(cafe.name)

    at_0453 = datetime(2026, 11, 22, 4, 53, tzinfo=UTC)
    cases = [
        # 900 m away at 04:53: there at 05:05, after it opens.
        ((here[0] + 0.0023, here[1]), "open", "Opens 05:00, before you arrive; open until 23:00"),
        # 300 m away: there at 04:57, before it opens.
        ((here[0] + 0.0077, here[1]), "closed", "Closed, opens 05:00"),
    ]
    expected_online = [server_says(position, at_0453) for position, _kind, _text in cases]
    live_server.stop()  # no signal from here on
    core.ctx.clock = at_0453.timestamp
    for (position, kind, text), from_server in zip(cases, expected_online, strict=True):
        core.set_position(*position)
        offline = {p["name"]: p for p in core.find_safe_places()}
        assert core.state.places_note == "as of 04:50, not updated: no signal"
        assert (offline[cafe.name]["availability"], offline[cafe.name]["hours_text"]) == (
            kind,
            text,
        )
        if kind == "open":  # the server lists it then too, and says the same
            assert from_server is not None
            assert (from_server["availability"], from_server["hours_text"]) == (kind, text)
            assert (
                from_server["minutes_left_on_arrival"]
                == (offline[cafe.name]["minutes_left_on_arrival"])
            )
        else:  # closed when you would get there: the server leaves it out
            assert from_server is None
