"""Redis stops during live sharing: location posts still succeed and are stored, and the
real-time stream resumes when Redis is back. A private redis-server on a free port (never the
shared one)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from backend.realtime.broker import RESUBSCRIBE_BACKOFF_S
from tests.support.apps import TEST_SECRET, make_test_app
from tests.support.journeys import PARK, SSEReader, befriend, fix, iso, start_journey
from tests.support.servers import gunicorn

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_location_posts_survive_a_redis_outage_and_the_stream_resumes(
    database_url, app, private_redis, resident, other_resident
):
    from backend.extensions import db
    from backend.journeys.models import LocationFix
    from backend.realtime.broker import close_broker, get_broker, journey_channel

    live = make_test_app(
        database_url,
        # The limiter keeps memory storage: this test is about the real-time broker.
        env={"REDIS_URL": private_redis.url},
        RATELIMIT_STORAGE_URI="memory://",
        SAFEHAVEN_REDIS_PREFIX=f"fault-{uuid.uuid4().hex[:8]}:",
    )
    client = live.test_client()
    try:
        befriend(client, resident, other_resident)
        journey = start_journey(client, resident, [other_resident])
        channel = journey_channel(journey["id"])
        broker = get_broker(live)
        now = datetime.now(UTC)

        def post(seconds: int, lat: float):  # type: ignore[no-untyped-def]
            at = now - timedelta(seconds=60 - seconds)
            return client.post(
                f"/api/v1/journeys/{journey['id']}/locations",
                json={"fixes": [fix(lat, -2.64, at)]},
                headers=resident.headers,
            )

        with broker.subscribe(channel) as watcher:
            time.sleep(0.3)  # the subscription reaches Redis
            assert post(1, 53.5431).status_code == 200
            assert watcher.get(timeout=5)["lat"] == 53.5431

            private_redis.stop()  # Redis goes away mid-share
            outage = [post(2 + i, 53.5432 + i / 10000) for i in range(3)]
            assert [r.status_code for r in outage] == [200, 200, 200]
            assert all(r.get_json()["accepted"] == 1 for r in outage)

            private_redis.start()  # back on the same port: the broker resubscribes
            deadline = time.monotonic() + 20
            received = None
            markers = []
            lat = 53.5500
            while received is None and time.monotonic() < deadline:
                lat += 0.0001
                assert post(10 + int((lat - 53.55) * 10000), lat).status_code == 200
                received = watcher.get(timeout=0.5)
                if received is not None and received["type"] == "resync":
                    markers.append(received)
                    received = None
            assert received is not None, "the stream did not resume after Redis returned"
            assert received["journey_id"] == journey["id"]
            # the watcher was told it may have missed messages (streams answer with the state)
            assert markers == [{"type": "resync", "channel": channel}]

        with live.app_context():
            stored = db.session.query(LocationFix).filter_by(journey_id=journey["id"]).count()
            db.session.remove()
        assert stored >= 5  # before, during (3) and after the outage
    finally:
        close_broker(live)
        from backend.extensions import limiter

        limiter.init_app(app)  # give the session app its in-memory limiter storage back


def test_healthz_follows_a_redis_outage_on_its_kept_connection(private_redis, database_url):
    """/healthz says 503 (broker down) while Redis is stopped and 200 once it is back, on
    the broker's kept probe connection (no new connection per check)."""
    app = make_test_app(
        database_url,
        REDIS_URL=private_redis.url,
        SAFEHAVEN_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
    )
    client = app.test_client()
    before = client.get("/healthz")
    assert before.status_code == 200, before.get_json()
    from backend.realtime.broker import get_broker

    probe_pool = get_broker(app)._probe.connection_pool
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
    assert len(probe_pool._available_connections) + len(probe_pool._in_use_connections) == 1

    private_redis.stop()
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.get_json()["broker"] == {
        "ok": False,
        "kind": "redis",
        "failed": "ping",
        "error": "ConnectionError",
    }
    assert down.get_json()["database"]["ok"] is True

    private_redis.start()
    # 200 once the broker has subscribed again (within its longest backoff step).
    deadline = time.monotonic() + RESUBSCRIBE_BACKOFF_S[-1] + 3
    while (back := client.get("/healthz")).status_code != 200 and time.monotonic() < deadline:
        assert back.get_json()["failed"] == ["broker"]
        time.sleep(0.1)
    assert back.status_code == 200, back.get_json()


