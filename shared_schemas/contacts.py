"""Trusted contacts as the API shows them: invitations, both directions, views."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class InvitationCreatedSchema(Schema):
    """A new invitation: the code and link are shown once, only here."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    link = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class PersonSchema(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(allow_none=True)


class ContactSchema(Schema):
    """One consented link: ``owner`` trusts ``contact``. Seen from the caller's side:
    ``user_id`` / ``display_name`` are the other person's (a fallback wording when they set no
    name), ``phone`` theirs only if they chose to share it with you, ``share_phone`` whether
    you share yours with them."""

    id = fields.Integer(required=True)
    owner = fields.Nested(PersonSchema, required=True)
    contact = fields.Nested(PersonSchema, required=True, attribute="contact_user")
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)
    user_id = fields.Integer()
    display_name = fields.String()
    phone = fields.String(allow_none=True)
    share_phone = fields.Boolean()
    # They are a chosen contact of your active journey while it is in SOS (warn before revoking).
    watching_my_sos = fields.Boolean()


class ContactUpdateSchema(Schema):
    """Your choices on one link: share your phone number with the other person or not."""

    share_phone = fields.Boolean(required=True)


class ContactListSchema(Schema):
    """``trusted``: people I trust (they may watch me); ``trusted_by``: people who trust me."""

    trusted = fields.List(fields.Nested(ContactSchema), required=True)
    trusted_by = fields.List(fields.Nested(ContactSchema), required=True)


class LocationViewSchema(Schema):
    """Someone looked at my location: ``who`` and ``when`` are ready to show (a name or what
    kind of viewer; UK local time, e.g. ``"04:37"`` today or ``"Sat 5 Dec 23:10"``)."""

    viewer = fields.Nested(PersonSchema, allow_none=True)
    via = fields.String(required=True)
    journey_id = fields.Integer(allow_none=True)
    viewed_at = fields.DateTime(required=True)
    who = fields.String(required=True)
    when = fields.String(required=True, validate=validate.Length(max=40))
