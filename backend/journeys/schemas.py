"""Schemas of the journeys domain (the shared contract plus server-only ones)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from shared_schemas import journeys as shared
from shared_schemas.common import MAX_LAT, MAX_LON, MIN_LAT, MIN_LON, utc_within_calendar
from shared_schemas.journeys import (
    MAX_BATCH,
    FixBatchResultSchema,
    JourneyCreatedSchema,
    JourneyCreateSchema,
    JourneySchema,
    WatchLinkCreatedSchema,
)

# FixSchema's fields in declaration order (the order its load writes them), with their ranges.
_REQUIRED_FLOATS = (("lat", MIN_LAT, MAX_LAT), ("lon", MIN_LON, MAX_LON))
_OPTIONAL_FLOATS = (
    ("accuracy_m", 0, 100_000),
    ("battery", 0, 100),
    ("speed_mps", 0, 1000),
)
_FIX_KEYS = frozenset(["lat", "lon", "recorded_at", "accuracy_m", "battery", "speed_mps"])


def _plain_float(value: Any, low: float, high: float) -> float | None:
    """A JSON number as FixSchema's Float fields load it, if plainly valid, else None."""
    kind = type(value)
    if kind is int:
        try:
            value = float(value)
        except OverflowError:
            return None
    elif kind is not float or not math.isfinite(value):
        return None
    return value if low <= value <= high else None  # type: ignore[no-any-return]


def _plain_fix(item: Any) -> dict[str, Any] | None:
    if type(item) is not dict or not item.keys() <= _FIX_KEYS:
        return None
    fix: dict[str, Any] = {}
    for name, low, high in _REQUIRED_FLOATS:
        value = _plain_float(item.get(name), low, high)
        if value is None:
            return None
        fix[name] = value
    text = item.get("recorded_at")
    if type(text) is not str or not text:
        return None
    try:
        recorded_at = datetime.fromisoformat(text)  # what AwareDateTime's "iso" format uses
    except ValueError:
        return None
    if recorded_at.tzinfo is None or recorded_at.tzinfo.utcoffset(recorded_at) is None:
        return None
    try:
        fix["recorded_at"] = utc_within_calendar(recorded_at)  # as UtcDateTime loads it
    except OverflowError:
        return None
    for name, low, high in _OPTIONAL_FLOATS:
        if name in item:
            raw = item[name]
            value = None if raw is None else _plain_float(raw, low, high)
            if value is None and raw is not None:
                return None
            fix[name] = value
    return fix


def load_plain_batch(data: Any) -> dict[str, Any] | None:
    """What the shared FixBatchSchema loads from ``data`` when ``data`` is a plainly valid
    batch (JSON numbers in range, ISO timestamps with a zone, no unknown keys), else None:
    then the schema itself loads it and words every error exactly as before."""
    if type(data) is not dict or data.keys() != {"fixes"}:
        return None
    items = data["fixes"]
    if type(items) is not list or not 1 <= len(items) <= MAX_BATCH:
        return None
    fixes = []
    for item in items:
        fix = _plain_fix(item)
        if fix is None:
            return None
        fixes.append(fix)
    return {"fixes": fixes}


# The fix route's schema is the shared one. A plainly valid batch never reaches it (the
# route's plain_json_first loads it with load_plain_batch), so the plain load this schema
# also ran was a second form that saved nothing (issue 20, bench/location_post_cpu.py,
# PostgreSQL: 0.767 / 0.769 ms CPU a fix with it, 0.850 / 0.803 without, two rounds; the
# run-to-run noise is about 10%) and was removed.
FixBatchSchema = shared.FixBatchSchema


class LocationClientCreateSchema(Schema):
    label = fields.String(load_default="phone", validate=validate.Length(min=1, max=80))


class LocationClientSchema(Schema):
    """A device credential; ``secret`` only in the creation response."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    secret = fields.String()


__all__ = [
    "FixBatchResultSchema",
    "FixBatchSchema",
    "JourneyCreateSchema",
    "JourneyCreatedSchema",
    "JourneySchema",
    "LocationClientCreateSchema",
    "LocationClientSchema",
    "WatchLinkCreatedSchema",
]
