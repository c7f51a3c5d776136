"""Output schemas of the areas domain (re-exported from the shared contract)."""

from shared_schemas.areas import PointQuerySchema, PostcodeSchema, WardAtPointSchema, WardSchema

__all__ = ["PointQuerySchema", "PostcodeSchema", "WardAtPointSchema", "WardSchema"]
