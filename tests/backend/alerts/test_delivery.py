"""Alert delivery: outbox -> one delivery per device -> FCM v1 via firebase-admin, with the
request bodies asserted exactly, UNREGISTERED pruning, outages and exactly-once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.account.models import Device
from backend.alerts import service
from backend.alerts.fcm import fcm_pusher
from backend.alerts.models import AlertDelivery, OutboxAlert
from backend.alerts.worker import run_once
from backend.extensions import db
from tests.support.fcm import UNAVAILABLE, UNREGISTERED, intercepted_fcm
from tests.support.journeys import befriend, fix, start_journey

PROJECT = "demo-safehaven"
TOKENS = {
    "bob-phone": "bob-phone-token-" + "b" * 140,
    "bob-tablet": "bob-tablet-token-" + "t" * 140,
    "carol-phone": "carol-phone-token-" + "c" * 140,
}


@pytest.fixture
def fcm(request):  # type: ignore[no-untyped-def]
    import firebase_admin

    app, fake = intercepted_fcm(f"test-{request.node.name}"[:100], PROJECT)
    yield fcm_pusher(app), fake
    firebase_admin.delete_app(app)


def register(client, person, token):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/me/devices", json={"token": token}, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def walk(client, resident, other_resident, make_person):  # type: ignore[no-untyped-def]
    """alice shares a journey with bob (phone + tablet) and carol (phone)."""
    carol = make_person("resident-carol")
    client.patch("/api/v1/me", json={"display_name": "Alice"}, headers=resident.headers)
    befriend(client, resident, other_resident)
    befriend(client, resident, carol)
    register(client, other_resident, TOKENS["bob-phone"])
    register(client, other_resident, TOKENS["bob-tablet"])
    register(client, carol, TOKENS["carol-phone"])
    journey = start_journey(client, resident, [other_resident, carol])
    return {"journey": journey, "alice": resident, "bob": other_resident, "carol": carol}


def test_device_registration_validates_and_never_moves_a_token_to_another_account(
    client, resident, other_resident
):
    short = client.post("/api/v1/me/devices", json={"token": "x"}, headers=resident.headers)
    assert short.status_code == 422 and "token" in short.get_json()["errors"]
    bad = client.post(
        "/api/v1/me/devices",
        json={"token": "y" * 30, "platform": "pager"},
        headers=resident.headers,
    )
    assert bad.status_code == 422 and "platform" in bad.get_json()["errors"]
    huge = client.post("/api/v1/me/devices", json={"token": "h" * 5000}, headers=resident.headers)
    assert huge.status_code == 422 and "token" in huge.get_json()["errors"]
    first = register(client, resident, "shared-phone-token-" + "s" * 40)
    taken = client.post(
        "/api/v1/me/devices",
        json={"token": "shared-phone-token-" + "s" * 40},
        headers=other_resident.headers,
    )
    assert taken.status_code == 409  # the token's owner must let it go (tests/backend/account)
    assert db.session.get(Device, first).user_id == resident.id
    assert client.post("/api/v1/me/devices", json={"token": "z" * 30}).status_code == 401


def test_an_arrival_reaches_every_contact_device_with_the_exact_fcm_body(app, client, walk, fcm):
    pusher, fake = fcm
    client.post(f"/api/v1/journeys/{walk['journey']['id']}/arrived", headers=walk["alice"].headers)
    summary = run_once(app, pusher)
    assert summary["expanded"] == 1 and summary["sent"] == 3
    alert = db.session.scalars(select(OutboxAlert)).one()
    assert fake.urls == {f"https://fcm.googleapis.com/v1/projects/{PROJECT}/messages:send"}
    assert all(h["Authorization"] == "Bearer test-access-token" for h in fake.headers)
    expected = [
        {
            "message": {
                "token": TOKENS[name],
                "notification": {
                    "title": "Alice arrived safely",
                    "body": "Alice has arrived safely.",
                },
                "data": {
                    "journey_id": str(walk["journey"]["id"]),
                    "name": "Alice",
                    "alert_id": str(alert.id),
                    "kind": "arrival",
                },
                # the alert id tags the notification: a repeated send replaces itself in the
                # tray; no Android collapse_key (FCM keeps only four per offline device)
                "android": {"priority": "high", "notification": {"tag": str(alert.id)}},
                "apns": {"headers": {"apns-priority": "10", "apns-collapse-id": str(alert.id)}},
            }
        }
        for name in ("bob-phone", "bob-tablet", "carol-phone")
    ]
    assert sorted(fake.requests, key=json.dumps) == sorted(expected, key=json.dumps)
    deliveries = db.session.scalars(select(AlertDelivery)).all()
    assert {d.status for d in deliveries} == {"sent"}
    assert all(d.message_id.startswith(f"projects/{PROJECT}/messages/") for d in deliveries)
    # a second pass sends nothing again
    assert run_once(app, pusher)["sent"] == 0 and len(fake.requests) == 3


def test_an_sos_body_carries_position_and_battery(app, client, walk, fcm):
    pusher, fake = fcm
    journey_id = walk["journey"]["id"]
    t = datetime.now(UTC) - timedelta(seconds=3)
    client.post(
        f"/api/v1/journeys/{journey_id}/locations",
        json={"fixes": [fix(53.5441, -2.6397, t, battery=23, accuracy_m=6)]},
        headers=walk["alice"].headers,
    )
    client.post(f"/api/v1/journeys/{journey_id}/sos", headers=walk["alice"].headers)
    run_once(app, pusher)
    bodies = [r["message"] for r in fake.requests]
    assert len(bodies) == 3
    from shared_schemas.uktime import clock

    assert bodies[0]["notification"] == {
        "title": "SOS from Alice",
        "body": f"Alice pressed SOS. Near WN3 4BW, Douglas ward (53.5441, -2.6397) at {clock(t)}, "
        "battery 23%.",
    }
    assert {k: v for k, v in bodies[0]["data"].items() if k != "alert_id"} == {
        "journey_id": str(journey_id),
        "lat": "53.544100",
        "lon": "-2.639700",
        "fix_at": t.isoformat(),
        "battery": "23",
        "kind": "sos",
        "name": "Alice",
    }


def test_an_unregistered_token_is_removed_and_the_others_still_get_the_alert(
    app, client, walk, fcm
):
    pusher, fake = fcm
    dead = TOKENS["bob-tablet"]
    fake.responder = lambda body: (
        UNREGISTERED if body["message"]["token"] == dead else fake.ok(body)
    )
    client.post(f"/api/v1/journeys/{walk['journey']['id']}/sos", headers=walk["alice"].headers)
    summary = run_once(app, pusher)
    assert (summary["sent"], summary["unregistered"]) == (2, 1)
    assert db.session.scalar(select(Device).where(Device.token == dead)) is None
    assert {d.token for d in db.session.scalars(select(Device))} == {
        TOKENS["bob-phone"],
        TOKENS["carol-phone"],
    }
    statuses = {d.token: d.status for d in db.session.scalars(select(AlertDelivery))}
    assert statuses[dead] == "unregistered"
    # the next alert is not even attempted on the pruned token
    client.post(f"/api/v1/journeys/{walk['journey']['id']}/arrived", headers=walk["alice"].headers)
    run_once(app, pusher)
    assert [b["message"]["token"] for b in fake.requests].count(dead) == 1


def test_an_fcm_outage_delays_but_every_alert_arrives_exactly_once_per_device(
    app, client, walk, fcm, make_person
):
    pusher, fake = fcm
    # a second journey by dave, shared with carol, so alerts overlap across journeys
    dave = make_person("resident-dave")
    befriend(client, dave, walk["carol"])
    register(client, dave, "dave-phone-token-" + "d" * 40)  # dave's own device gets nothing
    dave_journey = start_journey(client, dave, [walk["carol"]])
    alice_id = walk["journey"]["id"]
    client.post(f"/api/v1/journeys/{alice_id}/sos", headers=walk["alice"].headers)
    client.post(f"/api/v1/journeys/{dave_journey['id']}/sos", headers=dave.headers)
    client.post(f"/api/v1/journeys/{alice_id}/arrived", headers=walk["alice"].headers)

    outage = {"down": True, "flaky": 0}

    def responder(body):  # type: ignore[no-untyped-def]
        if outage["down"]:
            return UNAVAILABLE
        outage["flaky"] += 1  # while recovering, every third request still fails
        return UNAVAILABLE if outage["flaky"] % 3 == 0 else fake.ok(body)

    fake.responder = responder
    now = datetime.now(UTC)
    for _ in range(4):  # FCM down: every attempt fails, nothing is marked sent
        summary = run_once(app, pusher, now=now)
        now += timedelta(minutes=1)
    assert fake.delivered() == []
    assert summary["retry"] > 0
    pending = db.session.scalars(select(AlertDelivery)).all()
    assert {d.status for d in pending} == {"pending"}
    assert min(d.attempts for d in pending) >= 3
    outage["down"] = False
    for _ in range(12):
        run_once(app, pusher, now=now)
        now += timedelta(minutes=5)
    alerts = {a.kind + str(a.journey_id): a.id for a in db.session.scalars(select(OutboxAlert))}
    expected = sorted(
        [(TOKENS[t], str(alerts[f"sos{alice_id}"])) for t in TOKENS]
        + [(TOKENS[t], str(alerts[f"arrival{alice_id}"])) for t in TOKENS]
        + [(TOKENS["carol-phone"], str(alerts[f"sos{dave_journey['id']}"]))]
        # an hour passed: dave's journey, still active, went overdue meanwhile
        + [(TOKENS["carol-phone"], str(alerts[f"overdue{dave_journey['id']}"]))]
    )
    assert len(alerts) == 4
    assert sorted(fake.delivered()) == expected  # each once: no duplicates, nothing lost
    db.session.expire_all()
    assert {d.status for d in db.session.scalars(select(AlertDelivery))} == {"sent"}


def test_backoff_grows_and_is_capped():
    assert [service.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert service.backoff(30) == timedelta(minutes=15)


def test_a_delivery_that_keeps_failing_is_given_up_after_the_limit(app, client, walk, fcm):
    pusher, fake = fcm
    fake.responder = lambda body: UNAVAILABLE
    client.post(f"/api/v1/journeys/{walk['journey']['id']}/arrived", headers=walk["alice"].headers)
    now = datetime.now(UTC)
    for _ in range(service.MAX_ATTEMPTS + 2):
        run_once(app, pusher, now=now)
        now += timedelta(hours=1)
    deliveries = db.session.scalars(select(AlertDelivery)).all()
    assert {(d.status, d.attempts) for d in deliveries} == {("failed", service.MAX_ATTEMPTS)}
    assert len(fake.requests) == 3 * service.MAX_ATTEMPTS


def test_notify_user_joins_the_callers_transaction(app, client, resident, other_resident, fcm):
    pusher, fake = fcm
    register(client, other_resident, "bob-only-token-" + "o" * 40)
    register(client, other_resident, "bob-second-token-" + "q" * 40)
    service.notify_user(
        other_resident.id, "report_status", "Update", "Rolled back", {"report_id": "1"}
    )
    db.session.rollback()  # the caller's change failed: no alert either
    assert db.session.query(OutboxAlert).count() == 0
    service.notify_user(
        other_resident.id,
        "report_status",
        "You said, we did",
        "Street light fixed",
        {"report_id": "9"},
    )
    assert db.session.query(OutboxAlert).count() == 1  # visible in the session, not committed
    db.session.commit()
    run_once(app, pusher)
    assert sorted(r["message"]["token"] for r in fake.requests) == sorted(
        ["bob-only-token-" + "o" * 40, "bob-second-token-" + "q" * 40]
    )
    assert fake.requests[0]["message"]["notification"] == {
        "title": "You said, we did",
        "body": "Street light fixed",
    }
    assert fake.requests[0]["message"]["data"]["report_id"] == "9"
    with pytest.raises(service.ValidationError):
        service.notify_user(other_resident.id, "x", "t", "b", {"n": 1})  # type: ignore[dict-item]


def test_the_worker_sweep_raises_overdue_and_delivers_it(app, client, walk, fcm):
    pusher, fake = fcm
    from backend.journeys.models import Journey

    expected = db.session.get(Journey, walk["journey"]["id"]).expected_arrival_at
    summary = run_once(app, pusher, now=expected + timedelta(minutes=10, seconds=1))
    assert (summary["checked"], summary["expanded"], summary["sent"]) == (1, 1, 3)
    assert {r["message"]["data"]["kind"] for r in fake.requests} == {"overdue"}
    from shared_schemas.uktime import clock

    assert fake.requests[0]["message"]["notification"] == {
        "title": "Alice has not arrived",
        "body": f"Alice was expected by {clock(expected)} and has not arrived.",
    }


@pytest.mark.postgis
def test_two_workers_at_once_never_send_a_delivery_twice(app, client, walk, fcm):
    """FOR UPDATE SKIP LOCKED: concurrent workers split the rows instead of sharing them."""
    pusher, fake = fcm
    gate = threading.Barrier(2, timeout=10)

    def slow_ok(body):  # type: ignore[no-untyped-def]
        return fake.ok(body)

    fake.responder = slow_ok
    client.post(f"/api/v1/journeys/{walk['journey']['id']}/sos", headers=walk["alice"].headers)
    client.post(f"/api/v1/journeys/{walk['journey']['id']}/arrived", headers=walk["alice"].headers)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            gate.wait()
            for _ in range(3):
                run_once(app, pusher)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(fake.delivered()) == 6
    assert len(set(fake.delivered())) == 6
