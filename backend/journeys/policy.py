"""Who may read a journey: its owner, the accepted contacts chosen for it, a valid watch link."""

from __future__ import annotations

from backend.auth.models import User
from backend.errors import Forbidden, NotFound
from backend.journeys.models import Journey


def require_owner(actor: User, journey: Journey) -> None:
    """Only the resident who started the journey; raises NotFound for anyone else (a
    stranger learns nothing, not even that the journey exists)."""
    if journey.owner_id != actor.id:
        raise NotFound(f"no journey {journey.id}")


def can_watch(actor: User, journey: Journey) -> bool:
    """The owner, or a contact chosen for this journey whose consent is still active."""
    from backend.contacts.service import is_active_contact

    if journey.owner_id == actor.id:
        return True
    if actor.id not in journey.contact_user_ids:
        return False
    return is_active_contact(journey.owner_id, actor.id)


def require_can_watch(actor: User, journey: Journey) -> None:
    """Raises NotFound for strangers, Forbidden for a contact not (or no longer) chosen."""
    if can_watch(actor, journey):
        return
    from backend.contacts.service import is_active_contact

    if is_active_contact(journey.owner_id, actor.id):
        raise Forbidden("you were not chosen to watch this journey")
    raise NotFound(f"no journey {journey.id}")
