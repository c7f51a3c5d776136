"""Schemas of the venues domain (re-exported from the shared contract)."""

from shared_schemas.venues import (
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