def _until(check, seconds: float):  # type: ignore[no-untyped-def]
    """Call ``check`` until it returns a true value or ``seconds`` pass; its last value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_healthz_fails_while_the_broker_is_not_subscribed_though_redis_answers(
    private_redis, database_url
):
    """Redis answers the probe, but this process's subscription is gone and cannot be made
    again (new connections are refused a password): /healthz says the subscription failed,
    and says 200 again once the broker has subscribed again on its own."""
    import redis

    from backend.realtime.broker import close_broker

    app = make_test_app(
        database_url,
        REDIS_URL=private_redis.url,
        SAFEHAVEN_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
    )
    client = app.test_client()
    admin = redis.Redis(port=private_redis.port)
    try:
        assert client.get("/healthz").status_code == 200  # the first check subscribes
        # Connections already signed in stay so (the probe, this one); new ones are refused.
        admin.config_set("requirepass", "locked-out")
        assert admin.client_kill_filter(_type="pubsub") == 1
        down = _until(lambda: (r := client.get("/healthz")).status_code == 503 and r, 5)
        assert down, "healthz stayed 200 with no subscription"
        assert down.get_json()["failed"] == ["broker"]
        assert down.get_json()["broker"] == {
            "ok": False,
            "kind": "redis",
            "failed": "subscription",
            "error": "not subscribed",
        }
        time.sleep(RESUBSCRIBE_BACKOFF_S[-1] * 2)  # it keeps failing past every backoff step
        assert client.get("/healthz").status_code == 503
        admin.config_set("requirepass", "")
        seconds = RESUBSCRIBE_BACKOFF_S[-1] + 3
        assert _until(lambda: client.get("/healthz").status_code == 200, seconds)
    finally:
        admin.close()
        close_broker(app)


OUTAGE_S = 10.0  # longer than every backoff step (and than all of them together)


def test_a_stream_on_another_process_comes_back_after_a_ten_second_redis_outage(
    app, database_url, private_redis, resident, other_resident
):
    """The production shape (two gunicorn processes, one Redis): Redis is down for 10 s.
    Every fix is stored; /healthz fails on both processes during the outage and recovers
    after; the watcher on the other process gets a ``resync`` with the journey as it is now
    (its position from the outage) and then the fixes posted after Redis returns."""
    assert OUTAGE_S > sum(RESUBSCRIBE_BACKOFF_S)
    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": private_redis.url,
        "SAFEHAVEN_RATELIMIT": "false",
        "SAFEHAVEN_REDIS_PREFIX": f"fault-{uuid.uuid4().hex[:8]}:",
    }
    alice, bob = resident.headers, other_resident.headers
    now = datetime.now(UTC)
    with gunicorn(env) as server_a, gunicorn(env) as server_b, requests.Session() as http:
        code = http.post(f"{server_b}/api/v1/contacts/invitations", headers=alice).json()["code"]
        assert http.post(f"{server_a}/api/v1/contacts/invitations/{code}/accept", headers=bob)
        started = http.post(
            f"{server_b}/api/v1/journeys",
            json={
                "destination": {"lat": PARK[0], "lon": PARK[1]},
                "expected_arrival_at": iso(now + timedelta(minutes=25)),
                "contact_ids": [other_resident.id],
            },
            headers=alice,
        )
        assert started.status_code == 201, started.text
        journey_id = started.json()["id"]
        sent = iter(range(1, 1000))

        def post(lat: float) -> requests.Response:
            at = now - timedelta(seconds=120) + timedelta(seconds=next(sent))
            return http.post(
                f"{server_b}/api/v1/journeys/{journey_id}/locations",
                json={"fixes": [fix(lat, -2.6399, at, battery=50)]},
                headers=alice,
            )

        with requests.get(
            f"{server_a}/api/v1/journeys/{journey_id}/stream",
            headers=bob,
            stream=True,
            timeout=(5, 60),  # heartbeats come every 15 s
        ) as stream:
            assert stream.status_code == 200
            events = SSEReader(stream.iter_content(chunk_size=None))
            kind, state = events.next_event()
            assert kind == "state"
            assert post(53.5430).json()["accepted"] == 1
            kind, data = events.next_event()
            assert (kind, data["lat"]) == ("fix", 53.5430)

            private_redis.stop()
            stopped = time.monotonic()
            during = [post(53.5431 + n / 10000) for n in range(3)]
            assert [(r.status_code, r.json()["accepted"]) for r in during] == [(200, 1)] * 3
            for server in (server_a, server_b):
                down = http.get(f"{server}/healthz")
                assert down.status_code == 503
                assert down.json()["failed"] == ["broker"]
                assert down.json()["broker"]["ok"] is False
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
            assert http.get(f"{server_a}/healthz").status_code == 503
            private_redis.start()

            seconds = RESUBSCRIBE_BACKOFF_S[-1] + 5
            for server in (server_a, server_b):
                assert _until(lambda s=server: http.get(f"{s}/healthz").status_code == 200, seconds)
            kind, data = events.next_event()
            assert kind == "resync"
            assert set(data["journey"]) == set(state["journey"])  # shaped as the state event
            assert data["journey"]["id"] == journey_id
            assert data["journey"]["last_fix"]["lat"] == 53.5433  # the outage's last fix
            after = [53.5440, 53.5441, 53.5442]
            for lat in after:
                assert post(lat).json()["accepted"] == 1
                kind, data = events.next_event()
                assert (kind, data["journey_id"], data["lat"]) == ("fix", journey_id, lat)
