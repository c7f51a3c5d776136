"""Schemas of the contacts domain (from the shared contract)."""

from shared_schemas.contacts import (
    ContactListSchema,
    ContactSchema,
    InvitationCreatedSchema,
    LocationViewSchema,
)

__all__ = ["ContactListSchema", "ContactSchema", "InvitationCreatedSchema", "LocationViewSchema"]
