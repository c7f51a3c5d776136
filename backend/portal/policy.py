"""Who may use which portal page; each function raises Forbidden or returns None."""

from __future__ import annotations

from typing import Any

from backend.auth.models import User
from backend.errors import Forbidden
from shared_schemas.enums import Role

PORTAL_ROLES = (Role.VENUE_STAFF.value, Role.ADMIN.value)


def require_portal_user(actor: User) -> None:
    """Venue staff and admins only; residents use the app. Raises Forbidden."""
    if actor.disabled or actor.role not in PORTAL_ROLES:
        raise Forbidden("The portal is for venue staff and partnership staff.")


def require_admin(actor: User) -> None:
    """Partnership admins only; raises Forbidden."""
    if actor.role != Role.ADMIN.value:
        raise Forbidden("This page is for partnership admins only.")


def require_venue_access(actor: User, venue: Any) -> None:
    """An admin, or the venue staff member who manages ``venue``; raises Forbidden."""
    if actor.role == Role.ADMIN.value:
        return
    owner = getattr(venue, "owner_id", None)
    if owner is None:
        owner = getattr(venue, "created_by_id", None)
    if actor.role != Role.VENUE_STAFF.value or owner != actor.id:
        raise Forbidden("You can only manage your own venues.")
