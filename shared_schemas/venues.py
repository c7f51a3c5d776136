"""Safe places (venues) as the API shows them: enums, query arguments and output schemas."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared_schemas.common import Latitude, Longitude, PageArgsSchema, PageMetaSchema
from shared_schemas.uktime import LONDON, clock_ahead, uk_local_from_text


class VenueCategory(StrEnum):
    """What kind of place a venue is."""

    PHARMACY = "pharmacy"
    PUB_OR_BAR = "pub_or_bar"
    RESTAURANT = "restaurant"
    HOTEL = "hotel"
    SHOP = "shop"
    SUPERMARKET = "supermarket"
    POLICE_STATION = "police_station"
    HOSPITAL = "hospital"
    FIRE_STATION = "fire_station"
    LIBRARY = "library"
    TRANSPORT_HUB = "transport_hub"
    OTHER = "other"


class VenueStatus(StrEnum):
    """Where a venue is in registration and verification."""

    CANDIDATE = "candidate"  # a public site that could become a safe place; nobody agreed yet
    PENDING = "pending"  # registered by its staff, waiting for the partnership
    VERIFIED = "verified"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


class Scheme(StrEnum):
    """Safe-place schemes a venue belongs to."""

    UMAY = "umay_safe_place"
    ASK_FOR_ANGELA = "ask_for_angela"
    SAFE_PLACES = "safe_places"
    SAFE_HAVEN = "safe_haven"


class VerificationAction(StrEnum):
    """An admin's decision about a venue."""

    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"


CATEGORIES = tuple(c.value for c in VenueCategory)
STATUSES = tuple(s.value for s in VenueStatus)
SCHEMES = tuple(s.value for s in Scheme)
ACTIONS = tuple(a.value for a in VerificationAction)

MAX_LIMIT = 50
MAX_RADIUS_M = 100_000.0
DEFAULT_RADIUS_M = 25_000.0
# Times outside this range are mistakes (and overflow date arithmetic near year 1 or 9999).
SANE_TIMES = validate.Range(
    min=datetime(2000, 1, 1, tzinfo=UTC),
    max=datetime(2100, 1, 1, tzinfo=UTC),
    error="must be between 2000 and 2100",
)


# --- opening times as a resident on foot meets them -------------------------------------
# One rule for the server's answers and the phone's offline list: both call these.

