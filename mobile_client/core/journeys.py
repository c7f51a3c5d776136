"""My journey: where I am (GPS or a simulated walk), sharing a journey with contacts, and
its actions (arrived, stop sharing), queued through the outbox when offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mobile_client.core import geo
from mobile_client.core.api import ApiError
from mobile_client.core.context import ACTIVE_STATES, Context, iso
from mobile_client.core.location import Fix, LocationSource, SimulatedWalk

ACTIVE_JOURNEY_FILE = "active_journey.json"


def expected_arrival_for(
    distance_m: float, now: datetime | None = None, margin_min: int = 10
) -> datetime:
    """Walking time plus a margin, from now."""
    now = now or datetime.now(UTC)
    return now + timedelta(minutes=geo.walking_minutes(distance_m) + margin_min)


class Positioning:
    """The phone's position: shown at once, queued for the active journey."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.source: LocationSource | None = None

    def set_position(self, lat: float, lon: float) -> None:
        self.ctx.state.update(position=(lat, lon))

    def start_location(self, source: LocationSource) -> None:
        self.stop_location()
        self.source = source
        source.start()

    def simulated_walk(
        self, to: tuple[float, float] | None = None, speedup: float = 1.0, interval_s: float = 5.0
    ) -> SimulatedWalk:
        """A walk from the current position to ``to`` (default: the demo route in Wigan)."""
        position = self.ctx.state.position
        if to and position:
            route: list[tuple[float, float]] = [position, to]
        else:
            from mobile_client.core.location import DEMO_ROUTE

            route = list(DEMO_ROUTE)
        return SimulatedWalk(self.on_fix, route=route, speedup=speedup, interval_s=interval_s)

    def stop_location(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None

    def on_fix(self, fix: Fix) -> None:
        """A new position: shown at once; queued for the journey when one is active."""
        ctx = self.ctx
        ctx.state.update(position=(fix.lat, fix.lon), accuracy_m=fix.accuracy_m)
        journey = ctx.state.journey
        if journey and journey.get("state", journey.get("status")) in ACTIVE_STATES:
            ctx.outbox.enqueue_fix(int(journey["id"]), fix.to_json())
            ctx.refresh_outbox_counts()
            ctx.kick()


class Journeys:
    """Sharing my journey and ending it."""

    def __init__(self, ctx: Context, positioning: Positioning) -> None:
        self.ctx = ctx
        self.positioning = positioning

    def start_journey(
        self,
        contact_ids: list[int],
        expected_arrival: datetime | None = None,
        destination: dict[str, Any] | None = None,
        watch_link: bool = True,
    ) -> dict[str, Any]:
        state = self.ctx.state
        dest = destination or state.destination
        if not dest:
            raise ApiError(
                422,
                "choose a destination first",
                {"destination": ["choose a destination"]},
                local=True,
            )
        target: dict[str, Any]
        if dest.get("venue_id"):
            target = {"venue_id": int(dest["venue_id"])}
        elif dest.get("postcode"):
            target = {"postcode": dest["postcode"]}
        else:
            target = {"lat": float(dest["lat"]), "lon": float(dest["lon"])}
        if dest.get("label"):
            target["label"] = str(dest["label"])[:160]
        body: dict[str, Any] = {
            "destination": target,
            "contact_ids": [int(c) for c in contact_ids],
            "watch_link": bool(watch_link),
        }
        if state.position:
            body["start"] = {"lat": state.position[0], "lon": state.position[1]}
        if expected_arrival is not None:
            body["expected_arrival_at"] = iso(expected_arrival)
        journey = self.ctx.client.start_journey(body) | {"_label": dest.get("label", "")}
        self.remember_journey(journey)
        state.update(journey=journey, sos_sent=False, online=True, message="Sharing your journey")
        return journey

    def journey_action(self, action: str, body: dict[str, Any] | None = None) -> None:
        """Queue ``action`` on the active journey and try to send it now."""
        ctx = self.ctx
        journey = ctx.state.journey
        if not journey:
            raise ApiError(409, "no journey is active", local=True)
        ctx.outbox.enqueue(
            "action", "POST", f"/api/v1/journeys/{int(journey['id'])}/{action}", body or {}
        )
        ctx.refresh_outbox_counts()
        result = ctx.flush(force=True)
        if result.offline:
            ctx.state.update(
                message="No connection: queued, will send the moment you are back online. If you are in danger, call 999."
            )

    def remember_journey(self, journey: dict[str, Any] | None) -> None:
        """Keep the active journey on disk: the Android sharing service (another process)
        reads it to know where to send fixes."""
        self.ctx.write_json(
            ACTIVE_JOURNEY_FILE,
            None if journey is None else {"id": journey["id"], "state": journey.get("state")},
        )

    def load_active_journey(self) -> dict[str, Any] | None:
        journey = self.ctx.read_json(ACTIVE_JOURNEY_FILE)
        if not isinstance(journey, dict):
            return None
        self.ctx.state.update(journey=journey)
        return journey

    def arrived(self) -> None:
        self.journey_action("arrived")
        self.positioning.stop_location()
        self.remember_journey(None)
        self.ctx.state.update(journey=None, message="Arrived. Your contacts have been told.")

    def cancel_journey(self) -> None:
        self.journey_action("cancel")
        self.positioning.stop_location()
        self.remember_journey(None)
        self.ctx.state.update(journey=None, message="Journey sharing stopped.")
