"""Wards and postcodes as the API shows them."""

from __future__ import annotations

from marshmallow import Schema, fields

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
