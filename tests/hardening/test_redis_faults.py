"""Redis stops during live sharing: location posts still succeed and are stored, and the
real-time stream resumes when Redis is back. A private redis-server on a free port (never the
shared one)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.apps import make_test_app
from tests.support.journeys import befriend, fix, start_journey

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis():  # type: ignore[no-untyped-def]
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    server = PrivateRedis(_free_port())
    server.start()
    yield server
    server.stop()


def test_location_posts_survive_a_redis_outage_and_the_stream_resumes(
    database_url, app, private_redis, resident, other_resident
):
    from backend.extensions import db
    from backend.journeys.models import LocationFix
    from backend.realtime.broker import close_broker, get_broker, journey_channel

    live = make_test_app(
        database_url,
        # The limiter keeps memory storage: this test is about the real-time broker.
        env={"REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0"},
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
            lat = 53.5500
            while received is None and time.monotonic() < deadline:
                lat += 0.0001
                assert post(10 + int((lat - 53.55) * 10000), lat).status_code == 200
                received = watcher.get(timeout=0.5)
            assert received is not None, "the stream did not resume after Redis returned"
            assert received["journey_id"] == journey["id"]

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
        REDIS_URL=f"redis://127.0.0.1:{private_redis.port}/0",
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
    assert down.get_json()["broker"] == {"ok": False, "kind": "redis", "error": "ConnectionError"}
    assert down.get_json()["database"]["ok"] is True

    private_redis.start()
    assert client.get("/healthz").status_code == 200
