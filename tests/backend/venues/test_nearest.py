"""The nearest open safe place: filters, answers, bad input, and agreement with brute force."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from backend import spatial
from backend.extensions import db
from backend.venues import hours, service
from backend.venues.models import Venue
from shared_schemas.venues import walking_minutes
from tests.backend.venues.factories import (
    LEIGH_CENTRE,
    SATURDAY_0130,
    TUESDAY_0130,
    WIGAN_CENTRE,
    make_venue,
)
from tests.support.databases import recorded_statements

NEAREST = "/api/v1/venues/nearest"


def ids(body):
    return [item["id"] for item in body["items"]]


def test_a_late_pub_is_found_at_0130_on_saturday_and_not_on_tuesday(client):
    pub = make_venue(name="Late pub", opening_hours="Fr-Sa 17:00-02:00", lat=53.5450)
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1]}
    saturday = client.get(NEAREST, query_string={**args, "at": SATURDAY_0130.isoformat()})
    assert saturday.status_code == 200
    (item,) = saturday.get_json()["items"]
    assert item["id"] == pub.id and item["open_now"] is True
    assert item["closes_at"] == "2026-11-21T02:00:00+00:00" and item["opens_at"] is None
    tuesday = client.get(NEAREST, query_string={**args, "at": TUESDAY_0130.isoformat()})
    assert tuesday.get_json()["items"] == []
    anyway = client.get(
        NEAREST, query_string={**args, "at": TUESDAY_0130.isoformat(), "open_now": "false"}
    ).get_json()["items"]
    assert [i["id"] for i in anyway] == [pub.id]
    assert anyway[0]["open_now"] is False
    assert anyway[0]["opens_at"] == "2026-11-27T17:00:00+00:00"


def test_a_ph_off_venue_is_not_offered_on_christmas_day(client):
    make_venue(name="Pharmacy", category="pharmacy", opening_hours="Mo-Su 09:00-18:00; PH off")
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1]}
    christmas = client.get(NEAREST, query_string={**args, "at": "2026-12-25T12:00:00Z"})
    assert christmas.get_json()["items"] == []
    before = client.get(NEAREST, query_string={**args, "at": "2026-12-23T12:00:00Z"})
    assert len(before.get_json()["items"]) == 1


def test_naive_times_are_read_as_uk_local_time(client):
    make_venue(opening_hours="Mo-Su 09:00-18:00")
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1]}
    # 17:30 in London on 1 July is 16:30 UTC: open. 17:30 UTC would be 18:30 local: closed.
    assert client.get(NEAREST, query_string={**args, "at": "2026-07-01T17:30"}).get_json()["items"]
    assert not client.get(NEAREST, query_string={**args, "at": "2026-07-01T17:30Z"}).get_json()[
        "items"
    ]


def test_each_item_has_distance_bearing_walking_time_phone_and_schemes(client):
    venue = make_venue(
        name="Leigh hotel",
        category="hotel",
        lat=LEIGH_CENTRE[0],
        lon=LEIGH_CENTRE[1],
        phone="01632 960123",
        schemes=["ask_for_angela"],
    )
    body = client.get(
        NEAREST,
        query_string={"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-21T02:00Z"},
    ).get_json()
    (item,) = body["items"]
    expected = spatial.haversine_m(*WIGAN_CENTRE, *LEIGH_CENTRE)
    assert item["id"] == venue.id
    assert item["distance_m"] == pytest.approx(expected, abs=0.1)
    assert item["compass"] == "SE" and 120 < item["bearing_deg"] < 130
    assert item["walking_minutes"] == -(-expected // 80)
    assert item["phone"] == "01632 960123" and item["schemes"] == ["ask_for_angela"]
    assert item["open_now"] is True and item["closes_at"] is None  # 24/7 never closes
    assert body["origin"] == {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "postcode": None}


def test_only_verified_available_venues_unless_candidates_are_asked_for(client):
    verified = make_venue(name="Verified", lat=53.5450)
    candidate = make_venue(name="Candidate", status="candidate", lat=53.5449)
    make_venue(name="Pending", status="pending", lat=53.5448)
    make_venue(name="Suspended", status="suspended", lat=53.5448)
    make_venue(name="Rejected", status="rejected", lat=53.5448)
    away = make_venue(
        name="Closed for a flood",
        lat=53.5451,
        unavailable_until=SATURDAY_0130 + timedelta(hours=3),
    )
    args = {"lat": 53.5448, "lon": WIGAN_CENTRE[1], "at": SATURDAY_0130.isoformat()}
    assert ids(client.get(NEAREST, query_string=args).get_json()) == [verified.id]
    with_candidates = client.get(NEAREST, query_string={**args, "include_candidates": "true"})
    assert ids(with_candidates.get_json()) == [candidate.id, verified.id]
    items = with_candidates.get_json()["items"]
    assert [i["status"] for i in items] == ["candidate", "verified"]
    later = {**args, "at": (SATURDAY_0130 + timedelta(hours=4)).isoformat()}
    assert ids(client.get(NEAREST, query_string=later).get_json()) == [verified.id, away.id]


def test_category_radius_limit_and_postcode(client):
    pub = make_venue(name="Pub", category="pub_or_bar", lat=53.5460)
    hotel = make_venue(name="Hotel", category="hotel", lat=53.5470)
    make_venue(name="Shop", category="shop", lat=53.5480)
    args = {"lat": 53.5448, "lon": WIGAN_CENTRE[1], "at": SATURDAY_0130.isoformat()}
    both = client.get(NEAREST, query_string={**args, "category": "pub_or_bar,hotel"})
    assert ids(both.get_json()) == [pub.id, hotel.id]
    repeated = client.get(f"{NEAREST}?lat=53.5448&lon=-2.6318&category=hotel&category=pub_or_bar")
    assert ids(repeated.get_json()) == [pub.id, hotel.id]
    assert ids(client.get(NEAREST, query_string={**args, "limit": 1}).get_json()) == [pub.id]
    close = client.get(NEAREST, query_string={**args, "radius_m": 200}).get_json()
    assert ids(close) == [pub.id]
    by_postcode = client.get(NEAREST, query_string={"near": "wn1 1aa", "at": "2026-11-21T02:00Z"})
    body = by_postcode.get_json()
    assert body["origin"]["postcode"] == "WN1 1AA" and len(body["items"]) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "abc", "lon": "0"}, "lat"),
        ({"lat": "nan", "lon": "0"}, "lat"),
        ({"lat": "53", "lon": "-181"}, "lon"),
        ({"lat": "53"}, "lon"),
        ({}, "lat"),
        ({"lat": "53", "lon": "-2", "limit": "0"}, "limit"),
        ({"lat": "53", "lon": "-2", "limit": "51"}, "limit"),
        ({"lat": "53", "lon": "-2", "limit": "five"}, "limit"),
        ({"lat": "53", "lon": "-2", "radius_m": "-5"}, "radius_m"),
        ({"lat": "53", "lon": "-2", "radius_m": "1e9"}, "radius_m"),
        ({"lat": "53", "lon": "-2", "at": "yesterday"}, "at"),
        ({"lat": "53", "lon": "-2", "at": "0001-01-01T00:00:00Z"}, "at"),
        ({"lat": "53", "lon": "-2", "at": "9999-12-31T23:59:59-05:00"}, "at"),
        ({"lat": "53", "lon": "-2", "category": "nightclub"}, "category"),
        ({"lat": "53", "lon": "-2", "open_now": "perhaps"}, "open_now"),
        ({"near": "SW1A 1AA"}, "near"),
        ({"near": "not a postcode"}, "near"),
        ({"near": "WN1 1AA", "lat": "53"}, "near"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, query, field):
    response = client.get(NEAREST, query_string=query)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert field in body["errors"], body
    assert set(body) == {"code", "status", "message", "errors"}


# --- agreement with brute force on both engines ----------------------------------------

HOURS = [
    "24/7",
    "Mo-Fr 09:00-17:30",
    "Fr-Sa 17:00-02:00",
    "Mo-Su 08:00-22:00; PH off",
    "Mo-Sa 07:00-23:00; Su 10:00-16:00",
    None,
]
CATEGORIES = ["pharmacy", "pub_or_bar", "hotel", "shop"]
STATUSES = ["verified"] * 5 + ["candidate"] * 2 + ["pending", "suspended", "rejected"]
TIMES = [
    SATURDAY_0130,
    TUESDAY_0130,
    datetime(2026, 12, 25, 12, 0, tzinfo=UTC),
    datetime(2026, 7, 3, 16, 45, tzinfo=UTC),
]


def brute_force(rows, lat, lon, *, limit, open_now, at, radius_m, category, include_candidates):
    statuses = {"verified", "candidate"} if include_candidates else {"verified"}
    ranked, sooner = [], []
    for r in rows:
        if r["status"] not in statuses or (category and r["category"] not in category):
            continue
        if r["unavailable_until"] is not None and r["unavailable_until"] > at:
            continue
        distance = spatial.haversine_m(lat, lon, r["lat"], r["lon"])
        if distance > radius_m:
            continue
        if open_now:
            # Open 30 min past arrival first, then open on arrival but closing sooner: read
            # from the library at the arrival itself (open then, also if closed now).
            arrive = at + timedelta(minutes=walking_minutes(distance))
            there = hours.state_at(r["opening_hours"], arrive)
            if there.open_now is not True:
                continue
            if there.closes_at is not None and there.closes_at < arrive + timedelta(minutes=30):
                sooner.append((distance, r["id"]))
                continue
        ranked.append((distance, r["id"]))
    if not open_now:
        return [i for _d, i in sorted(ranked)[:limit]]
    # Among the nearest ``limit`` open on arrival, those closing soon follow the nearest
    # ``limit`` open long enough, in the room left of ``limit``.
    nearest = sorted(ranked + sooner)[:limit]
    soon = {i for _d, i in sooner}
    answer = [i for _d, i in sorted(ranked)[:limit]] + [i for _d, i in nearest if i in soon]
    return answer[:limit]


def test_nearest_agrees_with_brute_force_on_many_random_points(app):
    rng = random.Random(3)
    rows = []
    for i in range(1, 401):
        # Most venues over Greater Manchester, some clustered tightly (ties and near-ties).
        if i % 10 == 0:
            lat, lon = (
                53.5448 + rng.uniform(-0.0005, 0.0005),
                -2.6318 + rng.uniform(-0.0005, 0.0005),
            )
        else:
            lat, lon = rng.uniform(53.33, 53.68), rng.uniform(-2.75, -1.90)
        rows.append(
            {
                "id": i,
                "name": f"Venue {i}",
                "lat": lat,
                "lon": lon,
                "category": rng.choice(CATEGORIES),
                "status": rng.choice(STATUSES),
                "opening_hours": rng.choice(HOURS),
                "unavailable_until": rng.choice([None] * 8 + TIMES),
                "schemes": [],
                "is_demo": False,
                "created_at": SATURDAY_0130,
                "updated_at": SATURDAY_0130,
            }
        )
    db.session.execute(Venue.__table__.insert(), rows)
    db.session.commit()
    queries = [(rng.uniform(53.30, 53.72), rng.uniform(-2.80, -1.85)) for _ in range(150)]
    far = [(rng.uniform(-85, 85), rng.uniform(-180, 180)) for _ in range(15)]
    queries += far + [(53.5448, -2.6318), (51.5, -0.12)]
    checked_on_radius = 0
    for n, (lat, lon) in enumerate(queries):
        args = {
            "limit": rng.choice([1, 5, 12, 50]),
            "open_now": rng.random() < 0.7,
            "at": rng.choice(TIMES),
            "radius_m": rng.choice([300.0, 2_000.0, 10_000.0, 25_000.0, 100_000.0]),
            "category": rng.choice([None, None, ["pub_or_bar"], ["pharmacy", "hotel"]]),
            "include_candidates": rng.random() < 0.3,
        }
        if n % 3 == 0:
            # Put the search radius exactly on the k-th nearest eligible venue: it is included.
            args.update(open_now=False, category=None, include_candidates=True, limit=50)
            eligible = brute_force(rows, lat, lon, **{**args, "radius_m": spatial.MAX_RADIUS_M})
            target = rows[eligible[rng.randrange(20)] - 1]
            args["radius_m"] = spatial.haversine_m(lat, lon, target["lat"], target["lon"])
            expected = brute_force(rows, lat, lon, **args)
            assert expected[-1] == target["id"]
            checked_on_radius += 1
        got = [v["id"] for v in service.nearest(lat=lat, lon=lon, **args)["items"]]
        assert got == brute_force(rows, lat, lon, **args), (lat, lon, args)
    assert checked_on_radius == 56
    assert all(
        service.nearest(lat=lat, lon=lon, at=TIMES[0], open_now=False)["items"] == []
        for lat, lon in far
        if min(spatial.haversine_m(lat, lon, r["lat"], r["lon"]) for r in rows) > 25_000
    )


def test_the_lean_response_is_exactly_what_its_documented_schema_would_write(client, app):
    """The endpoint writes its JSON without a marshmallow dump (it is the hot path); the body
    must equal the documented schema's dump of the same answer, key for key, type for type."""
    from shared_schemas.venues import NearestResultSchema

    make_venue(name="Open all night", opening_hours="24/7", schemes=["ask_for_angela", "umay"])
    make_venue(name="Late pub", opening_hours="Fr-Sa 17:00-02:00", lat=53.5450)
    make_venue(name="No hours", opening_hours=None, lat=53.5452, phone=None, address=None)
    for query in (
        {"at": SATURDAY_0130.isoformat()},
        {"at": TUESDAY_0130.isoformat(), "open_now": "false"},
        {"near": "WN1 1XX", "open_now": "false"},
    ):
        args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": SATURDAY_0130.isoformat()}
        args.update(query)
        if "near" in args:
            args.pop("lat"), args.pop("lon")
        response = client.get(NEAREST, query_string=args)
        assert response.status_code == 200, response.get_json()
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert body["items"], query
        service_args = {
            "limit": 5,
            "open_now": args.get("open_now") != "false",
            "at": datetime.fromisoformat(args["at"]),
        }
        if "near" in args:
            service_args["near"] = args["near"]
        else:
            service_args.update(lat=args["lat"], lon=args["lon"])
        with app.test_request_context():
            expected = NearestResultSchema().dump(service.nearest(**service_args))
        assert body == expected
        # Types too (True == 1 and 1.0 == 1 in Python), key by key.
        for item, dumped in zip(body["items"], expected["items"], strict=True):
            assert {k: type(v) for k, v in item.items()} == {k: type(v) for k, v in dumped.items()}


