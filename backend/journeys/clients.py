"""Parsing what third-party location apps send: OwnTracks HTTP mode and Traccar's OsmAnd
protocol. Lenient where the apps are (number strings, extra keys), strict on coordinates."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from backend.errors import AppError, BadRequest, field_error
from shared_schemas.common import utc_within_calendar
from shared_schemas.uktime import naive_as_utc, parse_iso

KNOT_MPS = 0.514444
KMH_MPS = 1 / 3.6
OWNTRACKS_FIX_TYPES = {"location", "transition"}


def number(value: Any, field: str, *, required: bool = False) -> float | None:
    """A finite float from a number or a numeric string; None if absent and optional."""
    if value is None or value == "":
        if required:
            raise field_error(field, "is required")
        return None
    if isinstance(value, bool):
        raise field_error(field, "must be a number")
    try:
        result = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError) as exc:
        raise field_error(field, "must be a number") from exc
    if not math.isfinite(result):
        raise field_error(field, "must be a finite number")
    return result


def coordinates(raw_lat: Any, raw_lon: Any) -> tuple[float, float]:
    lat = number(raw_lat, "lat", required=True)
    lon = number(raw_lon, "lon", required=True)
    assert lat is not None and lon is not None  # noqa: S101 - required=True guarantees it
    if not -90 <= lat <= 90:
        raise field_error("lat", "must be between -90 and 90")
    if not -180 <= lon <= 180:
        raise field_error("lon", "must be between -180 and 180")
    return lat, lon


def timestamp(value: Any, field: str, *, default_now: bool = False) -> datetime:
    """Seconds or milliseconds since the epoch (number or string), or ISO 8601 text; a time
    without an offset (``2026-07-01 12:00:00``) is UTC, as Traccar reads it, on every
    location-client route. Absent: the server's time if ``default_now`` (Traccar's OsmAnd
    decoder does that), else a ValidationError."""
    if value is None or value == "":
        if default_now:
            return datetime.now(UTC)
        raise field_error(field, "is required")
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            parsed = parse_iso(text)
        except ValueError as exc:
            raise field_error(field, "must be epoch seconds, milliseconds or ISO 8601") from exc
        try:
            return utc_within_calendar(naive_as_utc(parsed))
        except OverflowError as exc:
            raise field_error(field, "out of range") from exc
    if not math.isfinite(seconds) or seconds < 0:
        raise field_error(field, "must be a positive epoch time")
    if seconds > 1e11:  # milliseconds (1e11 s is the year 5138)
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise field_error(field, "out of range") from exc


def _clamp(value: float | None, low: float, high: float) -> float | None:
    if value is None:
        return None
    return min(max(value, low), high)


def _battery(value: float | None) -> float | None:
    """A battery percentage; a negative level (Traccar Client sends -1) means unknown, so
    None, never 0 %: a watcher must not be told the phone is flat when nobody knows."""
    if value is None or value < 0:
        return None
    return _clamp(value, 0, 100)


def _osmand_position(params: dict[str, Any]) -> tuple[float, float]:
    """``lat``/``lon``, or one ``location=lat,lon`` parameter as Traccar's decoder accepts."""
    location = params.get("location")
    if params.get("lat") in (None, "") and isinstance(location, str) and location.strip():
        parts = location.split(",")
        if len(parts) != 2:
            raise field_error("location", "must be 'latitude,longitude'")
        try:
            return coordinates(parts[0], parts[1])
        except AppError as exc:
            raise field_error("location", exc.message) from exc
    return coordinates(params.get("lat"), params.get("lon"))


def owntracks_fix(payload: dict[str, Any]) -> dict[str, Any] | None:
    """A fix from an OwnTracks ``location`` or ``transition`` message; None for other types
    (waypoint, lwt, card, status...), which are acknowledged and ignored."""
    if payload.get("_type") not in OWNTRACKS_FIX_TYPES:
        return None
    lat, lon = coordinates(payload.get("lat"), payload.get("lon"))
    vel = number(payload.get("vel"), "vel")  # km/h
    return {
        "lat": lat,
        "lon": lon,
        "recorded_at": timestamp(payload.get("tst"), "tst"),
        "accuracy_m": _clamp(number(payload.get("acc"), "acc"), 0, 100_000),
        "battery": _battery(number(payload.get("batt"), "batt")),
        "speed_mps": _clamp(vel * KMH_MPS if vel is not None else None, 0, 1000),
    }


