"""Safe places: registration, verification, nearest-open search, listings and import."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Text, bindparam, cast, func, or_, select
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.orm import undefer_group

from backend import spatial
from backend.areas import service as areas
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import Conflict, NotFound, ValidationError, field_error
from backend.extensions import db
from backend.guards import MAX_JSON_DEPTH, find_nul, json_too_deep
from backend.responses import Prerendered, dumps
from backend.venues import hours, policy
from backend.venues import index as venue_index
from backend.venues.models import RECHECK_INTERVAL, Venue, VenueChange, VenueStaff
from shared_schemas.enums import Role
from shared_schemas.venues import (
    CATEGORIES,
    DEFAULT_RADIUS_M,
    DEFAULT_STAY_MIN,
    LONDON,
    SCHEMES,
    STATUSES,
    Availability,
    VenueCategory,
    VenueStatus,
    VerificationAction,
    arrival_availability,
    availability,
    hours_text,
    on_arrival,
    walking_minutes,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
CANDIDATES_FILE = DATA_DIR / "wigan_candidate_safe_places.geojson"

RECHECK_AFTER = RECHECK_INTERVAL
MAX_UNAVAILABLE = timedelta(days=30)  # longer than this is a suspension, not an override
DUPLICATE_WITHIN_M = 25.0
# Wigan Borough's bounding box is ~377 km^2; a bbox query may cover at most 100 times that.
BOROUGH_BBOX_KM2 = 377.0
MAX_BBOX_KM2 = 100 * BOROUGH_BBOX_KM2
MAX_GEOJSON_FEATURES = 5000
EDITABLE_FIELDS = (
    "name",
    "category",
    "address",
    "postcode",
    "lat",
    "lon",
    "phone",
    "opening_hours",
    "schemes",
    "accessibility",
    "staff_trained_until",
)

Progress = Callable[[int, int], None]


# --- look-ups -------------------------------------------------------------------------


def get_venue(venue_id: int) -> Venue:
    """The venue with this id, whatever its status; raises NotFound."""
    venue = db.session.get(Venue, venue_id, options=[undefer_group("manage")])
    if venue is None:
        raise NotFound(f"no venue {venue_id}")
    return venue


@dataclass(frozen=True)
class VenueView:
    """A venue and whether the caller may see its management details."""

    venue: Venue
    can_manage: bool


def view_venue(actor: User | None, venue_id: int) -> VenueView:
    """One venue as ``actor`` may see it; raises NotFound (also for unlisted venues of others)."""
    venue = get_venue(venue_id)
    policy.require_can_view(actor, venue)
    return VenueView(venue, policy.can_manage(actor, venue))


def is_recheck_due(venue: Venue, at: datetime | None = None) -> bool:
    """A verified venue whose last check is over a year old (or never) or whose staff
    training has lapsed."""
    return venue.recheck_due_at(at or utcnow())


# --- nearest --------------------------------------------------------------------------


_V = Venue.__table__.c
# Columns of a nearest answer (id, lat and lon come with every search row).
NEAREST_COLUMNS = (
    _V.name,
    _V.category,
    _V.status,
    _V.address,
    _V.postcode,
    _V.phone,
    # Read as text: only the few rows of the answer pay for decoding it.
    cast(_V.schemes, Text).label("schemes_json"),
    _V.accessibility,
    _V.opening_hours,
    _V.is_demo,
)
_LISTED_NOW = (
    # Two fixed slots, not an expanding IN: the statement's SQL never changes.
    _V.status.in_([bindparam("status"), bindparam("or_status")]),
    or_(_V.unavailable_until.is_(None), _V.unavailable_until <= bindparam("at")),
)
# Built once: each search binds values only, and its rows are the answer's rows.
_NEAREST = spatial.PointSearch(Venue, columns=NEAREST_COLUMNS, where=_LISTED_NOW)
_NEAREST_IN_CATEGORIES = spatial.PointSearch(
    Venue,
    columns=NEAREST_COLUMNS,
    where=(*_LISTED_NOW, _V.category.in_(bindparam("categories", expanding=True))),
)


def nearest(
    *,
    lat: float | None = None,
    lon: float | None = None,
    near: str | None = None,
    limit: int = 5,
    open_now: bool = True,
    at: datetime | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    category: Sequence[str] | None = None,
    include_candidates: bool = False,
) -> dict[str, Any]:
    """The ``limit`` nearest verified, available venues (plus candidates if asked) within
    ``radius_m`` of the point or of postcode ``near``, open at ``at`` when ``open_now``.
    Raises ValidationError naming ``near`` for an unknown postcode."""
    postcode = None
    if near is not None:
        row = areas.lookup_postcode(near, field="near")
        lat, lon, postcode = row.lat, row.lon, row.postcode
    if lat is None or lon is None:
        raise field_error("lat", "required (or give near=<postcode>)")
    at = (at or utcnow()).astimezone(UTC)
    params: dict[str, Any] = {
        "status": VenueStatus.VERIFIED.value,
        "or_status": (VenueStatus.CANDIDATE if include_candidates else VenueStatus.VERIFIED).value,
        "at": at,
    }
    search = _NEAREST
    if category:
        search = _NEAREST_IN_CATEGORIES
        params["categories"] = sorted(set(category))
    reach = Reach(hours.Clock(at), open_long_enough_s())
    if not open_now:
        items = _search(search, lat, lon, limit, params, category, radius_m, reach, None)
    else:
        # At most ``limit`` places: those open long enough to get there and wait come
        # first, then those among the ``limit`` nearest open on arrival that close sooner
        # (amber), in the room left: never ahead of a place that stays open. One search
        # usually: only when some of the nearest close soon is a second made for those that
        # stay open long enough.
        items = _search(
            search, lat, lon, limit, params, category, radius_m, reach, reach.on_arrival
        )
        sooner = [item for item in items if _availability(item) != Availability.OPEN.value]
        if sooner:
            items = _search(search, lat, lon, limit, params, category, radius_m, reach, reach.long)
            items = (items + sooner)[:limit]
    return {
        "origin": {"lat": lat, "lon": lon, "postcode": postcode},
        "at": at,
        "radius_m": radius_m,
        "open_long_enough_min": round(reach.stay_s / 60),
        "items": items,
    }


def open_long_enough_s() -> float:
    """How long a place must stay open after you arrive to come first (deployment config)."""
    return 60.0 * current_app.config.get("OPEN_LONG_ENOUGH_MIN", DEFAULT_STAY_MIN)


class Reach:
    """The opening-hours rule of one search: a moment, and how long a place must stay open
    after you could walk there (``shared_schemas.venues.availability``)."""

    __slots__ = ("clock", "stay_s", "_at_s")

    def __init__(self, clock: hours.Clock, stay_s: float) -> None:
        self.clock = clock
        self.stay_s = stay_s
        self._at_s = clock.at.timestamp()

    def arrive_s(self, distance_m: float) -> float:
        return self._at_s + 60.0 * walking_minutes(distance_m)

    def of(self, expression: str | None, distance_m: float) -> Availability:
        state = self.clock.state(expression)
        return availability(
            state.open_now,
            state.closes_s,
            self.arrive_s(distance_m),
            self.stay_s,
            state.transitions_s,
            state.known_until_s,
        )

    def long(self, expression: str | None, distance_m: float) -> bool:
        """Open when you arrive and for at least the stay after it."""
        return self.of(expression, distance_m) == Availability.OPEN

    def on_arrival(self, expression: str | None, distance_m: float) -> bool:
        """Open when you arrive, however soon it closes after."""
        return self.of(expression, distance_m) in _OPEN_ON_ARRIVAL


_OPEN_ON_ARRIVAL = frozenset((Availability.OPEN, Availability.CLOSING_SOON))


def _availability(item: Any) -> str:
    fields = item.fields if isinstance(item, Prerendered) else item
    return str(fields["availability"])


def _search(
    search: spatial.PointSearch,
    lat: float,
    lon: float,
    limit: int,
    params: dict[str, Any],
    category: Sequence[str] | None,
    radius_m: float,
    reach: Reach,
    accept: Callable[[str | None, float], bool] | None,
) -> list[Any]:
    """The answer's items for one acceptance test, from the index when it is current, else
    from the database."""
    items: list[Any] | None = None
    if current_app.config.get("VENUE_INDEX", True):
        items = _items_from_index(lat, lon, limit, params, category, radius_m, reach, accept)
    if items is None:
        distance_to = spatial.distance_from(lat, lon)
        row_accept = (
            None
            if accept is None
            else (lambda row: accept(row.opening_hours, distance_to(row.lat, row.lon)))
        )
        found = search.nearest(
            db.session(), lat, lon, limit, params=params, max_distance_m=radius_m, accept=row_accept
        )
        items = [
            {**_fixed_fields(row), **_moving_fields(distance, lat, lon, row, reach)}
            for row, distance in found
        ]
    return items


def _fixed_fields(venue: Any) -> dict[str, Any]:
    """A nearest item's fields that depend on the venue alone (an index renders them once)."""
    return {
        "id": venue.id,
        "name": venue.name,
        "category": venue.category,
        "status": venue.status,
        "address": venue.address,
        "postcode": venue.postcode,
        "lat": venue.lat,
        "lon": venue.lon,
        "phone": venue.phone,
        "schemes": json.loads(venue.schemes_json) if venue.schemes_json else [],
        "accessibility": venue.accessibility,
        "opening_hours": venue.opening_hours,
        "is_demo": venue.is_demo,
    }


