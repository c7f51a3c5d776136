"""Seed a demo trusted-contact link: demo-resident trusts demo-contact."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from backend.auth.models import User
from backend.contacts.models import Contact
from backend.extensions import db


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Link the demo users (after the auth seeder created them); idempotent."""
    users = {
        u.uid: u
        for u in db.session.scalars(
            select(User).where(User.uid.in_(["demo-resident", "demo-contact"]))
        )
    }
    if len(users) < 2:
        echo("contacts: imported 0, skipped 1 (demo users missing)")
        return
    owner, contact = users["demo-resident"], users["demo-contact"]
    link = db.session.scalar(
        select(Contact).where(Contact.owner_id == owner.id, Contact.contact_user_id == contact.id)
    )
    if link is not None and link.status == "active":
        echo("contacts: imported 0, skipped 1 (already linked)")
        return
    if link is None:
        db.session.add(Contact(owner_id=owner.id, contact_user_id=contact.id))
    else:
        link.status, link.revoked_at, link.revoked_by_id = "active", None, None
    db.session.commit()
    echo("contacts: imported 1 (demo-resident trusts demo-contact), skipped 0")