def test_search_rows_read_on_the_dbapi_cursor_equal_sqlalchemys_value_for_value(app):
    """The hot search runs its compiled statements on the DBAPI cursor: each row must equal
    what ``Connection.execute`` gives, with the same Python types (bool, not 0/1)."""
    make_venue(name="Demo", is_demo=True, schemes=["ask_for_angela"], phone="01942 000000")
    make_venue(name="Plain", lat=53.5450, unavailable_until=SATURDAY_0130 - timedelta(hours=1))
    make_venue(name="Hidden", lat=53.5452, unavailable_until=SATURDAY_0130 + timedelta(days=1))
    make_venue(name="Candidate", lat=53.5454, status="candidate", opening_hours=None)
    values = {"status": "verified", "or_status": "candidate", "at": SATURDAY_0130}
    for search, extra in (
        (service._NEAREST, {}),
        (service._NEAREST_IN_CATEGORIES, {"categories": ["pub_or_bar"]}),
    ):
        conn = db.session.connection()
        if conn.dialect.name == "postgresql":
            statements = [search._knn_statement(False)]
            values.update(_lat=WIGAN_CENTRE[0], _lon=WIGAN_CENTRE[1], _size=10)
        else:
            statements = [search._rtree_statement(1)]
            (box,) = spatial.bounding_boxes(*WIGAN_CENTRE, 1_000)
            values.update(zip(("_b0", "_a0", "_d0", "_c0"), box, strict=True))
        for stmt in statements:
            expected = [tuple(row) for row in conn.execute(stmt, {**values, **extra})]
            direct = spatial.direct_select(stmt, conn)
            if extra:  # an expanding IN list is rendered per execution: SQLAlchemy runs it
                assert direct is None
                continue
            assert direct is not None
            got = [tuple(row) for row in direct.rows(conn, {**values, **extra})]
            assert sorted(got) == sorted(expected) and len(got) == 3
            for mine, theirs in zip(sorted(got), sorted(expected), strict=True):
                assert [type(v) for v in mine] == [type(v) for v in theirs]
            assert {row.name: row.is_demo for row in direct.rows(conn, values)} == {
                "Demo": True,
                "Plain": False,
                "Candidate": False,
            }
    db.session.rollback()


