"""Schemas of the contacts domain (from the shared contract)."""

from shared_schemas.contacts import (
    ContactListSchema,
    ContactSchema,
    ContactUpdateSchema,
    InvitationCreatedSchema,
    LocationViewSchema,
)

__all__ = [
    "ContactListSchema",
    "ContactSchema",
    "ContactUpdateSchema",
    "InvitationCreatedSchema",
    "LocationViewSchema",
]
