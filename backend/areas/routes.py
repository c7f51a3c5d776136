"""Read-only reference geography: wards, ward polygons, postcodes, point-to-ward."""

from __future__ import annotations

import json

from flask import Response

from backend.areas import gazetteer, service
from backend.areas.schemas import (
    PlaceMatchesSchema,
    PlaceQuerySchema,
    PointQuerySchema,
    PostcodeSchema,
    WardAtPointSchema,
    WardSchema,
)
from backend.arguments import Blueprint

blp = Blueprint("areas", __name__, url_prefix="/api/v1/areas", description="Wards and postcodes")


@blp.get("/wards")
@blp.response(200, WardSchema(many=True))
def list_wards():
    """Wigan's electoral wards (2023 codes)."""
    return service.list_wards()


@blp.get("/wards.geojson")
@blp.response(200, content_type="application/geo+json")
def wards_geojson():
    """Ward polygons as an RFC 7946 FeatureCollection."""
    features = [
        {
            "type": "Feature",
            "id": w.code,
            "geometry": json.loads(w.geometry),
            "properties": {"code": w.code, "name": w.name},
        }
        for w in service.list_wards()
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    return Response(body, mimetype="application/geo+json")


@blp.get("/wards/<string:code>")
@blp.response(200, WardSchema)
def get_ward(code: str):
    """One ward by its ONS code."""
    return service.get_ward(code)


@blp.get("/postcodes/<string:postcode>")
@blp.response(200, PostcodeSchema)
def get_postcode(postcode: str):
    """Where a Wigan postcode is, and its ward."""
    return service.lookup_postcode(postcode)


@blp.get("/places")
@blp.arguments(PlaceQuerySchema, location="query")
@blp.response(200, PlaceMatchesSchema)
def places(args):
    """The places in Wigan Borough that a typed place names, best first: a postcode or its
    first part, a ward, town or village, a street with its town, or a safe place's name
    (422 naming ``q`` says exactly what is accepted)."""
    return {"query": args["q"], "places": gazetteer.resolve(args["q"], "q")}


@blp.get("/locate")
@blp.arguments(PointQuerySchema, location="query")
@blp.response(200, WardAtPointSchema)
def locate(args):
    """The ward containing a point (null outside the borough)."""
    return {
        "lat": args["lat"],
        "lon": args["lon"],
        "ward": service.ward_for_point(args["lat"], args["lon"]),
    }
