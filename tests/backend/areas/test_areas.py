"""Wards and postcodes: the point-to-ward function other domains rely on."""

from __future__ import annotations

import csv

import pytest

from backend.areas import service
from backend.errors import ValidationError


def test_all_25_wards_are_loaded_with_2023_codes(client):
    wards = client.get("/api/v1/areas/wards").get_json()
    assert len(wards) == 25
    assert all(w["code"].startswith("E0501") for w in wards)
    assert {"Abram", "Wigan Central", "Leigh West", "Atherton North"} <= {w["name"] for w in wards}


def test_point_to_ward_agrees_with_the_published_postcode_wards(app):
    with service.POSTCODES_FILE.open() as fh:
        rows = list(csv.DictReader(fh))
    disagreements = [
        r["postcode"]
        for r in rows
        if service.ward_code_for_point(float(r["lat"]), float(r["lon"])) != r["wd23cd_derived"]
    ]
    assert len(rows) == 7643
    assert disagreements == []


def test_points_outside_the_borough_have_no_ward(client):
    assert service.ward_code_for_point(53.4808, -2.2426) is None  # Manchester city centre
    body = client.get("/api/v1/areas/locate?lat=51.5&lon=-0.12").get_json()
    assert body["ward"] is None
    body = client.get("/api/v1/areas/locate?lat=53.5448&lon=-2.6318").get_json()
    assert body["ward"]["name"] == "Wigan Central"


@pytest.mark.parametrize(
    ("raw", "normal"), [("wn11aa", "WN1 1AA"), ("  WN7 3XJ ", "WN7 3XJ"), ("m281ad", "M28 1AD")]
)
def test_postcodes_are_normalised(raw, normal):
    assert service.normalise_postcode(raw) == normal


@pytest.mark.parametrize("raw", ["", "WN1", "12345", "WN1 1AAA", "x" * 500, "WN1\x001AA"])
def test_malformed_postcodes_are_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        service.normalise_postcode(raw)
    assert "postcode" in excinfo.value.errors


def test_postcode_lookup_over_http(client):
    body = client.get("/api/v1/areas/postcodes/wn73xj").get_json()
    assert body["postcode"] == "WN7 3XJ" and body["ward_code"] == "E05015002"
    missing = client.get("/api/v1/areas/postcodes/SW1A1AA")
    assert missing.status_code == 422
    assert "unknown postcode" in missing.get_json()["errors"]["postcode"][0]


@pytest.mark.parametrize(
    "query", ["lat=91&lon=0", "lat=nan&lon=0", "lat=0&lon=inf", "lat=abc&lon=0", "lon=0", ""]
)
def test_bad_coordinates_get_422_naming_the_field(client, query):
    response = client.get(f"/api/v1/areas/locate?{query}")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) & {"lat", "lon"}


def test_ward_polygons_are_a_geojson_feature_collection(client):
    response = client.get("/api/v1/areas/wards.geojson")
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 25
    assert body["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_reloading_wards_is_idempotent(app):
    from sqlalchemy import func, select

    from backend.areas.models import Ward
    from backend.extensions import db

    summary = service.load_wards()  # already loaded by the session's app
    assert (summary.imported, summary.updated, summary.skipped) == (0, 0, 25)
    assert summary.reasons == {"unchanged": 25}
    assert db.session.scalar(select(func.count()).select_from(Ward)) == 25


def test_reloading_postcodes_updates_only_what_changed(app):
    from sqlalchemy import update

    from backend.areas.models import Postcode
    from backend.extensions import db

    db.session.execute(update(Postcode).where(Postcode.postcode == "WN1 1AA").values(lat=0.0))
    db.session.commit()
    summary = service.load_postcodes()  # puts the shipped point back
    assert (summary.imported, summary.updated) == (0, 1)
    assert summary.reasons == {"unchanged": 7642}
    assert db.session.get(Postcode, "WN1 1AA").lat != 0.0


def _signed_area(ring: list[list[float]]) -> float:
    """Shoelace area of a closed lon/lat ring: positive when counterclockwise."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def _polygons(geometry: dict) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    return []


def test_every_polygon_served_winds_as_rfc_7946_requires(client):
    """RFC 7946 section 3.1.6: exterior rings counterclockwise, holes clockwise. The ONS file
    winds them the other way; every polygon route of the API is walked."""
    polygon_routes = ["/api/v1/areas/wards.geojson"]
    rings_checked = 0
    for route in polygon_routes:
        body = client.get(route).get_json(force=True)
        for feature in body["features"]:
            for polygon in _polygons(feature["geometry"]):
                exterior, *holes = polygon
                assert _signed_area(exterior) > 0, (route, feature["id"], "exterior clockwise")
                for hole in holes:
                    assert _signed_area(hole) < 0, (route, feature["id"], "hole counterclockwise")
                rings_checked += 1 + len(holes)
    assert rings_checked >= 25


def test_ring_orientation_keeps_holes_clockwise_and_the_shape():
    from shapely.geometry import Polygon, shape

    clockwise_with_ccw_hole = Polygon(
        [(0, 0), (0, 4), (4, 4), (4, 0), (0, 0)], [[(1, 1), (2, 1), (2, 2), (1, 2), (1, 1)]]
    )
    fixed = service.rfc7946_rings(clockwise_with_ccw_hole)
    exterior, hole = fixed["coordinates"]
    assert _signed_area([list(p) for p in exterior]) > 0
    assert _signed_area([list(p) for p in hole]) < 0
    assert shape(fixed).equals(clockwise_with_ccw_hole)
