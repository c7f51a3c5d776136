"""GET /api/v1/me/export and DELETE /api/v1/me: everything held about you, and erasure."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support.reports import make_report


def test_export_needs_sign_in(client):
    response = client.get("/api/v1/me/export")
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_export_holds_profile_and_own_named_reports_only(client, resident, other_resident):
    mine = make_report(user_id=resident.id, anonymous=False, description="lamp out by the canal")
    make_report(user_id=other_resident.id, anonymous=False, description="bob's report")
    make_report(description="someone anonymous")

    response = client.get("/api/v1/me/export", headers=resident.headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["format"] == "safehaven-export/1"
    assert body["profile"]["uid"] == resident.uid
    assert body["profile"]["id"] == resident.id
    reports = body["data"]["reports"]["reports"]
    assert [r["id"] for r in reports] == [mine.id]
    assert reports[0]["description"] == "lamp out by the canal"
    assert "bob's report" not in response.get_data(as_text=True)


def test_erasure_deletes_the_user_and_anonymises_reports(client, resident, other_resident):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.reports.models import Report

    named = make_report(
        user_id=resident.id,
        anonymous=False,
        consent_to_contact=True,
        contact_name="Alice",
        contact_email="alice@example.org",
    )
    others = make_report(user_id=other_resident.id, anonymous=False)
    named_id, others_id = named.id, others.id

    response = client.delete("/api/v1/me", headers=resident.headers)

    assert response.status_code == 200
    assert response.get_json()["erased"] is True
    assert "reports" in response.get_json()["domains"]
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.uid == resident.uid)) is None
    kept = db.session.get(Report, named_id)
    # The report still counts towards hotspots but says nothing about who sent it.
    assert kept is not None and kept.ward_code == "E05015010" and kept.observed_at is not None
    assert (kept.user_id, kept.anonymous, kept.consent_to_contact) == (None, True, False)
    assert (kept.contact_name, kept.contact_email) == (None, None)
    assert db.session.get(Report, others_id).user_id == other_resident.id
    assert db.session.scalar(select(func.count()).select_from(Report)) == 2


def test_after_erasure_the_old_token_is_refused_and_recreates_nothing(
    client, resident, make_person
):
    from backend.auth.models import ErasedAccount, User
    from backend.extensions import db

    make_report(user_id=resident.id, anonymous=False)
    client.patch("/api/v1/me", json={"display_name": "Alice"}, headers=resident.headers)
    assert client.delete("/api/v1/me", headers=resident.headers).status_code == 200

    for path in ("/api/v1/me", "/api/v1/me/export", "/api/v1/contacts"):
        response = client.get(path, headers=resident.headers)
        assert response.status_code == 401, path
        assert "erased" in response.get_json()["message"]
    fix = {"fixes": [{"lat": 53.5, "lon": -2.6, "recorded_at": "2026-01-01T00:00:00Z"}]}
    assert (
        client.post("/api/v1/journeys/1/locations", json=fix, headers=resident.headers).status_code
        == 401
    )
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.uid == resident.uid)) is None
    # The tombstone holds a hash of the uid, not the uid.
    tombstones = db.session.scalars(select(ErasedAccount)).all()
    assert len(tombstones) == 1 and resident.uid not in tombstones[0].uid_hash
    # Someone else signs up as before.
    newcomer = make_person("resident-newcomer")
    assert client.get("/api/v1/me", headers=newcomer.headers).status_code == 200


def test_erasure_of_an_admin_unlinks_their_triage_notes(client, resident, admin):
    from backend.extensions import db
    from backend.reports.models import ReportUpdate

    report = make_report(user_id=resident.id, anonymous=False)
    response = client.patch(
        f"/api/v1/reports/{report.id}",
        json={"status": "in_progress", "public_note": "patrol booked"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert client.delete("/api/v1/me", headers=admin.headers).status_code == 200

    db.session.expire_all()
    actors = db.session.scalars(
        select(ReportUpdate.actor_id).where(ReportUpdate.report_id == report.id)
    ).all()
    assert actors and all(a is None for a in actors)
    # The resident still sees the public note on their report.
    mine = client.get("/api/v1/reports/mine", headers=resident.headers).get_json()
    assert mine[0]["public_note"] == "patrol booked"


def test_erasure_is_all_or_nothing(client, resident, monkeypatch):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.reports import service as reports

    report = make_report(user_id=resident.id, anonymous=False)

    def broken(user):  # a domain failing half-way must leave everything as it was
        raise RuntimeError("disk full")

    monkeypatch.setattr(reports, "erase_user", broken)
    response = client.delete("/api/v1/me", headers=resident.headers)

    assert response.status_code == 500
    db.session.expire_all()
    assert db.session.get(User, resident.id) is not None
    assert db.session.get(type(report), report.id).user_id == resident.id


def test_every_domain_service_with_hooks_is_called(app):
    from backend.account import service

    domains = dict(service.domain_services())
    assert {"reports", "auth", "venues"} <= set(domains)
    assert any(name == "reports" for name, _ in service._hooks("erase_user"))


def test_venue_staff_export_their_venues_and_erasure_unlinks_them(client, venue_staff, admin):
    from backend.extensions import db
    from backend.venues.models import Venue, VenueChange, VenueStaff

    response = client.post(
        "/api/v1/venues",
        json={
            "name": "The Swan",
            "category": "pub_or_bar",
            "lat": 53.5448,
            "lon": -2.6318,
            "opening_hours": "Mo-Su 10:00-23:00",
        },
        headers=venue_staff.headers,
    )
    assert response.status_code == 201, response.get_json()
    venue_id = response.get_json()["id"]

    export = client.get("/api/v1/me/export", headers=venue_staff.headers).get_json()
    assert [v["venue_id"] for v in export["data"]["venues"]["staff_of"]] == [venue_id]
    assert export["data"]["venues"]["changes"], "their registration is a recorded change"
    assert (
        client.get("/api/v1/me/export", headers=admin.headers).get_json()["data"]["venues"][
            "staff_of"
        ]
        == []
    )

    assert client.delete("/api/v1/me", headers=venue_staff.headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(Venue, venue_id) is not None  # the business stays
    assert db.session.query(VenueStaff).filter_by(venue_id=venue_id).count() == 0
    labels = {c.actor_label for c in db.session.query(VenueChange).filter_by(venue_id=venue_id)}
    assert venue_staff.uid not in labels


def test_journeys_contacts_and_devices_are_exported_and_erased(client, resident, other_resident):
    from backend.account.models import Device
    from backend.contacts.models import Contact
    from backend.extensions import db
    from backend.journeys.models import Journey, LocationFix
    from tests.support.journeys import befriend, start_journey

    befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident])
    from datetime import UTC, datetime

    fix = {"lat": 53.543, "lon": -2.640, "recorded_at": datetime.now(UTC).isoformat()}
    posted = client.post(
        f"/api/v1/journeys/{journey['id']}/locations",
        json={"fixes": [fix]},
        headers=resident.headers,
    )
    assert posted.status_code == 200, posted.get_json()
    device = client.post(
        "/api/v1/me/devices",
        json={"token": "alice-phone-token-0123456789", "platform": "android"},
        headers=resident.headers,
    )
    assert device.status_code == 201, device.get_json()

    export = client.get("/api/v1/me/export", headers=resident.headers).get_json()["data"]
    assert [j["id"] for j in export["journeys"]["journeys"]] == [journey["id"]]
    assert export["journeys"]["journeys"][0]["fixes"][0]["lat"] == 53.543
    assert len(export["contacts"]["contacts"]) == 1
    assert len(export["account"]["devices"]) == 1
    # The contact sees the link, not the journey's fixes.
    theirs = client.get("/api/v1/me/export", headers=other_resident.headers).get_json()["data"]
    assert theirs["journeys"]["journeys"] == []

    assert client.delete("/api/v1/me", headers=resident.headers).status_code == 200
    db.session.expire_all()
    assert db.session.query(Journey).count() == 0
    assert db.session.query(LocationFix).count() == 0
    assert db.session.query(Contact).count() == 0
    assert db.session.query(Device).count() == 0
