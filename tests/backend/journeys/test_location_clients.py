"""Third-party location apps: OwnTracks HTTP mode and Traccar Client (OsmAnd protocol), with
payloads shaped like the ones those apps really send."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.journeys import clients
from backend.journeys.models import LocationFix
from tests.support.journeys import befriend, owntracks_location, start_journey


def basic(username: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def device(client, resident):  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/location-clients", json={"label": "Alice's Pixel"}, headers=resident.headers
    )
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["secret"]) >= 32  # 192 random bits
    return body


@pytest.fixture
def journey(client, resident, other_resident):  # type: ignore[no-untyped-def]
    client.patch("/api/v1/me", json={"display_name": "Alice Ashton"}, headers=resident.headers)
    befriend(client, resident, other_resident)
    return start_journey(client, resident, [other_resident])


def fixes_of(journey_id: int) -> list[LocationFix]:
    return list(
        db.session.scalars(
            select(LocationFix)
            .where(LocationFix.journey_id == journey_id)
            .order_by(LocationFix.recorded_at)
        )
    )


def test_owntracks_location_feeds_the_active_journey_and_replies_with_an_array(
    client, journey, device
):
    tst = int(datetime.now(UTC).timestamp()) - 30
    response = client.post(
        "/owntracks",
        json=owntracks_location(tst),
        headers={
            **basic(device["username"], device["secret"]),
            "X-Limit-U": "alice",
            "X-Limit-D": "pixel",
        },
    )
    assert response.status_code == 200
    assert response.get_json() == []  # nobody shares a journey with alice
    (row,) = fixes_of(journey["id"])
    assert (row.lat, row.lon, row.accuracy_m, row.battery, row.source) == (
        53.54251,
        -2.64049,
        13,
        85,
        "owntracks",
    )
    assert row.recorded_at == datetime.fromtimestamp(tst, UTC)
    assert row.speed_mps == pytest.approx(5 / 3.6)


def test_owntracks_number_strings_and_transitions_are_accepted(client, journey, device):
    tst = int(datetime.now(UTC).timestamp()) - 60
    auth = basic(device["username"], device["secret"])
    stringy = owntracks_location(tst, lat="53.54260", lon="-2.64040", acc="9", batt="71", vel="0")
    assert client.post("/owntracks", json=stringy, headers=auth).status_code == 200
    transition = {
        "_type": "transition",
        "wtst": tst - 3600,
        "lat": 53.54280,
        "lon": -2.64020,
        "tst": tst + 20,
        "acc": 10,
        "tid": "al",
        "event": "leave",
        "desc": "Home",
        "t": "c",
        "rid": "f1e2d3",
    }
    assert client.post("/owntracks", json=transition, headers=auth).status_code == 200
    assert [(f.lat, f.battery) for f in fixes_of(journey["id"])] == [(53.5426, 71), (53.5428, None)]


@pytest.mark.parametrize(
    "message",
    [
        {"_type": "lwt", "tst": 1700000000},
        {
            "_type": "waypoint",
            "desc": "Home",
            "lat": 53.5,
            "lon": -2.6,
            "rad": 50,
            "tst": 1700000000,
        },
        {"_type": "status", "android": {"hib": 1}},
        {"_type": "card", "name": "Alice", "tid": "al"},
    ],
)
def test_other_owntracks_messages_are_acknowledged_with_an_array(client, journey, device, message):
    response = client.post(
        "/owntracks", json=message, headers=basic(device["username"], device["secret"])
    )
    assert response.status_code == 200 and response.get_json() == []
    assert fixes_of(journey["id"]) == []


def test_owntracks_reply_carries_contacts_sharing_with_me(
    client, resident, other_resident, journey
):
    now = datetime.now(UTC)
    client.post(
        f"/api/v1/journeys/{journey['id']}/locations",
        json={
            "fixes": [
                {
                    "lat": 53.5431,
                    "lon": -2.6399,
                    "recorded_at": (now - timedelta(seconds=20)).isoformat(),
                    "accuracy_m": 6.4,
                    "battery": 47,
                }
            ]
        },
        headers=resident.headers,
    )
    bob_device = client.post(
        "/api/v1/location-clients", json={}, headers=other_resident.headers
    ).get_json()
    reply = client.post(
        "/owntracks",
        json=owntracks_location(int(now.timestamp()) - 5, tid="bo"),
        headers=basic(bob_device["username"], bob_device["secret"]),
    )
    topic = f"owntracks/safehaven/{resident.id}"
    assert reply.get_json() == [
        {"_type": "card", "name": "Alice Ashton", "tid": "AA", "topic": topic},
        {
            "_type": "location",
            "lat": 53.5431,
            "lon": -2.6399,
            "tst": int((now - timedelta(seconds=20)).timestamp()),
            "tid": "AA",
            "topic": topic,
            "acc": 6,
            "batt": 47,
        },
    ]
    views = client.get("/api/v1/contacts/views", headers=resident.headers).get_json()
    assert [(v["via"], v["viewer"]["id"]) for v in views] == [("owntracks", other_resident.id)]


def test_owntracks_without_an_active_journey_still_replies(client, device):
    tst = int(datetime.now(UTC).timestamp())
    response = client.post(
        "/owntracks",
        json=owntracks_location(tst),
        headers=basic(device["username"], device["secret"]),
    )
    assert response.status_code == 200 and response.get_json() == []


@pytest.mark.parametrize("how", ["none", "wrong-secret", "wrong-user", "bearer", "garbage"])
def test_owntracks_refuses_bad_credentials(client, device, how):
    headers = {
        "none": {},
        "wrong-secret": basic(device["username"], "x" * 32),
        "wrong-user": basic("sh-000000000000", device["secret"]),
        "bearer": {"Authorization": "Bearer abc"},
        "garbage": {"Authorization": "Basic %%%"},
    }[how]
    response = client.post("/owntracks", json=owntracks_location(1700000000), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_a_revoked_credential_stops_working(client, resident, device):
    assert (
        client.delete(
            f"/api/v1/location-clients/{device['id']}", headers=resident.headers
        ).status_code
        == 204
    )
    response = client.post(
        "/owntracks",
        json=owntracks_location(1700000000),
        headers=basic(device["username"], device["secret"]),
    )
    assert response.status_code == 401
    assert client.get("/api/v1/location-clients", headers=resident.headers).get_json() == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"lat": "north"}, "lat"),
        ({"lon": 200}, "lon"),
        ({"tst": "soon"}, "tst"),
        ({"lat": None}, "lat"),
    ],
)
def test_owntracks_bad_values_are_acknowledged_not_stored_and_named(
    client, device, journey, payload, field
):
    """OwnTracks resends anything not answered with a 2xx array: a message that can never be
    stored is acknowledged with the array, and the header names the field."""
    body = {**owntracks_location(int(datetime.now(UTC).timestamp())), **payload}
    response = client.post(
        "/owntracks", json=body, headers=basic(device["username"], device["secret"])
    )
    assert response.status_code == 200 and response.get_json() == []
    assert response.headers["X-SafeHaven-Rejected"].startswith(f"{field}:")
    assert fixes_of(journey["id"]) == []


def test_owntracks_non_json_is_acknowledged_with_the_reason(client, device):
    response = client.post(
        "/owntracks", data="not json", headers=basic(device["username"], device["secret"])
    )
    assert response.status_code == 200 and response.get_json() == []
    assert response.headers["X-SafeHaven-Rejected"].startswith("_type:")


# --- Traccar Client (OsmAnd) ---------------------------------------------------------------


def test_osmand_query_string_with_speed_in_knots(client, journey, device):
    ts = int(datetime.now(UTC).timestamp()) - 40
    response = client.get(
        f"/osmand?id={device['secret']}&timestamp={ts}&lat=53.54252&lon=-2.64048"
        "&speed=2.5&bearing=41.3&altitude=51.0&accuracy=8.0&batt=66.0&charge=false"
    )
    assert response.status_code == 200
    (row,) = fixes_of(journey["id"])
    assert (row.lat, row.lon, row.accuracy_m, row.battery, row.source) == (
        53.54252,
        -2.64048,
        8,
        66,
        "traccar",
    )
    assert row.speed_mps == pytest.approx(2.5 * 0.514444)
    assert row.recorded_at == datetime.fromtimestamp(ts, UTC)


def test_osmand_form_post_with_millisecond_timestamp(client, journey, device):
    ms = int(datetime.now(UTC).timestamp() * 1000) - 20_000
    response = client.post(
        "/osmand",
        data={
            "id": device["secret"],
            "timestamp": str(ms),
            "lat": "53.5426",
            "lon": "-2.6404",
            "speed": "0.0",
        },
    )
    assert response.status_code == 200
    (row,) = fixes_of(journey["id"])
    assert row.recorded_at == datetime.fromtimestamp(ms / 1000, UTC)


def test_osmand_iso_timestamp(client, journey, device):
    at = (datetime.now(UTC) - timedelta(seconds=15)).replace(microsecond=0)
    response = client.post(
        f"/osmand?id={device['secret']}&lat=53.5427&lon=-2.6403&timestamp={at.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    assert response.status_code == 200
    assert fixes_of(journey["id"])[0].recorded_at == at


def test_traccar_client_json_body(client, journey, device):
    at = (datetime.now(UTC) - timedelta(seconds=10)).replace(microsecond=0)
    body = {
        "location": {
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "coords": {
                "latitude": 53.5429,
                "longitude": -2.6401,
                "accuracy": 4.9,
                "speed": 1.4,
                "heading": 88.0,
                "altitude": 49.7,
            },
            "is_moving": True,
            "odometer": 1234.5,
            "event": "motionchange",
            "battery": {"level": 0.62, "is_charging": False},
            "activity": {"type": "walking"},
            "extras": {},
        },
        "device_id": device["secret"],
    }
    response = client.post("/osmand", json=body)
    assert response.status_code == 200
    (row,) = fixes_of(journey["id"])
    assert (row.lat, row.lon, row.accuracy_m, row.battery, row.speed_mps) == (
        53.5429,
        -2.6401,
        4.9,
        62,
        1.4,
    )
    assert row.recorded_at == at


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("lat=53.5&lon=-2.6&timestamp=1700000000", 422, "id"),
        ("id=unknown-device&lat=53.5&lon=-2.6&timestamp=1700000000", 401, None),
    ],
)
def test_osmand_requests_without_a_known_device_are_refused(
    client, journey, device, query, status, field
):
    response = client.get("/osmand?" + query.format(secret=device["secret"]))
    assert response.status_code == status
    if field:
        assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lat=abc&lon=-2.6&timestamp={now}", "lat"),
        ("lat=53.5&lon=-2.6&timestamp=never", "timestamp"),
        ("location=53.5&timestamp={now}", "location"),
        ("location=53.5,north&timestamp={now}", "location"),
        ("location=95.0,-2.6&timestamp={now}", "location"),
        ("lat=53.5&lon=-2.6&timestamp={now}&speed=fast", "speed"),
        ("lat=53.5&lon=-2.6&timestamp=1700000000", "recorded_at"),  # before the journey
        ("lat=53.5&lon=-2.6&timestamp={future}", "recorded_at"),  # 3 minutes ahead
    ],
)
def test_osmand_bad_fixes_of_a_known_device_are_acknowledged_not_stored_and_named(
    client, journey, device, query, field
):
    """Traccar Client resends a position until it is answered 200, before any later one: a
    fix that can never be stored is acknowledged (200) and the header names the field."""
    now = datetime.now(UTC).timestamp()
    query = query.format(now=int(now), future=int(now + 180))
    response = client.get(f"/osmand?id={device['secret']}&" + query)
    assert response.status_code == 200
    assert field in response.headers["X-SafeHaven-Rejected"]
    assert fixes_of(journey["id"]) == []


# --- Traccar's own decoder: the details (issue 24) ----------------------------------------


@pytest.mark.parametrize("batt", ["-1", "-1.0"])
def test_osmand_battery_minus_one_is_unknown_not_flat(client, journey, device, batt):
    ts = int(datetime.now(UTC).timestamp()) - 30
    response = client.get(
        f"/osmand?id={device['secret']}&timestamp={ts}&lat=53.5425&lon=-2.6405&batt={batt}"
    )
    assert response.status_code == 200 and "X-SafeHaven-Rejected" not in response.headers
    (row,) = fixes_of(journey["id"])
    assert row.battery is None


def test_osmand_form_battery_minus_one_is_unknown(client, journey, device):
    ts = int(datetime.now(UTC).timestamp()) - 30
    response = client.post(
        "/osmand",
        data={
            "id": device["secret"],
            "timestamp": str(ts),
            "lat": "53.5",
            "lon": "-2.6",
            "batt": "-1",
        },
    )
    assert response.status_code == 200
    assert [row.battery for row in fixes_of(journey["id"])] == [None]


def traccar_json(secret: str, **location):  # type: ignore[no-untyped-def]
    body = {
        "timestamp": (datetime.now(UTC) - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "coords": {"latitude": 53.5429, "longitude": -2.6401, "accuracy": 5.0},
        "battery": {"level": 0.5, "is_charging": False},
        **location,
    }
    return {"location": {k: v for k, v in body.items() if v is not None}, "device_id": secret}


@pytest.mark.parametrize(("level", "stored"), [(-1, None), (-1.0, None), (0.0, 0), (1, 100)])
def test_traccar_json_battery_level(client, journey, device, level, stored):
    body = traccar_json(device["secret"], battery={"level": level, "is_charging": False})
    assert client.post("/osmand", json=body).status_code == 200
    assert [row.battery for row in fixes_of(journey["id"])] == [stored]


def test_osmand_location_as_one_parameter(client, journey, device):
    ts = int(datetime.now(UTC).timestamp()) - 20
    response = client.get(f"/osmand?id={device['secret']}&timestamp={ts}&location=53.5470,-2.6348")
    assert response.status_code == 200 and "X-SafeHaven-Rejected" not in response.headers
    (row,) = fixes_of(journey["id"])
    assert (row.lat, row.lon) == (53.547, -2.6348)


def test_osmand_without_timestamp_uses_the_server_time(client, journey, device):
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.get(f"/osmand?id={device['secret']}&lat=53.5425&lon=-2.6405")
    after = datetime.now(UTC)
    assert response.status_code == 200 and "X-SafeHaven-Rejected" not in response.headers
    (row,) = fixes_of(journey["id"])
    assert before <= row.recorded_at.replace(tzinfo=UTC) <= after


def test_traccar_json_without_timestamp_uses_the_server_time(client, journey, device):
    before = datetime.now(UTC).replace(microsecond=0)
    body = traccar_json(device["secret"])
    del body["location"]["timestamp"]
    assert client.post("/osmand", json=body).status_code == 200
    (row,) = fixes_of(journey["id"])
    assert before <= row.recorded_at.replace(tzinfo=UTC) <= datetime.now(UTC)


@pytest.mark.parametrize("coords", ["absent", {}])
def test_traccar_json_without_coords_is_400_and_stores_nothing(client, journey, device, coords):
    body = traccar_json(device["secret"])
    if coords == "absent":
        del body["location"]["coords"]
    else:
        body["location"]["coords"] = coords
    response = client.post("/osmand", json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == 400 and "location.coords" in error["errors"]
    assert "no position" in error["message"]
    assert fixes_of(journey["id"]) == []


def test_a_time_without_an_offset_is_utc_on_every_location_route(client, journey, device):
    """``2026-07-01 12:00:00``-style times are UTC (as Traccar reads them), on /osmand (query
    and JSON) and /owntracks alike; the app's own API refuses a time without an offset."""
    base = (datetime.now(UTC) - timedelta(seconds=50)).replace(microsecond=0)
    naive = [(base + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(3)]
    assert (
        client.get(
            f"/osmand?id={device['secret']}&lat=53.54&lon=-2.64&timestamp={naive[0]}"
        ).status_code
        == 200
    )
    body = traccar_json(device["secret"], timestamp=naive[1])
    assert client.post("/osmand", json=body).status_code == 200
    response = client.post(
        "/owntracks",
        json={**owntracks_location(0), "tst": naive[2]},
        headers=basic(device["username"], device["secret"]),
    )
    assert "X-SafeHaven-Rejected" not in response.headers
    stored = [row.recorded_at.replace(tzinfo=UTC) for row in fixes_of(journey["id"])]
    assert stored == [base + timedelta(seconds=i) for i in range(3)]


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-29 01:30:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # skipped in the UK
        ("2026-10-25 01:30:00", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),  # twice in the UK
        ("2026-10-25T01:30:00", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
        ("2026-10-25T01:30:00+01:00", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("2026-10-25T01:30:00Z", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ],
)
def test_a_location_clients_time_without_an_offset_is_utc_on_the_nights_the_clocks_change(
    text, utc
):
    """One instant each, the UTC one: an hour the UK clock skips or repeats changes nothing."""
    assert clients.timestamp(text, "timestamp") == utc


def test_owntracks_fix_reaches_a_watcher_stream(client, resident, other_resident, journey, device):
    from tests.support.journeys import SSEReader

    stream = client.get(
        f"/api/v1/journeys/{journey['id']}/stream", headers=other_resident.headers, buffered=False
    )
    events = SSEReader(stream.response)
    try:
        events.next_event()
        tst = int(datetime.now(UTC).timestamp()) - 3
        client.post(
            "/owntracks",
            json=owntracks_location(tst),
            headers=basic(device["username"], device["secret"]),
        )
        kind, data = events.next_event()
        assert (kind, data["lat"], data["battery"]) == ("fix", 53.54251, 85)
    finally:
        stream.close()


# --- the lean path: credentials looked up once per bound, replies read when they can change


def _owntracks(client, device, seconds_ago: int = 5, **overrides):  # type: ignore[no-untyped-def]
    tst = int(datetime.now(UTC).timestamp()) - seconds_ago
    return client.post(
        "/owntracks",
        json=owntracks_location(tst, **overrides),
        headers=basic(device["username"], device["secret"]),
    )


def _osmand(client, device, seconds_ago: int = 5):  # type: ignore[no-untyped-def]
    ts = int(datetime.now(UTC).timestamp()) - seconds_ago
    return client.post(f"/osmand?id={device['secret']}&timestamp={ts}&lat=53.5426&lon=-2.6404")


def test_a_credential_in_use_is_refused_at_once_once_revoked_on_this_process(
    client, resident, journey, device
):
    """The credential was looked up and kept by this process's first posts; revoking it
    here forgets it at once, for OwnTracks and OsmAnd alike."""
    assert _owntracks(client, device, 30).status_code == 200
    assert _osmand(client, device, 20).status_code == 200
    assert len(fixes_of(journey["id"])) == 2
    deleted = client.delete(f"/api/v1/location-clients/{device['id']}", headers=resident.headers)
    assert deleted.status_code == 204
    refused = _owntracks(client, device, 10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="SafeHaven"'
    assert _osmand(client, device, 5).status_code == 401
    assert len(fixes_of(journey["id"])) == 2


def test_a_credential_revoked_by_another_process_is_refused_within_the_revocation_bound(
    app, client, resident, journey, device, monkeypatch
):
    """Another process's revocation reaches this one when its kept look-up is older than
    SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S, the bound a revoked sign-in token has too."""
    from sqlalchemy import update

    from backend.journeys import service
    from backend.journeys.models import LocationClient

    bound = app.config["SAFEHAVEN_SETTINGS"].firebase_revocation_check_s
    assert bound == 60
    now = [1000.0]
    monkeypatch.setattr(service, "_clock", lambda: now[0])
    assert _owntracks(client, device, 30).status_code == 200  # looked up and kept
    db.session.execute(  # revoked elsewhere: this process's kept look-up does not know
        update(LocationClient).where(LocationClient.id == device["id"]).values(revoked_at=T_NOW())
    )
    db.session.commit()
    now[0] += bound  # still within the bound: the kept look-up stands
    assert _owntracks(client, device, 20).status_code == 200
    now[0] += 1  # past it: looked up again, refused
    assert _owntracks(client, device, 10).status_code == 401
    assert _osmand(client, device, 5).status_code == 401
    assert len(fixes_of(journey["id"])) == 2


def T_NOW() -> datetime:  # noqa: N802 - reads as the constant it stands for
    return datetime.now(UTC)


@pytest.mark.parametrize("with_journey", [True, False])
def test_a_disabled_account_is_refused_at_once_with_its_credential_kept(
    client, resident, other_resident, device, with_journey
):
    from sqlalchemy import update

    from backend.auth.models import User

    if with_journey:
        befriend(client, resident, other_resident)
        start_journey(client, resident, [other_resident])
    assert _owntracks(client, device, 30).status_code == 200  # the credential is kept
    db.session.execute(update(User).where(User.id == resident.id).values(disabled=True))
    db.session.commit()
    assert _owntracks(client, device, 20).status_code == 401
    assert _owntracks(client, device, 15, _type="waypoint").status_code == 401
    assert _osmand(client, device, 10).status_code == 401


def test_the_owntracks_reply_follows_every_change_to_what_is_shared(
    client, resident, other_resident, make_person
):
    """Bob's reply is kept between his posts and read again when it can have changed: Alice
    starts a journey choosing him, moves, a third person's journey does not touch his reply,
    Alice removes him as a contact (gone at once), and a new journey."""
    from tests.support.databases import recorded_statements

    link_id = befriend(client, resident, other_resident)
    bob = client.post("/api/v1/location-clients", json={}, headers=other_resident.headers)
    bob_device = bob.get_json()
    assert _owntracks(client, bob_device, 60).get_json() == []
    with recorded_statements() as unchanged:
        assert _owntracks(client, bob_device, 59).get_json() == []
    assert not any("journey_contacts" in sql for sql in unchanged), "read though unchanged"

    journey = start_journey(client, resident, [other_resident])
    cards = _owntracks(client, bob_device, 58).get_json()
    assert [item["_type"] for item in cards] == ["card"]  # sharing, no position yet

    at = datetime.now(UTC) - timedelta(seconds=40)
    client.post(
        f"/api/v1/journeys/{journey['id']}/locations",
        json={"fixes": [{"lat": 53.5431, "lon": -2.6399, "recorded_at": at.isoformat()}]},
        headers=resident.headers,
    )
    moved = _owntracks(client, bob_device, 57).get_json()
    assert [(i["_type"], i.get("lat")) for i in moved] == [("card", None), ("location", 53.5431)]

    carol = make_person("resident-carol")
    befriend(client, carol, resident)
    start_journey(client, carol, [resident])  # shared with Alice, not Bob
    with recorded_statements() as elsewhere:
        assert _owntracks(client, bob_device, 56).get_json() == moved
    assert not any("journey_contacts" in sql for sql in elsewhere)

    assert client.delete(f"/api/v1/contacts/{link_id}", headers=resident.headers).status_code
    assert _owntracks(client, bob_device, 55).get_json() == []  # at once

    views = client.get("/api/v1/contacts/views", headers=resident.headers).get_json()
    assert [v["via"] for v in views] == ["owntracks", "owntracks"]  # each reply read


def test_fixes_follow_the_resident_to_her_next_journey(client, resident, device):
    """The active journey id kept for a credential is only a hint: once that journey has
    ended, the next fix finds the new one (and none in between)."""
    first = start_journey(client, resident)
    assert _owntracks(client, device, 40).status_code == 200
    client.post(f"/api/v1/journeys/{first['id']}/arrived", headers=resident.headers)
    assert _osmand(client, device, 30).status_code == 200  # no active journey: not stored
    second = start_journey(client, resident)
    assert _owntracks(client, device, 20).status_code == 200
    assert _osmand(client, device, 10).status_code == 200
    assert len(fixes_of(first["id"])) == 1
    assert len(fixes_of(second["id"])) == 2


def test_a_tracker_post_costs_the_app_fix_path_and_two_lookups_when_first_seen(
    client, resident, journey, device
):
    """The trackers' lean path: once its credential and reply are kept, an OwnTracks or OsmAnd
    post runs exactly the statements of the app's own fix; the first post a process sees from
    a credential adds two lone reads: the credential with its owner's active journey, and the
    journeys chosen for her to watch (none here, so nothing more is loaded for the reply)."""
    from backend.journeys import service
    from tests.support.databases import recorded_statements

    def app_post(seconds_ago: int) -> None:
        at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
        posted = client.post(
            f"/api/v1/journeys/{journey['id']}/locations",
            json={"fixes": [{"lat": 53.5431, "lon": -2.6399, "recorded_at": at.isoformat()}]},
            headers=resident.headers,
        )
        assert posted.status_code == 200 and posted.get_json()["accepted"] == 1

    service.forget_client_credentials()
    app_post(55)  # her first post (her last-seen time is written with it)
    with recorded_statements() as app_fix:
        app_post(50)
    with recorded_statements() as first:
        assert _owntracks(client, device, 40).get_json() == []
    with recorded_statements() as kept:
        assert _owntracks(client, device, 30).get_json() == []
    with recorded_statements() as osmand_kept:
        assert _osmand(client, device, 20).status_code == 200
    assert len(fixes_of(journey["id"])) == 5
    assert len(kept) == len(osmand_kept) == len(app_fix)
    assert len(first) == len(app_fix) + 2
    assert "location_clients" in first[0] and "journeys" in first[0]
    assert "journey_contacts" in first[-1]
