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
# What the demo users are called on screens, alerts and the watch page (names, not ids).
DEMO_NAMES = {
    "demo-resident": "Alex (demo)",
    "demo-contact": "Sam (demo)",
    "demo-staff": "Carol (demo staff)",
    "demo-admin": "Dave (demo admin)",
}


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Create the demo users, one per role, with names and home wards for the residents; says
    how many it created, changed and found as they were (a name someone set is kept)."""
    created, changed, unchanged = 0, 0, 0
    for uid, (role, ward_code) in DEMO_USERS.items():
        before = db.session.scalar(select(User.role).where(User.uid == uid))
        user = service.ensure_user(uid, role)
        missing_ward = bool(ward_code) and user.ward_code is None
        if missing_ward:
            user.ward_code = ward_code
        missing_name = not user.display_name
        if missing_name:
            user.display_name = DEMO_NAMES[uid]
        if before is None:
            created += 1
        elif before != role or missing_ward or missing_name:
            changed += 1
        else:
            unchanged += 1
    db.session.commit()
    why = f"{unchanged} unchanged" if unchanged else "none"
    echo(
        f"users: imported {created}, updated {changed}, skipped {unchanged} ({why}) "
        f"of the demo users {', '.join(DEMO_USERS)}"
    )
