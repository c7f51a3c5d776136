"""Trusted contacts with mutual consent: invite, accept, revoke, list; the view audit trail."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.auth.models import User
from backend.contacts.models import Contact, Invitation, LocationView
from backend.db import utcnow
from backend.errors import Conflict, Gone, NotFound, ValidationError
from backend.extensions import db

INVITATION_TTL = timedelta(hours=48)
CODE_BYTES = 20  # 160 bits
UNNAMED = "Unnamed contact"  # how a person who set no display name is shown to others
VIA_LABELS = {
    "watch_link": "Someone with your watch link",
    "owntracks": "OwnTracks",
}


def display_name_of(user: User | None) -> str:
    """The name to show for ``user``: their display name, else a fallback wording (never an
    id or "None")."""
    return (user.display_name if user is not None else None) or UNNAMED


def contact_view(
    actor: User, contact: Contact, sos_watchers: set[int] | None = None
) -> dict[str, Any]:
    """One link as ``actor`` sees it: the other person's name, their phone if they share it
    with ``actor``, whether ``actor`` shares theirs, and whether they are watching
    ``actor``'s active SOS (``sos_watchers``: so an app can warn before revoking them)."""
    mine_is_owner = contact.owner_id == actor.id
    other = contact.contact_user if mine_is_owner else contact.owner
    they_share = contact.contact_shares_phone if mine_is_owner else contact.owner_shares_phone
    i_share = contact.owner_shares_phone if mine_is_owner else contact.contact_shares_phone
    active = contact.status == "active"
    return {
        "id": contact.id,
        "owner": contact.owner,
        "contact_user": contact.contact_user,
        "status": contact.status,
        "created_at": contact.created_at,
        "revoked_at": contact.revoked_at,
        "user_id": other.id,
        "display_name": display_name_of(other),
        "phone": other.phone if (active and they_share) else None,
        "share_phone": bool(i_share),
        "watching_my_sos": other.id in (sos_watchers or set()),
    }


def sos_watchers(owner_id: int) -> set[int]:
    """The chosen contacts of ``owner_id``'s active journey when it is in SOS, else empty."""
    from backend.journeys.models import Journey, JourneyContact

    return set(
        db.session.scalars(
            select(JourneyContact.contact_user_id)
            .join(Journey, Journey.id == JourneyContact.journey_id)
            .where(Journey.active_owner_id == owner_id, Journey.sos.is_(True))
        )
    )


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


def list_contacts(actor: User) -> dict[str, list[dict[str, Any]]]:
    """Active links in both directions: whom I trust, and who trusts me (as ``contact_view``)."""
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
    watching = sos_watchers(actor.id)
    return {
        "trusted": [contact_view(actor, c, watching) for c in trusted],
        "trusted_by": [contact_view(actor, c) for c in trusted_by],
    }


def set_share_phone(actor: User, contact_id: int, share: bool) -> Contact:
    """Share (or stop sharing) the caller's phone number with the other side of an active
    link. Raises NotFound (not the caller's link), Conflict (the link has ended)."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or actor.id not in (contact.owner_id, contact.contact_user_id):
        raise NotFound(f"no contact {contact_id}")
    if contact.status != "active":
        raise Conflict("this trusted-contact link has ended")
    if actor.id == contact.owner_id:
        contact.owner_shares_phone = share
    else:
        contact.contact_shares_phone = share
    db.session.commit()
    return contact


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
    contact.owner_shares_phone = contact.contact_shares_phone = False  # consent ends with it
    alerts.enqueue(
        kind="contact_revoked",
        recipients=[other_id],
        title="Trusted contact ended",
        body=f"{name} ended your trusted-contact link.",
        data={"contact_id": str(contact.id)},
        subject_user_id=actor.id,
    )
    db.session.commit()
    journeys.announce_access_removed(
        affected, contact.contact_user_id, by_display_name=display_name_of(actor), at=now
    )
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


def list_views(actor: User, limit: int = 200, now: datetime | None = None) -> list[dict[str, Any]]:
    """Who looked at my location and when, newest first, with ``who`` (a name, or the kind of
    viewer) and ``when`` (UK local time) ready to show."""
    from shared_schemas.uktime import day_and_clock

    now = now or utcnow()
    views = db.session.scalars(
        select(LocationView)
        .where(LocationView.owner_id == actor.id)
        .order_by(LocationView.viewed_at.desc(), LocationView.id.desc())
        .limit(limit)
    )
    out = []
    for view in views:
        if view.viewer is not None:
            who = display_name_of(view.viewer)
        else:
            who = VIA_LABELS.get(view.via, "Someone no longer on SafeHaven")
        out.append(
            {
                "viewer": view.viewer,
                "via": view.via,
                "journey_id": view.journey_id,
                "viewed_at": view.viewed_at,
                "who": who,
                "when": day_and_clock(view.viewed_at, now),
            }
        )
    return out


def export_user(user: User) -> dict[str, Any]:
    """For ``GET /api/v1/me/export``: the person's contact links (both directions) and who
    viewed their location."""
    links = db.session.scalars(
        select(Contact)
        .where((Contact.owner_id == user.id) | (Contact.contact_user_id == user.id))
        .order_by(Contact.id)
    ).all()
    views = db.session.scalars(
        select(LocationView).where(LocationView.owner_id == user.id).order_by(LocationView.id)
    ).all()
    return {
        "contacts": [
            {
                "id": c.id,
                "owner_id": c.owner_id,
                "contact_user_id": c.contact_user_id,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
                "owner_shares_phone": c.owner_shares_phone,
                "contact_shares_phone": c.contact_shares_phone,
            }
            for c in links
        ],
        "location_views": len(views),
    }
