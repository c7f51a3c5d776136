"""SOS: raising the alarm, on the active journey or from anywhere."""

from __future__ import annotations

from mobile_client.core.api import ApiError
from mobile_client.core.contacts import Contacts
from mobile_client.core.context import Context
from mobile_client.core.journeys import Journeys


class Sos:
    """The SOS button's work."""

    def __init__(self, ctx: Context, journeys: Journeys, contacts: Contacts) -> None:
        self.ctx = ctx
        self.journeys = journeys
        self.contacts = contacts

    def sos(self) -> None:
        """Raise an SOS on the active journey; the server sends contacts the last position
        and battery. Queued if offline, after the fixes already waiting, so the position
        the contacts get is the latest."""
        self.journeys.journey_action("sos")
        journey = dict(self.ctx.state.journey or {})
        self.ctx.state.update(sos_sent=True, journey=journey | {"sos": True} if journey else None)

    def sos_anywhere(self) -> None:
        """SOS from the home screen: without a journey, first share one to where I stand
        with every contact who agreed to watch, so the SOS reaches someone."""
        state = self.ctx.state
        if not state.journey:
            if not state.position:
                raise ApiError(409, "No location yet: call 999 if you are in danger", local=True)
            contacts = self.contacts.load_contacts()
            ids = [int(c["user_id"]) for c in contacts if c["direction"] in ("i_trust", "mutual")]
            lat, lon = state.position
            self.journeys.start_journey(
                ids, destination={"lat": lat, "lon": lon, "label": "where I am"}
            )
        self.sos()
