"""Seed the demo users (dev auth only)."""

from __future__ import annotations

from collections.abc import Callable

from backend.auth import service

DEMO_USERS = {
    "demo-resident": "resident",
    "demo-contact": "resident",
    "demo-staff": "venue_staff",
    "demo-admin": "admin",
}


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Create or update the demo users, one per role."""
    for uid, role in DEMO_USERS.items():
        service.ensure_user(uid, role)
    echo(f"users: imported {len(DEMO_USERS)} demo users ({', '.join(DEMO_USERS)}), skipped 0")
