"""Who may do what with venues; each function raises Forbidden (or NotFound) or returns None."""

from __future__ import annotations

from backend.auth.models import User
from backend.errors import Forbidden, NotFound
from backend.venues.models import Venue
from shared_schemas.enums import Role
from shared_schemas.venues import VenueStatus

# Anyone may see these; the rest only the venue's own staff and admins.
PUBLIC_STATUSES = {VenueStatus.VERIFIED.value, VenueStatus.CANDIDATE.value}


def can_manage(actor: User | None, venue: Venue) -> bool:
    """True for admins and for staff linked to this venue."""
    if actor is None or actor.disabled:
        return False
    if actor.role == Role.ADMIN.value:
        return True
    return actor.role == Role.VENUE_STAFF.value and actor.id in venue.staff_ids


def require_can_view(actor: User | None, venue: Venue) -> None:
    """Public venues for everyone; pending/rejected/suspended ones only for their staff and
    admins. Raises NotFound so unlisted venues do not reveal that they exist."""
    if venue.status not in PUBLIC_STATUSES and not can_manage(actor, venue):
        raise NotFound(f"no venue {venue.id}")


def require_can_register(actor: User) -> None:
    """Venue staff and admins register venues; raises Forbidden."""
    if actor.role not in (Role.VENUE_STAFF.value, Role.ADMIN.value):
        raise Forbidden("only venue staff can register a venue (ask the partnership for access)")


def require_can_edit(actor: User, venue: Venue) -> None:
    """Admins, or staff linked to this venue; raises Forbidden."""
    if not can_manage(actor, venue):
        raise Forbidden("you can only change venues you are registered staff for")


def require_can_verify(actor: User) -> None:
    """Only partnership admins approve, reject or suspend; raises Forbidden."""
    if actor.role != Role.ADMIN.value:
        raise Forbidden("only partnership admins can verify venues")


def require_admin(actor: User) -> None:
    """Admin-only lists (re-check due); raises Forbidden."""
    if actor.role != Role.ADMIN.value:
        raise Forbidden("admins only")
