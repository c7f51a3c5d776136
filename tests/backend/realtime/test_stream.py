"""The live stream: snapshot, fixes and alerts as server-sent events; revocation and the
end of the journey close it at once (in-process broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.realtime.broker import LocalBroker, get_broker
from tests.support.journeys import SSEReader, befriend, fix, start_journey


@pytest.fixture
def shared(client, resident, other_resident):  # type: ignore[no-untyped-def]
    link_id = befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident], watch_link=True)
    return journey, link_id


def open_stream(client, journey_id, person):  # type: ignore[no-untyped-def]
    response = client.get(
        f"/api/v1/journeys/{journey_id}/stream", headers=person.headers, buffered=False
    )
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    return response, SSEReader(response.response)


def test_a_watcher_gets_the_snapshot_then_each_fix(client, resident, other_resident, shared):
    journey, _ = shared
    response, events = open_stream(client, journey["id"], other_resident)
    try:
        kind, first = events.next_event()
        assert kind == "state" and first["journey"]["id"] == journey["id"]
        t = datetime.now(UTC) - timedelta(seconds=2)
        client.post(
            f"/api/v1/journeys/{journey['id']}/locations",
            json={"fixes": [fix(53.5430, -2.6401, t, battery=64, accuracy_m=5)]},
            headers=resident.headers,
        )
        kind, data = events.next_event()
        assert kind == "fix"
        assert (data["lat"], data["lon"], data["battery"], data["jump"]) == (
            53.5430,
            -2.6401,
            64,
            False,
        )
        assert data["recorded_at"] == t.isoformat()
    finally:
        response.close()
    assert isinstance(get_broker(), LocalBroker) and get_broker().subscriber_count() == 0


def test_revoking_the_contact_ends_their_stream_at_once(client, resident, other_resident, shared):
    journey, link_id = shared
    response, events = open_stream(client, journey["id"], other_resident)
    owner_response, owner_events = open_stream(client, journey["id"], resident)
    try:
        events.next_event()
        owner_events.next_event()
        client.patch("/api/v1/me", json={"display_name": "Alice"}, headers=resident.headers)
        before = datetime.now(UTC)
        client.delete(f"/api/v1/contacts/{link_id}", headers=resident.headers)
        kind, data = events.next_event()
        assert kind == "revoked" and set(data) == {"type", "by_display_name", "at"}
        assert data["by_display_name"] == "Alice"
        assert before <= datetime.fromisoformat(data["at"]) <= datetime.now(UTC)
        assert events.ended()
        # the owner's own stream carries on
        client.post(
            f"/api/v1/journeys/{journey['id']}/locations",
            json={"fixes": [fix(53.5431, -2.6401, datetime.now(UTC))]},
            headers=resident.headers,
        )
        assert owner_events.next_event()[0] == "access_revoked"
        assert owner_events.next_event()[0] == "fix"
    finally:
        response.close()
        owner_response.close()
    again = client.get(f"/api/v1/journeys/{journey['id']}/stream", headers=other_resident.headers)
    assert again.status_code == 404
    again.close()


def test_arrival_sends_the_final_state_and_alert_then_ends(
    app, client, resident, other_resident, shared
):
    from backend.alerts.worker import run_once

    journey, _ = shared
    response, events = open_stream(client, journey["id"], other_resident)
    try:
        events.next_event()
        client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers)
        kind, data = events.next_event()
        assert kind == "state" and data["journey"]["sos"] is True
        run_once(app)  # no FCM configured: the alert still reaches the stream
        kind, data = events.next_event()
        assert (kind, data["kind"], data["title"]) == ("alert", "sos", "SOS from your contact")
        assert isinstance(data["alert_id"], int)  # the watcher's phone acknowledges by it
        client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=resident.headers)
        kind, data = events.next_event()
        assert kind == "state" and data["journey"]["state"] == "arrived"
        assert events.ended()
    finally:
        response.close()


def test_the_watch_link_stream_hides_contact_ids_and_ends_on_revocation(client, resident, shared):
    journey, _ = shared
    token = journey["watch_url"].rsplit("/", 1)[1]
    response = client.get(f"/watch/{token}/events", buffered=False)
    events = SSEReader(response.response)
    try:
        kind, data = events.next_event()
        assert kind == "state" and "contact_ids" not in data["journey"]
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        client.delete(
            f"/api/v1/journeys/{journey['id']}/watch-links/{journey['watch_link_id']}",
            headers=resident.headers,
        )
        assert events.next_event()[0] == "link_revoked"
        assert events.ended()
    finally:
        response.close()


def _miss_messages(app, journey_id, change):  # type: ignore[no-untyped-def]
    """Apply ``change`` to the database with no message published (as while the broker had
    lost Redis), then have the broker tell its watchers they may have missed messages."""
    from backend.extensions import db

    with app.app_context():
        change(db)
        db.session.commit()
    get_broker()._resync_all()


def test_after_missed_messages_each_watcher_gets_the_state_through_its_access_rules(
    app, client, resident, other_resident, shared
):
    """The broker's resync marker (sent when it is subscribed again after losing Redis):
    the owner's stream and the watch page get the journey as it is now, shaped as their
    ``state`` event; a contact whose consent ended meanwhile gets nothing and is cut off."""
    from sqlalchemy import update

    from backend.contacts.models import Contact
    from backend.journeys.models import Journey

    journey, _ = shared
    token = journey["watch_url"].rsplit("/", 1)[1]
    owner_response, owner_events = open_stream(client, journey["id"], resident)
    contact_response, contact_events = open_stream(client, journey["id"], other_resident)
    page_response = client.get(f"/watch/{token}/events", buffered=False)
    page_events = SSEReader(page_response.response)
    try:
        owner_state = owner_events.next_event()[1]["journey"]
        contact_events.next_event()
        page_state = page_events.next_event()[1]["journey"]
        moved_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3)

        def move_and_revoke(db):  # type: ignore[no-untyped-def]
            db.session.execute(
                update(Journey)
                .where(Journey.id == journey["id"])
                .values(last_lat=53.5441, last_lon=-2.6388, last_fix_at=moved_at, sos=True)
            )
            db.session.execute(
                update(Contact).where(Contact.owner_id == resident.id).values(status="revoked")
            )

        _miss_messages(app, journey["id"], move_and_revoke)
        kind, data = owner_events.next_event()
        assert kind == "resync"
        assert set(data["journey"]) == set(owner_state)  # the state event's shape
        assert data["journey"]["sos"] is True
        last = data["journey"]["last_fix"]
        assert (last["lat"], last["lon"]) == (53.5441, -2.6388)
        kind, data = page_events.next_event()
        assert kind == "resync" and set(data["journey"]) == set(page_state)
        assert "contact_ids" not in data["journey"]
        assert data["journey"]["last_fix"]["lat"] == 53.5441
        assert contact_events.ended()  # no longer a contact: no position, stream over
    finally:
        owner_response.close()
        contact_response.close()
        page_response.close()


def test_a_resync_showing_the_journey_ended_ends_the_stream(
    app, client, resident, other_resident, shared
):
    """The journey ended while messages were missed: each stream gets its final state as its
    ``state`` event would show it (the contact without the last position, the owner with it)
    and ends."""
    from sqlalchemy import update

    from backend.journeys.models import Journey

    journey, _ = shared
    response, events = open_stream(client, journey["id"], resident)
    contact_response, contact_events = open_stream(client, journey["id"], other_resident)
    try:
        events.next_event()
        contact_events.next_event()
        ended_at = datetime.now(UTC).replace(microsecond=0)

        def end(db):  # type: ignore[no-untyped-def]
            db.session.execute(
                update(Journey)
                .where(Journey.id == journey["id"])
                .values(
                    state="arrived",
                    active_owner_id=None,
                    ended_at=ended_at,
                    last_lat=53.5441,
                    last_lon=-2.6388,
                    last_fix_at=ended_at - timedelta(seconds=5),
                )
            )

        _miss_messages(app, journey["id"], end)
        kind, data = events.next_event()
        assert kind == "resync" and data["journey"]["state"] == "arrived"
        assert data["journey"]["last_fix"]["lat"] == 53.5441  # the owner's own
        assert events.ended()
        kind, data = contact_events.next_event()
        assert kind == "resync" and data["journey"]["state"] == "arrived"
        assert data["journey"]["last_fix"] is None  # ended: contacts see no position
        assert contact_events.ended()
    finally:
        response.close()
        contact_response.close()
