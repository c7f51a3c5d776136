"""Trusted contacts and live journeys from the app core against the live server: start a
journey, post fixes from a simulated walk, lose the network and come back, SOS, watch."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from mobile_client.core.api import ApiError
from mobile_client.core.location import DEMO_ROUTE, SimulatedWalk


@pytest.fixture
def pair(core_factory, resident, other_resident):  # type: ignore[no-untyped-def]
    """Alice (walking) and Bob (her trusted contact), each in their own app."""
    alice, bob = core_factory(resident), core_factory(other_resident)
    bob.set_display_name("  Bob ")
    assert bob.state.display_name == "Bob"
    invitation = alice.create_invitation()
    assert invitation["code"] and alice.state.invitation == invitation
    bob.accept_invitation(invitation["code"])
    alice.set_position(*DEMO_ROUTE[0])
    return alice, bob


def _bob_id(alice) -> int:  # type: ignore[no-untyped-def]
    rows = alice.load_contacts()
    assert [r["direction"] for r in rows] == ["i_trust"]
    return int(rows[0]["user_id"])


def _walk(core):  # type: ignore[no-untyped-def]
    """A walk whose first fix is 5 minutes ago, worked out when the test runs (a time taken at
    import is minutes old by then, and fixes from before a journey started are refused)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return SimulatedWalk(core.on_fix, route=DEMO_ROUTE, start_time=start, interval_s=5)


def test_invitation_makes_a_one_way_trusted_contact(pair):
    alice, bob = pair
    assert [r["direction"] for r in alice.load_contacts()] == ["i_trust"]
    assert [r["direction"] for r in bob.load_contacts()] == ["trusts_me"]


def test_journey_fixes_reach_the_contact_and_arrival_ends_it(pair):
    alice, bob = pair
    journey = alice.start_journey(
        [_bob_id(alice)],
        destination={"lat": DEMO_ROUTE[-1][0], "lon": DEMO_ROUTE[-1][1], "label": "Wigan Pier"},
    )
    assert journey["state"] == "active" and journey["watch_url"]
    fixes = _walk(alice).advance(60)
    assert alice.outbox.pending_count() == len(fixes) == 13
    result = alice.flush()
    assert (result.sent, result.pending) == (13, 0)
    assert result.responses == [{"accepted": 13, "duplicates": 0, "jumps": 0}]  # one batch
    seen = bob.refresh_watch(journey["id"])
    assert seen["last_fix"]["lat"] == pytest.approx(fixes[-1].lat)
    assert bob.state.watch_track[-1] == pytest.approx((fixes[-1].lat, fixes[-1].lon))
    alice.arrived()
    assert alice.state.journey is None
    assert bob.refresh_watch(journey["id"])["state"] == "arrived"


def test_offline_fixes_wait_behind_the_sos_and_all_arrive_when_back(pair, live_server):
    alice, bob = pair
    journey = alice.start_journey(
        [_bob_id(alice)], destination={"postcode": "WN3 4EU", "label": "home"}
    )
    walk = _walk(alice)
    walk.advance(20)
    assert alice.flush().sent == 5
    live_server.stop()  # into a dead zone
    offline = walk.advance(40)
    alice.sos()
    assert alice.state.sos["headline"].startswith("Not sent yet: no signal")
    assert alice.state.outbox_pending == len(offline) + 1
    live_server.start()
    result = alice.flush(force=True)
    assert (result.sent, result.pending, result.failed) == (len(offline) + 1, 0, 0)
    assert result.responses[0]["journey_id"] == journey["id"]  # the SOS first, on this journey
    assert result.responses[1]["accepted"] == len(offline)  # then the fixes, as one batch
    assert alice.state.sos["headline"] == "SafeHaven has your SOS. Alerting Bob"
    seen = bob.refresh_watch(journey["id"])
    assert seen["sos"] and seen["last_fix"]["lat"] == pytest.approx(offline[-1].lat)
    assert [a["kind"] for a in bob.state.alerts] == ["sos"]


def test_contact_watches_live_and_receives_the_sos(pair):
    alice, bob = pair
    journey = alice.start_journey(
        [_bob_id(alice)], destination={"lat": DEMO_ROUTE[-1][0], "lon": DEMO_ROUTE[-1][1]}
    )
    got_sos = threading.Event()
    bob.state.subscribe(lambda changed: "alerts" in changed and got_sos.set())
    bob.watch(journey["id"], poll_s=0.2)
    walk = _walk(alice)
    for _ in range(4):
        walk.advance(10)
        alice.flush()
    alice.sos()
    assert got_sos.wait(15), f"no SOS reached Bob; alerts={bob.state.alerts}"
    bob.stop_watching()
    assert any(a["kind"] == "sos" for a in bob.state.alerts)
    assert len(bob.state.watch_track) >= 2


