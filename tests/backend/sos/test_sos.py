"""SOS from anywhere: one request, one transaction, safe to resend; the answer names the
people alerted and says only what the server knows about delivery."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.alerts.models import OutboxAlert
from backend.extensions import db
from backend.journeys.models import Journey, LocationFix
from backend.sos.models import SosEvent
from tests.support.journeys import PIER, befriend, iso, start_journey


def sos_body(**extra):  # type: ignore[no-untyped-def]
    body = {
        "client_id": str(uuid.uuid4()),
        "lat": PIER[0],
        "lon": PIER[1],
        "accuracy_m": 8.5,
        "battery": 37,
        "recorded_at": iso(datetime.now(UTC) - timedelta(seconds=4)),
        "journey_id": None,
    }
    body.update(extra)
    return body


def count(model) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def sam(make_person):  # type: ignore[no-untyped-def]
    return make_person("resident-sam")


@pytest.fixture
def circle(client, resident, other_resident, sam):  # type: ignore[no-untyped-def]
    """alice trusts bob (named Bob, one phone) and sam (no name, no phone)."""
    client.patch("/api/v1/me", json={"display_name": "Alice"}, headers=resident.headers)
    client.patch("/api/v1/me", json={"display_name": "Bob"}, headers=other_resident.headers)
    befriend(client, resident, other_resident)
    befriend(client, resident, sam)
    client.post(
        "/api/v1/me/devices",
        json={"token": "bob-phone-" + "b" * 40},
        headers=other_resident.headers,
    )
    return {"alice": resident, "bob": other_resident, "sam": sam}


def test_sos_without_a_journey_starts_an_emergency_share_with_every_contact(client, circle):
    alice, bob, sam = circle["alice"], circle["bob"], circle["sam"]
    body = sos_body()
    response = client.post("/api/v1/sos", json=body, headers=alice.headers)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["client_id"] == body["client_id"] and answer["status"] == "active"
    assert answer["recipients"] == [
        {
            "user_id": bob.id,
            "display_name": "Bob",
            "devices": 1,
            "delivery": "pending",
            "delivered_at": None,
        },
        {
            "user_id": sam.id,
            "display_name": "Unnamed contact",
            "devices": 0,
            "delivery": "no_device",
            "delivered_at": None,
        },
    ]
    journey = db.session.get(Journey, answer["journey_id"])
    assert (journey.kind, journey.state, journey.sos) == ("emergency", "active", True)
    assert journey.contact_user_ids == sorted([bob.id, sam.id])
    assert journey.next_check_at is None  # no destination: never "not arrived"
    assert (journey.last_lat, journey.last_lon, journey.last_battery) == (PIER[0], PIER[1], 37)
    alert = db.session.scalars(select(OutboxAlert)).one()
    assert alert.id == answer["alert_id"] and alert.kind == "sos"
    assert json.loads(alert.recipients) == sorted([bob.id, sam.id])
    assert alert.title == "SOS from Alice"
    assert alert.body.startswith("Alice pressed SOS. Near WN")  # a place, not an id
    assert count(LocationFix) == 1
    # the contacts can watch the emergency share like any journey
    watched = client.get(f"/api/v1/journeys/{journey.id}", headers=bob.headers)
    assert watched.status_code == 200 and watched.get_json()["sos"] is True
    assert watched.get_json()["owner_name"] == "Alice"


def test_sos_on_an_active_journey_alerts_its_contacts_only(client, circle):
    alice, bob = circle["alice"], circle["bob"]
    journey = start_journey(client, alice, [bob])
    response = client.post("/api/v1/sos", json=sos_body(), headers=alice.headers)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["journey_id"] == journey["id"]
    assert [r["user_id"] for r in answer["recipients"]] == [bob.id]
    assert count(Journey) == 1
    assert db.session.get(Journey, journey["id"]).sos is True


def test_a_resent_sos_after_a_lost_answer_is_the_same_sos(client, circle):
    alice = circle["alice"]
    body = sos_body()
    first = client.post("/api/v1/sos", json=body, headers=alice.headers)
    again = client.post("/api/v1/sos", json=body, headers=alice.headers)
    upper = client.post(
        "/api/v1/sos", json={**body, "client_id": body["client_id"].upper()}, headers=alice.headers
    )
    assert (first.status_code, again.status_code, upper.status_code) == (201, 200, 200)
    assert first.get_json() == again.get_json() == upper.get_json()
    assert (count(SosEvent), count(OutboxAlert), count(Journey)) == (1, 1, 1)
    fetched = client.get(f"/api/v1/sos/{first.get_json()['id']}", headers=alice.headers)
    assert fetched.status_code == 200 and fetched.get_json() == first.get_json()


def test_concurrent_duplicates_store_one_sos(app, client, circle):
    alice = circle["alice"]
    body = sos_body()
    results: list[int] = []
    start = threading.Barrier(4)

    def post() -> None:
        with app.test_client() as own:
            start.wait()
            results.append(own.post("/api/v1/sos", json=body, headers=alice.headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200, 200, 201]
    assert (count(SosEvent), count(OutboxAlert), count(Journey)) == (1, 1, 1)


def test_another_persons_client_id_reveals_nothing(client, circle, make_person):
    alice, bob = circle["alice"], circle["bob"]
    body = sos_body()
    mine = client.post("/api/v1/sos", json=body, headers=alice.headers).get_json()
    stranger = make_person("resident-eve")
    theirs = client.post("/api/v1/sos", json=body, headers=stranger.headers)
    assert theirs.status_code == 409  # eve has no contacts: her own answer, nothing of alice's
    assert theirs.get_json()["errors"]["code"] == ["no_trusted_contacts"]
    befriend(client, bob, alice)  # bob trusts alice: bob's SOS with alice's client id
    bobs = client.post("/api/v1/sos", json=body, headers=bob.headers)
    assert bobs.status_code == 201
    assert bobs.get_json()["id"] != mine["id"]
    assert [r["user_id"] for r in bobs.get_json()["recipients"]] == [alice.id]
    for who in (stranger, bob):
        peek = client.get(f"/api/v1/sos/{mine['id']}", headers=who.headers)
        assert peek.status_code == 404 and set(peek.get_json()) >= {"code", "message"}


def test_no_contacts_is_refused_and_nothing_is_stored(client, resident):
    response = client.post("/api/v1/sos", json=sos_body(), headers=resident.headers)
    assert response.status_code == 409
    body = response.get_json()
    assert body["errors"]["code"] == ["no_trusted_contacts"] and body["code"] == 409
    assert "999" in body["message"]
    assert (count(SosEvent), count(OutboxAlert), count(Journey), count(LocationFix)) == (
        0,
        0,
        0,
        0,
    )


IN_THREE_MINUTES = object()  # a parameter list is built at collection, minutes before the test


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"client_id": None}, "client_id"),
        ({"lat": 91}, "lat"),
        ({"lon": -180.5}, "lon"),
        ({"lat": "NaN"}, "lat"),
        ({"battery": 101}, "battery"),
        ({"battery": 2**70}, "battery"),
        ({"battery": 50.5}, "battery"),
        ({"journey_id": 2**63}, "journey_id"),
        ({"accuracy_m": -1}, "accuracy_m"),
        ({"recorded_at": "2026-12-06T04:37:00"}, "recorded_at"),  # no offset
        ({"recorded_at": IN_THREE_MINUTES}, "recorded_at"),  # worked out when the test runs
        ({"recorded_at": "yesterday"}, "recorded_at"),
    ],
)
def test_bad_input_is_a_4xx_in_the_error_shape(client, circle, change, field):
    if change.get("recorded_at") is IN_THREE_MINUTES:
        change = {"recorded_at": iso(datetime.now(UTC) + timedelta(minutes=3))}
    response = client.post("/api/v1/sos", json=sos_body(**change), headers=circle["alice"].headers)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert set(body) >= {"code", "status", "message", "errors"} and field in body["errors"]
    assert count(SosEvent) == 0


def test_sos_needs_a_signed_in_person(client):
    response = client.post("/api/v1/sos", json=sos_body())
    assert response.status_code == 401 and response.get_json()["code"] == 401


def test_a_stale_journey_hint_never_blocks_an_sos(client, circle, make_person):
    alice, bob = circle["alice"], circle["bob"]
    ended = start_journey(client, alice, [bob])
    client.post(f"/api/v1/journeys/{ended['id']}/cancel", headers=alice.headers)
    response = client.post(
        "/api/v1/sos", json=sos_body(journey_id=ended["id"]), headers=alice.headers
    )
    assert response.status_code == 201
    assert response.get_json()["journey_id"] != ended["id"]  # a new emergency share


def test_delivery_moves_from_pending_to_sent_to_delivered_and_only_recipients_ack(
    app, client, circle
):
    from backend.alerts.service import SendResult
    from backend.alerts.worker import run_once

    alice, bob, sam = circle["alice"], circle["bob"], circle["sam"]
    answer = client.post("/api/v1/sos", json=sos_body(), headers=alice.headers).get_json()
    sos_url = f"/api/v1/sos/{answer['id']}"
    run_once(app, lambda item: SendResult(False, kind="retry", error="UNAVAILABLE"))
    states = {
        r["user_id"]: r["delivery"]
        for r in client.get(sos_url, headers=alice.headers).get_json()["recipients"]
    }
    assert states == {bob.id: "pending", sam.id: "no_device"}
    run_once(
        app,
        lambda item: SendResult(True, message_id="m1"),
        now=datetime.now(UTC) + timedelta(minutes=5),
    )
    states = {
        r["user_id"]: r["delivery"]
        for r in client.get(sos_url, headers=alice.headers).get_json()["recipients"]
    }
    assert states == {bob.id: "sent", sam.id: "no_device"}

    ack = f"/api/v1/alerts/{answer['alert_id']}/received"
    stranger = client.post(ack, headers=alice.headers)  # the sender is not a recipient
    assert stranger.status_code == 404
    unknown = client.post("/api/v1/alerts/999999/received", headers=bob.headers)
    assert unknown.status_code == 404
    first = client.post(ack, headers=bob.headers)
    assert first.status_code == 200 and first.get_json()["alert_id"] == answer["alert_id"]
    assert client.post(ack, headers=bob.headers).get_json() == first.get_json()
    after = client.get(sos_url, headers=alice.headers).get_json()["recipients"]
    bob_row = next(r for r in after if r["user_id"] == bob.id)
    assert bob_row["delivery"] == "delivered" and bob_row["delivered_at"] is not None
    # sam acknowledges (seen on the live stream, no phone registered): delivered too
    assert client.post(ack, headers=sam.headers).status_code == 200
    assert {
        r["delivery"] for r in client.get(sos_url, headers=alice.headers).get_json()["recipients"]
    } == {"delivered"}


def test_the_sos_ends_when_the_share_ends(client, circle):
    alice = circle["alice"]
    answer = client.post("/api/v1/sos", json=sos_body(), headers=alice.headers).get_json()
    listed = client.get("/api/v1/contacts", headers=alice.headers).get_json()["trusted"]
    assert [c["watching_my_sos"] for c in listed] == [True, True]  # warn before revoking
    client.post(f"/api/v1/journeys/{answer['journey_id']}/cancel", headers=alice.headers)
    assert (
        client.get(f"/api/v1/sos/{answer['id']}", headers=alice.headers).get_json()["status"]
        == "ended"
    )
    listed = client.get("/api/v1/contacts", headers=alice.headers).get_json()["trusted"]
    assert [c["watching_my_sos"] for c in listed] == [False, False]


def test_the_sos_is_documented_in_openapi(client):
    spec = client.get("/openapi.json").get_json()
    post = spec["paths"]["/api/v1/sos"]["post"]
    assert {"200", "201", "409"} <= set(post["responses"])
    assert "/api/v1/alerts/{alert_id}/received" in spec["paths"]


def test_the_sos_and_its_alert_are_stored_together_or_not_at_all(client, circle, monkeypatch):
    from backend.alerts import service as alerts

    def broken(**_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the outbox write failed")

    monkeypatch.setattr(alerts, "enqueue", broken)
    response = client.post("/api/v1/sos", json=sos_body(), headers=circle["alice"].headers)
    assert response.status_code == 500
    assert set(response.get_json()) == {"code", "status", "message", "errors"}
    db.session.rollback()
    assert (count(SosEvent), count(OutboxAlert), count(Journey), count(LocationFix)) == (
        0,
        0,
        0,
        0,
    )


def test_erasure_removes_the_persons_sos_and_a_recipients_erasure_drops_them(client, circle):
    alice, bob, sam = circle["alice"], circle["bob"], circle["sam"]
    answer = client.post("/api/v1/sos", json=sos_body(), headers=alice.headers).get_json()
    assert client.delete("/api/v1/me", headers=sam.headers).status_code == 200
    after = client.get(f"/api/v1/sos/{answer['id']}", headers=alice.headers).get_json()
    assert [r["user_id"] for r in after["recipients"]] == [bob.id]
    export = client.get("/api/v1/me/export", headers=alice.headers)
    assert [e["client_id"] for e in export.get_json()["data"]["sos"]["sos"]] == [
        answer["client_id"]
    ]
    assert client.delete("/api/v1/me", headers=alice.headers).status_code == 200
    assert count(SosEvent) == 0


def test_resending_one_sos_never_uses_up_the_limit_but_a_flood_of_new_ones_does(client, circle):
    alice = circle["alice"]
    body = sos_body()
    codes = [client.post("/api/v1/sos", json=body, headers=alice.headers).status_code]
    codes += [
        client.post("/api/v1/sos", json=body, headers=alice.headers).status_code for _ in range(15)
    ]
    assert codes == [201] + [200] * 15
    fresh = [
        client.post("/api/v1/sos", json=sos_body(), headers=alice.headers).status_code
        for _ in range(10)
    ]
    assert fresh == [201] * 9 + [429]
    assert count(SosEvent) == 10
