"""My journey: where I am (GPS or a simulated walk), sharing a journey with contacts, and
its actions (arrived, stop sharing), queued through the outbox when offline."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from mobile_client.core import geo
from mobile_client.core.api import ApiError
from mobile_client.core.context import ACTIVE_STATES, Context, iso
from mobile_client.core.location import Fix, LocationSource, SimulatedWalk

ACTIVE_JOURNEY_FILE = "active_journey.json"
NO_RECIPIENTS = (
    "Choose at least one person to share with: a journey shared with no one reaches no one. "
    "No contacts yet? Add one in Contacts."
)


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


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
        self.last_fix: Fix | None = None
        self.listeners: list[Callable[[], None]] = []  # told of every new position

    def set_position(self, lat: float, lon: float) -> None:
        self.ctx.state.update(position=(lat, lon))
        self._tell()

    def _tell(self) -> None:
        for listener in self.listeners:
            listener()

    def battery(self) -> int | None:
        """The phone's battery percent (plyer), or None where it cannot be read."""
        if self.last_fix is not None and self.last_fix.battery is not None:
            return int(self.last_fix.battery)
        if "ANDROID_ARGUMENT" not in os.environ:
            return None  # a desktop's battery is not the phone's
        try:
            from plyer import battery  # type: ignore[import-untyped]

            percent = battery.status.get("percentage")
        except Exception:  # noqa: BLE001 - no battery facade on this platform
            return None
        return int(percent) if isinstance(percent, int | float) else None

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
        self.last_fix = fix
        ctx.state.update(position=(fix.lat, fix.lon), accuracy_m=fix.accuracy_m)
        journey = ctx.state.journey
        if journey and journey.get("state", journey.get("status")) in ACTIVE_STATES:
            ctx.outbox.enqueue_fix(int(journey["id"]), fix.to_json())
            ctx.refresh_outbox_counts()
            ctx.kick()
        self._tell()


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
        if not contact_ids:
            # Sharing with no one protects no one: say so plainly (the server refuses it too).
            state.update(notice={"kind": "no_recipients", "text": NO_RECIPIENTS})
            raise ApiError(422, NO_RECIPIENTS, local=True)
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
        try:
            journey = self.ctx.client.start_journey(body) | {"_label": dest.get("label", "")}
        except ApiError as exc:
            if exc.status == 422 and exc.mentions("no_recipients"):
                state.update(notice={"kind": "no_recipients", "text": NO_RECIPIENTS})
                raise ApiError(422, NO_RECIPIENTS, local=True) from exc
            raise
        self.remember_journey(journey)
        names = [c["name"] for c in state.contacts if c.get("user_id") in body["contact_ids"]] or [
            "your contacts"
        ]
        state.update(
            journey=journey,
            share_selection=[],  # the next journey starts with no one chosen
            online=True,
            notice=None,
            message=f"Sharing your journey with {_names(names)}",
        )
        return journey

    def journey_action(self, action: str, body: dict[str, Any] | None = None) -> bool:
        """Queue ``action`` on the active journey and try to send it now; True when the
        server answered it."""
        ctx = self.ctx
        journey = ctx.state.journey
        if not journey:
            raise ApiError(409, "no journey is active", local=True)
        item_id = ctx.outbox.enqueue(
            "action", "POST", f"/api/v1/journeys/{int(journey['id'])}/{action}", body or {}
        )
        ctx.refresh_outbox_counts()
        result = ctx.flush(force=True)
        return any(item.id == item_id for item, _answer in result.answered)

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
        told = self.journey_action("arrived")
        self.positioning.stop_location()
        self.remember_journey(None)
        text = (
            "You've arrived. Your contacts have been told."
            if told
            else "Arrival saved on this phone. Your contacts have not been told yet: "
            "it goes the moment you have signal."
        )
        self.ctx.state.update(
            journey=None, share_selection=[], notice={"kind": "arrived", "text": text}
        )

    def cancel_journey(self) -> None:
        stopped = self.journey_action("cancel")
        self.positioning.stop_location()
        self.remember_journey(None)
        text = (
            "Sharing stopped. Your contacts can no longer see where you are."
            if stopped
            else "Stop saved on this phone: it reaches the server when you have signal."
        )
        self.ctx.state.update(
            journey=None, share_selection=[], notice={"kind": "stopped", "text": text}
        )
