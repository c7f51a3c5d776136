"""Who may do what, one function per question; each raises Forbidden or returns None."""

from __future__ import annotations

from backend.auth.models import User
from backend.errors import Forbidden
from shared_schemas.enums import Role


def require_admin(actor: User) -> None:
    """Only partnership admins; raises Forbidden."""
    if actor.role != Role.ADMIN.value:
        raise Forbidden("admins only")


def require_venue_staff(actor: User) -> None:
    """Venue staff (or admins); raises Forbidden."""
    if actor.role not in (Role.VENUE_STAFF.value, Role.ADMIN.value):
        raise Forbidden("venue staff only")


def require_self_or_admin(actor: User, owner_id: int | None) -> None:
    """The owner of a record, or an admin; raises Forbidden."""
    if actor.role != Role.ADMIN.value and actor.id != owner_id:
        raise Forbidden("not yours")
