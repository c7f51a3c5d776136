"""Schemas of the auth domain."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.account import MeSchema, RoleGrantSchema
from shared_schemas.enums import ROLES


class UserAdminSchema(MeSchema):
    """A user as an admin sees them."""

    disabled = fields.Boolean()
    last_seen_at = fields.DateTime(allow_none=True)


class UserListArgsSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))


__all__ = ["RoleGrantSchema", "UserAdminSchema", "UserListArgsSchema"]
