"""Concern reports: categories, sending, anonymity, triage, your reports and nearby."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from backend.extensions import db
from backend.reports import service
from tests.support.reports import LEIGH_WEST, MANCHESTER, WIGAN_CENTRAL, make_report

REQUIRED_CATEGORIES = {
    "knife_weapon",
    "firearm",
    "drug_dealing",
    "asb",
    "youth_asb",
    "dangerous_dog",
    "sexual_harassment",
    "exploitation",
    "street_drinking",
    "feeling_unsafe",
    "environment",
    "other",
}


def post(client, body, headers=None, **kw):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/reports", json=body, headers=headers or {}, **kw)


def a_report(**overrides):  # type: ignore[no-untyped-def]
    body = {
        "category": "knife_weapon",
        "description": "Lad showing a knife by the bus station",
        "lat": WIGAN_CENTRAL[0],
        "lon": WIGAN_CENTRAL[1],
        "anonymous": False,
    }
    body.update(overrides)
    return body


def test_categories_name_the_team_the_guidance_and_anonymity(client):
    categories = client.get("/api/v1/reports/categories").get_json()
    assert {c["code"] for c in categories} == REQUIRED_CATEGORIES
    for category in categories:
        assert "If anyone is in danger now, call 999" in category["guidance"]
        assert category["team"]
        assert isinstance(category["anonymous_allowed"], bool)
    by_code = {c["code"]: c for c in categories}
    assert "Dog Warden" in by_code["dangerous_dog"]["team"]
    assert by_code["knife_weapon"]["anonymous_allowed"] is True


def test_a_signed_in_resident_reports_and_sees_it_in_their_reports(client, resident):
    response = post(client, a_report(consent_to_contact=True), resident.headers)
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert receipt["status"] == "received"
    assert receipt["ward_code"] == "E05015010"
    assert receipt["anonymous"] is False
    mine = client.get("/api/v1/reports/mine", headers=resident.headers).get_json()
    assert [r["id"] for r in mine] == [receipt["id"]]
    assert mine[0]["description"] == "Lad showing a knife by the bus station"
    assert mine[0]["consent_to_contact"] is True
    assert [u["status"] for u in mine[0]["updates"]] == ["received"]


def test_a_postcode_places_the_report_in_its_ward(client, resident):
    body = a_report(lat=None, lon=None, postcode="wn11aa")
    del body["lat"], body["lon"]
    receipt = post(client, body, resident.headers).get_json()
    assert receipt["ward_code"] == "E05015010"
    row = db.session.execute(
        text("SELECT postcode, lat, lon FROM reports WHERE id = :id"), {"id": receipt["id"]}
    ).one()
    assert row.postcode == "WN1 1AA" and round(row.lat, 4) == 53.547


def test_an_anonymous_report_stores_no_user_device_or_address(client, resident):
    address = "203.0.113.77"
    response = post(
        client,
        a_report(anonymous=True, consent_to_contact=True),
        {**resident.headers, "X-Device-Id": "device-abc-123"},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 201
    report_id = response.get_json()["id"]
    row = (
        db.session.execute(text("SELECT * FROM reports WHERE id = :id"), {"id": report_id})
        .mappings()
        .one()
    )
    assert row["user_id"] is None
    assert row["anonymous"] in (True, 1)
    assert row["consent_to_contact"] in (False, 0)  # nobody to contact
    stored = " ".join(str(v) for v in row.values())
    for identifier in (address, resident.uid, "device-abc-123"):
        assert identifier not in stored
    # Nowhere else either: no table holds the address or the device id.
    for table in db.metadata.sorted_tables:
        for values in db.session.execute(table.select()).all():
            dump = " ".join(str(v) for v in values)
            assert address not in dump and "device-abc-123" not in dump, table.name
    # And the resident cannot see it as theirs: it is linked to no one.
    assert client.get("/api/v1/reports/mine", headers=resident.headers).get_json() == []


def test_anonymous_reports_need_no_account_but_named_ones_do(client):
    assert post(client, a_report(anonymous=True)).status_code == 201
    response = post(client, a_report(anonymous=False))
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_a_category_that_needs_contact_refuses_anonymity(client):
    response = post(client, a_report(category="dangerous_dog", anonymous=True))
    assert response.status_code == 422
    assert "anonymous" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "alien_landing"}, "category"),
        ({"description": "x" * 4001}, "description"),
        ({"description": "   "}, "description"),
        ({"lat": 95.0}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"lat": "NaN"}, "lat"),
        ({"lat": MANCHESTER[0], "lon": MANCHESTER[1]}, "lat"),
        ({"lat": None, "lon": None, "postcode": "ZZ99 9ZZ"}, "postcode"),
        ({"lat": None, "lon": None, "postcode": "not a postcode"}, "postcode"),
        ({"lat": None, "lon": None}, "lat"),
        ({"lon": None}, "lon"),
        ({"postcode": "WN1 1AA"}, "postcode"),
        ({"observed_at": "yesterday"}, "observed_at"),
        ({"observed_at": "2026-01-01T10:00:00"}, "observed_at"),  # no time zone
        ({"observed_at": "2099-01-01T10:00:00Z"}, "observed_at"),
        ({"observed_at": "2001-01-01T10:00:00Z"}, "observed_at"),
        ({"anonymous": "maybe"}, "anonymous"),
    ],
)
def test_bad_reports_get_a_4xx_naming_the_field(client, resident, overrides, field):
    body = a_report(**overrides)
    for key in [k for k, v in overrides.items() if v is None]:
        body.pop(key)
    response = post(client, body, resident.headers)
    assert 400 <= response.status_code < 500
    payload = response.get_json()
    assert set(payload) == {"code", "status", "message", "errors"}
    assert field in payload["errors"], payload


def test_a_form_body_is_refused_with_415(client, resident):
    response = client.post("/api/v1/reports", data={"category": "asb"}, headers=resident.headers)
    assert response.status_code == 415


def test_admin_moves_a_report_forward_and_the_reporter_sees_each_step(client, resident, admin):
    report_id = post(client, a_report(), resident.headers).get_json()["id"]
    steps = [
        {"status": "acknowledged", "public_note": "Passed to the neighbourhood team"},
        {"status": "in_progress"},
        {"public_note": "Patrols added on Friday nights"},
        {"status": "closed", "public_note": "Weapon sweep done; nothing found"},
    ]
    for step in steps:
        response = client.patch(f"/api/v1/reports/{report_id}", json=step, headers=admin.headers)
        assert response.status_code == 200, response.get_json()
    mine = client.get("/api/v1/reports/mine", headers=resident.headers).get_json()[0]
    assert mine["status"] == "closed"
    assert mine["public_note"] == "Weapon sweep done; nothing found"
    assert [(u["status"], u["note"]) for u in mine["updates"]] == [
        ("received", None),
        ("acknowledged", "Passed to the neighbourhood team"),
        ("in_progress", None),
        ("in_progress", "Patrols added on Friday nights"),
        ("closed", "Weapon sweep done; nothing found"),
    ]


@pytest.mark.parametrize(
    ("start", "change", "status"),
    [
        ("in_progress", {"status": "acknowledged"}, 409),
        ("closed", {"status": "closed", "public_note": "again"}, 409),
        ("received", {"status": "received"}, 409),
        ("received", {"status": "fixed"}, 422),
        ("received", {}, 422),
        ("received", {"public_note": "x" * 2001}, 422),
    ],
)
def test_triage_refuses_bad_moves(client, admin, start, change, status):
    report = make_report(status=start)
    response = client.patch(f"/api/v1/reports/{report.id}", json=change, headers=admin.headers)
    assert response.status_code == status
    assert response.get_json()["errors"]


def test_only_admins_triage_and_nobody_sees_anothers_reports(
    client, resident, other_resident, venue_staff, admin
):
    report_id = post(client, a_report(), resident.headers).get_json()["id"]
    for person in (resident, other_resident, venue_staff):
        response = client.patch(
            f"/api/v1/reports/{report_id}", json={"status": "closed"}, headers=person.headers
        )
        assert response.status_code == 403
    assert (
        client.patch(f"/api/v1/reports/{report_id}", json={"status": "closed"}).status_code == 401
    )
    assert client.get("/api/v1/reports/mine", headers=other_resident.headers).get_json() == []
    assert client.get("/api/v1/reports/mine").status_code == 401
    missing = client.patch(
        "/api/v1/reports/999999", json={"status": "closed"}, headers=admin.headers
    )
    assert missing.status_code == 404


def test_status_changes_push_you_said_we_did_to_the_reporter_only(app, client, resident, admin):
    """End to end: admin PATCH -> outbox in the same transaction -> worker -> FCM v1 body."""
    import firebase_admin

    from backend.alerts.fcm import fcm_pusher
    from backend.alerts.worker import run_once
    from tests.support.fcm import intercepted_fcm

    token = "alice-phone-token-" + "a" * 60
    assert (
        client.post(
            "/api/v1/me/devices", json={"token": token}, headers=resident.headers
        ).status_code
        == 201
    )
    sent = post(client, a_report(anonymous=False), resident.headers).get_json()
    named, reference = sent["id"], sent["reference"]
    anonymous = post(client, a_report(anonymous=True), resident.headers).get_json()["id"]
    for report_id in (named, anonymous):
        response = client.patch(
            f"/api/v1/reports/{report_id}",
            json={"status": "in_progress", "public_note": "Patrols added on Friday nights"},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.get_json()
    fb_app, fake = intercepted_fcm("reports-you-said-we-did")
    try:
        run_once(app, fcm_pusher(fb_app))
    finally:
        firebase_admin.delete_app(fb_app)
    assert len(fake.requests) == 1  # the anonymous report has nobody to tell
    message = fake.requests[0]["message"]
    assert message["token"] == token
    assert message["notification"] == {
        "title": f"Your report {reference}: in progress",
        "body": "Patrols added on Friday nights",
    }
    assert message["data"]["report_id"] == str(named)
    assert message["data"]["reference"] == reference
    assert message["data"]["status"] == "in_progress"


def test_nearby_shows_recent_reports_blurred_without_text(client, resident):
    now = datetime.now(UTC)
    make_report(
        category="knife_weapon",
        description="SECRET DETAIL",
        lat=53.55012,
        lon=-2.63023,
        created_at=now - timedelta(minutes=5),
    )
    make_report(category="asb", created_at=now - timedelta(minutes=45))  # too old
    make_report(category="asb", lat=LEIGH_WEST[0], lon=LEIGH_WEST[1], created_at=now)  # too far
    response = client.get(f"/api/v1/reports/nearby?lat={WIGAN_CENTRAL[0]}&lon={WIGAN_CENTRAL[1]}")
    assert response.status_code == 200
    found = response.get_json()
    assert len(found) == 1
    assert set(found[0]) == {"category", "category_name", "reported_at", "lat", "lon"}
    assert found[0]["category"] == "knife_weapon"
    assert "SECRET" not in response.get_data(as_text=True)
    assert (found[0]["lat"], found[0]["lon"]) == service.snap_to_grid(53.55012, -2.63023)
    assert (found[0]["lat"], found[0]["lon"]) != (53.55012, -2.63023)


def test_the_grid_is_about_150_metres_and_hides_the_exact_point():
    from backend.spatial import haversine_m

    lat, lon = 53.55012, -2.63023
    snapped = service.snap_to_grid(lat, lon)
    assert haversine_m(lat, lon, *snapped) <= 110  # within half a cell diagonal
    # Points in one cell share one public position; the next cell is ~150 m away.
    assert service.snap_to_grid(lat + 0.0001, lon + 0.0001) in (
        snapped,
        service.snap_to_grid(lat + 0.0001, lon + 0.0001),
    )
    east = service.snap_to_grid(lat, lon + service.GRID_LON_DEG)
    north = service.snap_to_grid(lat + service.GRID_LAT_DEG, lon)
    assert 140 < haversine_m(*snapped, *east) < 160
    assert 140 < haversine_m(*snapped, *north) < 160


def test_the_nearby_window_is_configurable(app):
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    make_report(created_at=now - timedelta(minutes=50))
    assert service.nearby(*WIGAN_CENTRAL, 1000, now=now) == []
    assert len(service.nearby(*WIGAN_CENTRAL, 1000, now=now, window_minutes=60)) == 1


@pytest.mark.parametrize(
    "query",
    ["lat=91&lon=0", "lat=53.5&lon=abc", "lon=-2.6", "lat=53.5&lon=-2.6&radius_m=100000"],
)
def test_nearby_rejects_bad_points(client, query):
    response = client.get(f"/api/v1/reports/nearby?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_counts_by_ward_counts_observations_in_a_half_open_period(app):
    t = datetime(2026, 3, 2, tzinfo=UTC)
    make_report(observed_at=t)
    make_report(observed_at=t + timedelta(days=1))
    make_report(observed_at=t + timedelta(days=2))  # the end is excluded
    make_report(observed_at=t, category="knife_weapon", ward_code="E05015003")
    assert service.counts_by_ward(t, t + timedelta(days=2)) == {"E05015010": 2, "E05015003": 1}
    assert service.counts_by_ward(t, t + timedelta(days=2), category="knife_weapon") == {
        "E05015003": 1
    }
    from backend.errors import ValidationError

    with pytest.raises(ValidationError):
        service.counts_by_ward(t, t)
    with pytest.raises(ValidationError):
        service.counts_by_ward(t, t + timedelta(days=1), category="nope")


def test_the_seed_adds_a_labelled_month_in_the_strategy_hotspots(app):
    from backend.reports import seed

    lines: list[str] = []
    seed.seed_wigan(lines.append)
    seed.seed_wigan(lines.append)
    assert "imported 0" in lines[1]  # idempotent
    rows = db.session.execute(text("SELECT description, ward_code, source FROM reports")).all()
    assert len(rows) > 500
    assert all(
        r.source == "synthetic" and r.description.startswith(seed.SYNTHETIC_LABEL) for r in rows
    )
    per_ward: dict[str, int] = {}
    for r in rows:
        per_ward[r.ward_code] = per_ward.get(r.ward_code, 0) + 1
    top = sorted(per_ward, key=per_ward.get, reverse=True)[:6]  # type: ignore[arg-type]
    # Wigan Central, Leigh Central (the Leigh East beat), Leigh West, Atherton South and
    # Douglas (Worsley Hall) lead.
    assert {"E05015010", "E05015001", "E05015003", "E05014994", "E05014996"} <= set(top)
