"""The signed-in person as the API shows them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.enums import ROLES


class MeSchema(Schema):
    """The caller's own account."""

    id = fields.Integer(required=True)
    uid = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    # E.164; shown only to the contacts you chose (PATCH /api/v1/contacts/{id} share_phone)
    phone = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class MeUpdateSchema(Schema):
    """What a resident may change about themselves."""

    display_name = fields.String(validate=validate.Length(min=1, max=80), allow_none=True)
    # A UK number ("07700 900123") or an international one ("+44 7700 900123"); null clears it.
    phone = fields.String(validate=validate.Length(min=3, max=32), allow_none=True)
    ward_code = fields.String(validate=validate.Regexp(r"^E05\d{6}$"), allow_none=True)


class RoleGrantSchema(Schema):
    """An admin's change of someone's role."""

    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class DeviceRegisterSchema(Schema):
    """An FCM registration token of the caller's phone."""

    token = fields.String(required=True, validate=validate.Length(min=20, max=1024))
    platform = fields.String(
        load_default="android", validate=validate.OneOf(("android", "ios", "web"))
    )


class DeviceSchema(Schema):
    id = fields.Integer(required=True)
    platform = fields.String(required=True)
    created_at = fields.DateTime(required=True)
