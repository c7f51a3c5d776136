"""Schemas of the venues domain (the shared contract, with a fast load of the nearest query)."""

from __future__ import annotations

from typing import Any

from backend.arguments import plain_query
from shared_schemas import venues as shared
from shared_schemas.venues import (
    BboxQuerySchema,
    GeoJSONQuerySchema,
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


class NearestQuerySchema(shared.NearestQuerySchema):
    """The shared nearest query (same fields, same errors, same OpenAPI name); a point query
    in plain spellings, the app's every search, is loaded without webargs and marshmallow's
    field machinery (a property test holds the two loads equal)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A point, never a postcode: the schema's point-or-postcode rule then holds.
        self.load_plain = plain_query(
            self,
            ("lat", "lon", "limit", "open_now", "at", "radius_m", "include_candidates"),
            required=("lat", "lon"),
        )


__all__ = [
    "BboxQuerySchema",
    "GeoJSONQuerySchema",
    "NearestQuerySchema",
    "NearestResultSchema",
    "RecheckQuerySchema",
    "UnavailableSchema",
    "VenueChangeSchema",
    "VenueInSchema",
    "VenueManagePageSchema",
    "VenueManageSchema",
    "VenuePageSchema",
    "VenueSchema",
    "VenueUpdateSchema",
    "VerificationSchema",
]
