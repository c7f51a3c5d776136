"""Who can read a journey: every way in for a stranger, a revoked contact, a contact not
chosen for the journey and a dead watch link is refused; owner and chosen contacts pass."""

from __future__ import annotations

import pytest

from tests.support.journeys import befriend, start_journey


@pytest.fixture
def cast(client, resident, other_resident, make_person):  # type: ignore[no-untyped-def]
    """alice walks home sharing with bob; carol is her contact but not chosen; dan was her
    contact and was revoked; mallory is a stranger."""
    carol, dan, mallory = (
        make_person(u) for u in ("resident-carol", "resident-dan", "resident-mallory")
    )
    befriend(client, resident, other_resident)
    befriend(client, resident, carol)
    dan_link = befriend(client, resident, dan)
    journey = start_journey(client, resident, [other_resident, dan], watch_link=True)
    client.delete(f"/api/v1/contacts/{dan_link}", headers=dan.headers)
    return {
        "journey": journey,
        "owner": resident,
        "chosen": other_resident,
        "not_chosen": carol,
        "revoked": dan,
        "stranger": mallory,
    }


READS = ["", "/stream"]


@pytest.mark.parametrize("who", ["stranger", "revoked", "not_chosen"])
@pytest.mark.parametrize("path", READS)
def test_outsiders_cannot_read_the_journey(client, cast, who, path):
    journey_id = cast["journey"]["id"]
    response = client.get(f"/api/v1/journeys/{journey_id}{path}", headers=cast[who].headers)
    assert response.status_code in (403, 404)
    assert response.get_json()["code"] == response.status_code
    response.close()


@pytest.mark.parametrize("who", ["stranger", "revoked", "not_chosen", "chosen"])
def test_only_the_owner_changes_the_journey(client, cast, who):
    journey_id = cast["journey"]["id"]
    body = {"fixes": [{"lat": 53.5, "lon": -2.6, "recorded_at": "2026-01-01T00:00:00Z"}]}
    for action in ("locations", "arrived", "sos", "cancel", "watch-links"):
        response = client.post(
            f"/api/v1/journeys/{journey_id}/{action}",
            json=body if action == "locations" else None,
            headers=cast[who].headers,
        )
        assert response.status_code == 404, action
    link = f"/api/v1/journeys/{journey_id}/watch-links/{cast['journey']['watch_link_id']}"
    assert client.delete(link, headers=cast[who].headers).status_code == 404
    owner_view = client.get(f"/api/v1/journeys/{journey_id}", headers=cast["owner"].headers)
    assert owner_view.get_json()["state"] == "active" and owner_view.get_json()["sos"] is False


@pytest.mark.parametrize("who", ["owner", "chosen"])
def test_the_owner_and_chosen_contacts_can_read(client, cast, who):
    response = client.get(f"/api/v1/journeys/{cast['journey']['id']}", headers=cast[who].headers)
    assert response.status_code == 200
    assert response.get_json()["contact_ids"] == [cast["chosen"].id]  # dan left at revocation


def test_unsigned_requests_are_401(client, cast):
    journey_id = cast["journey"]["id"]
    assert client.get(f"/api/v1/journeys/{journey_id}").status_code == 401
    assert client.get(f"/api/v1/journeys/{journey_id}/stream").status_code == 401


def test_a_revoked_then_reinvited_contact_is_not_back_on_the_journey(client, cast):
    befriend(client, cast["owner"], cast["revoked"])
    response = client.get(
        f"/api/v1/journeys/{cast['journey']['id']}", headers=cast["revoked"].headers
    )
    assert response.status_code == 403


def test_views_are_logged_for_the_owner_to_see(client, cast):
    journey_id = cast["journey"]["id"]
    client.get(f"/api/v1/journeys/{journey_id}", headers=cast["owner"].headers)
    client.get(f"/api/v1/journeys/{journey_id}", headers=cast["chosen"].headers)
    client.get(f"/api/v1/journeys/{journey_id}", headers=cast["stranger"].headers)
    token = cast["journey"]["watch_url"].rsplit("/", 1)[1]
    client.get(f"/watch/{token}/events").close()
    views = client.get("/api/v1/contacts/views", headers=cast["owner"].headers).get_json()
    assert [(v["via"], (v["viewer"] or {}).get("id")) for v in views] == [
        ("watch_link", None),
        ("api", cast["chosen"].id),
    ]
    assert all(v["journey_id"] == journey_id for v in views)
    # nobody else sees alice's audit trail
    assert client.get("/api/v1/contacts/views", headers=cast["chosen"].headers).get_json() == []


@pytest.mark.parametrize("state", ["revoked", "ended", "unknown"])
def test_dead_watch_links_are_refused(client, cast, state):
    owner, journey = cast["owner"], cast["journey"]
    token = journey["watch_url"].rsplit("/", 1)[1]
    if state == "revoked":
        link_id = journey["watch_link_id"]
        assert (
            client.delete(
                f"/api/v1/journeys/{journey['id']}/watch-links/{link_id}", headers=owner.headers
            ).status_code
            == 204
        )
    elif state == "ended":
        client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=owner.headers)
    else:
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    page = client.get(f"/watch/{token}")
    assert page.status_code in (404, 410)
    assert b"Link unavailable" in page.data
    events = client.get(f"/watch/{token}/events")
    assert events.status_code in (404, 410)
    events.close()


@pytest.mark.parametrize("end", ["cancel", "arrived"])
def test_after_the_journey_ends_contacts_see_its_final_state_and_no_position(client, cast, end):
    from datetime import UTC, datetime

    from tests.support.journeys import SSEReader, fix

    journey_id, owner, chosen = cast["journey"]["id"], cast["owner"], cast["chosen"]
    base = f"/api/v1/journeys/{journey_id}"
    sent = client.post(
        f"{base}/locations",
        json={"fixes": [fix(53.54310, -2.63710, datetime.now(UTC), battery=70)]},
        headers=owner.headers,
    )
    assert sent.status_code == 200
    live = client.get(base, headers=chosen.headers).get_json()
    assert live["last_fix"]["lat"] == 53.54310  # while active the contact sees it
    watching = client.get(f"{base}/stream", headers=chosen.headers, buffered=False)
    events = SSEReader(watching.response)
    try:
        assert events.next_event()[1]["journey"]["last_fix"]["battery"] == 70
        ended = client.post(f"{base}/{end}", headers=owner.headers)
        assert ended.status_code == 200
        # The owner's own answer still carries their position.
        assert ended.get_json()["last_fix"]["lat"] == 53.54310
        kind, final = events.next_event()
        assert kind == "state" and final["journey"]["state"] != "active"
        assert final["journey"]["last_fix"] is None
        assert events.ended()
    finally:
        watching.close()

    contact_view = client.get(base, headers=chosen.headers)
    assert contact_view.status_code == 200
    body = contact_view.get_json()
    assert body["state"] == ("cancelled" if end == "cancel" else "arrived")
    assert body["last_fix"] is None
    assert "53.5431" not in contact_view.get_data(as_text=True)
    late = client.get(f"{base}/stream", headers=chosen.headers, buffered=False)
    try:
        snapshot = SSEReader(late.response).next_event()[1]["journey"]
        assert snapshot["state"] != "active" and snapshot["last_fix"] is None
    finally:
        late.close()
    own = client.get(base, headers=owner.headers).get_json()
    assert (own["last_fix"]["lat"], own["last_fix"]["battery"]) == (53.54310, 70)
