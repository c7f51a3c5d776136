"""Fields and schemas used across the API: coordinates, errors, pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate

MIN_LAT, MAX_LAT = -90.0, 90.0
MIN_LON, MAX_LON = -180.0, 180.0
# Row ids are PostgreSQL ``integer`` columns (SQLite takes 64 bits, PostgreSQL 32): an id
# beyond this names no row, and refusing it here keeps it away from either driver.
MAX_ID = 2_147_483_647
MAX_INT = 2_147_483_647  # any other integer stored in an ``integer`` column


def Id(**kwargs) -> fields.Integer:  # noqa: N802 - a field factory reads like a field class
    """A row id: a positive integer that fits the id columns (1..MAX_ID)."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with its zone, loaded as UTC. A time whose UTC instant falls outside
    the calendar (``0001-01-01T00:00:00+14:00``, ``9999-12-31T23:59:59-14:00``) is refused
    here: compared with or converted to another zone later it raised OverflowError."""

    default_error_messages = {"out_of_range": "is outside the supported calendar range"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return utc_within_calendar(parsed)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc


def utc_within_calendar(moment: datetime) -> datetime:
    """``moment`` (aware) in UTC, a day away from either end of the calendar so that the
    arithmetic the services do (a day's window, a tolerance) stays in range; raises
    OverflowError otherwise."""
    utc = moment.astimezone(UTC)
    if not datetime(1, 1, 2, tzinfo=UTC) <= utc <= datetime(9999, 12, 30, tzinfo=UTC):
        raise OverflowError("outside the calendar")
    return utc


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
