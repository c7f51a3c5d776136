"""Safe places and destinations: the nearest open venues (kept for when there is no signal),
a postcode, a point on the map, directions, and the deployment's map settings."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mobile_client.core import geo
from mobile_client.core.api import Offline
from mobile_client.core.context import Context, iso
from mobile_client.core.sms import geo_uri
from shared_schemas import uktime
from shared_schemas.venues import (
    DEFAULT_STAY_MIN,
    Availability,
    arrival_availability,
    hours_text,
    on_arrival,
    state_from_transitions,
    stored_transitions,
    walking_minutes,
)

log = logging.getLogger(__name__)

PLACES_FILE = "places.json"
APP_CONFIG_FILE = "app_config.json"
OFFLINE_MAP_FILE = "offline-map.mbtiles"
# What the list colours each kind of place by (the server's ``availability``).
TONES = {
    Availability.OPEN.value: "open",
    Availability.CLOSING_SOON.value: "amber",
    Availability.CLOSES_BEFORE_ARRIVAL.value: "closed",
    Availability.CLOSED.value: "closed",
    Availability.UNKNOWN.value: "unknown",
}
ORDER = {
    Availability.OPEN.value: 0,
    Availability.CLOSING_SOON.value: 1,
    Availability.UNKNOWN.value: 2,
    Availability.CLOSES_BEFORE_ARRIVAL.value: 3,
    Availability.CLOSED.value: 3,
}


def describe_place(place: dict[str, Any], origin: tuple[float, float] | None) -> dict[str, Any]:
    """A venue from the API with what the list shows: distance, compass direction, minutes
    on foot and the hours line (the server's figures when given, else computed)."""
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
    if not place.get("hours_text"):
        out["hours_text"] = _legacy_hours_text(place)
    out["tone"] = TONES.get(str(place.get("availability")), _legacy_tone(place))
    return out


def _legacy_hours_text(place: dict[str, Any]) -> str:
    closes, opens = place.get("closes_at"), place.get("opens_at")
    if place.get("open_now") is None and "open_now" in place:
        return "Opening hours unknown: call first"
    if place.get("open_now", True):
        return f"Open now, closes {_clock(closes)}" if closes else "Open now"
    return f"Closed, opens {_clock(opens)}" if opens else "Closed now"


def _legacy_tone(place: dict[str, Any]) -> str:
    if place.get("open_now") is None and "open_now" in place:
        return "unknown"
    return "open" if place.get("open_now", True) else "closed"


def _clock(value: Any) -> str:
    """'23:00' from an ISO time in UK local time; text that is not a time as sent."""
    return uktime.clock(value) or str(value or "")


def recompute(
    stored: dict[str, Any], origin: tuple[float, float], now: datetime, stay_min: int
) -> dict[str, Any]:
    """A stored answer item as it is now, from here: distance and direction from ``origin``,
    open/closed from its stored transitions, by the server's own rule (no signal needed)."""
    lat, lon = float(stored["lat"]), float(stored["lon"])
    distance = geo.haversine_m(origin[0], origin[1], lat, lon)
    bearing = geo.bearing_deg(origin[0], origin[1], lat, lon)
    walk = walking_minutes(distance)
    open_now, closes_at, opens_at = state_from_transitions(stored, now)
    arrive = now + timedelta(minutes=walk)
    known_until = uktime.uk_local_from_text(stored.get("hours_known_until"))
    arrival = on_arrival(
        open_now,
        closes_at.timestamp() if closes_at else None,
        arrive.timestamp(),
        [(moment.timestamp(), opens) for moment, opens in stored_transitions(stored)],
        known_until.timestamp() if known_until else None,
    )
    kind = arrival_availability(open_now, arrival, arrive.timestamp(), stay_min * 60.0)
    if arrival.open:  # the closing that ends your stay, and the opening before you arrive
        closes_at = _moment(arrival.closes_s)
        opens_at = _moment(arrival.opens_s) or opens_at
    left = None
    if arrival.closes_s is not None and kind in (Availability.OPEN, Availability.CLOSING_SOON):
        left = int((arrival.closes_s - arrive.timestamp()) // 60)
    open_24_7 = bool(stored.get("open_24_7"))
    return {
        **stored,
        "distance_m": round(distance, 1),
        "bearing_deg": round(bearing, 1),
        "compass": geo.compass_point(bearing),
        "walking_minutes": walk,
        "open_now": open_now,
        "closes_at": iso(closes_at) if closes_at else None,
        "closes_at_local": closes_at.astimezone(uktime.LONDON).isoformat() if closes_at else None,
        "opens_at": iso(opens_at) if opens_at else None,
        "arrives_at": iso(arrive),
        "minutes_left_on_arrival": left,
        "availability": kind.value,
        "hours_text": hours_text(
            kind,
            now=now,
            closes_at=closes_at,
            opens_at=opens_at,
            open_24_7=open_24_7,
            opens_before_arrival=arrival.opens_s is not None,
        ),
    }


def _moment(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)


def directions_url(place: dict[str, Any], origin: tuple[float, float] | None, android: bool) -> str:
    """Where "Directions" sends the walk: the phone's maps app on Android (a ``geo:`` URI any
    maps app answers), OpenStreetMap's walking directions elsewhere."""
    lat, lon = float(place["lat"]), float(place["lon"])
    if android:
        return geo_uri(lat, lon, str(place.get("name") or "Safe place"))
    start = f"{origin[0]:.6f}%2C{origin[1]:.6f}" if origin else ""
    return (
        "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
        f"&route={start}%3B{lat:.6f}%2C{lon:.6f}"
    )


class Places:
    """Finding safe places and choosing where a journey goes."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.ctx.clock(), UTC)

    # -- the deployment's map settings ------------------------------------------------------
    def load_app_config(self) -> dict[str, Any] | None:
        """The server's app-config (kept on the phone: the last one is used without signal)."""
        path = self.ctx.data_dir / APP_CONFIG_FILE
        try:
            config = self.ctx.client.app_config()
        except Offline:
            config = _read_json(path)
        else:
            _write_json(path, config)
        pack = self.ctx.data_dir / OFFLINE_MAP_FILE
        self.ctx.state.update(app_config=config, offline_map=str(pack) if pack.is_file() else None)
        return config

    def download_offline_map(self) -> Path | None:
        """Download the borough's map pack the server announces, for use without signal."""
        state = self.ctx.state
        config = state.app_config or self.load_app_config()
        offline = (config or {}).get("offline_map")
        if not offline:
            state.update(offline_map_note="This area has no offline map to download.")
            return None
        dest = self.ctx.data_dir / OFFLINE_MAP_FILE
        state.update(offline_map_note="Downloading the offline map...")
        try:
            size = self.ctx.client.download(str(offline["url"]), dest)
        except Offline:
            state.update(offline_map_note="No signal: the offline map was not downloaded.")
            return None
        state.update(
            offline_map=str(dest),
            offline_map_note=f"Offline map saved ({size / 1e6:.1f} MB): works with no signal.",
        )
        return dest

    # -- safe places --------------------------------------------------------------------------
    def find_safe_places(self, limit: int = 5, at: datetime | None = None) -> list[dict[str, Any]]:
        """The nearest open places from the server; with no signal, the last list kept on the
        phone, recomputed from here and now and saying how old it is."""
        state = self.ctx.state
        if not state.position:
            state.update(message="Waiting for your location...")
            return []
        lat, lon = state.position
        try:
            result = self.ctx.client.get(
                "/api/v1/venues/nearest",
                params={"lat": lat, "lon": lon, "limit": limit, "at": iso(at) if at else None},
                response_schema="venue.nearest",
            )
        except Offline:
            return self._stored_places(at or self._now())
        raw = list(result.get("items") or [])
        stay = int(result.get("open_long_enough_min") or DEFAULT_STAY_MIN)
        _write_json(
            self.ctx.data_dir / PLACES_FILE,
            {"fetched_at": iso(self._now()), "stay_min": stay, "items": raw},
        )
        places = [describe_place(p, (lat, lon)) for p in raw]
        state.update(
            places=places,
            places_note="",
            online=True,
            late_night=self._late_night(places, online=True),
            message=""
            if places
            else "No open safe place found nearby. If you are in danger, call 999.",
        )
        return places

    def _stored_places(self, now: datetime) -> list[dict[str, Any]]:
        state = self.ctx.state
        stored = _read_json(self.ctx.data_dir / PLACES_FILE)
        fetched = uktime.instant_from_text((stored or {}).get("fetched_at"))
        if not stored or fetched is None or not state.position:
            state.update(
                online=False,
                places_note="",
                message="No signal and no saved list. If you are in danger, call 999.",
            )
            return []
        origin = state.position
        stay = int(stored.get("stay_min") or DEFAULT_STAY_MIN)
        items = [recompute(item, origin, now, stay) for item in stored.get("items") or []]
        items.sort(key=lambda i: (ORDER.get(i["availability"], 3), i["distance_m"]))
        places = [describe_place(item, origin) for item in items]
        state.update(
            places=places,
            online=False,
            places_note=f"as of {uktime.clock(fetched)}, not updated: no signal",
            late_night=self._late_night(places, online=False),
            message="",
        )
        return places

    def _late_night(self, places: list[dict[str, Any]], online: bool) -> dict[str, Any] | None:
        """The partnership's late-night options when the nearest open place is a long walk
        (or none is open)."""
        config = self.ctx.state.app_config or _read_json(self.ctx.data_dir / APP_CONFIG_FILE)
        if not config or not config.get("late_night"):
            return None
        threshold = int(config.get("long_walk_min") or 20)
        open_walks = [
            int(p.get("walk_min") or 0)
            for p in places
            if p.get("availability") in (Availability.OPEN.value, Availability.CLOSING_SOON.value)
        ]
        if open_walks and min(open_walks) <= threshold:
            return None
        options = dict(config["late_night"], long_walk_min=threshold)
        options["staffed_nearest"] = (
            self._nearest_staffed(options.get("staffed_safe_haven")) if online else None
        )
        return options

    def _nearest_staffed(self, rule: dict[str, Any] | None) -> dict[str, Any] | None:
        """The nearest open place of the partnership's staffed categories (server's answer;
        none without signal: the app does not guess)."""
        position = self.ctx.state.position
        if not rule or not rule.get("categories") or not position:
            return None
        try:
            result = self.ctx.client.get(
                "/api/v1/venues/nearest",
                params={
                    "lat": position[0],
                    "lon": position[1],
                    "limit": 1,
                    "category": ",".join(rule["categories"]),
                },
                response_schema="venue.nearest",
            )
        except Offline:
            return None
        items = result.get("items") or []
        return describe_place(items[0], position) if items else None

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

    def select_place(self, place: dict[str, Any] | None) -> None:
        """Show one place (a marker tapped, a row chosen) without changing the destination."""
        self.ctx.state.update(selected_place=place)

    def directions(self, place: dict[str, Any], android: bool) -> str:
        return directions_url(place, self.ctx.state.position, android)

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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data), encoding="utf-8")
    part.replace(path)
