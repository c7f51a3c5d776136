"""``safehaven venues import`` and ``safehaven seed wigan``: idempotent, with a summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from backend.extensions import db
from backend.venues import service
from backend.venues.models import Venue, VenueChange
from tests.backend.venues.factories import WIGAN_CENTRE

FEATURES = [
    {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-2.6318, 53.5448]},
        "properties": {
            "name": "Test Pharmacy",
            "category": "pharmacy",
            "ods_code": "FX001",
            "postcode": "wn1 1aa",
            "opening_hours_monday": "09:00-18:00",
            "opening_hours_tuesday": "09:00-18:00",
            "opening_hours_wednesday": "09:00-18:00",
            "opening_hours_thursday": "09:00-18:00",
            "opening_hours_friday": "09:00-18:00",
            "opening_hours_saturday": "09:00-13:00",
            "opening_hours_sunday": "CLOSED",
        },
    },
    {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-2.52, 53.50]},
        "properties": {
            "name": "",
            "category": "post_office",
            "ward_name": "Leigh South",
            "os_feature_ids": "AAA;BBB",
        },
    },
    {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        "properties": {"name": "A road"},
    },
    {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [0, 95]},
        "properties": {"name": "Nowhere"},
    },
    {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-2.6, 53.5]},
        "properties": {"name": "Bad hours", "opening_hours": "sometimes"},
    },
]


def write(tmp_path, features):
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_import_reports_and_is_idempotent(app, tmp_path):
    path = write(tmp_path, FEATURES)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["venues", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "[##############################] 2/2" in first.output
    assert (
        "venues: imported 2, updated 0, skipped 3 (1 coordinates out of range, "
        "1 geometry is not a Point, 1 invalid opening hours)"
    ) in first.output
    pharmacy = db.session.scalar(select(Venue).where(Venue.external_ref == "ods:FX001"))
    assert pharmacy.status == "candidate" and pharmacy.postcode == "WN1 1AA"
    assert pharmacy.opening_hours == "Mo-Fr 09:00-18:00; Sa 09:00-13:00"
    assert pharmacy.ward_code == "E05015010"
    post_office = db.session.scalar(select(Venue).where(Venue.external_ref == "os:AAA"))
    assert post_office.name == "Post office (Leigh South)" and post_office.category == "shop"
    second = runner.invoke(args=["venues", "import", str(path)])
    assert "imported 0, updated 0, skipped 5" in second.output and "2 unchanged" in second.output
    assert db.session.scalar(select(func.count()).select_from(Venue)) == 2
    changed = json.loads(json.dumps(FEATURES))
    changed[0]["properties"]["opening_hours_sunday"] = "10:00-16:00"
    third = runner.invoke(args=["venues", "import", str(write(tmp_path, changed))])
    assert "imported 0, updated 1," in third.output
    db.session.expire_all()
    assert service.get_venue(pharmacy.id).opening_hours.endswith("Su 10:00-16:00")
    assert db.session.scalar(select(func.count()).select_from(Venue)) == 2
    actions = [c.action for c in db.session.scalars(select(VenueChange).order_by(VenueChange.id))]
    assert actions == ["imported", "imported", "import_updated"]


def test_a_re_import_never_verifies_or_unverifies(app, tmp_path, admin):
    path = write(tmp_path, FEATURES[:1])
    app.test_cli_runner().invoke(args=["venues", "import", str(path)])
    venue = db.session.scalar(select(Venue))
    venue.status = "verified"
    db.session.commit()
    app.test_cli_runner().invoke(args=["venues", "import", str(path)])
    db.session.expire_all()
    assert service.get_venue(venue.id).status == "verified"


def test_import_refuses_a_file_that_is_not_a_feature_collection(app, tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text('{"type": "Feature"}')
    result = app.test_cli_runner().invoke(args=["venues", "import", str(path)])
    assert result.exit_code != 0 and "FeatureCollection" in result.output
    path.write_text("not json")
    result = app.test_cli_runner().invoke(args=["venues", "import", str(path)])
    assert result.exit_code != 0 and "cannot read GeoJSON" in result.output


def test_seed_loads_141_candidates_and_a_verified_demo_set(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed", "wigan"])
    assert result.exit_code == 0, result.output
    assert "venues (candidates, unverified): imported 141, updated 0, skipped 0" in result.output
    assert "venues (DEMO, verified): imported 8" in result.output
    counts = dict(
        db.session.execute(select(Venue.status, func.count()).group_by(Venue.status)).all()
    )
    assert counts == {"candidate": 141, "verified": 8}
    verified = db.session.scalars(select(Venue).where(Venue.status == "verified")).all()
    assert all(v.is_demo and v.name.startswith("[DEMO]") for v in verified)
    assert not any(
        v.is_demo for v in db.session.scalars(select(Venue).where(Venue.status == "candidate"))
    )
    again = runner.invoke(args=["seed", "wigan"])
    assert "imported 0, updated 0, skipped 141 (141 unchanged)" in again.output
    assert db.session.scalar(select(func.count()).select_from(Venue)) == 149

    # The demo moment: 02:00 on a Saturday in Wigan town centre, nearest open safe places.
    saturday_2am = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    body = client.get(
        "/api/v1/venues/nearest",
        query_string={
            "lat": WIGAN_CENTRE[0],
            "lon": WIGAN_CENTRE[1],
            "at": saturday_2am.isoformat(),
        },
    ).get_json()
    assert len(body["items"]) == 5
    assert all(i["status"] == "verified" and i["open_now"] for i in body["items"])
    assert body["items"][0]["distance_m"] < 500
    assert {i["category"] for i in body["items"]} >= {"pub_or_bar", "hotel"}
    leigh = client.get(
        "/api/v1/venues/nearest",
        query_string={"near": "WN7 4NB", "at": saturday_2am.isoformat(), "radius_m": 2000},
    ).get_json()
    assert len(leigh["items"]) == 3 and all(i["open_now"] for i in leigh["items"])
