"""Fields and schemas used across the API: coordinates, errors, pagination."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

MIN_LAT, MAX_LAT = -90.0, 90.0
MIN_LON, MAX_LON = -180.0, 180.0


def Latitude(**kwargs) -> fields.Float:  # noqa: N802 - a field factory reads like a field class
    """A WGS84 latitude in degrees; NaN and infinities are refused."""
    return fields.Float(allow_nan=False, validate=validate.Range(MIN_LAT, MAX_LAT), **kwargs)


def Longitude(**kwargs) -> fields.Float:  # noqa: N802
    """A WGS84 longitude in degrees; NaN and infinities are refused."""
    return fields.Float(allow_nan=False, validate=validate.Range(MIN_LON, MAX_LON), **kwargs)


class ErrorSchema(Schema):
    """The one error shape: ``{code, status, message, errors}``, plus ``error``, a stable
    machine-readable reason, on the refusals a client must tell apart (e.g.
    ``no_trusted_contacts``, ``no_recipients``)."""

    code = fields.Integer(required=True, metadata={"example": 422})
    status = fields.String(required=True, metadata={"example": "Unprocessable Entity"})
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), load_default=dict)
    error = fields.String(metadata={"example": "no_trusted_contacts"})


class PointSchema(Schema):
    """A WGS84 point."""

    lat = Latitude(required=True)
    lon = Longitude(required=True)


class PageArgsSchema(Schema):
    """Paging arguments for list endpoints."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PageMetaSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()
