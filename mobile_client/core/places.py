"""Safe places and destinations: the nearest open venues, a postcode, a point on the map."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mobile_client.core import geo
from mobile_client.core.context import Context, iso
from mobile_client.core.timefmt import uk_clock


def describe_place(place: dict[str, Any], origin: tuple[float, float] | None) -> dict[str, Any]:
    """A venue from the API with what the list shows: distance, compass direction, minutes
    on foot and an open/closes line (the server's figures when given, else computed)."""
    out = dict(place)
    lat, lon = float(place.get("lat", 0)), float(place.get("lon", 0))
    distance = place.get("distance_m")
    if distance is None and origin:
        distance = geo.haversine_m(origin[0], origin[1], lat, lon)
    bearing = place.get("compass")
    if not isinstance(bearing, str):
        angle = place.get("bearing_deg")
        if isinstance(angle, int | float):
            bearing = geo.compass_point(float(angle))
        elif origin:
            bearing = geo.compass_point(geo.bearing_deg(origin[0], origin[1], lat, lon))
        else:
            bearing = ""
    walk = place.get("walking_minutes") or place.get("walk_minutes")
    if walk is None and distance is not None:
        walk = geo.walking_minutes(float(distance))
    out["distance_m"] = distance
    out["direction"] = bearing
    out["walk_min"] = walk
    out["distance_text"] = geo.format_distance(float(distance)) if distance is not None else ""
    closes, opens = place.get("closes_at"), place.get("opens_at")
    if place.get("open_now") is None and "open_now" in place:
        out["hours_text"] = "Opening hours unknown: call first"
    elif place.get("open_now", True):
        out["hours_text"] = f"Open now, closes {_clock(closes)}" if closes else "Open now"
    else:
        out["hours_text"] = f"Closed, opens {_clock(opens)}" if opens else "Closed now"
    return out


def _clock(value: Any) -> str:
    """'23:00' from an ISO time in UK local time; text that is not a time as sent."""
    return uk_clock(value) or str(value or "")


class Places:
    """Finding safe places and choosing where a journey goes."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def find_safe_places(self, limit: int = 5, at: datetime | None = None) -> list[dict[str, Any]]:
        state = self.ctx.state
        if not state.position:
            state.update(message="Waiting for your location...")
            return []
        lat, lon = state.position
        raw = self.ctx.client.nearest_venues(lat, lon, limit=limit, at=iso(at) if at else None)
        places = [describe_place(p, (lat, lon)) for p in raw]
        state.update(
            places=places,
            online=True,
            message=""
            if places
            else "No open safe place found nearby. If you are in danger, call 999.",
        )
        return places

    def choose_place(self, place: dict[str, Any]) -> None:
        """Make a safe place the journey's destination."""
        self.ctx.state.update(
            selected_place=place,
            destination={
                "venue_id": place.get("id"),
                "lat": place.get("lat"),
                "lon": place.get("lon"),
                "label": place.get("name", "Safe place"),
            },
        )

    def destination_from_postcode(self, postcode: str) -> dict[str, Any]:
        found = self.ctx.client.postcode(postcode)
        dest = {
            "postcode": found["postcode"],
            "lat": found["lat"],
            "lon": found["lon"],
            "label": found["postcode"],
        }
        self.ctx.state.update(destination=dest)
        return dest

    def destination_from_map(self, lat: float, lon: float) -> dict[str, Any]:
        ward = geo.ward_at(lat, lon)
        label = f"Map point in {ward['name']}" if ward else f"Map point {lat:.4f}, {lon:.4f}"
        dest = {"lat": lat, "lon": lon, "label": label}
        self.ctx.state.update(destination=dest)
        return dest
