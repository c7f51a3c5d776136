"""Schemas of the SOS domain (from the shared contract)."""

from shared_schemas.sos import SosCreateSchema, SosRecipientSchema, SosSchema

__all__ = ["SosCreateSchema", "SosRecipientSchema", "SosSchema"]
