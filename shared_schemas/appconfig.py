"""What the server tells the phone about this deployment: map tiles, the offline pack, and
the partnership's late-night advice (``GET /api/v1/app-config``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.venues import CATEGORIES

DEFAULT_TILE_CACHE_MB = 64
PHONE = validate.Regexp(r"^\+?[0-9 ()-]{3,20}$", error="not a phone number")


class StaffedSafeHavenSchema(Schema):
    """The partnership's rule for "the nearest staffed safe haven": the nearest open place of
    these categories (the app asks the nearest search for them)."""

    text = fields.String(required=True, validate=validate.Length(min=3, max=300))
    categories = fields.List(
        fields.String(validate=validate.OneOf(CATEGORIES)),
        required=True,
        validate=validate.Length(min=1, max=len(CATEGORIES)),
    )
    source = fields.String(required=True, validate=validate.Length(min=3, max=300))


class TaxiSchema(Schema):
    """A licensed taxi or private hire operator the partnership lists."""

    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    phone = fields.String(required=True, validate=PHONE)
    source = fields.String(required=True, validate=validate.Length(min=3, max=300))


class LateNightSchema(Schema):
    """Offered beside a walk longer than ``long_walk_min``."""

    staffed_safe_haven = fields.Nested(StaffedSafeHavenSchema, required=True)
    taxis = fields.List(fields.Nested(TaxiSchema), load_default=list)
    taxi_reminder = fields.String(required=True, validate=validate.Length(min=3, max=300))


class TilesSchema(Schema):
    url_template = fields.String(
        required=True, metadata={"example": "https://tiles.example/{z}/{x}/{y}.png"}
    )
    attribution = fields.String(required=True)
    cache_max_mb = fields.Integer(
        load_default=DEFAULT_TILE_CACHE_MB,
        validate=validate.Range(min=1),
        metadata={"description": "the most tiles a phone keeps, in MB (least recently used go)"},
    )


class OfflineMapSchema(Schema):
    url = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    updated_at = fields.DateTime(required=True)


class AppConfigSchema(Schema):
    """The deployment's settings for the phone (public; cache it)."""

    tiles = fields.Nested(TilesSchema, required=True)
    offline_map = fields.Nested(OfflineMapSchema, allow_none=True, required=True)
    open_long_enough_min = fields.Integer(required=True)
    long_walk_min = fields.Integer(required=True)
    late_night = fields.Nested(LateNightSchema, required=True)