def _moving_fields(
    distance: float, lat: float, lon: float, venue: Any, reach: Reach
) -> dict[str, Any]:
    """A nearest item's fields that depend on the search's point and time."""
    bearing = spatial.bearing_deg(lat, lon, venue.lat, venue.lon)
    clock = reach.clock
    state = clock.state(venue.opening_hours)
    walk = walking_minutes(distance)
    arrive_s = reach._at_s + 60.0 * walk
    arrival = on_arrival(
        state.open_now, state.closes_s, arrive_s, state.transitions_s, state.known_until_s
    )
    kind = arrival_availability(state.open_now, arrival, arrive_s, reach.stay_s)
    closes_at, closes_at_local, opens_at = state.closes_at, state.closes_at_local, state.opens_at
    if arrival.open and arrival.closes_s != state.closes_s:
        # It opens, or opens again, before you arrive: the closing that ends your stay.
        closes_at = None if arrival.closes_s is None else _utc(arrival.closes_s)
        closes_at_local = None if closes_at is None else closes_at.astimezone(LONDON).isoformat()
    if arrival.opens_s is not None:
        opens_at = _utc(arrival.opens_s)
    return {
        "distance_m": round(distance, 1),
        "bearing_deg": round(bearing, 1),
        "compass": spatial.compass_point(bearing),
        "walking_minutes": walk,
        "open_now": state.open_now,
        "closes_at": closes_at,
        "closes_at_local": closes_at_local,
        "opens_at": opens_at,
        "open_24_7": state.open_24_7,
        "arrives_at": _utc(arrive_s),
        "minutes_left_on_arrival": (
            math.floor((arrival.closes_s - arrive_s) / 60)
            if arrival.closes_s is not None and kind in _OPEN_ON_ARRIVAL
            else None
        ),
        "availability": kind.value,
        "hours_text": _hours_text(
            venue.opening_hours, state, kind, clock, closes_at, opens_at, arrival.opens_s
        ),
        "transitions": state.transition_items,
        "hours_known_until": state.known_until or clock.at,
    }


