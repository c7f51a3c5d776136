"""Schemas of the app-config domain (the shared contract)."""

from shared_schemas.appconfig import AppConfigSchema, LateNightSchema

__all__ = ["AppConfigSchema", "LateNightSchema"]