def osmand_device(params: dict[str, Any]) -> str:
    """The device identifier (the credential) of a Traccar Client OsmAnd request; raises
    ValidationError naming the field when there is none."""
    if "location" in params and isinstance(params["location"], dict):
        device = str(params.get("device_id") or params.get("id") or "").strip()
        if not device:
            raise field_error("device_id", "the device identifier is required")
        return device
    device = str(params.get("id") or params.get("deviceid") or "").strip()
    if not device:
        raise field_error("id", "the device identifier is required")
    return device


def osmand_fix(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(device id, fix)`` from a Traccar Client OsmAnd request (query, form or JSON)."""
    if "location" in params and isinstance(params["location"], dict):
        return _traccar_json(params)
    device = osmand_device(params)
    lat, lon = _osmand_position(params)
    speed = number(params.get("speed"), "speed")  # knots
    raw_time = params.get("timestamp") if params.get("timestamp") not in (None, "") else None
    raw_time = raw_time if raw_time is not None else params.get("time")
    return device, {
        "lat": lat,
        "lon": lon,
        "recorded_at": timestamp(raw_time, "timestamp", default_now=True),
        "accuracy_m": _clamp(number(params.get("accuracy"), "accuracy"), 0, 100_000),
        "battery": _battery(number(params.get("batt"), "batt")),
        "speed_mps": _clamp(speed * KNOT_MPS if speed is not None else None, 0, 1000),
    }


def _traccar_json(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Traccar Client's JSON body: ``{device_id, location: {timestamp, coords, battery}}``.

    Without ``coords`` Traccar reuses the device's last known position, or answers 400 when
    there is none. A fix here is only ever what the phone measured, so this always answers
    400 (BadRequest, which the route passes through rather than acknowledging) and stores
    nothing: a watcher is never shown an old position as if it were new."""
    device = str(body.get("device_id") or body.get("id") or "").strip()
    if not device:
        raise field_error("device_id", "the device identifier is required")
    location = body["location"]
    coords = location.get("coords")
    if coords is None or coords == {}:
        raise field_error(
            "location.coords", "no position in this message, so nothing was stored", BadRequest
        )
    if not isinstance(coords, dict):
        raise field_error("location.coords", "must be an object")
    lat, lon = coordinates(coords.get("latitude"), coords.get("longitude"))
    battery = location.get("battery") or {}
    level = (
        number(battery.get("level"), "location.battery.level")
        if isinstance(battery, dict)
        else None
    )
    if level is not None and 0 <= level <= 1:
        level *= 100  # a 0..1 fraction
    speed = number(coords.get("speed"), "location.coords.speed")  # m/s in the JSON variant
    return device, {
        "lat": lat,
        "lon": lon,
        "recorded_at": timestamp(location.get("timestamp"), "location.timestamp", default_now=True),
        "accuracy_m": _clamp(
            number(coords.get("accuracy"), "location.coords.accuracy"), 0, 100_000
        ),
        "battery": _battery(level),
        "speed_mps": _clamp(speed, 0, 1000) if speed is not None and speed >= 0 else None,
    }


def owntracks_reply(journeys: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """OwnTracks ``location`` + ``card`` objects for journeys shared with the caller."""
    reply: list[dict[str, Any]] = []
    for journey, owner in journeys:
        name = owner.display_name or f"Contact {owner.id}"
        tid = "".join(part[0] for part in name.split()[:2]).upper() or "SH"
        topic = f"owntracks/safehaven/{owner.id}"
        reply.append({"_type": "card", "name": name, "tid": tid, "topic": topic})
        if journey.last_lat is None or journey.last_fix_at is None:
            continue
        location: dict[str, Any] = {
            "_type": "location",
            "lat": journey.last_lat,
            "lon": journey.last_lon,
            "tst": int(journey.last_fix_at.timestamp()),
            "tid": tid,
            "topic": topic,
        }
        if journey.last_accuracy_m is not None:
            location["acc"] = round(journey.last_accuracy_m)
        if journey.last_battery is not None:
            location["batt"] = round(journey.last_battery)
        reply.append(location)
    return reply
