"""Schemas of the alerts domain (from the shared contract)."""

from shared_schemas.sos import AlertReceivedSchema

__all__ = ["AlertReceivedSchema"]
