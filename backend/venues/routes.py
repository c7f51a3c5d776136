"""Safe places: nearest open, listings, GeoJSON, registration, verification and overrides."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required, optional_user
from backend.responses import json_response
from backend.venues import service
from backend.venues.models import Venue
from backend.venues.schemas import (
    BboxQuerySchema,
    GeoJSONQuerySchema,
    NearestQuerySchema,
    NearestResultSchema,
    RecheckQuerySchema,
    UnavailableSchema,
    VenueChangeSchema,
    VenueInSchema,
    VenueManagePageSchema,
    VenueManageSchema,
    VenuePageSchema,
    VenueSchema,
    VenueUpdateSchema,
    VerificationSchema,
)

blp = Blueprint("venues", __name__, url_prefix="/api/v1", description="Safe places")

PUBLIC_FIELDS = tuple(VenueSchema().fields)
# One instance for every request (a class would be instantiated per request by webargs, a
# fifth of the route's parsing cost); loading keeps no state on the schema, so threads share it.
NEAREST_QUERY = NearestQuerySchema()


def _for_audience(view: service.VenueView) -> Venue | dict[str, Any]:
    """Each audience its own fields: management details only for the venue's staff and admins
    (the response schema then dumps only the keys given)."""
    if view.can_manage:
        return view.venue
    return {name: getattr(view.venue, name) for name in PUBLIC_FIELDS}


@blp.get("/venues/nearest")
@blp.arguments(NEAREST_QUERY, location="query")
@blp.response(200, NearestResultSchema)
def nearest(args):
    """Nearest open safe places to a point or postcode, nearest first."""
    # The hot path: the service's answer already has the schema's shape (a test holds it).
    return json_response(service.nearest(**args))


@blp.get("/venues")
@blp.arguments(BboxQuerySchema, location="query")
@blp.response(200, VenuePageSchema)
def list_venues(args):
    """Safe places inside a bounding box (minlon,minlat,maxlon,maxlat), paged."""
    return service.list_in_bbox(**args)


@blp.get("/venues.geojson")
@blp.arguments(GeoJSONQuerySchema, location="query")
@blp.response(200, content_type="application/geo+json")
def venues_geojson(args):
    """Safe places as an RFC 7946 GeoJSON FeatureCollection."""
    body = json.dumps(service.geojson(**args), separators=(",", ":"))
    return Response(body, mimetype="application/geo+json")


@blp.post("/venues")
@login_required
@blp.arguments(VenueInSchema)
@blp.response(201, VenueManageSchema)
def create_venue(data):
    """Register your venue as a safe place (venue staff; starts as pending)."""
    return service.create_venue(current_user(), data)


@blp.get("/venues/recheck-due")
@login_required
@blp.arguments(RecheckQuerySchema, location="query")
@blp.response(200, VenueManagePageSchema)
def recheck_due(args):
    """Verified venues whose check or staff training has lapsed (admins)."""
    return service.recheck_due(current_user(), **args)


@blp.get("/venues/<int:venue_id>")
@blp.response(200, VenueManageSchema)
def get_venue(venue_id: int):
    """One venue (management fields only for its own staff and admins)."""
    return _for_audience(service.view_venue(optional_user(), venue_id))


@blp.patch("/venues/<int:venue_id>")
@login_required
@blp.arguments(VenueUpdateSchema)
@blp.response(200, VenueManageSchema)
def update_venue(changes, venue_id: int):
    """Change your venue's details (its staff or an admin)."""
    return service.update_venue(current_user(), venue_id, changes)


@blp.post("/venues/<int:venue_id>/verification")
@login_required
@blp.arguments(VerificationSchema)
@blp.response(200, VenueManageSchema)
def verify_venue(data, venue_id: int):
    """Approve, reject or suspend a venue, with a note (admins)."""
    return service.verify(current_user(), venue_id, **data)


@blp.put("/venues/<int:venue_id>/unavailable")
@login_required
@blp.arguments(UnavailableSchema)
@blp.response(200, VenueManageSchema)
def set_unavailable(data, venue_id: int):
    """Mark your venue temporarily unavailable until a time (null clears it)."""
    return service.set_unavailable(current_user(), venue_id, **data)


@blp.get("/venues/<int:venue_id>/history")
@login_required
@blp.response(200, VenueChangeSchema(many=True))
def venue_history(venue_id: int):
    """Every recorded change to a venue and who made it (its staff and admins)."""
    return service.history(current_user(), venue_id)