def test_a_search_seen_by_cursor_listeners_goes_through_sqlalchemy(app):
    """Statement listeners (logging, tracing, query counting) still see every search."""
    make_venue(name="Seen")
    try:
        with recorded_statements() as seen:
            found = service.nearest(lat=WIGAN_CENTRE[0], lon=WIGAN_CENTRE[1], at=SATURDAY_0130)
    finally:
        db.session.remove()
    assert [item["name"] for item in found["items"]] == ["Seen"]
    assert any("venues" in statement for statement in seen)


def test_a_search_inside_a_transaction_sees_its_uncommitted_rows(app):
    """A search after a flush runs in the session's transaction (it sees the flushed row)."""
    make_venue(name="Committed", lat=53.5460)
    db.session.add(
        Venue(
            name="Flushed",
            category="pub_or_bar",
            lat=WIGAN_CENTRE[0],
            lon=WIGAN_CENTRE[1],
            opening_hours="24/7",
            status="verified",
            schemes=[],
        )
    )
    db.session.flush()
    try:
        found = service.nearest(lat=WIGAN_CENTRE[0], lon=WIGAN_CENTRE[1], at=SATURDAY_0130)
        assert [item["name"] for item in found["items"]] == ["Flushed", "Committed"]
    finally:
        db.session.rollback()
    found = service.nearest(lat=WIGAN_CENTRE[0], lon=WIGAN_CENTRE[1], at=SATURDAY_0130)
    assert [item["name"] for item in found["items"]] == ["Committed"]
    db.session.remove()


