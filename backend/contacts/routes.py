"""Trusted contacts: ``/api/v1/contacts``."""

from __future__ import annotations

from flask import url_for

from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required, rate_limit_key
from backend.contacts import service
from backend.contacts.schemas import (
    ContactListSchema,
    ContactSchema,
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
    return service.accept_invitation(current_user(), code)


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
    """End a trusted-contact link (either side, at any time)."""
    return service.revoke_contact(current_user(), contact_id)


@blp.get("/views")
@login_required
@blp.response(200, LocationViewSchema(many=True))
def list_views():
    """Who looked at your location, and when (newest first)."""
    return service.list_views(current_user())
