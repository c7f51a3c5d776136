"""The production shape: streams are held by the stream server behind the load balancer, so
a resident holding her full allowance of streams starves no one; each person and each watch
link is capped across the stream server's processes; a closed stream frees its slot; fixes
and revocations reach the streams from the API pool through Redis."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.journeys import PARK, SSEReader, fix, iso
from tests.support.production import Production, SharedProduction, production_shape

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def shared_production(database_url, redis_url) -> Iterator[SharedProduction]:  # type: ignore[no-untyped-def]
    """One shape for the module's tests (their configuration is the same)."""
    shared = SharedProduction(database_url, redis_url)
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def production(shared_production) -> Iterator[Production]:  # type: ignore[no-untyped-def]
    """The shared shape, with no stream slot held at the start of the test (the tables are
    emptied after each test, and ids begin again at 1)."""
    shape = shared_production.get()
    assert shape.slots_held() == 0
    yield shape
    shared_production.settle()


def start(http: requests.Session, url: str, headers, contacts=(), **extra):  # type: ignore[no-untyped-def]
    answer = http.post(
        f"{url}/api/v1/journeys",
        json={
            "destination": {"lat": PARK[0], "lon": PARK[1]},
            "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=25)),
            "contact_ids": list(contacts),
            **extra,
        },
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def befriend(http: requests.Session, url: str, owner, contact) -> int:  # type: ignore[no-untyped-def]
    code = http.post(f"{url}/api/v1/contacts/invitations", headers=owner.headers, timeout=30)
    accepted = http.post(
        f"{url}/api/v1/contacts/invitations/{code.json()['code']}/accept",
        headers=contact.headers,
        timeout=30,
    )
    assert accepted.status_code == 201, accepted.text
    return int(accepted.json()["id"])


@contextlib.contextmanager
def opened(url: str, headers=None) -> Iterator[tuple[requests.Response, SSEReader]]:  # type: ignore[no-untyped-def]
    """A stream that is open (200, its first event read); closed on exit."""
    with requests.get(url, headers=headers or {}, stream=True, timeout=30) as response:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = SSEReader(response.iter_content(chunk_size=None))
        assert events.next_event()[0] == "state"
        yield response, events


def refused(url: str, headers=None) -> requests.Response:  # type: ignore[no-untyped-def]
    answer = requests.get(url, headers=headers or {}, timeout=30)
    assert answer.status_code == 429, answer.text
    body = answer.json()
    assert (body["code"], body["status"]) == (429, "Too Many Requests")
    assert set(body) == {"code", "status", "message", "errors"}
    assert int(answer.headers["Retry-After"]) > 0
    return answer


def opens_again(url: str, headers=None) -> bool:  # type: ignore[no-untyped-def]
    """Whether a stream opens once a slot has been given back (asked again until it does, for
    at most 10 s: a slot is freed when the server notices the hang-up, not at our close)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with requests.get(url, headers=headers or {}, stream=True, timeout=30) as answer:
            if answer.status_code == 200:
                return True
            assert answer.status_code == 429, answer.text
        time.sleep(0.1)
    return False


def test_a_resident_at_her_stream_cap_starves_no_one(
    production, resident, other_resident, make_person
):
    carol = make_person("carol")
    with requests.Session() as http:
        journey = start(http, production.url, resident.headers, watch_link=True)
        bob_journey = start(http, production.url, other_resident.headers, watch_link=True)
        stream_url = f"{production.url}/api/v1/journeys/{journey['id']}/stream"
        with contextlib.ExitStack() as streams:
            held = [streams.enter_context(opened(stream_url, resident.headers)) for _ in range(5)]
            refused(stream_url, resident.headers)  # the sixth
            # Everyone else is answered while her five streams are open (the API pool has
            # four threads: five streams held there would leave it none).
            for n in range(10):
                assert http.get(f"{production.url}/healthz", timeout=30).status_code == 200
                nearest = http.get(
                    f"{production.url}/api/v1/venues/nearest",
                    params={"lat": PARK[0], "lon": PARK[1]},
                    headers=carol.headers,
                    timeout=30,
                )
                assert nearest.status_code == 200, nearest.text
                at = datetime.now(UTC) - timedelta(seconds=30 - n)
                posted = http.post(
                    f"{production.url}/api/v1/journeys/{bob_journey['id']}/locations",
                    json={"fixes": [fix(53.5430 + n / 10000, -2.6401, at)]},
                    headers=other_resident.headers,
                    timeout=30,
                )
                assert posted.status_code == 200 and posted.json()["accepted"] == 1
            # bob's own streams are not hers: his first opens while she is at her cap
            bob_url = f"{production.url}/api/v1/journeys/{bob_journey['id']}/stream"
            with opened(bob_url, other_resident.headers):
                pass
            # closing one of hers gives its slot back
            held[0][0].close()
            assert opens_again(stream_url, resident.headers)
    # the API pool itself never holds a stream
    direct = requests.get(
        f"{production.api}/api/v1/journeys/{journey['id']}/stream",
        headers=resident.headers,
        timeout=30,
    )
    assert direct.status_code == 421 and direct.json()["code"] == 421


def reopened_within_a_second(url: str, headers=None):  # type: ignore[no-untyped-def]
    """The first stream that opens at ``url`` in the second after now (asked again every
    50 ms while refused at the cap), open; None if none did. A second is the promise a
    closed stream gives back its slot within (docs/OPERATIONS.md, Stream cap)."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        answer = requests.get(url, headers=headers or {}, stream=True, timeout=5)
        if answer.status_code == 200:
            return answer
        assert answer.status_code == 429, answer.text
        answer.close()
        time.sleep(0.05)
    return None


def test_a_closed_stream_gives_its_slot_back_within_a_second_through_the_load_balancer(
    production, resident
):
    """Behind nginx (the phone's connection ends there): each stream closed at the cap is
    replaced by a new one within a second, for a person and for a watch link, and the cap
    still holds afterwards."""
    with requests.Session() as http:
        journey = start(http, production.url, resident.headers, watch_link=True)
    token = journey["watch_url"].rsplit("/", 1)[1]
    cases = [
        (f"{production.url}/api/v1/journeys/{journey['id']}/stream", resident.headers),
        (f"{production.url}/watch/{token}/events", None),
    ]
    for url, headers in cases:
        with contextlib.ExitStack() as streams:
            held = [streams.enter_context(opened(url, headers))[0] for _ in range(5)]
            refused(url, headers)
            for n in range(5):  # close each in turn; its replacement opens within a second
                held[n].close()
                replacement = reopened_within_a_second(url, headers)
                assert replacement is not None, f"slot {n} of {url} not back within a second"
                held[n] = streams.enter_context(replacement)
            refused(url, headers)  # five open again: the sixth is still refused


def test_a_watch_link_is_capped_and_its_revocation_ends_every_stream_at_once(production, resident):
    with requests.Session() as http:
        journey = start(http, production.url, resident.headers, watch_link=True)
        token = journey["watch_url"].rsplit("/", 1)[1]
        events_url = f"{production.url}/watch/{token}/events"
        with contextlib.ExitStack() as streams:
            held = [streams.enter_context(opened(events_url)) for _ in range(5)]
            answer = refused(events_url)
            assert "watch link" in answer.json()["message"]
            revoked = http.delete(
                f"{production.url}/api/v1/journeys/{journey['id']}/watch-links/"
                f"{journey['watch_link_id']}",
                headers=resident.headers,
                timeout=30,
            )
            assert revoked.status_code == 204
            for _response, events in held:
                assert events.next_event()[0] == "link_revoked"
                assert events.ended()
        gone = requests.get(events_url, timeout=30)
        assert gone.status_code in (404, 410), gone.text


def test_a_fix_reaches_a_watcher_on_the_stream_server_and_revocation_ends_it(
    production, resident, other_resident
):
    with requests.Session() as http:
        link_id = befriend(http, production.url, resident, other_resident)
        journey = start(http, production.url, resident.headers, contacts=[other_resident.id])
        # straight to the stream server: the fix is posted to the API pool, another process
        stream_url = f"{production.streams}/api/v1/journeys/{journey['id']}/stream"
        with opened(stream_url, other_resident.headers) as (_response, events):
            at = datetime.now(UTC) - timedelta(seconds=1)
            posted = http.post(
                f"{production.api}/api/v1/journeys/{journey['id']}/locations",
                json={"fixes": [fix(53.5433, -2.6399, at, battery=52)]},
                headers=resident.headers,
                timeout=30,
            )
            assert posted.json()["accepted"] == 1
            kind, data = events.next_event()
            assert (kind, data["journey_id"], data["lat"], data["battery"]) == (
                "fix",
                journey["id"],
                53.5433,
                52,
            )
            http.delete(
                f"{production.api}/api/v1/contacts/{link_id}",
                headers=resident.headers,
                timeout=30,
            )
            kind, data = events.next_event()
            assert kind == "revoked" and set(data) == {"type", "by_display_name", "at"}
            assert events.ended()
        again = requests.get(stream_url, headers=other_resident.headers, timeout=30)
        assert again.status_code == 404


def test_the_stream_server_serves_only_streams_and_health(production, resident):
    for path in ("/api/v1/me", "/watch/abc", "/portal/", "/nothing"):
        answer = requests.get(f"{production.streams}{path}", headers=resident.headers, timeout=30)
        assert answer.status_code == 404 and answer.json()["code"] == 404, path
    unsigned = requests.get(f"{production.streams}/api/v1/journeys/1/stream", timeout=30)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == 401
    health = requests.get(f"{production.streams}/healthz", timeout=30)
    assert health.status_code == 200 and health.json()["broker"]["kind"] == "redis"


def test_a_watcher_on_the_stream_server_is_resynced_after_a_redis_outage(
    database_url, resident, other_resident
):
    """Redis goes away and comes back: the stream server's watcher gets a ``resync`` with the
    journey as it is now (the fix posted meanwhile included), then live fixes again."""
    import shutil

    from tests.support.private_redis import PrivateRedis

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    private = PrivateRedis()
    private.start()
    try:
        redis_url = private.url
        with production_shape(database_url, redis_url) as site, requests.Session() as http:
            befriend(http, site.url, resident, other_resident)
            journey = start(http, site.url, resident.headers, contacts=[other_resident.id])
            fixes = f"{site.api}/api/v1/journeys/{journey['id']}/locations"
            stream_url = f"{site.streams}/api/v1/journeys/{journey['id']}/stream"
            with opened(stream_url, other_resident.headers) as (_response, events):
                private.stop()
                at = datetime.now(UTC) - timedelta(seconds=20)
                during = http.post(
                    fixes,
                    json={"fixes": [fix(53.5444, -2.6388, at)]},
                    headers=resident.headers,
                    timeout=30,
                )
                assert during.status_code == 200 and during.json()["accepted"] == 1
                private.start()
                kind, data = events.next_event()
                assert kind == "resync" and data["journey"]["id"] == journey["id"]
                assert data["journey"]["last_fix"]["lat"] == 53.5444
                after = datetime.now(UTC) - timedelta(seconds=5)
                http.post(
                    fixes,
                    json={"fixes": [fix(53.5447, -2.6385, after)]},
                    headers=resident.headers,
                    timeout=30,
                )
                kind, data = events.next_event()
                assert (kind, data["lat"]) == ("fix", 53.5447)
    finally:
        private.stop()