@pytest.mark.postgis
def test_a_search_that_opens_the_session_leaves_no_transaction_open_on_postgres(app):
    """The first statement of a request's session, under READ COMMITTED, runs in autocommit:
    no BEGIN, and nothing for the request's end to roll back."""
    from psycopg.pq import TransactionStatus

    make_venue(name="Only")
    db.session.remove()
    found = service.nearest(lat=WIGAN_CENTRE[0], lon=WIGAN_CENTRE[1], at=SATURDAY_0130)
    assert [item["name"] for item in found["items"]] == ["Only"]
    raw = db.session.connection().connection.dbapi_connection
    assert raw.info.transaction_status == TransactionStatus.IDLE
    assert raw.autocommit is False
    db.session.remove()


# --- opening times that never mislead ----------------------------------------------------

SUNDAY_0357 = datetime(2026, 11, 22, 3, 57, tzinfo=UTC)  # GMT: UK local time is UTC


def near(metres_north: float) -> float:
    return WIGAN_CENTRE[0] + metres_north / 111_200


def test_at_0357_a_bar_closing_at_0400_is_not_first(client):
    bar = make_venue(name="Closing bar", opening_hours="Mo-Su 18:00-04:00", lat=near(100))
    station = make_venue(name="Police station", category="police_station", lat=near(900))
    body = client.get(
        NEAREST,
        query_string={"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T03:57"},
    ).get_json()
    assert ids(body) == [station.id, bar.id]
    assert body["open_long_enough_min"] == 30
    first, second = body["items"]
    assert first["availability"] == "open" and first["hours_text"] == "Open 24 hours"
    assert second["availability"] == "closing_soon"
    assert second["walking_minutes"] == 2
    assert second["minutes_left_on_arrival"] == 1
    assert second["hours_text"] == "Closes in 3 min (04:00)"
    assert second["closes_at"] == "2026-11-22T04:00:00+00:00"
    assert second["closes_at_local"] == "2026-11-22T04:00:00+00:00"
    assert second["arrives_at"] == "2026-11-22T03:59:00+00:00"