# The hours line depends on the hours, the kind and the minute asked about (the weekday
# shown for a far opening, the minutes to a closing): kept per minute, so searches at "now"
# work each line out about once a minute per expression, not once per answer item.
# (A place that opens before you arrive adds the opening and the closing after it, which
# depend on how far away it is, to the key.)
_HOURS_TEXTS: dict[tuple[Any, ...], str] = {}
HOURS_TEXTS_KEPT = 4096


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _hours_text(
    expression: str | None,
    state: hours.OpenState,
    kind: Availability,
    clock: hours.Clock,
    closes_at: datetime | None,
    opens_at: datetime | None,
    opened_on_the_way_s: float | None,
) -> str:
    at_s = clock.at.timestamp()
    minute = int(at_s // 60)
    exact = at_s == minute * 60
    key: tuple[Any, ...] = (expression, kind, minute, exact)
    if opened_on_the_way_s is not None or closes_at != state.closes_at:
        key += (opened_on_the_way_s, closes_at)
    text = _HOURS_TEXTS.get(key)
    if text is None:
        # Inside a minute the line is worked out at its end: the same for every moment in
        # it, and a closing "in 6 min" never promises seconds already gone.
        now = clock.at if exact else datetime.fromtimestamp((minute + 1) * 60, UTC)
        text = hours_text(
            kind,
            now=now,
            closes_at=closes_at,
            opens_at=opens_at,
            open_24_7=state.open_24_7,
            opens_before_arrival=opened_on_the_way_s is not None,
        )
        if len(_HOURS_TEXTS) >= HOURS_TEXTS_KEPT:
            _HOURS_TEXTS.clear()
        _HOURS_TEXTS[key] = text
    return text


def _render_fixed_fields(row: Any) -> bytes:
    return dumps(_fixed_fields(row))[1:-1]


# What the index keeps of each venue: the columns a nearest item reads besides those it
# indexes, and the item's fixed fields rendered as JSON.
INDEX_DETAILS = venue_index.Details(
    columns=(
        _V.name,
        _V.address,
        _V.postcode,
        _V.phone,
        cast(_V.schemes, Text).label("schemes_json"),
        _V.accessibility,
        _V.is_demo,
    ),
    render=_render_fixed_fields,
)


def nearest_index() -> venue_index.NearestIndex:
    """The app's in-process nearest index (one per engine)."""
    return venue_index.for_engine(
        db.engine, INDEX_DETAILS, listen=current_app.config.get("VENUE_INDEX_LISTEN", True)
    )


@dataclass(frozen=True, slots=True)
class _Position:
    """A venue of an index snapshot as ``_moving_fields`` reads it."""

    lat: float
    lon: float
    opening_hours: str | None


def _items_from_index(
    lat: float,
    lon: float,
    limit: int,
    params: dict[str, Any],
    category: Sequence[str] | None,
    radius_m: float,
    reach: Reach,
    accept: Callable[[str | None, float], bool] | None,
) -> list[Prerendered] | None:
    """The answer's items from the in-process index, or None when there is no index yet or
    it is not current (it is then rebuilt, and the caller searches the database)."""
    index = nearest_index()
    snapshot = index.current()
    if snapshot is None:
        index.stale()
        snapshot = index.current()
        if snapshot is None:
            return None
    # (No session is made for the check: a request that has none has no transaction.)
    session = db.session() if db.session.registry.has() else None
    if session is not None and session.in_transaction():
        # Its own uncommitted writes change the token only on its own connection, where
        # they are then seen (by the database search).
        current = venue_index.read_token(session.connection()) == snapshot.version
    else:
        current = index.is_current(snapshot)
        if current is None:  # not vouched for by a listener
            current = index.read_token() == snapshot.version
    if not current:
        index.fallbacks += 1
        index.stale()
        return None
    hits = snapshot.search(
        lat,
        lon,
        limit,
        statuses=(params["status"], params["or_status"]),
        categories=params.get("categories") if category else None,
        at_us=venue_index.micros(params["at"]),
        limit_m=spatial._limit(radius_m),
        accept=accept,
    )
    index.served += 1
    lats, lons, expressions, codes = (
        snapshot.lat,
        snapshot.lon,
        snapshot.expressions,
        snapshot.hours,
    )
    return [
        Prerendered(
            snapshot.detail(position),
            _moving_fields(
                distance,
                lat,
                lon,
                _Position(lats[position], lons[position], expressions[codes[position]]),
                reach,
            ),
        )
        for position, distance in hits
    ]


# --- listings -------------------------------------------------------------------------


def parse_bbox(text: str, field: str = "bbox") -> tuple[float, float, float, float]:
    """``"minlon,minlat,maxlon,maxlat"`` -> floats; raises ValidationError naming ``field`` for
    a malformed, out-of-range, inverted or too-large box."""
    parts = [p.strip() for p in (text or "").split(",")]
    if len(parts) != 4:
        raise field_error(field, "give four numbers: minlon,minlat,maxlon,maxlat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError:
        raise field_error(field, "give four numbers: minlon,minlat,maxlon,maxlat") from None
    if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
        raise field_error(field, "coordinates must be finite numbers")
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise field_error(field, "longitudes must be between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise field_error(field, "latitudes must be between -90 and 90")
    if min_lon > max_lon or min_lat > max_lat:
        raise field_error(
            field, "inverted box: min must not exceed max (minlon,minlat,maxlon,maxlat)"
        )
    area = bbox_area_km2(min_lon, min_lat, max_lon, max_lat)
    if area > MAX_BBOX_KM2:
        raise field_error(
            field, f"box too large ({area:,.0f} km^2); at most {MAX_BBOX_KM2:,.0f} km^2"
        )
    return min_lon, min_lat, max_lon, max_lat


def bbox_area_km2(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> float:
    """Area of a lat/lon box on the sphere, in km^2."""
    r_km = spatial.EARTH_RADIUS_M / 1000
    return (
        r_km**2
        * math.radians(max_lon - min_lon)
        * abs(math.sin(math.radians(max_lat)) - math.sin(math.radians(min_lat)))
    )


def _public_statuses(include_candidates: bool) -> list[str]:
    statuses = [VenueStatus.VERIFIED.value]
    if include_candidates:
        statuses.append(VenueStatus.CANDIDATE.value)
    return statuses


def _bbox_clauses(bbox: str) -> list[Any]:
    min_lon, min_lat, max_lon, max_lat = parse_bbox(bbox)
    return spatial.bbox_filter(
        Venue, min_lat, min_lon, max_lat, max_lon, db.session.get_bind().dialect.name
    )


def list_in_bbox(
    *,
    bbox: str,
    page: int = 1,
    per_page: int = 50,
    category: Sequence[str] | None = None,
    include_candidates: bool = False,
) -> dict[str, Any]:
    """Public venues inside ``bbox``, by id, one page at a time; raises ValidationError."""
    clauses = [*_bbox_clauses(bbox), Venue.status.in_(_public_statuses(include_candidates))]
    if category:
        clauses.append(Venue.category.in_(sorted(set(category))))
    return _page(select(Venue).where(*clauses).order_by(Venue.id), page, per_page)


def _page(stmt: Any, page: int, per_page: int) -> dict[str, Any]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return {
        "items": items,
        "meta": {
            "page": page,
            "per_page": per_page,
            "total": total or 0,
            "pages": math.ceil((total or 0) / per_page),
        },
    }


def geojson(*, bbox: str | None = None, include_candidates: bool = False) -> dict[str, Any]:
    """Public venues as an RFC 7946 FeatureCollection (at most MAX_GEOJSON_FEATURES; a
    ``truncated`` foreign member says when more matched)."""
    clauses = [Venue.status.in_(_public_statuses(include_candidates))]
    if bbox:
        clauses += _bbox_clauses(bbox)
    rows = list(
        db.session.scalars(
            select(Venue).where(*clauses).order_by(Venue.id).limit(MAX_GEOJSON_FEATURES + 1)
        )
    )
    truncated = len(rows) > MAX_GEOJSON_FEATURES
    features = [
        {
            "type": "Feature",
            "id": v.id,
            # RFC 7946: positions are [longitude, latitude]; 6 decimals is ~0.1 m.
            "geometry": {"type": "Point", "coordinates": [round(v.lon, 6), round(v.lat, 6)]},
            "properties": {
                "name": v.name,
                "category": v.category,
                "status": v.status,
                "address": v.address,
                "postcode": v.postcode,
                "phone": v.phone,
                "opening_hours": v.opening_hours,
                "schemes": list(v.schemes or []),
                "ward_code": v.ward_code,
                "is_demo": v.is_demo,
            },
        }
        for v in rows[:MAX_GEOJSON_FEATURES]
    ]
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if truncated:
        collection["truncated"] = True
    return collection


def recheck_due(
    actor: User, *, at: datetime | None = None, page: int = 1, per_page: int = 50
) -> dict[str, Any]:
    """Verified venues due for re-check (check over a year old, or training lapsed), oldest
    check first; admins only (raises Forbidden)."""
    policy.require_admin(actor)
    at = (at or utcnow()).astimezone(UTC)
    stmt = (
        select(Venue)
        .options(undefer_group("manage"))
        .where(
            Venue.status == VenueStatus.VERIFIED.value,
            or_(
                Venue.last_checked_at.is_(None),
                Venue.last_checked_at < at - RECHECK_AFTER,
                Venue.staff_trained_until < at.date(),
            ),
        )
        .order_by(Venue.last_checked_at.is_(None).desc(), Venue.last_checked_at, Venue.id)
    )
    return _page(stmt, page, per_page)


def history(actor: User, venue_id: int) -> list[VenueChange]:
    """Every recorded change to a venue, oldest first; its staff and admins only."""
    venue = get_venue(venue_id)
    policy.require_can_edit(actor, venue)
    return list(
        db.session.scalars(
            select(VenueChange).where(VenueChange.venue_id == venue.id).order_by(VenueChange.id)
        )
    )


# --- registration and changes ---------------------------------------------------------


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check registration fields; raises ValidationError naming the field."""
    out = dict(values)
    if "name" in out:
        out["name"] = " ".join(str(out["name"]).split())
        if len(out["name"]) < 2:
            raise field_error("name", "too short")
    if "category" in out and out["category"] not in CATEGORIES:
        raise field_error("category", f"one of {', '.join(CATEGORIES)}")
    if out.get("postcode"):
        out["postcode"] = areas.normalise_postcode(out["postcode"])
    elif "postcode" in out:
        out["postcode"] = None
    if "opening_hours" in out:
        out["opening_hours"] = hours.validate(out["opening_hours"])
    if "schemes" in out:
        schemes = list(dict.fromkeys(out["schemes"] or []))
        unknown = [s for s in schemes if s not in SCHEMES]
        if unknown:
            raise field_error("schemes", f"unknown scheme {unknown[0]!r}")
        out["schemes"] = schemes
    for name in ("address", "phone", "accessibility"):
        if name in out and isinstance(out[name], str):
            out[name] = out[name].strip() or None
    return out


def _snapshot(venue: Venue, names: Iterable[str]) -> dict[str, Any]:
    return {name: _jsonable(getattr(venue, name)) for name in names}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def _record(
    venue: Venue,
    actor: User | None,
    action: str,
    changes: dict[str, Any],
    note: str | None = None,
    label: str | None = None,
) -> None:
    db.session.add(
        VenueChange(
            venue_id=venue.id,
            actor_id=actor.id if actor else None,
            actor_label=label or (actor.uid if actor else None),
            action=action,
            changes=changes,
            note=note,
        )
    )


def create_venue(actor: User, data: dict[str, Any]) -> Venue:
    """Register a venue (status ``pending``); its registering staff member may then edit it.
    Raises Forbidden (not staff), ValidationError, Conflict (same name within 25 m)."""
    policy.require_can_register(actor)
    values = _clean({k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    clash = spatial.nearest(
        db.session(),
        Venue,
        values["lat"],
        values["lon"],
        1,
        where=[func.lower(Venue.name) == values["name"].lower()],
        max_distance_m=DUPLICATE_WITHIN_M,
    )
    if clash:
        raise Conflict(
            f"{values['name']!r} is already registered here (venue {clash[0][0].id})",
            errors={"name": ["already registered at this location"]},
        )
    venue = Venue(
        **values,
        status=VenueStatus.PENDING.value,
        ward_code=areas.ward_code_for_point(values["lat"], values["lon"]),
        source="registered by venue staff",
    )
    if actor.is_venue_staff:
        venue.staff_links.append(VenueStaff(user_id=actor.id))
    db.session.add(venue)
    db.session.flush()
    _record(venue, actor, "created", _snapshot(venue, (*EDITABLE_FIELDS, "status")))
    db.session.commit()
    return venue


# A verified venue goes back to review when its staff change what a frightened person
# relies on to find it: its name or category, its position by more than this, or its hours
# by more than this much of a week.
REVIEW_MOVE_M = 25.0
REVIEW_HOURS_CHANGE = timedelta(hours=3)


REVIEW_WORDS = {"category": "kind", "opening_hours": "opening hours"}
# History steps after which a venue's details count as checked by the partnership.
REVIEWED_ACTIONS = ("created", "imported", "import_updated", "verification:approve")


def _as_reviewed(venue: Venue, names: Sequence[str]) -> dict[str, Any]:
    """``names`` of ``venue`` as they were when last reviewed (approved, imported, or edited by
    an admin): each field's value before the first staff edit since, from the history. Small
    staff edits therefore add up: ten 20 m nudges are a 200 m move."""
    steps = db.session.execute(
        select(VenueChange.action, VenueChange.changes, User.role)
        .outerjoin(User, User.id == VenueChange.actor_id)
        .where(VenueChange.venue_id == venue.id)
        .order_by(VenueChange.id.desc())
    ).all()
    since: list[dict[str, Any]] = []
    for action, changes, role in steps:
        if action in REVIEWED_ACTIONS or (action == "updated" and role == Role.ADMIN.value):
            break
        if action == "updated":
            since.append(changes or {})
    values = {name: getattr(venue, name) for name in names}
    for changes in since:  # newest first: the oldest "from" is written last
        for name in names:
            if name in changes:
                values[name] = changes[name]["from"]
    return values


def review_reasons(venue: Venue, values: dict[str, Any], now: datetime) -> list[str]:
    """Which of ``values`` (cleaned changes to ``venue``) need the partnership's review:
    ``name``, ``category``, ``position`` (over REVIEW_MOVE_M from where it was last reviewed),
    ``opening_hours`` (over REVIEW_HOURS_CHANGE of the coming week differs from the reviewed
    hours)."""
    reasons: list[str] = [
        n for n in ("name", "category") if n in values and values[n] != getattr(venue, n)
    ]
    if not {"lat", "lon", "opening_hours"} & set(values):
        return reasons
    reviewed = _as_reviewed(venue, ("lat", "lon", "opening_hours"))
    lat, lon = values.get("lat", venue.lat), values.get("lon", venue.lon)
    if spatial.haversine_m(reviewed["lat"], reviewed["lon"], lat, lon) > REVIEW_MOVE_M:
        reasons.append("position")
    if "opening_hours" in values and values["opening_hours"] != reviewed["opening_hours"]:
        change = hours.weekly_difference(reviewed["opening_hours"], values["opening_hours"], now)
        if change > REVIEW_HOURS_CHANGE:
            reasons.append("opening_hours")
    return reasons


def update_venue(
    actor: User, venue_id: int, changes: dict[str, Any], now: datetime | None = None
) -> Venue:
    """Change a venue's details (its own staff or an admin); records the difference and who
    made it. A verified venue changed by its staff in name, category, position or (much) its
    hours goes back to ``pending``: out of every search until an admin approves it again
    (admins' own edits are the review). Raises NotFound, Forbidden, ValidationError."""
    venue = get_venue(venue_id)
    policy.require_can_edit(actor, venue)
    now = now or utcnow()
    values = _clean({k: v for k, v in changes.items() if k in EDITABLE_FIELDS})
    for name in ("name", "category", "lat", "lon"):
        if name in values and values[name] is None:
            raise field_error(name, "may not be null")
    diff = {
        name: {"from": _jsonable(getattr(venue, name)), "to": _jsonable(value)}
        for name, value in values.items()
        if getattr(venue, name) != value
    }
    if not diff:
        return venue
    reasons = []
    if venue.status == VenueStatus.VERIFIED.value and not actor.is_admin:
        reasons = review_reasons(venue, values, now)
    for name, value in values.items():
        setattr(venue, name, value)
    if "lat" in diff or "lon" in diff:
        venue.ward_code = areas.ward_code_for_point(venue.lat, venue.lon)
    _record(venue, actor, "updated", diff)
    if reasons:
        venue.status = VenueStatus.PENDING.value
        _record(
            venue,
            actor,
            "review:required",
            {
                "status": {"from": VenueStatus.VERIFIED.value, "to": venue.status},
                "because": reasons,
            },
            note="Back to the partnership for review: "
            + ", ".join(REVIEW_WORDS.get(r, r) for r in reasons)
            + " changed by the venue's staff.",
        )
    db.session.commit()
    return venue


def verify(
    actor: User,
    venue_id: int,
    *,
    action: str,
    note: str,
    staff_trained_until: date | None = None,
    now: datetime | None = None,
    checklist: dict[str, bool] | None = None,
) -> Venue:
    """Approve (also re-confirms a verified venue), reject or suspend, with a note and the
    officer's checklist (recorded in the history with the decision); admins only.
    Raises NotFound, Forbidden, Conflict (action not possible from the current status)."""
    venue = get_venue(venue_id)
    policy.require_can_verify(actor)
    now = now or utcnow()
    before = venue.status
    allowed = {
        VerificationAction.APPROVE.value: set(STATUSES),
        VerificationAction.REJECT.value: {VenueStatus.CANDIDATE.value, VenueStatus.PENDING.value},
        VerificationAction.SUSPEND.value: {VenueStatus.VERIFIED.value},
    }
    if action not in allowed:
        raise field_error("action", f"one of {', '.join(allowed)}")
    if before not in allowed[action]:
        hint = " (suspend a verified venue instead)" if action == "reject" else ""
        raise Conflict(
            f"cannot {action} a venue that is {before}{hint}",
            errors={"action": [f"not possible while the venue is {before}"]},
        )
    changes: dict[str, Any] = {}
    if action == VerificationAction.APPROVE.value:
        venue.status = VenueStatus.VERIFIED.value
        if before != VenueStatus.VERIFIED.value or venue.verified_at is None:
            venue.verified_at = now
        venue.last_checked_at = now
        changes["last_checked_at"] = now.isoformat()
    elif action == VerificationAction.REJECT.value:
        venue.status = VenueStatus.REJECTED.value
    else:
        venue.status = VenueStatus.SUSPENDED.value
    if staff_trained_until is not None:
        changes["staff_trained_until"] = {
            "from": _jsonable(venue.staff_trained_until),
            "to": staff_trained_until.isoformat(),
        }
        venue.staff_trained_until = staff_trained_until
    venue.verification_note = note
    changes["status"] = {"from": before, "to": venue.status}
    if checklist is not None:
        changes["checklist"] = {key: bool(value) for key, value in checklist.items()}
    _record(venue, actor, f"verification:{action}", changes, note=note)
    db.session.commit()
    return venue


def set_unavailable(
    actor: User,
    venue_id: int,
    *,
    until: datetime | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Venue:
    """Staff override: hide the venue from searches until ``until`` (None clears it).
    Raises NotFound, Forbidden, ValidationError naming ``until``."""
    venue = get_venue(venue_id)
    policy.require_can_edit(actor, venue)
    now = now or utcnow()
    if until is not None:
        until = until.astimezone(UTC)
        if until <= now:
            raise field_error("until", "must be in the future")
        if until > now + MAX_UNAVAILABLE:
            raise field_error(
                "until", "at most 30 days ahead; ask the partnership to suspend the venue instead"
            )
    changes = {
        "unavailable_until": {
            "from": _jsonable(venue.unavailable_until),
            "to": _jsonable(until),
        }
    }
    venue.unavailable_until = until
    venue.unavailable_reason = ((reason or "").strip() or None) if until else None
    _record(venue, actor, "unavailable" if until else "available", changes, note=reason)
    db.session.commit()
    return venue


# --- import ---------------------------------------------------------------------------

CATEGORY_ALIASES = {
    "pharmacy": VenueCategory.PHARMACY,
    "chemist": VenueCategory.PHARMACY,
    "pub": VenueCategory.PUB_OR_BAR,
    "bar": VenueCategory.PUB_OR_BAR,
    "pub_or_bar": VenueCategory.PUB_OR_BAR,
    "restaurant": VenueCategory.RESTAURANT,
    "cafe": VenueCategory.RESTAURANT,
    "hotel": VenueCategory.HOTEL,
    "shop": VenueCategory.SHOP,
    "convenience": VenueCategory.SHOP,
    "post_office": VenueCategory.SHOP,
    "supermarket": VenueCategory.SUPERMARKET,
    "police": VenueCategory.POLICE_STATION,
    "police_station": VenueCategory.POLICE_STATION,
    "hospital": VenueCategory.HOSPITAL,
    "fire_station": VenueCategory.FIRE_STATION,
    "library": VenueCategory.LIBRARY,
    "transport_hub": VenueCategory.TRANSPORT_HUB,
    "bus_station": VenueCategory.TRANSPORT_HUB,
    "train_station": VenueCategory.TRANSPORT_HUB,
    "station": VenueCategory.TRANSPORT_HUB,
}
SOURCE_LABELS = {
    "post_office": "Post office",
    "fire_station": "Fire station",
    "food_bank": "Food bank",
    "jobcentre_plus": "Jobcentre Plus",
}


@dataclass
class ImportSummary:
    """What an import did: new rows, changed rows, rows skipped and why."""

    imported: int = 0
    updated: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def line(self, what: str = "venues") -> str:
        why = ", ".join(f"{n} {r}" for r, n in sorted(self.reasons.items())) or "none"
        return (
            f"{what}: imported {self.imported}, updated {self.updated}, "
            f"skipped {self.skipped} ({why})"
        )


class _Skip(Exception):
    """A feature that cannot be imported, with the reason for the summary."""


def _feature_values(feature: Any) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise _Skip("not a GeoJSON Feature")
    if find_nul(feature):  # PostgreSQL text cannot hold it: the whole import would abort
        raise _Skip("contains a NUL character")
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if geometry.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
        raise _Skip("geometry is not a Point")
    try:
        lon, lat = float(coords[0]), float(coords[1])
    except (TypeError, ValueError):
        raise _Skip("coordinates are not numbers") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise _Skip("coordinates out of range")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise _Skip("properties is not an object")
    raw_category = str(props.get("category") or "").strip().lower()
    category = CATEGORY_ALIASES.get(raw_category, VenueCategory.OTHER).value
    name = " ".join(str(props.get("name") or "").split())
    if not name:
        label = SOURCE_LABELS.get(raw_category, raw_category.replace("_", " ").capitalize())
        if not label:
            raise _Skip("no name and no category")
        place = props.get("ward_name") or props.get("postcode")
        name = f"{label} ({place})" if place else label
    expression = props.get("opening_hours")
    try:
        if expression:
            expression = hours.validate(str(expression))
        else:
            expression = hours.from_weekday_columns(props)
            if expression:
                hours.validate(expression)
    except (ValidationError, ValueError):
        raise _Skip("invalid opening hours") from None
    notes = [str(props["notes"])[:500]] if props.get("notes") else []
    if raw_category and raw_category not in CATEGORY_ALIASES:
        notes.append(f"Source category: {raw_category}")
    elif raw_category in SOURCE_LABELS:
        notes.append(SOURCE_LABELS[raw_category])
    if props.get("opening_times"):
        notes.append(f"Opening times as published: {str(props['opening_times'])[:200]}")
    postcode = None
    if props.get("postcode"):
        try:
            postcode = areas.normalise_postcode(str(props["postcode"]))
        except ValidationError:
            postcode = None
    schemes = [s for s in (props.get("schemes") or []) if s in SCHEMES]
    phone = str(props["phone"]).strip()[:20] if props.get("phone") else None
    return {
        "external_ref": _external_ref(feature, props, name, lat, lon),
        "name": name[:120],
        "category": category,
        "address": (str(props["address"]).strip()[:300] if props.get("address") else None),
        "postcode": postcode,
        "phone": phone,
        "opening_hours": expression,
        "schemes": schemes,
        "accessibility": props.get("accessibility") or None,
        "notes": "; ".join(notes) or None,
        "source": (str(props["source"])[:200] if props.get("source") else None),
        "lat": lat,
        "lon": lon,
    }


def _external_ref(feature: dict, props: dict, name: str, lat: float, lon: float) -> str:
    """A stable key per source record: the feature id, an NHS ODS code, an OS feature id, or
    a hash of what identifies the record."""
    if feature.get("id") not in (None, ""):
        return f"id:{feature['id']}"[:200]
    if props.get("external_ref"):
        return str(props["external_ref"])[:200]
    if props.get("ods_code"):
        return f"ods:{props['ods_code']}"
    if props.get("os_feature_ids"):
        return f"os:{str(props['os_feature_ids']).split(';')[0]}"
    key = "|".join(
        str(x) for x in (props.get("source"), props.get("category"), name, props.get("postcode"))
    )
    key += f"|{lat:.5f}|{lon:.5f}"
    return "sha1:" + hashlib.sha1(key.encode()).hexdigest()  # noqa: S324 - a key, not security


IMPORT_FIELDS = (
    "name",
    "category",
    "address",
    "postcode",
    "phone",
    "opening_hours",
    "schemes",
    "accessibility",
    "notes",
    "source",
    "lat",
    "lon",
)


def import_features(
    features: Sequence[Any],
    *,
    label: str = "import",
    new_status: str = VenueStatus.CANDIDATE.value,
    is_demo: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Insert or update venues from GeoJSON features, keyed by their source reference:
    a re-import updates and never duplicates. New venues get ``new_status`` (an import
    never changes the status of an existing venue)."""
    now = now or utcnow()
    summary = ImportSummary()
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for feature in features:
        try:
            values = _feature_values(feature)
        except _Skip as exc:
            summary.skip(str(exc))
            continue
        if values["external_ref"] in seen:
            summary.skip("duplicate in file")
            continue
        seen.add(values["external_ref"])
        parsed.append(values)
    existing: dict[str, Venue] = {}
    refs = [v["external_ref"] for v in parsed]
    for start in range(0, len(refs), 500):
        for stored in db.session.scalars(
            select(Venue)
            .options(undefer_group("manage"))
            .where(Venue.external_ref.in_(refs[start : start + 500]))
        ):
            existing[stored.external_ref or ""] = stored
    total = len(parsed)
    for n, values in enumerate(parsed, 1):
        venue = existing.get(values["external_ref"])
        if venue is None:
            venue = Venue(
                **values,
                status=new_status,
                ward_code=areas.ward_code_for_point(values["lat"], values["lon"]),
                is_demo=is_demo,
            )
            if new_status == VenueStatus.VERIFIED.value:
                venue.verified_at = now
                venue.last_checked_at = now
            db.session.add(venue)
            db.session.flush()
            _record(
                venue, None, "imported", _snapshot(venue, (*IMPORT_FIELDS, "status")), label=label
            )
            summary.imported += 1
        else:
            diff = {
                name: {"from": _jsonable(getattr(venue, name)), "to": _jsonable(values[name])}
                for name in IMPORT_FIELDS
                if getattr(venue, name) != values[name]
            }
            if diff:
                for name in IMPORT_FIELDS:
                    setattr(venue, name, values[name])
                if "lat" in diff or "lon" in diff:
                    venue.ward_code = areas.ward_code_for_point(venue.lat, venue.lon)
                _record(venue, None, "import_updated", diff, label=label)
                summary.updated += 1
            else:
                summary.skip("unchanged")
        if progress and (n % 25 == 0 or n == total):
            progress(n, total)
    db.session.commit()
    return summary


def import_geojson(path: Path | str, *, progress: Progress | None = None) -> ImportSummary:
    """Import a GeoJSON FeatureCollection file as candidate venues (see import_features).
    Raises ValidationError naming ``file`` when it is not a FeatureCollection."""
    try:
        raw = Path(path).read_bytes()
        if json_too_deep(raw):  # json would recurse past the stack (a traceback)
            raise field_error(
                "file", f"cannot read GeoJSON: nested deeper than {MAX_JSON_DEPTH} levels"
            )
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise field_error("file", f"cannot read GeoJSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise field_error("file", "not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise field_error("file", "FeatureCollection has no features list")
    return import_features(features, label=f"import:{Path(path).name}", progress=progress)


def link_staff(venue: Venue, user: User) -> bool:
    """Make ``user`` staff of ``venue`` (seeding, admin tools); True if newly linked."""
    if user.id in venue.staff_ids:
        return False
    venue.staff_links.append(VenueStaff(user_id=user.id))
    _record(venue, None, "staff_linked", {"user_id": user.id}, label="seed")
    db.session.commit()
    return True


def export_user(user: User) -> dict[str, Any]:
    """For ``GET /api/v1/me/export``: the venues the person is staff of and the changes
    they made to venues."""
    links = db.session.scalars(select(VenueStaff).where(VenueStaff.user_id == user.id)).all()
    changes = db.session.scalars(
        select(VenueChange).where(VenueChange.actor_id == user.id).order_by(VenueChange.id)
    ).all()
    return {
        "staff_of": [
            {"venue_id": link.venue_id, "name": link.venue.name, "since": link.added_at.isoformat()}
            for link in links
        ],
        "changes": [
            {
                "venue_id": change.venue_id,
                "action": change.action,
                "changes": change.changes,
                "note": change.note,
                "created_at": change.created_at.isoformat(),
            }
            for change in changes
        ],
    }


def erase_user(user: User) -> None:
    """Erasure: the venues stay (they are businesses), the person's staff links go and the
    changes they made no longer name them. No commit (account erasure commits once)."""
    db.session.execute(sa_delete(VenueStaff).where(VenueStaff.user_id == user.id))
    db.session.execute(
        sa_update(VenueChange)
        .where(VenueChange.actor_id == user.id)
        .values(actor_id=None, actor_label="erased user")
    )
