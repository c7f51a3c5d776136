"""Seed the demo users (dev auth only)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from backend.auth import service
from backend.auth.models import User
from backend.extensions import db

# uid -> (role, home ward): the resident lives in Wigan Central, their contact in Leigh West.
DEMO_USERS = {
    "demo-resident": ("resident", "E05015010"),
    "demo-contact": ("resident", "E05015003"),
    "demo-staff": ("venue_staff", None),
    "demo-admin": ("admin", None),
}


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Create the demo users, one per role, with home wards for the residents; says how many
    it created, changed and found as they were."""
    created, changed, unchanged = 0, 0, 0
    for uid, (role, ward_code) in DEMO_USERS.items():
        before = db.session.scalar(select(User.role).where(User.uid == uid))
        user = service.ensure_user(uid, role)
        missing_ward = bool(ward_code) and user.ward_code is None
        if missing_ward:
            user.ward_code = ward_code
        if before is None:
            created += 1
        elif before != role or missing_ward:
            changed += 1
        else:
            unchanged += 1
    db.session.commit()
    why = f"{unchanged} unchanged" if unchanged else "none"
    echo(
        f"users: imported {created}, updated {changed}, skipped {unchanged} ({why}) "
        f"of the demo users {', '.join(DEMO_USERS)}"
    )
