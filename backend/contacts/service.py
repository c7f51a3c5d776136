"""Trusted contacts with mutual consent: invite, accept, revoke, list; the view audit trail."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.auth.models import User
from backend.contacts.models import Contact, Invitation, LocationView
from backend.db import utcnow
from backend.errors import Conflict, Gone, NotFound, ValidationError
from backend.extensions import db

INVITATION_TTL = timedelta(hours=48)
CODE_BYTES = 20  # 160 bits


def hash_secret(value: str) -> str:
    """SHA-256 hex of a bearer secret (codes, tokens): the database never holds the secret."""
    return hashlib.sha256(value.encode()).hexdigest()


def create_invitation(actor: User, now: datetime | None = None) -> tuple[Invitation, str]:
    """A single-use invitation expiring in 48 h; returns it and its code (shown once)."""
    now = now or utcnow()
    code = secrets.token_urlsafe(CODE_BYTES)
    invitation = Invitation(
        inviter_id=actor.id,
        code_hash=hash_secret(code),
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    db.session.add(invitation)
    db.session.commit()
    return invitation, code


def accept_invitation(actor: User, code: str, now: datetime | None = None) -> Contact:
    """Become the inviter's trusted contact. Raises NotFound (unknown code), Gone (used or
    expired), ValidationError (your own invitation)."""
    now = now or utcnow()
    if not code or len(code) > 200:
        raise NotFound("no such invitation")
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.code_hash == hash_secret(code)).with_for_update()
    )
    if invitation is None:
        raise NotFound("no such invitation")
    if invitation.accepted_at is not None:
        raise Gone("this invitation has already been used")
    if invitation.expires_at <= now:
        raise Gone("this invitation has expired; ask for a new one")
    if invitation.inviter_id == actor.id:
        raise ValidationError(
            "you cannot accept your own invitation", errors={"code": ["your own invitation"]}
        )
    invitation.accepted_at = now
    invitation.accepted_by_id = actor.id
    contact = db.session.scalar(
        select(Contact).where(
            Contact.owner_id == invitation.inviter_id, Contact.contact_user_id == actor.id
        )
    )
    if contact is None:
        contact = Contact(owner_id=invitation.inviter_id, contact_user_id=actor.id, created_at=now)
        db.session.add(contact)
    elif contact.status == "active":
        db.session.rollback()
        raise Conflict("you are already this person's trusted contact")
    else:
        contact.status = "active"
        contact.created_at = now
        contact.revoked_at = None
        contact.revoked_by_id = None
    db.session.commit()
    return contact


def list_contacts(actor: User) -> dict[str, list[Contact]]:
    """Active links in both directions: whom I trust, and who trusts me."""
    trusted = db.session.scalars(
        select(Contact)
        .where(Contact.owner_id == actor.id, Contact.status == "active")
        .order_by(Contact.id)
    ).all()
    trusted_by = db.session.scalars(
        select(Contact)
        .where(Contact.contact_user_id == actor.id, Contact.status == "active")
        .order_by(Contact.id)
    ).all()
    return {"trusted": list(trusted), "trusted_by": list(trusted_by)}


def revoke_contact(actor: User, contact_id: int, now: datetime | None = None) -> Contact:
    """Either side ends the link: the contact leaves every journey of the owner at once, and
    the other side is alerted. Raises NotFound (also for links that are not the caller's)."""
    from backend.alerts import service as alerts
    from backend.journeys import service as journeys

    now = now or utcnow()
    contact = db.session.get(Contact, contact_id)
    if contact is None or actor.id not in (contact.owner_id, contact.contact_user_id):
        raise NotFound(f"no contact {contact_id}")
    if contact.status != "active":
        return contact
    contact.status = "revoked"
    contact.revoked_at = now
    contact.revoked_by_id = actor.id
    affected = journeys.remove_contact_from_journeys(contact.owner_id, contact.contact_user_id)
    other_id = contact.contact_user_id if actor.id == contact.owner_id else contact.owner_id
    name = actor.display_name or "Someone"
    alerts.enqueue(
        kind="contact_revoked",
        recipients=[other_id],
        title="Trusted contact ended",
        body=f"{name} ended your trusted-contact link.",
        data={"contact_id": str(contact.id)},
        subject_user_id=actor.id,
    )
    db.session.commit()
    journeys.announce_access_removed(affected, contact.contact_user_id)
    return contact


def is_active_contact(owner_id: int, contact_user_id: int) -> bool:
    """Whether ``contact_user_id`` currently holds ``owner_id``'s consent."""
    return (
        db.session.scalar(
            select(Contact.id).where(
                Contact.owner_id == owner_id,
                Contact.contact_user_id == contact_user_id,
                Contact.status == "active",
            )
        )
        is not None
    )


def active_contact_ids(owner_id: int, candidates: list[int]) -> set[int]:
    """The subset of ``candidates`` who are ``owner_id``'s active contacts."""
    if not candidates:
        return set()
    return set(
        db.session.scalars(
            select(Contact.contact_user_id).where(
                Contact.owner_id == owner_id,
                Contact.status == "active",
                Contact.contact_user_id.in_(candidates),
            )
        )
    )


def record_view(
    owner_id: int,
    via: str,
    *,
    viewer_id: int | None = None,
    journey_id: int | None = None,
    watch_link_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Log a look at ``owner_id``'s location (commits; owners never log their own looks)."""
    if viewer_id == owner_id:
        return
    db.session.add(
        LocationView(
            owner_id=owner_id,
            viewer_id=viewer_id,
            journey_id=journey_id,
            watch_link_id=watch_link_id,
            via=via,
            viewed_at=now or utcnow(),
        )
    )
    db.session.commit()


def list_views(actor: User, limit: int = 200) -> list[LocationView]:
    """Who looked at my location and when, newest first."""
    return list(
        db.session.scalars(
            select(LocationView)
            .where(LocationView.owner_id == actor.id)
            .order_by(LocationView.viewed_at.desc(), LocationView.id.desc())
            .limit(limit)
        )
    )
