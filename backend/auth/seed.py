"""Seed the demo users (dev auth only)."""

from __future__ import annotations

from collections.abc import Callable

from backend.auth import service
from backend.extensions import db

# uid -> (role, home ward): the resident lives in Wigan Central, their contact in Leigh West.
DEMO_USERS = {
    "demo-resident": ("resident", "E05015010"),
    "demo-contact": ("resident", "E05015003"),
    "demo-staff": ("venue_staff", None),
    "demo-admin": ("admin", None),
}


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Create or update the demo users, one per role, with home wards for the residents."""
    for uid, (role, ward_code) in DEMO_USERS.items():
        user = service.ensure_user(uid, role)
        if ward_code and user.ward_code is None:
            user.ward_code = ward_code
    db.session.commit()
    echo(f"users: imported {len(DEMO_USERS)} demo users ({', '.join(DEMO_USERS)}), skipped 0")
