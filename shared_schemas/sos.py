"""SOS as the phone sends it and as the server answers: who is being alerted and how far
each alert has got (``delivered`` only when the recipient's phone said so)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.common import Id, Latitude, Longitude, UtcDateTime

SOS_STATUSES = ("active", "ended")
# delivered: a device of the recipient acknowledged it; sent: FCM accepted it; pending: not
# sent yet (or being retried); no_device: the recipient has no registered phone.
DELIVERY_STATES = ("delivered", "sent", "pending", "no_device")
# The refusal when there is no one to alert (409), as ``errors["code"]`` of the error body.
NO_TRUSTED_CONTACTS = "no_trusted_contacts"


class SosCreateSchema(Schema):
    """An SOS press; ``client_id`` (a UUID made on the phone) makes a resend safe."""

    client_id = fields.UUID(required=True)
    lat = Latitude(required=True)
    lon = Longitude(required=True)
    accuracy_m = fields.Float(
        allow_nan=False, allow_none=True, validate=validate.Range(min=0, max=100_000)
    )
    battery = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=100))
    recorded_at = UtcDateTime(required=True)
    journey_id = Id(strict=True, allow_none=True)


class SosRecipientSchema(Schema):
    """One person being alerted, and how far their alert has got."""

    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    devices = fields.Integer(required=True)
    delivery = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATES))
    delivered_at = fields.DateTime(allow_none=True)


class SosSchema(Schema):
    """An SOS and its recipients."""

    id = fields.Integer(required=True)
    client_id = fields.String(required=True)
    journey_id = fields.Integer(allow_none=True)
    alert_id = fields.Integer(allow_none=True)
    raised_at = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(SOS_STATUSES))
    recipients = fields.List(fields.Nested(SosRecipientSchema), required=True)


class AlertReceivedSchema(Schema):
    """A recipient's phone acknowledged an alert."""

    alert_id = fields.Integer(required=True)
    received_at = fields.DateTime(required=True)
