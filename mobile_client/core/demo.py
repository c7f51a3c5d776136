"""``--demo`` on a desktop: the demo resident shares a walk to the nearest open safe place
with their trusted contacts, and a simulated GPS walks there, so a local server sees a
journey move without anyone touching the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mobile_client.core.api import ApiError
from mobile_client.core.contacts import SHARABLE
from mobile_client.core.context import ACTIVE_STATES
from mobile_client.core.location import DEMO_ROUTE

if TYPE_CHECKING:
    from mobile_client.core.controller import Core


def start_demo_journey(core: Core) -> dict[str, Any] | None:
    """Signed in: carry on with the journey this app still shares (an earlier demo left
    running), or share a new one to the nearest open safe place from the start of the demo
    route, with every contact who can watch it. Returns where to walk (``lat``, ``lon``,
    ``label``), or None when there is nowhere to go (the screen says why)."""
    resumed = _resume(core)
    if resumed is not None:
        return resumed
    if core.state.position is None:
        core.set_position(*DEMO_ROUTE[0])
    sharable = [
        int(c["user_id"])
        for c in core.load_contacts()
        if c.get("direction") in SHARABLE and c.get("user_id") is not None
    ]
    places = core.find_safe_places(limit=5)
    if not places:
        return None  # find_safe_places said so
    core.choose_place(places[0])  # nearest open first
    core.start_journey(sharable, destination=core.state.destination)
    destination = core.state.destination or {}
    return {
        "lat": float(destination["lat"]),
        "lon": float(destination["lon"]),
        "label": destination.get("label") or "Safe place",
    }


def _resume(core: Core) -> dict[str, Any] | None:
    """The journey this app remembers, if the server still has it active."""
    remembered = core.load_active_journey()
    if not remembered:
        return None
    try:
        journey = core.client.journey(int(remembered["id"]))
    except ApiError:
        journey = None
    if not journey or journey.get("state") not in ACTIVE_STATES:
        core.journeys.remember_journey(None)
        core.state.update(journey=None)
        return None
    destination = journey.get("destination") or {}
    if destination.get("lat") is None or destination.get("lon") is None:
        return None  # an SOS's emergency journey has no destination to walk to
    core.state.update(journey=journey)
    return {
        "lat": float(destination["lat"]),
        "lon": float(destination["lon"]),
        "label": destination.get("label") or "your destination",
    }
