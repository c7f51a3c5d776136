"""Schemas of the journeys domain (the shared contract plus server-only ones)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.journeys import (
    FixBatchResultSchema,
    FixBatchSchema,
    JourneyCreatedSchema,
    JourneyCreateSchema,
    JourneySchema,
    WatchLinkCreatedSchema,
)


class LocationClientCreateSchema(Schema):
    label = fields.String(load_default="phone", validate=validate.Length(min=1, max=80))


class LocationClientSchema(Schema):
    """A device credential; ``secret`` only in the creation response."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    secret = fields.String()


__all__ = [
    "FixBatchResultSchema",
    "FixBatchSchema",
    "JourneyCreateSchema",
    "JourneyCreatedSchema",
    "JourneySchema",
    "LocationClientCreateSchema",
    "LocationClientSchema",
    "WatchLinkCreatedSchema",
]