def test_a_place_that_closes_before_you_could_walk_there_is_not_called_open(client):
    far_bar = make_venue(name="Far bar", opening_hours="Mo-Su 18:00-04:00", lat=near(800))
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": SUNDAY_0357.isoformat()}
    assert client.get(NEAREST, query_string=args).get_json()["items"] == []
    (item,) = client.get(NEAREST, query_string={**args, "open_now": "false"}).get_json()["items"]
    assert item["id"] == far_bar.id and item["walking_minutes"] == 10
    assert item["availability"] == "closes_before_arrival"
    assert item["hours_text"] == "Closes 04:00, before you could walk there"
    assert item["minutes_left_on_arrival"] is None


def test_a_24_7_place_says_open_24_hours(client):
    make_venue(name="All night", opening_hours="24/7")
    make_venue(name="Every day all day", opening_hours="Mo-Su 00:00-24:00", lat=near(50))
    body = client.get(
        NEAREST,
        query_string={"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T03:57"},
    ).get_json()
    assert [(i["open_24_7"], i["hours_text"]) for i in body["items"]] == [
        (True, "Open 24 hours"),
        (True, "Open 24 hours"),
    ]
    assert all(i["closes_at"] is None and i["transitions"] == [] for i in body["items"])


def test_closes_at_is_given_in_uk_local_time_across_the_clock_change(client):
    # 29 March 2026: at 01:00 UTC the clocks go forward; a 03:00 closing is 02:00 UTC.
    make_venue(name="Late bar", opening_hours="Mo-Su 18:00-03:00")
    body = client.get(
        NEAREST,
        query_string={
            "lat": WIGAN_CENTRE[0],
            "lon": WIGAN_CENTRE[1],
            "at": "2026-03-29T00:50:00Z",  # 00:50 GMT
        },
    ).get_json()
    (item,) = body["items"]
    assert item["closes_at"] == "2026-03-29T02:00:00+00:00"
    assert item["closes_at_local"] == "2026-03-29T03:00:00+01:00"
    assert item["hours_text"] == "Open until 03:00"
    assert item["minutes_left_on_arrival"] == 69
    # The transitions the phone keeps say the same in UTC: closes 02:00, opens 18:00 BST.
    assert item["transitions"][:2] == [
        {"at": "2026-03-29T02:00:00+00:00", "open": False},
        {"at": "2026-03-29T17:00:00+00:00", "open": True},
    ]
    # They cover at least the day the phone uses them for (up to 48 h: an evaluation kept
    # from an earlier moment of the same span, by another test too, covers less of it).
    known_until = datetime.fromisoformat(item["hours_known_until"])
    asked = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)
    assert asked + timedelta(hours=24) < known_until <= asked + timedelta(hours=48)