WALKING_M_PER_MIN = 80.0  # 4.8 km/h, an unhurried adult pace
DEFAULT_STAY_MIN = 30  # a place must stay open this long after you arrive to come first
HOURS_HORIZON_H = 48  # the transitions an answer carries cover this long
STORED_HOURS_USABLE = timedelta(hours=HOURS_HORIZON_H // 2)


class Availability(StrEnum):
    """What a place's opening hours mean for someone walking there now."""

    OPEN = "open"  # open when you arrive and for at least the stay after it
    CLOSING_SOON = "closing_soon"  # open when you arrive, closes sooner than that (amber)
    CLOSES_BEFORE_ARRIVAL = "closes_before_arrival"  # open now, shut by the time you arrive
    CLOSED = "closed"
    UNKNOWN = "unknown"  # no hours, or beyond what the phone was told


def walking_minutes(distance_m: float) -> int:
    """Whole minutes to walk ``distance_m`` (at least 1)."""
    return max(1, math.ceil(distance_m / WALKING_M_PER_MIN))


class OnArrival(NamedTuple):
    """A place's hours as someone walking there meets them: open when they arrive, the
    opening before they arrive when it is closed now (or closes and opens again on the way),
    and the closing after they arrive (None: none in sight)."""

    open: bool | None
    opens_s: float | None
    closes_s: float | None


def on_arrival(
    open_now: bool | None,
    closes_at_s: float | None,
    arrive_s: float,
    transitions: Sequence[tuple[float, bool]] = (),
    known_until_s: float | None = None,
) -> OnArrival:
    """Open or closed at ``arrive_s`` (epoch seconds), from the state now and the next
    openings and closings in time order (``(epoch seconds, opens?)``, covering the hours
    until ``known_until_s``). A place open now that stays open past the arrival needs no
    transitions (the search's common case); an arrival beyond what is known is unknown."""
    if open_now is None:
        return OnArrival(None, None, None)
    if open_now and (closes_at_s is None or closes_at_s > arrive_s):
        return OnArrival(True, None, closes_at_s)
    if known_until_s is not None and arrive_s >= known_until_s:
        return OnArrival(None, None, None)
    changes = transitions
    if open_now and closes_at_s is not None and (not changes or changes[0][0] > closes_at_s):
        changes = ((closes_at_s, False), *changes)  # the closing now comes first
    is_open, opens_s = open_now, None
    for moment_s, opens in changes:
        if moment_s > arrive_s:
            if not is_open:  # shut when you arrive (what follows is an opening)
                break
            if not opens:
                return OnArrival(True, opens_s, moment_s)
            continue
        is_open = opens
        opens_s = moment_s if opens else None
    return OnArrival(is_open, opens_s if is_open else None, None)


def availability(
    open_now: bool | None,
    closes_at_s: float | None,
    arrive_s: float,
    stay_s: float,
    transitions: Sequence[tuple[float, bool]] = (),
    known_until_s: float | None = None,
) -> Availability:
    """The rule: open on arrival (``arrive_s``, epoch seconds) and for at least ``stay_s``
    after it comes first, also when it is closed now but opens before you could get there;
    open on arrival but closing sooner is "closing soon"; closing before you could get there
    is not open. ``closes_at_s`` is the next closing when open now (None: 24/7); the
    transitions are as :func:`on_arrival` reads them."""
    return arrival_availability(
        open_now,
        on_arrival(open_now, closes_at_s, arrive_s, transitions, known_until_s),
        arrive_s,
        stay_s,
    )


def arrival_availability(
    open_now: bool | None, arrival: OnArrival, arrive_s: float, stay_s: float
) -> Availability:
    """:func:`availability` from an :class:`OnArrival` already worked out."""
    if open_now is None or arrival.open is None:
        return Availability.UNKNOWN
    if not arrival.open:
        return Availability.CLOSES_BEFORE_ARRIVAL if open_now else Availability.CLOSED
    if arrival.closes_s is None:
        return Availability.OPEN
    if arrival.closes_s - arrive_s < stay_s:
        return Availability.CLOSING_SOON
    return Availability.OPEN


def minutes_until(later: datetime | None, now: datetime) -> int | None:
    """Whole minutes from ``now`` to ``later`` (rounded down: never promises more time)."""
    if later is None:
        return None
    return math.floor((later - now).total_seconds() / 60)


def hours_text(
    state: Availability,
    *,
    now: datetime,
    closes_at: datetime | None,
    opens_at: datetime | None,
    open_24_7: bool,
    opens_before_arrival: bool = False,
) -> str:
    """The one line every client shows about a place's hours. ``closes_at`` is the closing
    after you arrive when it is open then (else the next closing); with
    ``opens_before_arrival``, ``opens_at`` is the opening before you arrive (else the next
    opening)."""
    if state == Availability.UNKNOWN:
        return "Opening hours unknown: call first"
    if state == Availability.CLOSED:
        return f"Closed, opens {clock_ahead(opens_at, now)}" if opens_at else "Closed now"
    if opens_before_arrival and opens_at is not None:
        first = f"Opens {clock_ahead(opens_at, now)}, before you arrive"
        if closes_at is None:
            return first
        if state == Availability.CLOSING_SOON:
            return f"{first}; closes {clock_ahead(closes_at, now)}"
        return f"{first}; open until {clock_ahead(closes_at, now)}"
    if open_24_7:
        return "Open 24 hours"
    if closes_at is None:
        return "Open now"
    if state == Availability.CLOSES_BEFORE_ARRIVAL:
        return f"Closes {clock_ahead(closes_at, now)}, before you could walk there"
    if state == Availability.CLOSING_SOON:
        return f"Closes in {minutes_until(closes_at, now)} min ({clock_ahead(closes_at, now)})"
    return f"Open until {clock_ahead(closes_at, now)}"


def state_from_transitions(
    item: Mapping[str, Any], at: datetime
) -> tuple[bool | None, datetime | None, datetime | None]:
    """``(open_now, closes_at, opens_at)`` at ``at`` from an answer item's stored
    ``transitions`` (the next openings and closings after its ``at``, up to ``hours_known_until``):
    how the phone keeps opening times true without a signal. Unknown after the first day."""
    if item.get("open_24_7"):
        return True, None, None
    open_then = item.get("open_now")
    known_until = uk_local_from_text(item.get("hours_known_until"))
    # Usable for the first half of what it was told: any change within a day after ``at``
    # is then among the transitions, so no closing is missed.
    if open_then is None or known_until is None or at >= known_until - STORED_HOURS_USABLE:
        return None, None, None
    changes = stored_transitions(item)
    is_open = bool(open_then)
    for moment, opens in changes:
        if moment <= at:
            is_open = opens
    following = [(moment, opens) for moment, opens in changes if moment > at]
    closes_at = next((m for m, opens in following if not opens), None) if is_open else None
    opens_at = next((m for m, opens in following if opens), None) if not is_open else None
    return is_open, closes_at, opens_at


def stored_transitions(item: Mapping[str, Any]) -> list[tuple[datetime, bool]]:
    """An answer item's ``transitions`` as ``(moment, opens?)``, in time order."""
    changes = [
        (moment, bool(change.get("open")))
        for change in item.get("transitions") or []
        if isinstance(change, Mapping)
        and (moment := uk_local_from_text(change.get("at"))) is not None
    ]
    changes.sort(key=lambda change: change[0])
    return changes


class CommaList(fields.List):
    """A list given as repeated query parameters, comma-separated values, or both."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        raw = [value] if isinstance(value, str) else value
        if isinstance(raw, list | tuple):
            raw = [
                part.strip() for item in raw if isinstance(item, str) for part in item.split(",")
            ]
            raw = [part for part in raw if part]
        return super()._deserialize(raw, attr, data, **kwargs)


def category_list() -> CommaList:
    return CommaList(
        fields.String(validate=validate.OneOf(CATEGORIES)),
        validate=validate.Length(max=len(CATEGORIES)),
        metadata={"description": "repeat or comma-separate to allow several"},
    )


class NearestQuerySchema(Schema):
    """Arguments of ``GET /api/v1/venues/nearest``: a point (``lat``+``lon``) or ``near``."""

    lat = Latitude()
    lon = Longitude()
    near = fields.String(
        validate=validate.Length(min=2, max=10), metadata={"description": "a Wigan postcode"}
    )
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=MAX_LIMIT))
    open_now = fields.Boolean(load_default=True)
    at = fields.AwareDateTime(
        default_timezone=LONDON,
        validate=SANE_TIMES,
        metadata={
            "description": "ISO 8601 time to evaluate opening hours at (default now); "
            "without an offset it is read as UK local time"
        },
    )
    radius_m = fields.Float(
        load_default=DEFAULT_RADIUS_M,
        allow_nan=False,
        validate=validate.Range(min=1.0, max=MAX_RADIUS_M),
    )
    category = category_list()
    include_candidates = fields.Boolean(load_default=False)

    @validates_schema
    def _point_or_postcode(self, data, **_kwargs):  # type: ignore[no-untyped-def]
        has_point = "lat" in data or "lon" in data
        if "near" in data and has_point:
            raise ValidationError("give lat/lon or near, not both", "near")
        if "near" not in data:
            for name in ("lat", "lon"):
                if name not in data:
                    raise ValidationError(
                        "required (or give near=<postcode> instead of lat/lon)", name
                    )


class BboxQuerySchema(PageArgsSchema):
    """Arguments of ``GET /api/v1/venues``."""

    bbox = fields.String(
        required=True,
        validate=validate.Length(max=200),
        metadata={"description": "minlon,minlat,maxlon,maxlat (WGS84)"},
    )
    category = category_list()
    include_candidates = fields.Boolean(load_default=False)


class GeoJSONQuerySchema(Schema):
    """Arguments of ``GET /api/v1/venues.geojson``."""

    bbox = fields.String(validate=validate.Length(max=200))
    include_candidates = fields.Boolean(load_default=False)


class VenueInSchema(Schema):
    """A venue as its staff register it."""

    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    address = fields.String(validate=validate.Length(max=300), allow_none=True)
    postcode = fields.String(validate=validate.Length(max=10), allow_none=True)
    lat = Latitude(required=True)
    lon = Longitude(required=True)
    phone = fields.String(
        validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="not a phone number"),
        allow_none=True,
    )
    opening_hours = fields.String(
        validate=validate.Length(max=500),
        allow_none=True,
        metadata={"description": "OSM opening_hours syntax, e.g. 'Mo-Sa 09:00-18:00; PH off'"},
    )
    schemes = fields.List(
        fields.String(validate=validate.OneOf(SCHEMES)),
        validate=validate.Length(max=len(SCHEMES)),
        load_default=list,
    )
    accessibility = fields.String(validate=validate.Length(max=500), allow_none=True)
    staff_trained_until = fields.Date(allow_none=True)


class VenueUpdateSchema(VenueInSchema):
    """Changes to a venue: any subset of the registration fields."""

    class Meta:
        partial = True

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class VerificationSchema(Schema):
    """An admin's decision, with a note for the record."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    note = fields.String(required=True, validate=validate.Length(min=3, max=1000))
    staff_trained_until = fields.Date(allow_none=True)


class UnavailableSchema(Schema):
    """Staff override: the venue cannot help until ``until`` (null clears it)."""

    until = fields.AwareDateTime(required=True, allow_none=True, validate=SANE_TIMES)
    reason = fields.String(validate=validate.Length(max=300), allow_none=True)


class RecheckQuerySchema(PageArgsSchema):
    at = fields.AwareDateTime(default_timezone=LONDON, validate=SANE_TIMES)


class VenueSchema(Schema):
    """A venue as anyone may see it."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    address = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    phone = fields.String(allow_none=True)
    opening_hours = fields.String(allow_none=True)
    schemes = fields.List(fields.String())
    accessibility = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True)
    status = fields.String(required=True)
    verified_at = fields.DateTime(allow_none=True)
    unavailable_until = fields.DateTime(allow_none=True)
    is_demo = fields.Boolean()


class VenueManageSchema(VenueSchema):
    """A venue as its own staff and the partnership see it."""

    last_checked_at = fields.DateTime(allow_none=True)
    staff_trained_until = fields.Date(allow_none=True)
    unavailable_reason = fields.String(allow_none=True)
    verification_note = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    external_ref = fields.String(allow_none=True)
    staff_ids = fields.List(fields.Integer())
    recheck_due = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TransitionSchema(Schema):
    """A moment a place opens (``open`` true) or closes."""

    at = fields.DateTime(required=True)
    open = fields.Boolean(required=True)


class NearestVenueSchema(Schema):
    """One answer of the nearest search."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    address = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    phone = fields.String(allow_none=True)
    schemes = fields.List(fields.String())
    accessibility = fields.String(allow_none=True)
    opening_hours = fields.String(allow_none=True)
    distance_m = fields.Float(required=True, metadata={"description": "great-circle metres"})
    bearing_deg = fields.Float(required=True, metadata={"description": "0 = north, clockwise"})
    compass = fields.String(required=True, metadata={"example": "NE"})
    walking_minutes = fields.Integer(required=True)
    open_now = fields.Boolean(
        allow_none=True, metadata={"description": "null when hours are unknown"}
    )
    closes_at = fields.DateTime(allow_none=True, metadata={"description": "UTC"})
    closes_at_local = fields.String(
        allow_none=True,
        metadata={"description": "closes_at in UK local time (ISO 8601 with its offset)"},
    )
    opens_at = fields.DateTime(allow_none=True)
    open_24_7 = fields.Boolean(required=True)
    arrives_at = fields.DateTime(
        required=True, metadata={"description": "at + walking_minutes: when you could be there"}
    )
    minutes_left_on_arrival = fields.Integer(
        allow_none=True,
        metadata={"description": "minutes it stays open after you arrive; null if 24/7/closed"},
    )
    availability = fields.String(
        required=True,
        validate=validate.OneOf([a.value for a in Availability]),
        metadata={"description": "open (long enough) | closing_soon (amber) | ..."},
    )
    hours_text = fields.String(required=True, metadata={"example": "Closes in 6 min (04:00)"})
    transitions = fields.List(
        fields.Nested(TransitionSchema),
        required=True,
        metadata={"description": "next openings/closings, for the phone's offline list"},
    )
    hours_known_until = fields.DateTime(
        required=True, metadata={"description": "transitions cover the hours until this time"}
    )
    is_demo = fields.Boolean()


class OriginSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    postcode = fields.String(allow_none=True)


class NearestResultSchema(Schema):
    origin = fields.Nested(OriginSchema, required=True)
    at = fields.DateTime(required=True)
    radius_m = fields.Float(required=True)
    open_long_enough_min = fields.Integer(
        required=True,
        metadata={"description": "minutes a place must stay open after you arrive to come first"},
    )
    items = fields.List(
        fields.Nested(NearestVenueSchema),
        required=True,
        metadata={
            "description": "at most `limit` places. With open_now: places open long enough "
            "(also those that open before you could walk there) first, then, in the room "
            "left, those among the `limit` nearest that close sooner (availability "
            "closing_soon). The late-night options are not here: they come from "
            "GET /api/v1/app-config"
        },
    )


class VenuePageSchema(Schema):
    items = fields.List(fields.Nested(VenueSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


class VenueManagePageSchema(Schema):
    items = fields.List(fields.Nested(VenueManageSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


class VenueChangeSchema(Schema):
    """One entry of a venue's audit trail."""

    id = fields.Integer()
    venue_id = fields.Integer()
    actor_id = fields.Integer(allow_none=True)
    actor_label = fields.String(allow_none=True)
    action = fields.String()
    changes = fields.Dict()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
