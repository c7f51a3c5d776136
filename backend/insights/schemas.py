"""Schemas of the insights domain (re-exported from the shared contract)."""

from shared_schemas.reports import HotspotQuerySchema, HotspotsSchema

__all__ = ["HotspotQuerySchema", "HotspotsSchema"]
