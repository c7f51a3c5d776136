"""Trusted contacts: ``/api/v1/contacts``."""

from __future__ import annotations

from flask import url_for

from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required, rate_limit_key
from backend.contacts import service
from backend.contacts.schemas import (
    ContactListSchema,
    ContactSchema,
    ContactUpdateSchema,
    InvitationCreatedSchema,
    LocationViewSchema,
)
from backend.extensions import limiter

blp = Blueprint("contacts", __name__, url_prefix="/api/v1/contacts", description="Trusted contacts")


@blp.post("/invitations")
@login_required
@limiter.limit("30/hour", key_func=rate_limit_key)
@blp.response(201, InvitationCreatedSchema)
def create_invitation():
    """Invite someone to be your trusted contact (single use, expires in 48 h)."""
    invitation, code = service.create_invitation(current_user())
    link = url_for("contacts.accept_invitation", code=code, _external=True)
    return {"id": invitation.id, "code": code, "link": link, "expires_at": invitation.expires_at}


@blp.post("/invitations/<string:code>/accept")
@login_required
@limiter.limit("20/minute", key_func=rate_limit_key)
@blp.response(201, ContactSchema)
def accept_invitation(code: str):
    """Accept an invitation: you become the inviter's trusted contact."""
    actor = current_user()
    return service.contact_view(actor, service.accept_invitation(actor, code))


@blp.get("")
@login_required
@blp.response(200, ContactListSchema)
def list_contacts():
    """People you trust and people who trust you."""
    return service.list_contacts(current_user())


@blp.delete("/<int:contact_id>")
@login_required
@blp.response(200, ContactSchema)
def revoke_contact(contact_id: int):
    """End a trusted-contact link (either side, at any time); anyone watching stops at once
    and is told who stopped sharing."""
    actor = current_user()
    return service.contact_view(actor, service.revoke_contact(actor, contact_id))


@blp.patch("/<int:contact_id>")
@login_required
@blp.arguments(ContactUpdateSchema)
@blp.response(200, ContactSchema)
def update_contact(changes, contact_id: int):
    """Share your phone number with this contact (``share_phone``), or stop sharing it."""
    actor = current_user()
    contact = service.set_share_phone(actor, contact_id, changes["share_phone"])
    return service.contact_view(actor, contact)


@blp.get("/views")
@login_required
@blp.response(200, LocationViewSchema(many=True))
def list_views():
    """Who looked at your location, and when (newest first; ``who`` and ``when`` in UK
    time, ready to show)."""
    return service.list_views(current_user())
