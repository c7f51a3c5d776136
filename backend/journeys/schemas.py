"""Schemas of the journeys domain (the shared contract plus server-only ones)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas import journeys as shared
from shared_schemas.journeys import (
    FixBatchResultSchema,
    JourneyCreatedSchema,
    JourneyCreateSchema,
    JourneySchema,
    WatchLinkCreatedSchema,
)

# The fix route loads batches with the shared schema through webargs, as every route does.
# Two second forms were removed on measurement (issue 20; bench/location_post_cpu.py, server
# CPU a fix on PostgreSQL, same runs, and bench/location_relay.py at 1,000 fixes/s offered):
# a plain load of the batch beside the schema with a route decorator skipping webargs and
# flask-smorest (plain_json_first): 0.812 ms mean of five runs with it, 0.882 without (8% fewer
# fixes/s a core), 828.7 accepted fixes/s with it, 820.0 without (1%); and this schema's own
# plain load, unreachable behind that decorator (0.767 / 0.769 ms with it, 0.850 / 0.803
# without; relay 893.0 fixes/s without, in the run-to-run noise of about 10%).
FixBatchSchema = shared.FixBatchSchema


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
