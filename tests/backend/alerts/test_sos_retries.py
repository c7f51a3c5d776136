"""Pushes of an active SOS keep retrying while the SOS lasts (backoff capped at a minute);
once the SOS ends they fall back to the ordinary limit. FCM intercepted at its HTTP boundary."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.alerts import service
from backend.alerts.fcm import fcm_pusher
from backend.alerts.models import AlertDelivery, OutboxAlert
from backend.alerts.worker import run_once
from backend.extensions import db
from tests.support.fcm import UNAVAILABLE, intercepted_fcm
from tests.support.journeys import PIER, befriend, iso

PROJECT = "demo-safehaven"
TOKEN = "bob-phone-token-" + "b" * 80


@pytest.fixture
def fcm(request):  # type: ignore[no-untyped-def]
    import firebase_admin

    app, fake = intercepted_fcm(f"test-{request.node.name}"[:100], PROJECT)
    yield fcm_pusher(app), fake
    firebase_admin.delete_app(app)


@pytest.fixture
def sos(client, resident, other_resident):  # type: ignore[no-untyped-def]
    client.patch("/api/v1/me", json={"display_name": "Alice"}, headers=resident.headers)
    befriend(client, resident, other_resident)
    client.post("/api/v1/me/devices", json={"token": TOKEN}, headers=other_resident.headers)
    body = {
        "client_id": str(uuid.uuid4()),
        "lat": PIER[0],
        "lon": PIER[1],
        "battery": 12,
        "recorded_at": iso(datetime.now(UTC)),
    }
    response = client.post("/api/v1/sos", json=body, headers=resident.headers)
    assert response.status_code == 201
    return response.get_json()


def delivery(kind: str = "sos") -> AlertDelivery:
    db.session.expire_all()
    return db.session.scalars(
        select(AlertDelivery)
        .join(OutboxAlert, OutboxAlert.id == AlertDelivery.alert_id)
        .where(OutboxAlert.kind == kind)
    ).one()


def test_an_active_sos_is_retried_past_the_old_limit_at_most_a_minute_apart(
    app, client, resident, sos, fcm
):
    pusher, fake = fcm
    fake.responder = lambda body: UNAVAILABLE
    now = datetime.now(UTC)
    waits = []
    for _ in range(service.MAX_ATTEMPTS * 2):
        run_once(app, pusher, now=now)
        row = delivery()
        assert row.status == "pending"
        waits.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    assert delivery().attempts == service.MAX_ATTEMPTS * 2
    assert waits[:4] == [5, 10, 20, 40] and set(waits[4:]) == {60}  # capped while SOS lasts
    assert len(fake.requests) == service.MAX_ATTEMPTS * 2
    alert = db.session.scalars(select(OutboxAlert)).one()
    assert fake.requests[-1]["message"] == {
        "token": TOKEN,
        "notification": {"title": "SOS from Alice", "body": alert.body},
        "data": {
            "journey_id": str(sos["journey_id"]),
            "lat": f"{PIER[0]:.6f}",
            "lon": f"{PIER[1]:.6f}",
            "fix_at": fake.requests[-1]["message"]["data"]["fix_at"],
            "battery": "12",
            "name": "Alice",
            "alert_id": str(sos["alert_id"]),
            "kind": "sos",
        },
        "android": {"priority": "high", "notification": {"tag": str(sos["alert_id"])}},
        "apns": {"headers": {"apns-priority": "10", "apns-collapse-id": str(sos["alert_id"])}},
    }

    # FCM comes back after more than the old 66 minutes: the SOS push still arrives
    fake.responder = fake.ok
    run_once(app, pusher, now=now)
    assert delivery().status == "sent"
    answer = client.get(f"/api/v1/sos/{sos['id']}", headers=resident.headers).get_json()
    assert [r["delivery"] for r in answer["recipients"]] == ["sent"]


def test_retries_stop_at_the_limit_once_the_sos_has_ended(app, client, resident, sos, fcm):
    pusher, fake = fcm
    fake.responder = lambda body: UNAVAILABLE
    now = datetime.now(UTC)
    for _ in range(service.MAX_ATTEMPTS + 3):
        run_once(app, pusher, now=now)
        now = delivery().next_attempt_at
    assert delivery().status == "pending"
    client.post(f"/api/v1/journeys/{sos['journey_id']}/arrived", headers=resident.headers)
    run_once(app, pusher, now=now)
    row = delivery()
    assert (row.status, row.attempts) == ("failed", service.MAX_ATTEMPTS + 4)
    sent_before = len(fake.requests)
    run_once(app, pusher, now=now + timedelta(hours=2))
    assert delivery().status == "failed"  # the SOS push is not sent again
    assert delivery("arrival").attempts >= 1
    assert {r["message"]["data"]["kind"] for r in fake.requests[sent_before:]} == {"arrival"}


def test_the_sos_backoff_is_capped_at_a_minute_and_never_overflows():
    at = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert service.backoff(40, cap_s=service.SOS_MAX_BACKOFF_S) == timedelta(seconds=60)
    assert service.backoff(5000) == timedelta(minutes=15)  # no overflow after days of retries
    assert at + service.backoff(1) == at + timedelta(seconds=5)