def test_the_stay_is_configurable(app, client, monkeypatch):
    bar = make_venue(name="Bar", opening_hours="Mo-Su 18:00-04:00", lat=near(100))
    monkeypatch.setitem(app.config, "OPEN_LONG_ENOUGH_MIN", 0)
    body = client.get(
        NEAREST,
        query_string={"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T03:57"},
    ).get_json()
    assert ids(body) == [bar.id] and body["items"][0]["availability"] == "open"
    assert body["open_long_enough_min"] == 0


def test_closing_minutes_are_never_rounded_up_within_a_minute(client):
    make_venue(name="Bar", opening_hours="Mo-Su 18:00-04:00", lat=near(100))
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1]}
    exact = client.get(NEAREST, query_string={**args, "at": "2026-11-22T03:50:00Z"})
    later = client.get(NEAREST, query_string={**args, "at": "2026-11-22T03:50:30Z"})
    assert exact.get_json()["items"][0]["hours_text"] == "Closes in 10 min (04:00)"
    assert later.get_json()["items"][0]["hours_text"] == "Closes in 9 min (04:00)"


# --- a place that opens before you could walk there ---------------------------------------

SUNDAY_0450 = "2026-11-22T04:50"  # UK local (GMT)


def test_a_place_closed_now_that_opens_before_you_arrive_is_open_and_says_so(client):
    cafe = make_venue(name="Early cafe", opening_hours="Mo-Su 05:00-23:00", lat=near(1150))
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": SUNDAY_0450}
    (item,) = client.get(NEAREST, query_string=args).get_json()["items"]
    assert item["id"] == cafe.id and item["walking_minutes"] == 15
    assert item["open_now"] is False  # shut at 04:50, open at 05:05 when you get there
    assert item["availability"] == "open"
    assert item["hours_text"] == "Opens 05:00, before you arrive; open until 23:00"
    assert item["opens_at"] == "2026-11-22T05:00:00+00:00"
    assert item["closes_at"] == "2026-11-22T23:00:00+00:00"
    assert item["closes_at_local"] == "2026-11-22T23:00:00+00:00"
    assert item["arrives_at"] == "2026-11-22T05:05:00+00:00"
    assert item["minutes_left_on_arrival"] == 17 * 60 + 55


