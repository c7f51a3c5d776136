"""Erasure and the retention purge leave no trace: a walk over every table and every text,
JSON and number column of the live schema (read by inspection, on either engine) finds no
name, uid, phone, push token or position of the person, in any of the ways the code writes
a position (6, 5 and 4 decimals, and as a float)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Float, Numeric, String, Text, inspect, select, table
from sqlalchemy import column as sa_column

from backend.areas.service import place_label
from backend.extensions import db
from tests.support.fcm import intercepted_fcm
from tests.support.journeys import PARK, befriend, fix, start_journey

PROJECT = "demo-safehaven"
NAME = "Alice Tracewell"
UID = "alice-trace-7c1e"
LAT, LON = 53.543172, -2.637194  # where Alice is when she presses SOS
LAT2, LON2 = 53.545286, -2.634918  # a later fix
PHONE = "07700 900461"
E164 = "+447911123456"
EMAIL = "alice.tracewell@example.org"
ALICE_TOKEN = "alice-phone-token-" + "a" * 140
BOB_TOKEN = "bob-phone-token-" + "b" * 140
SHIPPED = {"wards", "postcodes", "alembic_version"}  # public reference data


def position_texts(*values: float) -> set[str]:
    """Every way the code writes a coordinate: f"{v:.6f}" (alert data), f"{v:.5f}",
    4 decimals (SOS text), and the float itself (JSON and str); and, for each (lat, lon)
    pair, the place label alerts use ("WN3 4DG, Douglas": a postcode is a position too)."""
    out = set()
    for value in values:
        out |= {f"{value:.6f}", f"{value:.5f}", f"{value:.4f}", repr(value), str(value)}
    for lat, lon in zip(values[::2], values[1::2], strict=True):
        label = place_label(lat, lon)
        if label:
            out.add(label.removeprefix("Near "))
    return out


def walk_schema() -> dict[tuple[str, str], list[Any]]:
    """Every value of every text, JSON and number column of every table in the database,
    as the database holds it (the tables are read by inspection, not from the models)."""
    inspector = inspect(db.engine)
    names = set(inspector.get_table_names())
    missing = {t.name for t in db.metadata.sorted_tables} - names
    assert not missing, f"tables in the models but not in the database: {missing}"
    values: dict[tuple[str, str], list[Any]] = {}
    with db.engine.connect() as conn:
        for name in sorted(names - SHIPPED):
            columns = [
                c["name"]
                for c in inspector.get_columns(name)
                if isinstance(c["type"], String | Text | JSON | Float | Numeric)
            ]
            if not columns:
                continue
            rows = conn.execute(select(*(sa_column(c) for c in columns)).select_from(table(name)))
            for row in rows:
                for column_name, value in zip(columns, row, strict=True):
                    if value is not None:
                        values.setdefault((name, column_name), []).append(value)
    return values


def traces(needles: set[str], numbers: set[float]) -> list[tuple[str, str, Any]]:
    """(table, column, what) for every value holding a needle or equal to a number."""
    found = []
    for (name, column_name), values in walk_schema().items():
        for value in values:
            if isinstance(value, int | float) and not isinstance(value, bool):
                found += [(name, column_name, n) for n in numbers if abs(float(value) - n) < 1e-9]
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            found += [(name, column_name, n) for n in needles if n in text]
    return found


@pytest.fixture
def fcm(request):  # type: ignore[no-untyped-def]
    import firebase_admin

    from backend.alerts.fcm import fcm_pusher

    fb_app, fake = intercepted_fcm(f"trace-{request.node.name}"[:100], PROJECT)
    yield fcm_pusher(fb_app), fake
    firebase_admin.delete_app(fb_app)


@pytest.fixture
def alice(make_person, client):  # type: ignore[no-untyped-def]
    from backend.auth.models import User

    person = make_person(UID)
    changed = client.patch(
        "/api/v1/me", json={"display_name": NAME, "phone": E164}, headers=person.headers
    )
    assert changed.status_code == 200, changed.get_json()
    assert db.session.get(User, person.id).phone == E164
    return person


def walked_home(app, client, alice, bob, pusher) -> int:  # type: ignore[no-untyped-def]
    """Alice shares a walk with Bob: two fixes, an SOS, then (45 minutes on by the sweep's
    clock) overdue and stationary alerts, then she arrives; every alert is delivered to Bob's
    phone. Returns the journey id."""
    from backend.alerts.worker import run_once

    befriend(client, alice, bob)
    for person, token in ((bob, BOB_TOKEN), (alice, ALICE_TOKEN)):
        response = client.post("/api/v1/me/devices", json={"token": token}, headers=person.headers)
        assert response.status_code == 201
    journey_id = start_journey(client, alice, [bob], watch_link=True)["id"]
    now = datetime.now(UTC)
    fixes = [fix(LAT2, LON2, now - timedelta(seconds=20), battery=71, accuracy_m=5)]
    fixes.append(fix(LAT, LON, now - timedelta(seconds=5), battery=70, accuracy_m=5))
    response = client.post(
        f"/api/v1/journeys/{journey_id}/locations", json={"fixes": fixes}, headers=alice.headers
    )
    assert response.status_code == 200
    assert (
        client.post(f"/api/v1/journeys/{journey_id}/sos", headers=alice.headers).status_code == 200
    )
    assert run_once(app, pusher)["sent"] == 1
    later = run_once(app, pusher, now=now + timedelta(minutes=45))
    assert later["sent"] == 2  # overdue and stationary
    arrived = client.post(f"/api/v1/journeys/{journey_id}/arrived", headers=alice.headers)
    assert arrived.status_code == 200
    assert run_once(app, pusher)["sent"] == 1
    return journey_id


def test_the_setup_does_write_every_kind_of_trace_the_walk_looks_for(
    app, client, alice, other_resident, fcm
):
    """The walk can fail: before any purge it finds the name and positions in the alerts."""
    pusher, fake = fcm
    walked_home(app, client, alice, other_resident, pusher)
    found = traces({NAME, f"{LAT:.5f}", f"{LAT:.6f}"}, {LAT})
    places = {(t, c) for t, c, _ in found}
    assert {("alert_outbox", "body"), ("alert_outbox", "data"), ("users", "display_name")} <= places
    assert ("location_fixes", "lat") in places and ("journeys", "last_lat") in places
    sos = [m["message"] for m in fake.requests if m["message"]["data"]["kind"] == "sos"]
    body = sos[0]["notification"]["body"]
    assert body.startswith(f"{NAME} pressed SOS.") and "battery 70%" in body
    assert f"{LAT:.4f}" in body and place_label(LAT, LON).removeprefix("Near ") in body


def test_after_the_retention_purge_no_position_or_name_is_left_outside_the_account(
    app, client, alice, other_resident, fcm
):
    from backend.alerts.models import OutboxAlert
    from backend.alerts.worker import run_once

    pusher, _fake = fcm
    journey_id = walked_home(app, client, alice, other_resident, pusher)
    purge = run_once(app, pusher, now=datetime.now(UTC) + timedelta(hours=25))
    assert purge["purged_fixes"] == 2

    # No fix, and not where she was going either (Mesnes Park, by point or by name).
    places = {*position_texts(LAT, LON, LAT2, LON2, *PARK), "Mesnes Park"}
    assert traces(places, {LAT, LON, LAT2, LON2, *PARK}) == []
    # The name and uid are left only on the account itself, which still exists.
    assert {(t, c) for t, c, _ in traces({NAME, UID}, set())} == {
        ("users", "display_name"),
        ("users", "uid"),
    }
    # The alerts still say what happened, for the owner's export, but not where or who.
    alerts = db.session.scalars(select(OutboxAlert).order_by(OutboxAlert.id)).all()
    assert [(a.kind, a.journey_id) for a in alerts] == [
        ("sos", journey_id),
        ("overdue", journey_id),
        ("stationary", journey_id),
        ("arrival", journey_id),
    ]
    assert {a.body for a in alerts} == {"Details removed after the retention period."}
    assert all(json.loads(a.data) == {"journey_id": str(journey_id)} for a in alerts)


def test_the_export_lists_the_alerts_about_the_person(app, client, alice, other_resident, fcm):
    pusher, _fake = fcm
    journey_id = walked_home(app, client, alice, other_resident, pusher)

    mine = client.get("/api/v1/me/export", headers=alice.headers).get_json()["data"]["alerts"]
    theirs = client.get("/api/v1/me/export", headers=other_resident.headers).get_json()

    assert [(a["kind"], a["journey_id"]) for a in mine["about_you"]] == [
        ("sos", journey_id),
        ("overdue", journey_id),
        ("stationary", journey_id),
        ("arrival", journey_id),
    ]
    assert mine["about_you"][0]["body"].startswith(f"{NAME} pressed SOS.")
    assert mine["about_you"][0]["data"]["lat"] == f"{LAT:.6f}"
    # Bob received them, but they are Alice's: his export does not carry them.
    assert theirs["data"]["alerts"] == {"about_you": [], "sent_to_you": []}


def test_after_erasure_nothing_about_the_person_is_left_anywhere(
    app, client, alice, other_resident, fcm
):
    from tests.support.reports import make_report

    pusher, _fake = fcm
    bob = other_resident
    walked_home(app, client, alice, bob, pusher)
    # Bob shares a walk with Alice too and presses SOS: she is among its recipients.
    befriend(client, bob, alice)
    bobs = start_journey(client, bob, [alice])["id"]
    client.post(f"/api/v1/journeys/{bobs}/sos", headers=bob.headers)
    make_report(
        user_id=alice.id,
        anonymous=False,
        consent_to_contact=True,
        contact_name=NAME,
        contact_email=EMAIL,
        contact_phone=PHONE,
        lat=LAT,
        lon=LON,
        description=f"Followed from the pier; call me on {PHONE}",
    )
    client.post(
        "/api/v1/location-clients", json={"label": f"{NAME}'s Pixel"}, headers=alice.headers
    )
    from backend.alerts.worker import run_once

    run_once(app, pusher)

    response = client.delete("/api/v1/me", headers=alice.headers)
    assert response.status_code == 200, response.get_json()

    needles = {NAME, UID, PHONE, E164, EMAIL, ALICE_TOKEN, *position_texts(LAT, LON, LAT2, LON2)}
    # (The anonymised report keeps its grid square for the hotspot counts, not the point.)
    assert traces(needles, {LAT, LON, LAT2, LON2}) == []
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200


def test_an_sos_from_anywhere_keeps_no_position_after_the_retention(
    app, client, alice, other_resident, fcm
):
    """``POST /api/v1/sos`` without a journey starts an emergency share and stores where the
    press was: after the share ends and its retention passes, that position is gone too."""
    import uuid

    from backend.alerts.worker import run_once

    pusher, _fake = fcm
    befriend(client, alice, other_resident)
    press = {
        "client_id": str(uuid.uuid4()),
        "lat": LAT,
        "lon": LON,
        "accuracy_m": 8,
        "battery": 41,
        "recorded_at": datetime.now(UTC).isoformat(),
    }
    raised = client.post("/api/v1/sos", json=press, headers=alice.headers)
    assert raised.status_code == 201, raised.get_json()
    sos_id, journey_id = raised.get_json()["id"], raised.get_json()["journey_id"]
    run_once(app, pusher)
    ended = client.post(f"/api/v1/journeys/{journey_id}/cancel", headers=alice.headers)
    assert ended.status_code == 200, ended.get_json()
    assert {t for t, _c, _n in traces(position_texts(LAT, LON), {LAT, LON})} >= {"sos_events"}

    run_once(app, pusher, now=datetime.now(UTC) + timedelta(hours=25))

    assert traces(position_texts(LAT, LON), {LAT, LON}) == []
    assert client.get(f"/api/v1/sos/{sos_id}", headers=alice.headers).status_code == 404
