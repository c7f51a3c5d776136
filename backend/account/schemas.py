"""Schemas of the account domain (from the shared contract)."""

from marshmallow import Schema, fields

from shared_schemas.account import DeviceRegisterSchema, DeviceSchema, MeSchema, MeUpdateSchema


class ExportSchema(Schema):
    """Everything held about the caller; ``data`` has one key per domain."""

    format = fields.String(required=True)
    profile = fields.Dict(required=True)
    data = fields.Dict(keys=fields.String(), required=True)


class ErasureSchema(Schema):
    """What an erasure did."""

    erased = fields.Boolean(required=True)
    domains = fields.List(fields.String(), required=True)
    identity_account_deleted = fields.Boolean(
        metadata={"description": "Firebase mode: your Firebase sign-in account was deleted too"}
    )


__all__ = [
    "DeviceRegisterSchema",
    "DeviceSchema",
    "ErasureSchema",
    "ExportSchema",
    "MeSchema",
    "MeUpdateSchema",
]
