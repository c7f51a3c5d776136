"""Output schemas of the areas domain (re-exported from the shared contract)."""

from shared_schemas.areas import (
    PlaceMatchesSchema,
    PlaceQuerySchema,
    PlaceSchema,
    PointQuerySchema,
    PostcodeSchema,
    WardAtPointSchema,
    WardSchema,
)

__all__ = [
    "PlaceMatchesSchema",
    "PlaceQuerySchema",
    "PlaceSchema",
    "PointQuerySchema",
    "PostcodeSchema",
    "WardAtPointSchema",
    "WardSchema",
]
