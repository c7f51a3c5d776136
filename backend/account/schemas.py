"""Schemas of the account domain (from the shared contract)."""

from shared_schemas.account import DeviceRegisterSchema, DeviceSchema, MeSchema, MeUpdateSchema

__all__ = ["DeviceRegisterSchema", "DeviceSchema", "MeSchema", "MeUpdateSchema"]