def test_twenty_minutes_earlier_it_is_closed_when_you_would_arrive(client):
    make_venue(name="Early cafe", opening_hours="Mo-Su 05:00-23:00", lat=near(1150))
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T04:30"}
    assert client.get(NEAREST, query_string=args).get_json()["items"] == []
    (item,) = client.get(NEAREST, query_string={**args, "open_now": "false"}).get_json()["items"]
    assert item["availability"] == "closed" and item["hours_text"] == "Closed, opens 05:00"
    assert item["minutes_left_on_arrival"] is None


def test_in_summer_time_the_opening_is_said_in_uk_local_time(client):
    make_venue(name="Early cafe", opening_hours="Mo-Su 05:00-23:00", lat=near(1150))
    # 03:50 UTC on 5 July is 04:50 BST: it opens at 05:00 BST (04:00 UTC), before you arrive.
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-07-05T03:50:00Z"}
    (item,) = client.get(NEAREST, query_string=args).get_json()["items"]
    assert item["hours_text"] == "Opens 05:00, before you arrive; open until 23:00"
    assert item["opens_at"] == "2026-07-05T04:00:00+00:00"
    assert item["closes_at_local"] == "2026-07-05T23:00:00+01:00"


def test_one_that_opens_before_you_arrive_but_closes_soon_after_is_amber_and_after(client):
    brief = make_venue(name="Brief kiosk", opening_hours="Mo-Su 05:00-05:20", lat=near(400))
    station = make_venue(name="Police station", category="police_station", lat=near(1600))
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T04:57"}
    body = client.get(NEAREST, query_string=args).get_json()
    assert ids(body) == [station.id, brief.id]
    kiosk = body["items"][1]
    assert kiosk["walking_minutes"] == 5 and kiosk["availability"] == "closing_soon"
    assert kiosk["hours_text"] == "Opens 05:00, before you arrive; closes 05:20"
    assert kiosk["minutes_left_on_arrival"] == 18


def test_a_place_that_closes_and_opens_again_before_you_arrive_is_open(client):
    # Shut 04:00-04:05 (a change of shift): at 03:58 a 12-minute walk finds it open.
    shifts = make_venue(
        name="Shift shop", opening_hours="Mo-Su 04:05-23:00, 23:00-04:00", lat=near(900)
    )
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T03:58"}
    (item,) = client.get(NEAREST, query_string=args).get_json()["items"]
    assert item["id"] == shifts.id and item["open_now"] is True
    assert item["availability"] == "open"
    # (the library joins 23:00-04:00 to 04:05-23:00: it closes at 04:00 on Monday)
    assert item["hours_text"] == "Opens 04:05, before you arrive; open until Mon 04:00"
    assert item["opens_at"] == "2026-11-22T04:05:00+00:00"
    assert item["closes_at"] == "2026-11-23T04:00:00+00:00"


# --- never more than ``limit`` ------------------------------------------------------------


@pytest.mark.parametrize("use_index", [True, False], ids=["index", "database"])
def test_the_answer_never_has_more_than_limit_places(app, client, monkeypatch, use_index):
    monkeypatch.setitem(app.config, "VENUE_INDEX", use_index)
    # Near: three bars closing at 04:00 (amber at 03:57); further: four 24/7 places.
    bars = [
        make_venue(name=f"Bar {i}", opening_hours="Mo-Su 18:00-04:00", lat=near(60 + 10 * i))
        for i in range(3)
    ]
    stations = [
        make_venue(name=f"Open {i}", category="police_station", lat=near(400 + 100 * i))
        for i in range(4)
    ]
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": "2026-11-22T03:57"}
    for limit in range(1, 9):
        body = client.get(NEAREST, query_string={**args, "limit": limit}).get_json()
        assert len(body["items"]) <= limit, (limit, ids(body))
        # The places that stay open come first; closing-soon ones fill the room left.
        want = [s.id for s in stations][:limit]
        want += [b.id for b in bars][: limit - len(want)]
        assert ids(body) == want, limit
    everything = client.get(NEAREST, query_string={**args, "limit": 50}).get_json()["items"]
    assert [i["availability"] for i in everything] == ["open"] * 4 + ["closing_soon"] * 3
