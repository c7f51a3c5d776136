"""Two real server processes sharing Redis: a watcher connected to one receives a fix posted
to the other, and a revocation on one ends the stream on the other."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from backend.realtime.broker import RedisBroker
from tests.support.apps import TEST_SECRET
from tests.support.journeys import PARK, SSEReader, fix, iso
from tests.support.servers import gunicorn

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_the_redis_broker_delivers_across_broker_instances(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    one, two = RedisBroker(redis_url, prefix), RedisBroker(redis_url, prefix)
    try:
        with one.subscribe("journey:1") as sub, one.subscribe("journey:2") as other:
            two.publish("journey:1", {"type": "fix", "lat": 1.5})
            assert sub.get(timeout=5) == {"type": "fix", "lat": 1.5}
            assert other.get(timeout=0.2) is None
    finally:
        one.close()
        two.close()


def test_publishes_reuse_one_kept_connection_and_survive_it_dying(redis_url):
    """Publishing keeps its connection for the next publish; one found dead (Redis restarted,
    or it dropped the client) is replaced and the message still goes out, once."""
    import socket

    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    here, elsewhere = RedisBroker(redis_url, prefix), RedisBroker(redis_url, prefix)
    try:
        with here.subscribe("journey:3") as sub:
            for n in range(3):
                elsewhere.publish("journey:3", {"type": "fix", "n": n})
            assert [sub.get(timeout=5)["n"] for _ in range(3)] == [0, 1, 2]
            assert len(elsewhere._publishers) == 1
            kept = elsewhere._publishers[0]
            kept._sock.shutdown(socket.SHUT_RDWR)  # the server side is gone
            elsewhere.publish("journey:3", {"type": "fix", "n": 3})
            assert sub.get(timeout=5) == {"type": "fix", "n": 3}
            assert sub.get(timeout=0.3) is None  # sent once
            assert elsewhere._publishers == [kept] and kept._sock is not None
    finally:
        here.close()
        elsewhere.close()
    assert elsewhere._publishers == []


def test_watchers_on_one_process_share_its_one_redis_subscription(redis_url):
    """One listener connection per process: two local watchers of a journey get every
    message from it (one shared parse), and one leaving does not stop the other."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    here, elsewhere = RedisBroker(redis_url, prefix), RedisBroker(redis_url, prefix)
    try:
        stays, leaves = here.subscribe("journey:7"), here.subscribe("journey:7")
        for n in range(3):
            elsewhere.publish("journey:7", {"type": "fix", "n": n})
        for n in range(3):
            first, second = stays.next_message(timeout=5), leaves.next_message(timeout=5)
            assert first is second and first is not None and first.data["n"] == n
        leaves.close()
        elsewhere.publish("journey:7", {"type": "fix", "n": 3})
        assert stays.get(timeout=5) == {"type": "fix", "n": 3}
        assert here.subscriber_count() == 1
        stays.close()
    finally:
        here.close()
        elsewhere.close()


def test_a_fix_posted_to_one_process_reaches_a_watcher_on_the_other(
    app, database_url, redis_url, resident, other_resident
):
    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SAFEHAVEN_RATELIMIT": "false",
        "SAFEHAVEN_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
    }
    alice, bob = resident.headers, other_resident.headers
    with gunicorn(env) as server_a, gunicorn(env) as server_b, requests.Session() as http:
        code = http.post(f"{server_b}/api/v1/contacts/invitations", headers=alice).json()["code"]
        link = http.post(f"{server_a}/api/v1/contacts/invitations/{code}/accept", headers=bob)
        assert link.status_code == 201
        started = http.post(
            f"{server_b}/api/v1/journeys",
            json={
                "destination": {"lat": PARK[0], "lon": PARK[1]},
                "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=25)),
                "contact_ids": [other_resident.id],
            },
            headers=alice,
        )
        assert started.status_code == 201, started.text
        journey_id = started.json()["id"]
        with requests.get(
            f"{server_a}/api/v1/journeys/{journey_id}/stream", headers=bob, stream=True, timeout=10
        ) as stream:
            assert stream.status_code == 200
            events = SSEReader(stream.iter_content(chunk_size=None))
            assert events.next_event()[0] == "state"
            at = datetime.now(UTC) - timedelta(seconds=1)
            posted = http.post(
                f"{server_b}/api/v1/journeys/{journey_id}/locations",
                json={"fixes": [fix(53.5433, -2.6399, at, battery=52)]},
                headers=alice,
            )
            assert posted.json()["accepted"] == 1
            kind, data = events.next_event()
            assert kind == "fix"
            assert (data["journey_id"], data["lat"], data["battery"]) == (journey_id, 53.5433, 52)
            # alice revokes bob on server B: his stream on server A ends at once
            http.delete(f"{server_b}/api/v1/contacts/{link.json()['id']}", headers=alice)
            kind, data = events.next_event()
            assert kind == "revoked" and data["by_display_name"] == "Unnamed contact"
            assert events.ended()


def test_the_channel_prefix_comes_from_the_environment(database_url, redis_url, monkeypatch):
    from backend.realtime.broker import close_broker, get_broker
    from tests.support.apps import make_test_app

    monkeypatch.setenv("SAFEHAVEN_REDIS_PREFIX", "deploy-a:")
    app = make_test_app(database_url, REDIS_URL=redis_url)
    try:
        broker = get_broker(app)
        assert isinstance(broker, RedisBroker) and broker.prefix == "deploy-a:"
    finally:
        close_broker(app)


@pytest.mark.parametrize("hiredis_path", [True, False])
def test_the_listener_reads_replies_straight_off_the_socket_or_through_redis_py(
    redis_url, monkeypatch, hiredis_path
):
    """With hiredis the listener parses the subscription's socket itself (several replies per
    read); without it, redis-py's get_message: the same messages either way."""
    from backend.realtime import broker as broker_module

    if not hiredis_path:
        monkeypatch.setattr(broker_module, "_raw_reader", lambda pubsub: None)
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    here, elsewhere = RedisBroker(redis_url, prefix), RedisBroker(redis_url, prefix)
    try:
        with here.subscribe("journey:1") as sub, here.subscribe("journey:2") as other:
            if hiredis_path:
                assert broker_module._raw_reader(here._pubsub) is not None
            for n in range(50):  # a burst: many replies arrive in one read
                elsewhere.publish("journey:1", {"type": "fix", "n": n, "name": "Zoë"})
            elsewhere.publish("journey:2", {"type": "fix", "n": -1})
            assert [sub.get(timeout=5) for _ in range(50)] == [
                {"type": "fix", "n": n, "name": "Zoë"} for n in range(50)
            ]
            assert other.get(timeout=5) == {"type": "fix", "n": -1}
            assert sub.get(timeout=0.2) is None
    finally:
        here.close()
        elsewhere.close()
