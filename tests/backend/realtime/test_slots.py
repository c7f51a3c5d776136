"""The cap on open streams: per person and per watch link, 429 with Retry-After past it, a
slot given back when its stream ends (also when the client just hangs up), counted across
processes in Redis and never kept by a process that died."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from werkzeug.serving import make_server

from backend.config import ConfigError, Settings
from backend.realtime.slots import RedisStreamSlots, StreamSlots, TooManyStreams, get_slots
from tests.support.journeys import SSEReader, befriend, start_journey


def test_in_process_slots_refuse_past_the_limit_and_free_on_release():
    slots = StreamSlots()
    held = [slots.acquire("person:1", 5, "You") for _ in range(5)]
    with pytest.raises(TooManyStreams) as refused:
        slots.acquire("person:1", 5, "You")
    assert refused.value.http_status == 429 and int(refused.value.headers["Retry-After"]) > 0
    assert slots.acquire("person:2", 5, "You").key == "person:2"  # another person is not capped
    held[0].release()
    held[0].release()  # twice is harmless: one slot back, not two
    assert slots.held("person:1") == 4
    slots.acquire("person:1", 5, "You")
    with pytest.raises(TooManyStreams):
        slots.acquire("person:1", 5, "You")


@pytest.mark.redis
def test_redis_slots_count_every_process_and_expire_when_their_process_dies(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dies, lives = RedisStreamSlots(redis_url, prefix, ttl_s=1), RedisStreamSlots(redis_url, prefix)
    try:
        for _ in range(3):
            dies.acquire("person:7", 5, "You")
        kept = [lives.acquire("person:7", 5, "You") for _ in range(2)]
        with pytest.raises(TooManyStreams):
            lives.acquire("person:7", 5, "You")
        kept[0].release()  # a stream that ends gives its slot back at once
        kept.append(lives.acquire("person:7", 5, "You"))
        # the first process dies holding three: no release, no renewal
        dies._stop.set()
        assert dies._thread is not None
        dies._thread.join(timeout=5)
        deadline = time.monotonic() + 10
        while lives.held("person:7") > 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lives.held("person:7") == 2
        more = [lives.acquire("person:7", 5, "You") for _ in range(3)]
        with pytest.raises(TooManyStreams):
            lives.acquire("person:7", 5, "You")
        for slot in kept + more:
            slot.release()
        assert lives.held("person:7") == 0
    finally:
        dies.close()
        lives.close()


@pytest.mark.redis
def test_a_living_process_keeps_its_slots_past_their_ttl_by_renewing_them(redis_url):
    slots = RedisStreamSlots(redis_url, f"test-{uuid.uuid4().hex[:8]}:", ttl_s=1)
    try:
        held = [slots.acquire("link:3", 2, "This watch link") for _ in range(2)]
        time.sleep(2.5)  # over two TTLs: renewed every third of one
        assert slots.held("link:3") == 2
        with pytest.raises(TooManyStreams):
            slots.acquire("link:3", 2, "This watch link")
        for slot in held:
            slot.release()
    finally:
        slots.close()


def test_the_limits_are_settings_and_refuse_nonsense():
    assert Settings.from_env({}).flask_config()["STREAMS_PER_PERSON"] == 5
    settings = Settings.from_env(
        {"SAFEHAVEN_STREAMS_PER_PERSON": "2", "SAFEHAVEN_STREAMS_PER_LINK": "9"}
    )
    assert (settings.streams_per_person, settings.streams_per_link) == (2, 9)
    for bad in ("0", "-1", "five"):
        with pytest.raises(ConfigError):
            Settings.from_env({"SAFEHAVEN_STREAMS_PER_PERSON": bad})


def _open(client, url, person=None):  # type: ignore[no-untyped-def]
    return client.get(url, headers=person.headers if person else {}, buffered=False)


def test_a_sixth_stream_of_one_person_is_refused_until_one_closes(client, resident, other_resident):
    befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident])
    url = f"/api/v1/journeys/{journey['id']}/stream"
    held = [_open(client, url, other_resident) for _ in range(5)]
    try:
        assert [r.status_code for r in held] == [200] * 5
        sixth = client.get(url, headers=other_resident.headers)
        assert sixth.status_code == 429 and int(sixth.headers["Retry-After"]) > 0
        body = sixth.get_json()
        assert set(body) == {"code", "status", "message", "errors"} and body["code"] == 429
        mine = client.get(url, headers=resident.headers, buffered=False)  # the owner's own
        assert mine.status_code == 200
        mine.close()
        held.pop().close()
        again = _open(client, url, other_resident)
        assert again.status_code == 200
        held.append(again)
    finally:
        for response in held:
            response.close()
    assert get_slots().held(f"person:{other_resident.id}") == 0


def test_a_watch_link_holds_five_streams_at_most(client, resident):
    journey = start_journey(client, resident, watch_link=True)
    url = f"/watch/{journey['watch_url'].rsplit('/', 1)[1]}/events"
    held = [_open(client, url) for _ in range(5)]
    try:
        assert [r.status_code for r in held] == [200] * 5
        sixth = client.get(url)
        assert sixth.status_code == 429 and "watch link" in sixth.get_json()["message"]
        assert "Retry-After" in sixth.headers
    finally:
        for response in held:
            response.close()


def test_a_refused_or_unauthorised_stream_holds_no_slot(client, resident, other_resident):
    journey = start_journey(client, resident, watch_link=True)
    url = f"/api/v1/journeys/{journey['id']}/stream"
    for _ in range(7):  # more than the cap: each refusal gave its slot back
        assert client.get(url, headers=other_resident.headers).status_code == 404
    assert get_slots().held(f"person:{other_resident.id}") == 0


def test_the_development_server_frees_the_slot_of_a_client_that_hangs_up(
    app, client, resident, other_resident
):
    """``make run`` streams on its own threads: a client that closes its connection is
    noticed within about half a second (not at the next heartbeat) and its slot freed."""
    befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    sockets: list[socket.socket] = []
    try:
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
            sock.sendall(
                f"GET /api/v1/journeys/{journey['id']}/stream HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: {other_resident.headers['Authorization']}"
                "\r\n\r\n".encode()
            )
            events = SSEReader(iter(lambda s=sock: s.recv(65536), b""))
            assert events.next_event()[0] == "state"
            sockets.append(sock)
        key = f"person:{other_resident.id}"
        assert get_slots(app).held(key) == 5
        for sock in sockets:
            sock.close()  # FIN, and nothing more: the server notices by itself
        deadline = time.monotonic() + 10
        while get_slots(app).held(key) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert get_slots(app).held(key) == 0
    finally:
        for sock in sockets:
            sock.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_refusal_says_who_is_at_the_cap_in_plain_words():
    slots = StreamSlots()
    slots.acquire("person:1", 1, "You")
    slots.acquire("link:1", 1, "This watch link")
    with pytest.raises(TooManyStreams) as person:
        slots.acquire("person:1", 1, "You")
    with pytest.raises(TooManyStreams) as link:
        slots.acquire("link:1", 1, "This watch link")
    assert person.value.message.startswith("You already have 1 live streams open")
    assert link.value.message.startswith("This watch link already has 1 live streams open")
