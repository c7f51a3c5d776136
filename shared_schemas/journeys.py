"""Journeys and location fixes as the API and the app exchange them."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared_schemas.common import Id, Latitude, Longitude, PointSchema, UtcDateTime

JOURNEY_STATES = ("active", "arrived", "cancelled")
JOURNEY_KINDS = ("journey", "emergency")
MAX_BATCH = 500


class DestinationSchema(Schema):
    """Exactly one of a point (``lat`` + ``lon``), a ``postcode`` or a ``venue_id``."""

    lat = Latitude()
    lon = Longitude()
    postcode = fields.String(validate=validate.Length(min=2, max=10))
    venue_id = Id()
    label = fields.String(validate=validate.Length(max=160))

    @validates_schema
    def _one_kind(self, data, **_kwargs):  # type: ignore[no-untyped-def]
        kinds = [
            "lat" in data or "lon" in data,
            "postcode" in data,
            "venue_id" in data,
        ]
        if sum(kinds) != 1:
            raise ValidationError(
                "give exactly one of lat+lon, postcode or venue_id", field_name="destination"
            )
        if ("lat" in data) != ("lon" in data):
            raise ValidationError("lat and lon go together", field_name="destination")


class JourneyCreateSchema(Schema):
    """Start a journey."""

    destination = fields.Nested(DestinationSchema, required=True)
    start = fields.Nested(PointSchema)
    expected_arrival_at = UtcDateTime(default_timezone=None)
    contact_ids = fields.List(
        Id(),
        load_default=list,
        validate=validate.Length(max=50),
    )
    watch_link = fields.Boolean(load_default=False)


class FixSchema(Schema):
    """One location fix from the phone."""

    lat = Latitude(required=True)
    lon = Longitude(required=True)
    recorded_at = UtcDateTime(required=True)
    accuracy_m = fields.Float(
        allow_nan=False, validate=validate.Range(min=0, max=100_000), allow_none=True
    )
    battery = fields.Float(
        allow_nan=False, validate=validate.Range(min=0, max=100), allow_none=True
    )
    speed_mps = fields.Float(
        allow_nan=False, validate=validate.Range(min=0, max=1000), allow_none=True
    )


class FixBatchSchema(Schema):
    """A batch of fixes (offline catch-up), any order."""

    fixes = fields.List(
        fields.Nested(FixSchema), required=True, validate=validate.Length(min=1, max=MAX_BATCH)
    )


class FixBatchResultSchema(Schema):
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    jumps = fields.Integer(required=True)


class LastFixSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    recorded_at = fields.DateTime(required=True)
    accuracy_m = fields.Float(allow_none=True)
    battery = fields.Float(allow_none=True)


class JourneySchema(Schema):
    """A journey as its owner and its watchers see it."""

    id = fields.Integer(required=True)
    owner_id = fields.Integer(required=True)
    owner_name = fields.String(allow_none=True)
    # "journey" (to a destination) or "emergency" (started by an SOS; no destination)
    kind = fields.String(validate=validate.OneOf(JOURNEY_KINDS))
    state = fields.String(required=True, validate=validate.OneOf(JOURNEY_STATES))
    overdue = fields.Boolean(required=True)
    sos = fields.Boolean(required=True)
    sos_at = fields.DateTime(allow_none=True)
    stationary = fields.Boolean(required=True)
    destination = fields.Dict(required=True)
    started_at = fields.DateTime(required=True)
    expected_arrival_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    last_fix = fields.Nested(LastFixSchema, allow_none=True)
    # "Near WN1 1LJ, Wigan Central ward" for last_fix from the postcode data, when there is one
    last_place = fields.String(allow_none=True)
    contact_ids = fields.List(fields.Integer(), required=True)


class JourneyCreatedSchema(JourneySchema):
    """The new journey, plus its watch link (shown once) if one was asked for."""

    watch_link_id = fields.Integer(allow_none=True)
    watch_url = fields.String(allow_none=True)


class WatchLinkCreatedSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    token = fields.String(required=True)
