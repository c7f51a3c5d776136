"""An SOS is stored and answered while its dependencies fail: Redis (the limiter's counters
and the real-time broker) stopped under gunicorn, FCM answering 503. A private redis-server on
a free port, never the shared one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from backend.alerts.models import AlertDelivery
from backend.extensions import db
from backend.sos.models import SosEvent
from tests.support.apps import TEST_SECRET, make_test_app
from tests.support.fcm import UNAVAILABLE, intercepted_fcm
from tests.support.journeys import PIER, befriend, iso
from tests.support.servers import gunicorn

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def sos_body(**extra):  # type: ignore[no-untyped-def]
    return {
        "client_id": str(uuid.uuid4()),
        "lat": PIER[0],
        "lon": PIER[1],
        "battery": 30,
        "recorded_at": iso(datetime.now(UTC) - timedelta(seconds=2)),
        **extra,
    }


def stored_sos(client_ids: list[str]) -> set[str]:
    db.session.expire_all()
    found = db.session.scalars(select(SosEvent.client_id).where(SosEvent.client_id.in_(client_ids)))
    return set(found)


def test_an_sos_is_stored_and_answered_under_gunicorn_while_redis_is_down(
    app,
    client,
    database_url,
    private_redis,
    resident,
    other_resident,
):
    befriend(client, resident, other_resident)
    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": private_redis.url,
        "SAFEHAVEN_REDIS_PREFIX": f"sosfault-{uuid.uuid4().hex[:8]}:",
        # the rate limit is ON: its counters live in the Redis that is about to stop
    }
    with gunicorn(env) as server, requests.Session() as http:
        http.headers.update(resident.headers)
        before = http.post(f"{server}/api/v1/sos", json=sos_body(), timeout=60)
        assert before.status_code == 201, before.text
        assert before.headers.get("X-RateLimit-Limit")  # the limiter was counting in Redis

        private_redis.stop()  # Redis dies mid-emergency
        during = sos_body()
        answer = http.post(f"{server}/api/v1/sos", json=during, timeout=60)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["status"] == "active"
        assert [r["user_id"] for r in body["recipients"]] == [other_resident.id]
        resent = http.post(f"{server}/api/v1/sos", json=during, timeout=60)
        assert resent.status_code == 200 and resent.json()["id"] == body["id"]
        on_journey = http.post(f"{server}/api/v1/journeys/{body['journey_id']}/sos", timeout=60)
        assert on_journey.status_code == 200, on_journey.text
        assert on_journey.json()["sos"] is True

        # still limited, counted in the process: 10 a minute (one thread, one worker)
        codes = [
            http.post(f"{server}/api/v1/sos", json=sos_body(), timeout=60).status_code
            for _ in range(12)
        ]
        assert 429 in codes and codes[0] == 201, codes
        refused = http.post(f"{server}/api/v1/sos", json=sos_body(), timeout=60)
        assert refused.status_code == 429
        assert set(refused.json()) == {"code", "status", "message", "errors"}

    assert stored_sos([during["client_id"]]) == {during["client_id"]}
    assert db.session.scalar(select(SosEvent).where(SosEvent.id == body["id"])) is not None


def test_an_sos_is_stored_when_the_broker_is_down_and_fcm_fails(
    database_url,
    app,
    private_redis,
    resident,
    other_resident,
):
    import firebase_admin

    from backend.alerts.fcm import fcm_pusher
    from backend.alerts.worker import run_once
    from backend.realtime.broker import close_broker

    live = make_test_app(
        database_url,
        env={"REDIS_URL": private_redis.url},
        SAFEHAVEN_REDIS_PREFIX=f"sosfault-{uuid.uuid4().hex[:8]}:",
    )
    client = live.test_client()
    fcm_app, fake = intercepted_fcm("sos-fcm-down")
    try:
        befriend(client, resident, other_resident)
        client.post(
            "/api/v1/me/devices", json={"token": "bob-" + "p" * 60}, headers=other_resident.headers
        )
        private_redis.stop()  # broker and limiter storage both gone
        fake.responder = lambda body: UNAVAILABLE  # and FCM is failing
        response = client.post("/api/v1/sos", json=sos_body(), headers=resident.headers)
        assert response.status_code == 201, response.get_json()
        answer = response.get_json()
        summary = run_once(live, fcm_pusher(fcm_app))
        assert summary["expanded"] == 1 and summary["retry"] == 1
        assert len(fake.requests) == 1
        sent = fake.requests[0]["message"]
        assert sent["token"] == "bob-" + "p" * 60
        assert sent["data"]["alert_id"] == str(answer["alert_id"])
        assert sent["data"]["kind"] == "sos"
        again = client.get(f"/api/v1/sos/{answer['id']}", headers=resident.headers).get_json()
        assert [r["delivery"] for r in again["recipients"]] == ["pending"]
        with live.app_context():
            delivery = db.session.scalars(select(AlertDelivery)).one()
            assert (delivery.status, delivery.attempts) == ("pending", 1)
            assert (delivery.last_error or "").startswith("UnavailableError")
            db.session.remove()
    finally:
        firebase_admin.delete_app(fcm_app)
        close_broker(live)
        from backend.extensions import limiter

        limiter.init_app(app)  # give the session app its in-memory limiter storage back


def test_a_catch_up_batch_of_fixes_is_stored_while_redis_is_down(
    database_url,
    app,
    private_redis,
    resident,
    other_resident,
):
    """Past a tenth of the per-minute fix budget the count goes to the limiter's shared storage;
    with Redis stopped it is counted in the process instead of failing the batch."""
    from backend.journeys.limits import reset_fix_budget
    from backend.journeys.models import LocationFix
    from backend.realtime.broker import close_broker
    from tests.support.journeys import fix, start_journey

    live = make_test_app(
        database_url,
        env={"REDIS_URL": private_redis.url},
        SAFEHAVEN_REDIS_PREFIX=f"sosfault-{uuid.uuid4().hex[:8]}:",
    )
    client = live.test_client()
    reset_fix_budget()
    try:
        befriend(client, resident, other_resident)
        journey = start_journey(client, resident, [other_resident])
        private_redis.stop()
        start = datetime.now(UTC) - timedelta(minutes=5)
        batch = [
            fix(53.5425 + i / 100000, -2.6405, start + timedelta(seconds=i)) for i in range(300)
        ]
        response = client.post(
            f"/api/v1/journeys/{journey['id']}/locations",
            json={"fixes": batch},
            headers=resident.headers,
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["accepted"] == 300
        with live.app_context():
            stored = db.session.query(LocationFix).filter_by(journey_id=journey["id"]).count()
            db.session.remove()
        assert stored == 300
    finally:
        reset_fix_budget()
        close_broker(live)
        from backend.extensions import limiter

        limiter.init_app(app)
