"""Journeys: destinations, expected arrival, one active journey, arrived / SOS / cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.alerts.models import OutboxAlert
from backend.extensions import db
from backend.journeys.models import Journey
from tests.support.journeys import PARK, PIER, befriend, fix, iso, start_journey


@pytest.fixture
def contact(client, resident, other_resident):  # type: ignore[no-untyped-def]
    befriend(client, resident, other_resident)
    return other_resident


def test_start_with_a_point_shares_with_the_chosen_contact(client, resident, contact):
    journey = start_journey(client, resident, [contact])
    assert journey["state"] == "active"
    assert journey["contact_ids"] == [contact.id]
    assert journey["destination"]["lat"] == PARK[0]
    assert journey["overdue"] is False and journey["sos"] is False
    assert journey["watch_url"] is None


def test_destination_by_postcode_uses_the_postcode_centre(client, resident):
    body = {
        "watch_link": True,
        "destination": {"postcode": "wn11aa"},
        "start": {"lat": PIER[0], "lon": PIER[1]},
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 201, response.get_json()
    dest = response.get_json()["destination"]
    assert (dest["lat"], dest["lon"], dest["postcode"]) == (53.546967, -2.635089, "WN1 1AA")


def test_unknown_postcode_names_the_field(client, resident):
    body = {
        "watch_link": True,
        "destination": {"postcode": "ZZ9 9ZZ"},
        "start": {"lat": PIER[0], "lon": PIER[1]},
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    assert "destination.postcode" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "destination",
    [{}, {"lat": 53.5}, {"lat": 53.5, "lon": -2.6, "postcode": "WN1 1AA"}, {"lat": 91, "lon": 0}],
)
def test_malformed_destinations_are_422(client, resident, destination):
    body = {
        "watch_link": True,
        "destination": destination,
        "start": {"lat": PIER[0], "lon": PIER[1]},
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    assert "destination" in response.get_json()["errors"]


def test_expected_arrival_is_computed_at_walking_pace_from_the_start(client, resident):
    before = datetime.now(UTC)
    body = {
        "watch_link": True,
        "destination": {"lat": PARK[0], "lon": PARK[1]},
        "start": {"lat": PIER[0], "lon": PIER[1]},
    }
    journey = client.post("/api/v1/journeys", json=body, headers=resident.headers).get_json()
    started = datetime.fromisoformat(journey["started_at"])
    eta = datetime.fromisoformat(journey["expected_arrival_at"])
    from backend.spatial import haversine_m

    # straight line x 1.3 detour at 1.25 m/s (4.5 km/h), rounded up to a whole second
    walk = haversine_m(*PIER, *PARK) * 1.3 / 1.25
    assert 1000 < walk < 1300
    assert walk <= (eta - started).total_seconds() < walk + 1
    assert started >= before - timedelta(seconds=1)


def test_without_expected_arrival_or_start_it_is_422(client, resident):
    body = {"watch_link": True, "destination": {"lat": PARK[0], "lon": PARK[1]}}
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    assert "expected_arrival_at" in response.get_json()["errors"]


@pytest.mark.parametrize("minutes", [-5, 60 * 25])
def test_expected_arrival_must_be_soon_and_in_the_future(client, resident, minutes):
    body = {
        "watch_link": True,
        "destination": {"lat": PARK[0], "lon": PARK[1]},
        "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=minutes)),
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    assert "expected_arrival_at" in response.get_json()["errors"]


@pytest.mark.parametrize("status", ["verified", "candidate"])
def test_venue_destination_uses_the_venue_position(client, resident, status):
    from tests.backend.venues.factories import make_venue

    venue = make_venue(name="The Boulevard pharmacy", lat=53.5461, lon=-2.6318, status=status)
    body = {
        "watch_link": True,
        "destination": {"venue_id": venue.id},
        "start": {"lat": PIER[0], "lon": PIER[1]},
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["destination"] == {
        "lat": 53.5461,
        "lon": -2.6318,
        "label": "The Boulevard pharmacy",
        "postcode": None,
        "venue_id": venue.id,
    }


@pytest.mark.parametrize("status", ["pending", "suspended", "rejected", None])
def test_an_unknown_or_unpublished_venue_is_not_a_destination(client, resident, status):
    from tests.backend.venues.factories import make_venue

    venue_id = make_venue(name="Not yet verified", status=status).id if status else 999_999
    body = {
        "watch_link": True,
        "destination": {"venue_id": venue_id},
        "start": {"lat": PIER[0], "lon": PIER[1]},
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"destination.venue_id": ["no such venue"]}


def test_only_accepted_contacts_can_be_chosen(client, resident, other_resident, make_person):
    stranger = make_person("resident-mallory")
    body = {
        "watch_link": True,
        "destination": {"lat": PARK[0], "lon": PARK[1]},
        "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=20)),
        "contact_ids": [stranger.id],
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    assert "contact_ids" in response.get_json()["errors"]
    # the link goes one way: bob trusting alice does not let alice choose bob
    befriend(client, other_resident, resident)
    body["contact_ids"] = [other_resident.id]
    assert client.post("/api/v1/journeys", json=body, headers=resident.headers).status_code == 422


def test_a_journey_shared_with_no_one_is_refused_in_a_plain_sentence(client, resident):
    body = {
        "destination": {"lat": PARK[0], "lon": PARK[1]},
        "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=20)),
        "contact_ids": [],
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert response.status_code == 422
    refusal = response.get_json()
    assert refusal["errors"]["code"] == ["no_recipients"] and "contact_ids" in refusal["errors"]
    assert refusal["message"].startswith("Choose at least one trusted contact")
    assert db.session.query(Journey).count() == 0
    with_link = client.post(
        "/api/v1/journeys", json={**body, "watch_link": True}, headers=resident.headers
    )
    assert with_link.status_code == 201 and with_link.get_json()["watch_url"]


def test_one_active_journey_per_resident(client, resident):
    first = start_journey(client, resident)
    body = {
        "watch_link": True,
        "destination": {"lat": PARK[0], "lon": PARK[1]},
        "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=20)),
    }
    assert client.post("/api/v1/journeys", json=body, headers=resident.headers).status_code == 409
    client.post(f"/api/v1/journeys/{first['id']}/arrived", headers=resident.headers)
    assert client.post("/api/v1/journeys", json=body, headers=resident.headers).status_code == 201


def test_arrival_ends_the_journey_and_queues_an_alert_for_contacts(client, resident, contact):
    journey = start_journey(client, resident, [contact])
    response = client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=resident.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "arrived" and body["ended_at"] is not None
    alerts = db.session.query(OutboxAlert).all()
    assert [(a.kind, a.recipients, a.journey_id) for a in alerts] == [
        ("arrival", f"[{contact.id}]", journey["id"])
    ]
    again = client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=resident.headers)
    assert again.status_code == 409


def test_sos_carries_the_last_position_and_battery(client, resident, contact):
    journey = start_journey(client, resident, [contact])
    now = datetime.now(UTC)
    client.post(
        f"/api/v1/journeys/{journey['id']}/locations",
        json={"fixes": [fix(53.5450, -2.6390, now - timedelta(seconds=5), battery=41)]},
        headers=resident.headers,
    )
    response = client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers)
    assert response.status_code == 200
    assert response.get_json()["sos"] is True and response.get_json()["state"] == "active"
    alert = db.session.query(OutboxAlert).one()
    assert alert.kind == "sos"
    assert "(53.5450, -2.6390) at " in alert.body and "battery 41%" in alert.body
    assert alert.body.startswith("Your contact pressed SOS. Near WN")  # no name set: no id
    import json

    data = json.loads(alert.data)
    assert (data["lat"], data["lon"], data["battery"]) == ("53.545000", "-2.639000", "41")


def test_cancel_ends_without_an_alert(client, resident, contact):
    journey = start_journey(client, resident, [contact])
    response = client.post(f"/api/v1/journeys/{journey['id']}/cancel", headers=resident.headers)
    assert response.get_json()["state"] == "cancelled"
    assert db.session.query(OutboxAlert).count() == 0
    assert (
        client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers).status_code
        == 409
    )


def test_the_sweep_raises_overdue_once_after_the_grace_period(app, client, resident, contact):
    from backend.journeys import service

    journey = start_journey(client, resident, [contact])
    row = db.session.get(Journey, journey["id"])
    expected = row.expected_arrival_at
    assert row.next_check_at == expected + timedelta(minutes=10)
    assert service.sweep_due(now=expected + timedelta(minutes=9)) == 0
    assert service.sweep_due(now=expected + timedelta(minutes=10)) == 1
    assert service.sweep_due(now=expected + timedelta(minutes=30)) == 0
    db.session.expire_all()
    row = db.session.get(Journey, journey["id"])
    assert row.overdue is True and row.next_check_at is None
    assert [a.kind for a in db.session.query(OutboxAlert)] == ["overdue"]


def test_the_sweep_raises_stationary_after_five_minutes_without_movement(
    app, client, resident, contact
):
    from backend.journeys import service

    journey = start_journey(client, resident, [contact])
    # from the last fix the phone had at the start (within the tolerance before it), so that
    # the last fix below is not ahead of the server's clock
    t0 = datetime.now(UTC) - timedelta(minutes=8)
    url = f"/api/v1/journeys/{journey['id']}/locations"
    # walking, then standing still (within 40 m) from t0 + 60 s
    fixes = [fix(53.5425 + i * 0.0004, -2.6405, t0 + timedelta(seconds=15 * i)) for i in range(5)]
    fixes += [
        fix(53.5441 + 0.00005 * (i % 2), -2.6405, t0 + timedelta(seconds=75 + 15 * i))
        for i in range(4)
    ]
    assert client.post(url, json={"fixes": fixes}, headers=resident.headers).status_code == 200
    row = db.session.get(Journey, journey["id"])
    still_since = t0 + timedelta(seconds=60)
    assert row.anchor_at == still_since
    assert row.next_check_at == still_since + timedelta(minutes=5)
    assert service.sweep_due(now=still_since + timedelta(minutes=4, seconds=59)) == 0
    assert service.sweep_due(now=still_since + timedelta(minutes=5)) == 1
    db.session.expire_all()
    assert db.session.get(Journey, journey["id"]).stationary is True
    assert [a.kind for a in db.session.query(OutboxAlert)] == ["stationary"]
    # moving again clears the flag and re-arms the check
    moved = [fix(53.5470, -2.6405, still_since + timedelta(minutes=6))]
    client.post(url, json={"fixes": moved}, headers=resident.headers)
    db.session.expire_all()
    row = db.session.get(Journey, journey["id"])
    assert row.stationary is False
    assert row.next_check_at == min(
        row.expected_arrival_at + timedelta(minutes=10),
        still_since + timedelta(minutes=11),
    )


def test_the_sweep_reads_only_due_journeys(app, make_person):
    """Cost grows with the due journeys: the query is a range scan on next_check_at."""
    from backend.auth.models import User
    from backend.journeys import service

    base = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    for i in range(30):
        person = make_person(f"walker-{i}")
        user = db.session.get(User, person.id)
        service.start_journey(
            user,
            {
                "destination": {"lat": PARK[0], "lon": PARK[1]},
                "expected_arrival_at": base + timedelta(minutes=20 + i),
                "watch_link": True,
            },
            now=base,
        )
    # grace 10 min: at base + 35 min, journeys 0..5 are due
    assert service.sweep_due(now=base + timedelta(minutes=35)) == 6
    assert db.session.query(Journey).filter(Journey.overdue.is_(True)).count() == 6


def test_thresholds_are_configurable(app, monkeypatch):
    from backend.journeys import service

    assert service.setting("STATIONARY_MINUTES") == 5
    monkeypatch.setenv("SAFEHAVEN_JOURNEY_STATIONARY_MINUTES", "8")
    assert service.setting("STATIONARY_MINUTES") == 8
    monkeypatch.setitem(app.config, "JOURNEY_STATIONARY_MINUTES", 3)
    assert service.setting("STATIONARY_MINUTES") == 3