def test_a_push_arriving_during_a_refresh_is_not_lost(pair):
    """The push that announces a journey lands while a refresh of the list is on the wire:
    the refresh (which did not know it yet) must not drop it."""
    alice, bob = pair
    journey = alice.start_journey([_bob_id(alice)], destination={"postcode": "WN1 1AA"})
    real_watching = bob.client.watching

    def watching_while_the_push_lands():  # type: ignore[no-untyped-def]
        bob.on_push({"journey_id": str(journey["id"]), "kind": "journey"})
        return real_watching()  # the real request still goes to the server

    bob.client.watching = watching_while_the_push_lands  # type: ignore[method-assign]
    assert [j["id"] for j in bob.load_shared_with_me()] == [journey["id"]]
    bob.client.watching = real_watching  # type: ignore[method-assign]
    assert [j["id"] for j in bob.state.shared_with_me] == [journey["id"]]
    assert bob.load_shared_with_me()[0]["state"] == "active"  # checked on the next refresh


def test_a_stranger_cannot_watch_and_a_revoked_contact_loses_access(
    pair, core_factory, make_person
):
    alice, bob = pair
    journey = alice.start_journey([_bob_id(alice)], destination={"postcode": "WN1 1AA"})
    stranger = core_factory(make_person("resident-eve"))
    with pytest.raises(ApiError) as err:
        stranger.refresh_watch(journey["id"])
    assert err.value.status in (403, 404)
    assert bob.refresh_watch(journey["id"])["id"] == journey["id"]
    link = alice.load_contacts()[0]
    alice.revoke_contact(link["id"])
    with pytest.raises(ApiError) as err:
        bob.refresh_watch(journey["id"])
    assert err.value.status in (403, 404)


def test_push_payload_makes_a_journey_watchable(pair, tmp_path):
    alice, bob = pair
    journey = alice.start_journey([_bob_id(alice)], destination={"postcode": "WN1 1AA"})
    inbox = bob.data_dir / "push"
    inbox.mkdir()
    (inbox / "0001.json").write_text(
        json.dumps({"journey_id": str(journey["id"]), "kind": "sos", "battery": "71"})
    )
    assert bob.poll_push_inbox() == 1 and not list(inbox.iterdir())
    assert [j["id"] for j in bob.load_shared_with_me()] == [journey["id"]]
    assert [{k: v for k, v in a.items() if k != "received_at"} for a in bob.state.alerts] == [
        {"kind": "sos", "journey_id": journey["id"], "battery": "71"}
    ]
    alice.cancel_journey()
    assert bob.load_shared_with_me() == []


@pytest.mark.redis
@pytest.mark.slow
def test_the_app_watches_live_through_the_stream_server(
    tmp_path, database_url, redis_url, resident, other_resident
):
    """The production shape (the load balancer, the API pool, the stream server): Bob's app
    follows Alice's walk on its live stream and shows her SOS."""
    from mobile_client.core.controller import Core
    from tests.support.production import production_shape

    with production_shape(database_url, redis_url) as site:
        alice = Core(tmp_path / "alice", server_url=site.url)
        bob = Core(tmp_path / "bob", server_url=site.url)
        try:
            alice.sign_in(resident.token)
            bob.sign_in(other_resident.token)
            bob.accept_invitation(alice.create_invitation()["code"])
            alice.set_position(*DEMO_ROUTE[0])
            journey = alice.start_journey(
                [_bob_id(alice)], destination={"lat": DEMO_ROUTE[-1][0], "lon": DEMO_ROUTE[-1][1]}
            )
            events: list[str] = []
            real = bob.watching.on_stream_event

            def seen(event):  # type: ignore[no-untyped-def]
                events.append(event.get("event", ""))
                real(event)

            bob.watching.on_stream_event = seen  # type: ignore[method-assign]
            got_sos = threading.Event()
            bob.state.subscribe(lambda changed: "alerts" in changed and got_sos.set())
            # a poll far slower than the test: what arrives comes on the stream
            bob.watch(journey["id"], poll_s=60)
            # The stream is open once its first event (the journey's state) is in: fixes
            # posted before that would only reach Bob through a later poll.
            deadline = time.monotonic() + 30
            while "state" not in events and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "state" in events, "Bob's stream never opened"
            walk = _walk(alice)
            for _ in range(4):
                walk.advance(10)
                alice.flush()
            alice.sos()
            assert got_sos.wait(30), f"no SOS reached Bob; alerts={bob.state.alerts}"
            bob.stop_watching()
            assert "fix" in events and any(a["kind"] == "sos" for a in bob.state.alerts)
            assert len(bob.state.watch_track) >= 2
        finally:
            alice.close()
            bob.close()
