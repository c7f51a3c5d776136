"""Wards and postcodes as the API shows them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.common import Latitude, Longitude


class WardSchema(Schema):
    code = fields.String(required=True, metadata={"example": "E05014989"})
    name = fields.String(required=True, metadata={"example": "Abram"})
    centroid_lat = fields.Float()
    centroid_lon = fields.Float()
    area_m2 = fields.Float()


class PostcodeSchema(Schema):
    postcode = fields.String(required=True, metadata={"example": "WN1 1AA"})
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    ward_code = fields.String(allow_none=True)


class PointQuerySchema(Schema):
    lat = Latitude(required=True)
    lon = Longitude(required=True)


class WardAtPointSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    ward = fields.Nested(WardSchema, allow_none=True)


class PlaceQuerySchema(Schema):
    """A place in words: a postcode or its first part, a ward, town or village, a street with
    its town, or a safe place's name."""

    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={"example": "Market Street, Hindley"},
    )


class PlaceSchema(Schema):
    """A named point in Wigan Borough that a typed place resolved to."""

    name = fields.String(required=True, metadata={"example": "Market Street, Hindley"})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            ["postcode", "sector", "district", "town", "ward", "safe_place", "street"]
        ),
    )
    kind_words = fields.String(required=True, metadata={"example": "street"})
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    ward_code = fields.String(required=True)
    ward_name = fields.String(required=True)
    postcode = fields.String(allow_none=True)


class PlaceMatchesSchema(Schema):
    """What a typed place names, best first (several when a name is shared, e.g. a street
    in two towns)."""

    query = fields.String(required=True)
    places = fields.List(fields.Nested(PlaceSchema), required=True)
