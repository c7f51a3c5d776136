"""Registration, editing, verification, overrides and the audit trail: who may do what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.db import utcnow
from backend.extensions import db
from backend.venues import service
from backend.venues.models import VenueChange
from tests.backend.venues.factories import WIGAN_CENTRE, make_venue

NEW_VENUE = {
    "name": "The Crown",
    "category": "pub_or_bar",
    "address": "1 Wallgate, Wigan",
    "postcode": "wn1 1ba",
    "lat": 53.5439,
    "lon": -2.6342,
    "phone": "01632 960999",
    "opening_hours": "Mo-Th 12:00-23:00; Fr-Sa 12:00-02:00",
    "schemes": ["ask_for_angela"],
}


def register(client, person, **overrides):
    return client.post("/api/v1/venues", json={**NEW_VENUE, **overrides}, headers=person.headers)


def test_venue_staff_register_a_pending_venue_with_its_ward(client, venue_staff):
    response = register(client, venue_staff)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["verified_at"] is None
    assert body["postcode"] == "WN1 1BA"
    assert body["ward_code"] == "E05015010"  # Wigan Central
    assert body["staff_ids"] == [venue_staff.id]
    # Pending venues are not offered to residents.
    found = client.get(
        "/api/v1/venues/nearest",
        query_string={"lat": NEW_VENUE["lat"], "lon": NEW_VENUE["lon"], "open_now": "false"},
    )
    assert found.get_json()["items"] == []


def test_a_resident_cannot_register_and_nobody_anonymous_can(client, resident):
    assert register(client, resident).status_code == 403
    assert client.post("/api/v1/venues", json=NEW_VENUE).status_code == 401


def test_the_same_venue_cannot_be_registered_twice_at_the_same_place(client, venue_staff):
    assert register(client, venue_staff).status_code == 201
    again = register(client, venue_staff, name="the  crown")
    assert again.status_code == 409 and "name" in again.get_json()["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opening_hours": "Mo-Fr 25:00-99"}, "opening_hours"),
        ({"opening_hours": "whenever we like"}, "opening_hours"),
        ({"lat": 95}, "lat"),
        ({"lon": "west"}, "lon"),
        ({"category": "nightclub"}, "category"),
        ({"schemes": ["made_up"]}, "schemes"),
        ({"postcode": "NOT A CODE"}, "postcode"),
        ({"phone": "call me"}, "phone"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_registration_fields_are_422_naming_the_field(client, venue_staff, change, field):
    response = register(client, venue_staff, **change)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_staff_edit_their_own_venue_but_not_anothers(client, venue_staff, make_person):
    mine = make_venue(name="Mine", staff_id=venue_staff.id, status="pending")
    other_staff = make_person("staff-erin", "venue_staff")
    theirs = make_venue(name="Theirs", staff_id=other_staff.id)
    ok = client.patch(
        f"/api/v1/venues/{mine.id}",
        json={"phone": "01632 960111", "opening_hours": "Mo-Su 10:00-22:00"},
        headers=venue_staff.headers,
    )
    assert ok.status_code == 200 and ok.get_json()["phone"] == "01632 960111"
    denied = client.patch(
        f"/api/v1/venues/{theirs.id}", json={"name": "Hijacked"}, headers=venue_staff.headers
    )
    assert denied.status_code == 403
    db.session.expire_all()
    assert service.get_venue(theirs.id).name == "Theirs"


def test_an_invalid_opening_hours_edit_is_refused(client, venue_staff):
    mine = make_venue(staff_id=venue_staff.id)
    response = client.patch(
        f"/api/v1/venues/{mine.id}",
        json={"opening_hours": "Mo-Fr 9-5ish"},
        headers=venue_staff.headers,
    )
    assert response.status_code == 422
    assert "opening_hours" in response.get_json()["errors"]


def test_moving_a_venue_re_derives_its_ward(client, admin):
    venue = make_venue()
    moved = client.patch(
        f"/api/v1/venues/{venue.id}", json={"lat": 53.4975, "lon": -2.5190}, headers=admin.headers
    ).get_json()
    assert moved["ward_code"] == "E05015001"  # Leigh Central & Higher Folds


@pytest.mark.parametrize("who", ["resident", "venue_staff"])
def test_only_admins_verify(client, request, who):
    person = request.getfixturevalue(who)
    venue = make_venue(status="pending", staff_id=person.id if who == "venue_staff" else None)
    response = client.post(
        f"/api/v1/venues/{venue.id}/verification",
        json={"action": "approve", "note": "looks fine to me"},
        headers=person.headers,
    )
    assert response.status_code == 403
    assert service.get_venue(venue.id).status == "pending"


def test_admin_approves_suspends_and_every_change_is_recorded(client, admin, venue_staff):
    venue = make_venue(status="pending", staff_id=venue_staff.id)
    approved = client.post(
        f"/api/v1/venues/{venue.id}/verification",
        json={
            "action": "approve",
            "note": "visited, staff trained",
            "staff_trained_until": "2027-11-01",
        },
        headers=admin.headers,
    )
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "verified" and body["verified_at"] and body["last_checked_at"]
    assert body["staff_trained_until"] == "2027-11-01"
    suspended = client.post(
        f"/api/v1/venues/{venue.id}/verification",
        json={"action": "suspend", "note": "complaint under review"},
        headers=admin.headers,
    )
    assert suspended.get_json()["status"] == "suspended"
    rejected = client.post(
        f"/api/v1/venues/{venue.id}/verification",
        json={"action": "reject", "note": "no"},
        headers=admin.headers,
    )
    assert rejected.status_code == 422  # note too short
    conflict = client.post(
        f"/api/v1/venues/{venue.id}/verification",
        json={"action": "reject", "note": "not suitable"},
        headers=admin.headers,
    )
    assert conflict.status_code == 409
    history = client.get(f"/api/v1/venues/{venue.id}/history", headers=venue_staff.headers)
    entries = history.get_json()
    assert [e["action"] for e in entries] == ["verification:approve", "verification:suspend"]
    assert all(e["actor_id"] == admin.id for e in entries)
    assert entries[1]["note"] == "complaint under review"
    assert entries[1]["changes"]["status"] == {"from": "verified", "to": "suspended"}


def test_registration_and_edits_are_audited_with_who_made_them(client, venue_staff, admin):
    venue_id = register(client, venue_staff).get_json()["id"]
    client.patch(
        f"/api/v1/venues/{venue_id}", json={"phone": "01632 960222"}, headers=venue_staff.headers
    )
    client.patch(
        f"/api/v1/venues/{venue_id}", json={"name": "The Crown Inn"}, headers=admin.headers
    )
    changes = db.session.query(VenueChange).order_by(VenueChange.id).all()
    assert [(c.action, c.actor_id) for c in changes] == [
        ("created", venue_staff.id),
        ("updated", venue_staff.id),
        ("updated", admin.id),
    ]
    assert changes[1].changes == {"phone": {"from": "01632 960999", "to": "01632 960222"}}


def test_history_is_private_to_the_venues_staff_and_admins(
    client, resident, venue_staff, make_person
):
    venue = make_venue(staff_id=venue_staff.id)
    stranger = make_person("staff-frank", "venue_staff")
    assert (
        client.get(f"/api/v1/venues/{venue.id}/history", headers=resident.headers).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/venues/{venue.id}/history", headers=stranger.headers).status_code
        == 403
    )


def test_unlisted_venues_are_hidden_from_everyone_but_their_staff_and_admins(
    client, resident, venue_staff, admin, make_person
):
    venue = make_venue(status="pending", staff_id=venue_staff.id)
    stranger = make_person("staff-gina", "venue_staff")
    assert client.get(f"/api/v1/venues/{venue.id}").status_code == 404
    assert client.get(f"/api/v1/venues/{venue.id}", headers=resident.headers).status_code == 404
    assert client.get(f"/api/v1/venues/{venue.id}", headers=stranger.headers).status_code == 404
    own = client.get(f"/api/v1/venues/{venue.id}", headers=venue_staff.headers).get_json()
    assert own["status"] == "pending" and own["staff_ids"] == [venue_staff.id]
    assert client.get(f"/api/v1/venues/{venue.id}", headers=admin.headers).status_code == 200
    public = make_venue(name="Public", staff_id=venue_staff.id)
    seen = client.get(f"/api/v1/venues/{public.id}", headers=resident.headers).get_json()
    assert seen["name"] == "Public" and "staff_ids" not in seen and "verification_note" not in seen
    assert client.get("/api/v1/venues/999999").status_code == 404


def test_temporarily_unavailable_hides_a_venue_until_the_time_given(client, venue_staff, resident):
    venue = make_venue(staff_id=venue_staff.id)
    until = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    response = client.put(
        f"/api/v1/venues/{venue.id}/unavailable",
        json={"until": until.isoformat(), "reason": "power cut"},
        headers=venue_staff.headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unavailable_reason"] == "power cut"
    args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1]}
    assert client.get("/api/v1/venues/nearest", query_string=args).get_json()["items"] == []
    later = {**args, "at": (until + timedelta(minutes=1)).isoformat()}
    assert len(client.get("/api/v1/venues/nearest", query_string=later).get_json()["items"]) == 1
    assert (
        client.put(
            f"/api/v1/venues/{venue.id}/unavailable",
            json={"until": until.isoformat()},
            headers=resident.headers,
        ).status_code
        == 403
    )
    cleared = client.put(
        f"/api/v1/venues/{venue.id}/unavailable", json={"until": None}, headers=venue_staff.headers
    )
    assert cleared.get_json()["unavailable_until"] is None
    assert len(client.get("/api/v1/venues/nearest", query_string=args).get_json()["items"]) == 1


@pytest.mark.parametrize(
    "until",
    [
        "2020-01-01T00:00:00Z",
        "2099-01-01T00:00:00Z",
        "soon",
        "2026-11-21T02:00:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_unavailable_until_must_be_soon_future_and_aware(client, venue_staff, until):
    venue = make_venue(staff_id=venue_staff.id)
    response = client.put(
        f"/api/v1/venues/{venue.id}/unavailable", json={"until": until}, headers=venue_staff.headers
    )
    assert response.status_code == 422 and "until" in response.get_json()["errors"]


def test_recheck_due_lists_lapsed_checks_and_training_for_admins_only(client, admin, venue_staff):
    at = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    fresh = make_venue(name="Fresh", last_checked_at=at - timedelta(days=30))
    stale = make_venue(name="Stale", last_checked_at=at - timedelta(days=400))
    never = make_venue(name="Never checked", last_checked_at=None)
    untrained = make_venue(
        name="Training lapsed",
        last_checked_at=at - timedelta(days=30),
        staff_trained_until=date(2026, 10, 1),
    )
    make_venue(name="Pending", status="pending", last_checked_at=None)
    response = client.get(
        "/api/v1/venues/recheck-due", query_string={"at": at.isoformat()}, headers=admin.headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [v["id"] for v in body["items"]] == [never.id, stale.id, untrained.id]
    assert all(v["recheck_due"] for v in body["items"]) and body["meta"]["total"] == 3
    assert fresh.id not in [v["id"] for v in body["items"]]
    denied = client.get("/api/v1/venues/recheck-due", headers=venue_staff.headers)
    assert denied.status_code == 403
    # Re-approving a verified venue records the check and clears it from the list.
    client.post(
        f"/api/v1/venues/{stale.id}/verification",
        json={"action": "approve", "note": "re-checked on site"},
        headers=admin.headers,
    )
    db.session.expire_all()
    assert not service.is_recheck_due(service.get_venue(stale.id))


def test_get_venue_for_other_domains(app):
    venue = make_venue(name="Destination")
    found = service.get_venue(venue.id)
    assert (found.name, found.lat, found.lon, found.status) == (
        "Destination",
        WIGAN_CENTRE[0],
        WIGAN_CENTRE[1],
        "verified",
    )
    from backend.errors import NotFound

    with pytest.raises(NotFound):
        service.get_venue(123456)


def test_staff_cannot_verify_their_own_venue_by_editing_it(client, venue_staff):
    mine = make_venue(status="pending", staff_id=venue_staff.id)
    for field, value in (("status", "verified"), ("verified_at", "2026-11-21T00:00:00Z")):
        response = client.patch(
            f"/api/v1/venues/{mine.id}", json={field: value}, headers=venue_staff.headers
        )
        assert response.status_code == 422 and field in response.get_json()["errors"]
    db.session.expire_all()
    assert service.get_venue(mine.id).status == "pending"


def nearest_ids(client, lat: float, lon: float) -> list[int]:  # type: ignore[no-untyped-def]
    response = client.get(
        "/api/v1/venues/nearest", query_string={"lat": lat, "lon": lon, "open_now": "false"}
    )
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["items"]]


LONDON = (51.5010, -0.1416)


@pytest.mark.parametrize(
    ("change", "because"),
    [
        ({"lat": LONDON[0], "lon": LONDON[1]}, "position"),
        ({"name": "police_station"}, "name"),
        ({"category": "police_station"}, "category"),
        ({"opening_hours": "Mo-Fr 09:00-17:00"}, "opening_hours"),
        (
            {"name": "Wigan Police Station", "category": "police_station", "lat": LONDON[0]},
            "name",
        ),
    ],
)
def test_staff_changing_what_residents_rely_on_send_a_verified_venue_back_to_review(
    client, venue_staff, admin, change, because
):
    venue = make_venue(name="The Crown", staff_id=venue_staff.id, opening_hours="24/7")
    assert nearest_ids(client, *WIGAN_CENTRE) == [venue.id]  # the index has it now

    response = client.patch(f"/api/v1/venues/{venue.id}", json=change, headers=venue_staff.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"
    # Suspended from search at once, where it was and where it says it is now.
    assert nearest_ids(client, *WIGAN_CENTRE) == []
    assert nearest_ids(client, *LONDON) == []
    assert client.get(f"/api/v1/venues/{venue.id}").status_code == 404  # not public
    history = client.get(f"/api/v1/venues/{venue.id}/history", headers=venue_staff.headers)
    entries = history.get_json()
    assert [(e["action"], e["actor_id"]) for e in entries[-2:]] == [
        ("updated", venue_staff.id),
        ("review:required", venue_staff.id),
    ]
    assert set(change) <= set(entries[-2]["changes"])
    assert because in entries[-1]["changes"]["because"]
    assert entries[-1]["changes"]["status"] == {"from": "verified", "to": "pending"}
    # The partnership approves the new version: it serves again, as changed.
    approved = client.post(
        f"/api/v1/venues/{venue.id}/verification",
        json={"action": "approve", "note": "checked by phone"},
        headers=admin.headers,
    )
    assert approved.status_code == 200, approved.get_json()
    where = (change.get("lat", WIGAN_CENTRE[0]), change.get("lon", WIGAN_CENTRE[1]))
    assert venue.id in nearest_ids(client, *where)


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "01632 960111", "accessibility": "step-free entrance"},
        {"lat": WIGAN_CENTRE[0] + 0.0001},  # 11 m: a pin put right
        {"opening_hours": "Mo-Sa 10:00-22:00; Su 10:00-21:00"},  # one hour a week less
    ],
)
def test_small_staff_edits_keep_a_verified_venue_verified_and_served(client, venue_staff, change):
    venue = make_venue(staff_id=venue_staff.id, opening_hours="Mo-Su 10:00-22:00")
    assert nearest_ids(client, *WIGAN_CENTRE) == [venue.id]
    response = client.patch(f"/api/v1/venues/{venue.id}", json=change, headers=venue_staff.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "verified"
    assert nearest_ids(client, *WIGAN_CENTRE) == [venue.id]
    actions = [
        e["action"]
        for e in client.get(
            f"/api/v1/venues/{venue.id}/history", headers=venue_staff.headers
        ).get_json()
    ]
    assert "review:required" not in actions


def test_an_admins_own_change_is_the_review(client, admin):
    venue = make_venue(name="The Crown")
    response = client.patch(
        f"/api/v1/venues/{venue.id}", json={"name": "The Crown Inn"}, headers=admin.headers
    )
    assert response.get_json()["status"] == "verified"
    assert nearest_ids(client, *WIGAN_CENTRE) == [venue.id]


@pytest.mark.parametrize(
    ("first", "second", "because"),
    [
        # 0.00014 degrees of latitude is about 15.6 m: twice is over 25 m from where it was checked.
        ({"lat": WIGAN_CENTRE[0] + 0.00014}, {"lat": WIGAN_CENTRE[0] + 0.00028}, "position"),
        (
            {"opening_hours": "Mo-Su 10:00-22:00; Su 10:00-20:00"},  # 2 h a week less
            {"opening_hours": "Mo-Su 10:00-22:00; Sa-Su 10:00-20:00"},  # 4 h less than checked
            "opening_hours",
        ),
    ],
)
def test_small_staff_edits_add_up_until_they_need_review(
    client, venue_staff, admin, first, second, because
):
    venue = make_venue(staff_id=venue_staff.id, opening_hours="Mo-Su 10:00-22:00")
    url = f"/api/v1/venues/{venue.id}"
    assert client.patch(url, json=first, headers=venue_staff.headers).get_json()["status"] == (
        "verified"
    )
    moved_on = client.patch(url, json=second, headers=venue_staff.headers).get_json()
    assert moved_on["status"] == "pending"
    history = client.get(f"{url}/history", headers=venue_staff.headers).get_json()
    assert because in history[-1]["changes"]["because"]
    # Once approved, the venue's new details are the ones checked: the next nudge is small.
    approved = client.post(
        f"{url}/verification",
        json={"action": "approve", "note": "new hours and pin checked by phone"},
        headers=admin.headers,
    )
    assert approved.status_code == 200, approved.get_json()
    assert client.patch(url, json=first, headers=venue_staff.headers).get_json()["status"] == (
        "verified"
    )
