"""Bounding-box listing and the GeoJSON feed."""

from __future__ import annotations

import pytest

from tests.backend.venues.factories import make_venue

WIGAN_BOX = "-2.70,53.50,-2.55,53.60"


def test_bbox_lists_public_venues_inside_the_box_page_by_page(client):
    inside = [make_venue(name=f"Inside {i}", lat=53.54 + i * 0.001) for i in range(5)]
    make_venue(name="Outside", lat=53.40, lon=-2.30)
    make_venue(name="Pending inside", status="pending")
    candidate = make_venue(name="Candidate inside", status="candidate")
    first = client.get("/api/v1/venues", query_string={"bbox": WIGAN_BOX, "per_page": 2})
    assert first.status_code == 200
    body = first.get_json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    assert [v["id"] for v in body["items"]] == [inside[0].id, inside[1].id]
    last = client.get("/api/v1/venues", query_string={"bbox": WIGAN_BOX, "per_page": 2, "page": 3})
    assert [v["id"] for v in last.get_json()["items"]] == [inside[4].id]
    everything = client.get(
        "/api/v1/venues", query_string={"bbox": WIGAN_BOX, "include_candidates": "true"}
    ).get_json()
    assert candidate.id in [v["id"] for v in everything["items"]]
    assert everything["meta"]["total"] == 6


@pytest.mark.parametrize(
    ("bbox", "why"),
    [
        ("-2.55,53.50,-2.70,53.60", "inverted"),
        ("-2.70,53.60,-2.55,53.50", "inverted"),
        ("-10,50,10,60", "too large"),
        ("-2.7,53.5,-2.5", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("-2.7,53.5,-2.5,nan", "finite"),
        ("-200,53.5,-2.5,53.6", "longitudes"),
        ("-2.7,-95,-2.5,53.6", "latitudes"),
    ],
)
def test_bad_boxes_are_422_naming_bbox(client, bbox, why):
    response = client.get("/api/v1/venues", query_string={"bbox": bbox})
    assert response.status_code == 422
    assert why in response.get_json()["errors"]["bbox"][0]


def test_bbox_is_required_and_paging_is_bounded(client):
    assert "bbox" in client.get("/api/v1/venues").get_json()["errors"]
    too_many = client.get("/api/v1/venues", query_string={"bbox": WIGAN_BOX, "per_page": 10_000})
    assert too_many.status_code == 422 and "per_page" in too_many.get_json()["errors"]


def test_geojson_is_an_rfc7946_feature_collection(client):
    venue = make_venue(name="Hotel", category="hotel", lat=53.5448, lon=-2.6318)
    make_venue(name="Pending", status="pending")
    response = client.get("/api/v1/venues.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json(force=True)
    assert body["type"] == "FeatureCollection"
    (feature,) = body["features"]
    assert feature["type"] == "Feature" and feature["id"] == venue.id
    # RFC 7946 section 3.1.1: longitude first.
    assert feature["geometry"] == {"type": "Point", "coordinates": [-2.6318, 53.5448]}
    assert feature["properties"]["name"] == "Hotel"
    assert "crs" not in body  # RFC 7946 dropped crs: WGS84 only
    boxed = client.get("/api/v1/venues.geojson", query_string={"bbox": "-2.0,53.0,-1.9,53.1"})
    assert boxed.get_json(force=True)["features"] == []
    bad = client.get("/api/v1/venues.geojson", query_string={"bbox": "1,2,0,3"})
    assert bad.status_code == 422 and "bbox" in bad.get_json()["errors"]
