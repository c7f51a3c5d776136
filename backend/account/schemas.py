"""Schemas of the account domain (from the shared contract)."""

from shared_schemas.account import MeSchema, MeUpdateSchema

__all__ = ["MeSchema", "MeUpdateSchema"]
