"""Portal logic: server-side sessions, CSRF tokens, the dev sign-in list, the ward map and the
plain-English opening-hours preview. Services take the actor, own the commit, raise typed errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from backend.areas.models import Ward
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import Forbidden, Unauthorized
from backend.extensions import db
from backend.portal import policy
from backend.portal.models import PortalSession
from shared_schemas.enums import Role
from shared_schemas.uktime import LONDON

SESSION_LIFETIME = timedelta(hours=8)
SESSION_IDLE = timedelta(hours=1)
SEEN_RESOLUTION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, now: datetime | None = None) -> str:
    """A new session for ``user`` (venue staff or admin); returns the cookie token.
    Raises Forbidden for residents and disabled accounts."""
    policy.require_portal_user(user)
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.session.add(
        PortalSession(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    # Sweep this user's expired sessions so the table does not grow without bound.
    db.session.execute(
        delete(PortalSession).where(
            PortalSession.user_id == user.id, PortalSession.expires_at < now
        )
    )
    db.session.commit()
    return token


def user_for_session(token: str | None, now: datetime | None = None) -> User | None:
    """The user of a live session token, or None (unknown, expired or idle too long)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = db.session.get(PortalSession, _hash(token))
    if row is None:
        return None
    if row.expires_at <= now or now - row.last_seen_at > SESSION_IDLE:
        db.session.delete(row)
        db.session.commit()
        return None
    if now - row.last_seen_at > SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    return db.session.get(User, row.user_id)


def end_session(token: str | None) -> None:
    """Sign a browser out (its row is deleted; the cookie becomes worthless)."""
    if token:
        db.session.execute(delete(PortalSession).where(PortalSession.token_hash == _hash(token)))
        db.session.commit()


def end_all_sessions(user_id: int) -> None:
    """Sign ``user_id`` out of every browser (after their role is removed)."""
    db.session.execute(delete(PortalSession).where(PortalSession.user_id == user_id))
    db.session.commit()


def csrf_token(secret: str, binding: str) -> str:
    """The form token for a session (or a pre-sign-in nonce): an HMAC, so the server keeps
    nothing extra and a token from one browser is useless in another."""
    return hmac.new(secret.encode(), f"portal-csrf|{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret: str, binding: str | None, sent: str | None) -> bool:
    """Whether ``sent`` is the form token of ``binding`` (constant-time)."""
    if not binding or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret, binding), sent)


def dev_sign_in_users(demo_uids: list[str]) -> list[User]:
    """Who the development sign-in page lists: the demo users and every staff or admin."""
    stmt = (
        select(User)
        .where(
            or_(
                User.uid.in_(demo_uids),
                User.role.in_([Role.VENUE_STAFF.value, Role.ADMIN.value]),
            ),
            User.disabled.is_(False),
        )
        .order_by(User.role, User.uid)
    )
    return list(db.session.scalars(stmt))


def sign_in_dev(uid: str) -> User:
    """The user a development sign-in names; raises Unauthorized for an unknown uid."""
    user = db.session.scalar(select(User).where(User.uid == uid))
    if user is None:
        raise Unauthorized("No such demo user.")
    return user


def list_users_for_admin(
    actor: User, role: str | None = None, query: str | None = None, limit: int = 200
) -> list[User]:
    """Users for the admin users page, optionally one role or matching uid/email/name."""
    policy.require_admin(actor)
    stmt = select(User).order_by(User.role.desc(), User.uid).limit(limit)
    if role:
        stmt = stmt.where(User.role == role)
    if query:
        like = f"%{query.strip()[:80]}%"
        stmt = stmt.where(
            or_(User.uid.ilike(like), User.email.ilike(like), User.display_name.ilike(like))
        )
    return list(db.session.scalars(stmt))


def change_role(actor: User, user_id: int, role: str, *, mode: str, project_id: str | None) -> User:
    """Grant or remove venue_staff/admin via the auth service; someone who loses portal
    access is signed out of the portal at once. Raises Forbidden, NotFound, ValidationError."""
    from backend.auth.service import grant_role

    user = grant_role(actor, user_id, role, mode=mode, project_id=project_id)
    if user.role not in policy.PORTAL_ROLES:
        end_all_sessions(user.id)
    return user


# --- the ward map -------------------------------------------------------------------------


@dataclass(frozen=True)
class WardShape:
    code: str
    name: str
    path: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class WardMap:
    """Ward outlines projected to an SVG canvas (no tiles, works offline and without JS)."""

    width: int
    height: int
    min_lon: float
    max_lat: float
    scale_x: float
    scale_y: float
    wards: tuple[WardShape, ...]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        """SVG x, y for a WGS84 point."""
        return (
            round((lon - self.min_lon) * self.scale_x, 1),
            round((self.max_lat - lat) * self.scale_y, 1),
        )

    def bounds(self) -> dict[str, float]:
        """The lon/lat window, for the map script to project points the same way."""
        return {
            "min_lon": self.min_lon,
            "max_lat": self.max_lat,
            "scale_x": self.scale_x,
            "scale_y": self.scale_y,
        }


_map_lock = threading.Lock()
_maps: dict[str, WardMap] = {}


def ward_map(width: int = 640) -> WardMap:
    """The borough's wards as SVG paths (cached per database)."""
    key = f"{db.engine.url}|{width}"
    cached = _maps.get(key)
    if cached is not None:
        return cached
    with _map_lock:
        from shapely.geometry import shape

        wards = list(db.session.scalars(select(Ward).order_by(Ward.name)))
        if not wards:
            return WardMap(width, width, 0.0, 0.0, 1.0, 1.0, ())
        min_lon = min(w.min_lon for w in wards)
        max_lon = max(w.max_lon for w in wards)
        min_lat = min(w.min_lat for w in wards)
        max_lat = max(w.max_lat for w in wards)
        # Equirectangular with the longitude squeezed by cos(latitude): true shape at this size.
        kx = math.cos(math.radians((min_lat + max_lat) / 2))
        scale_x = width / ((max_lon - min_lon) * kx) * kx
        scale_y = width / ((max_lon - min_lon) * kx)
        height = int(math.ceil((max_lat - min_lat) * scale_y))
        shapes = []
        for w in wards:
            geom = shape(json.loads(w.geometry)).simplify(0.0003, preserve_topology=True)
            polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
            parts = []
            for poly in polys:
                ring = poly.exterior.coords
                pts = [
                    f"{(x - min_lon) * scale_x:.1f},{(max_lat - y) * scale_y:.1f}" for x, y in ring
                ]
                parts.append("M" + "L".join(pts) + "Z")
            shapes.append(
                WardShape(
                    code=w.code,
                    name=w.name,
                    path="".join(parts),
                    label_x=round((w.centroid_lon - min_lon) * scale_x, 1),
                    label_y=round((max_lat - w.centroid_lat) * scale_y, 1),
                )
            )
        built = WardMap(width, height, min_lon, max_lat, scale_x, scale_y, tuple(shapes))
        _maps[key] = built
        return built


# --- opening hours --------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursPreview:
    valid: bool
    summary: str
    error: str | None = None
    normalized: str | None = None
    words: str | None = None  # the week in words (backend.venues.hours.describe)


def _when(change: datetime, now: datetime) -> str:
    local = change.astimezone(LONDON)
    here = now.astimezone(LONDON)
    clock = local.strftime("%H:%M")
    if local.date() == here.date():
        return clock
    if local.date() == (here + timedelta(days=1)).date():
        # Past midnight reads as the same night: "closes 02:00", not "closes tomorrow 02:00".
        return clock if local.hour < 6 else f"tomorrow {clock}"
    if local - here < timedelta(days=7):
        return f"{local.strftime('%a')} {clock}"
    return local.strftime("%a %d/%m/%Y %H:%M")


def hours_preview(value: str, at: datetime) -> HoursPreview:
    """Check an OSM ``opening_hours`` string and say in plain English whether the place is
    open at ``at`` (Europe/London, UK bank holidays): "Open now - closes 02:00"."""
    import opening_hours

    from backend.venues.hours import PARSE_ERRORS

    text = (value or "").strip()
    if not text:
        return HoursPreview(False, "Enter the opening hours.", "required")
    if len(text) > 255:
        return HoursPreview(False, "Too long (255 characters at most).", "too long")
    try:
        oh = opening_hours.OpeningHours(text, timezone=LONDON, country="GB")
    except PARSE_ERRORS as exc:
        first = str(exc).strip().splitlines()
        where = next((line.strip() for line in first if "-->" in line), "")
        return HoursPreview(
            False,
            "Not valid opening hours. Example: Mo-Th 11:00-23:00; Fr-Sa 11:00-02:00",
            f"cannot read this {where}".strip(),
        )
    local = at.astimezone(LONDON)
    is_open = oh.is_open(local)
    change = oh.next_change(local)
    if is_open:
        summary = (
            "Open now - always open"
            if change is None
            else f"Open now - closes {_when(change, local)}"
        )
    else:
        summary = (
            "Closed now - no opening times"
            if change is None
            else f"Closed now - opens {_when(change, local)}"
        )
    from backend.venues.hours import describe

    return HoursPreview(True, summary, None, str(oh.normalize()), describe(text))


# --- the opening hours editor -------------------------------------------------------------

HOURS_DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
HOURS_DAY_NAMES = dict(
    zip(
        HOURS_DAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
HOURS_SOURCES = ("editor", "phrase", "expert")


def hours_editor_rows(expression: str | None) -> tuple[dict[str, dict[str, str]], str]:
    """The editor's rows (``mo``..``su`` and ``ph``, each ``{mode, open, close, late}``) for
    an OSM string, and the input the form should start on: "editor" when the rows say it
    all, else "expert" (split shifts, months, comments...)."""
    from backend.errors import ValidationError as AppValidationError
    from backend.venues.hours import week

    blank = {"mode": "closed", "open": "", "close": "", "late": ""}
    rows = {day: dict(blank) for day in HOURS_DAYS}
    rows["ph"] = {"mode": "usual", "open": "", "close": "", "late": ""}
    if not expression:
        return rows, "editor"
    try:
        days, holiday = week(expression)
    except AppValidationError:
        return rows, "expert"
    fits = True
    for day, spans in zip(HOURS_DAYS, days, strict=True):
        row = spans.editor_row()
        if row is None:
            fits = False
        else:
            rows[day] = row
    if holiday is not None:
        row = holiday.editor_row()
        if row is None:
            fits = False
        else:
            rows["ph"] = row
    if fits:
        # The rows must give back the same hours, or the expert string is the truth.
        rebuilt, errors = hours_from_rows(rows)
        fits = not errors and rebuilt is not None and week(rebuilt) == (days, holiday)
    return rows, "editor" if fits else "expert"


def read_hours_rows(form) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The editor's rows as posted."""
    return {
        day: {
            "mode": (form.get(f"hours_{day}_mode") or "").strip(),
            "open": (form.get(f"hours_{day}_open") or "").strip()[:10],
            "close": (form.get(f"hours_{day}_close") or "").strip()[:10],
            "late": "on" if form.get(f"hours_{day}_late") else "",
        }
        for day in (*HOURS_DAYS, "ph")
    }


def _row_spans(day: str, row: dict[str, str], errors: dict[str, list[str]]) -> str | None:
    from backend.venues.hours import parse_clock

    field = f"hours_{day}"
    try:
        opens = parse_clock(row["open"])
    except (ValueError, TypeError):
        errors[f"{field}_open"] = ["give the opening time, like 17:00"]
        return None
    try:
        closes = parse_clock(row["close"])
    except (ValueError, TypeError):
        errors[f"{field}_close"] = ["give the closing time, like 23:00"]
        return None
    late = bool(row["late"])
    if closes == "00:00":
        return f"{opens}-24:00"
    if closes <= opens and not late:
        errors[f"{field}_close"] = [
            f"closes at {closes}, before it opens at {opens}: tick 'closes after midnight'"
        ]
        return None
    if closes > opens and late:
        errors[f"{field}_late"] = [
            f"'closes after midnight' is ticked, but {closes} is later the same day"
        ]
        return None
    return f"{opens}-{closes}"


def hours_from_rows(rows: dict[str, dict[str, str]]) -> tuple[str | None, dict[str, list[str]]]:
    """The OSM string the editor's rows make (backend.venues.hours.build), or the problems,
    each named after its row's field (``hours_tu_close``...)."""
    from backend.venues.hours import build

    errors: dict[str, list[str]] = {}
    per_day: list[str | None] = []
    for day in HOURS_DAYS:
        row = rows[day]
        mode = row["mode"]
        if mode == "closed":
            per_day.append(None)
        elif mode == "24h":
            per_day.append("00:00-24:00")
        elif mode == "hours":
            per_day.append(_row_spans(day, row, errors))
        else:
            errors[f"hours_{day}_mode"] = ["choose open, closed or open 24 hours"]
            per_day.append(None)
    ph = rows.get("ph") or {"mode": "usual"}
    bank: str | None = None
    if ph["mode"] == "closed":
        bank = "off"
    elif ph["mode"] == "24h":
        bank = "00:00-24:00"
    elif ph["mode"] == "hours":
        bank = _row_spans("ph", ph, errors)
    elif ph["mode"] not in ("usual", ""):
        errors["hours_ph_mode"] = ["choose how bank holidays differ"]
    if errors:
        return None, errors
    return build(per_day, bank), {}


def read_hours(form) -> tuple[str, dict[str, object], dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    """The opening hours a venue form gives, by the input the person used: the editor's
    rows, a phrase in words, or the OSM string itself. Returns the OSM string ("" for none),
    what to show again in the form, and problems named after the row or field."""
    from backend.errors import ValidationError as AppValidationError
    from backend.venues.hours import from_phrase

    source = (form.get("hours_source") or "expert").strip()
    if source not in HOURS_SOURCES:
        source = "expert"
    rows = read_hours_rows(form)
    phrase = (form.get("hours_phrase") or "").strip()[:200]
    expression = (form.get("opening_hours") or "").strip()
    errors: dict[str, list[str]] = {}
    if source == "editor":
        built, errors = hours_from_rows(rows)
        expression = built or ""
    elif source == "phrase":
        try:
            expression = from_phrase(phrase)
        except AppValidationError as exc:
            errors = dict(exc.errors)
    shown: dict[str, object] = {"hours_rows": rows, "hours_phrase": phrase, "hours_source": source}
    return expression, shown, errors


def require_portal(user: User | None) -> User:
    """The signed-in portal user; raises Unauthorized (not signed in) or Forbidden."""
    if user is None:
        raise Unauthorized("Sign in to use the portal.")
    if user.disabled:
        raise Forbidden("This account is disabled.")
    policy.require_portal_user(user)
    return user


# --- venues ---------------------------------------------------------------------------------

RECHECK_SOON = timedelta(days=30)


@dataclass(frozen=True)
class VenueRow:
    """A venue as the portal lists it: the row plus what staff most need to know."""

    venue: object
    ward_name: str
    hours: HoursPreview
    next_check: datetime | None
    check_overdue: bool
    unavailable: bool


def next_check_due(venue, now: datetime) -> datetime | None:  # type: ignore[no-untyped-def]
    """When a verified venue's next check falls due: a year after its last check, or when its
    staff training lapses, whichever is first (None while not verified)."""
    from backend.venues.service import RECHECK_AFTER

    if venue.status != "verified":
        return None
    candidates = [venue.last_checked_at + RECHECK_AFTER if venue.last_checked_at else now]
    if venue.staff_trained_until is not None:
        candidates.append(
            datetime.combine(venue.staff_trained_until, datetime.min.time(), tzinfo=LONDON)
        )
    return min(candidates)


def venue_row(venue, now: datetime, names: dict[str, str] | None = None) -> VenueRow:  # type: ignore[no-untyped-def]
    """Decorate one venue for a page."""
    from backend.venues.service import is_recheck_due

    names = names if names is not None else _ward_names()
    due = next_check_due(venue, now)
    hours = (
        hours_preview(venue.opening_hours, now)
        if venue.opening_hours
        else HoursPreview(False, "No opening hours given")
    )
    return VenueRow(
        venue=venue,
        ward_name=names.get(venue.ward_code or "", "outside the borough"),
        hours=hours,
        next_check=due,
        check_overdue=is_recheck_due(venue, now),
        unavailable=bool(venue.unavailable_until and venue.unavailable_until > now),
    )


def _ward_names() -> dict[str, str]:
    return {code: name for code, name in db.session.execute(select(Ward.code, Ward.name))}


def list_venues(
    actor: User,
    now: datetime,
    *,
    status: str | None = None,
    ward: str | None = None,
    query: str | None = None,
    limit: int = 200,
) -> list[VenueRow]:
    """Venue staff: the venues they look after. Admins: every venue, filtered by status, ward
    or name. Raises Forbidden for anyone else."""
    from backend.venues.models import Venue, VenueStaff

    policy.require_portal_user(actor)
    stmt = select(Venue).order_by(Venue.name, Venue.id).limit(limit)
    if actor.role != Role.ADMIN.value:
        stmt = stmt.join(VenueStaff, VenueStaff.venue_id == Venue.id).where(
            VenueStaff.user_id == actor.id
        )
    if status:
        stmt = stmt.where(Venue.status == status)
    if ward:
        stmt = stmt.where(Venue.ward_code == ward)
    if query:
        stmt = stmt.where(Venue.name.ilike(f"%{query.strip()[:80]}%"))
    names = _ward_names()
    return [venue_row(v, now, names) for v in db.session.scalars(stmt)]


def venue_for_page(actor: User, venue_id: int):  # type: ignore[no-untyped-def]
    """A venue its staff member or an admin may manage; raises NotFound or Forbidden."""
    from backend.venues import policy as venue_policy
    from backend.venues.service import get_venue

    venue = get_venue(venue_id)
    venue_policy.require_can_edit(actor, venue)
    return venue


def venue_history(actor: User, venue_id: int) -> list:  # type: ignore[type-arg]
    """The change log of a venue, newest first."""
    from backend.venues.service import history

    return list(reversed(history(actor, venue_id)))


def verification_queue(actor: User, now: datetime) -> dict[str, object]:
    """Admins: venues waiting for a decision (pending, oldest first) and verified venues due
    for re-check. Raises Forbidden."""
    from backend.venues.models import Venue
    from backend.venues.service import recheck_due

    policy.require_admin(actor)
    names = _ward_names()
    pending = db.session.scalars(
        select(Venue).where(Venue.status == "pending").order_by(Venue.created_at, Venue.id)
    )
    due = recheck_due(actor, at=now, page=1, per_page=200)["items"]
    pending_rows = [venue_row(v, now, names) for v in pending]
    return {
        "pending": pending_rows,
        "recheck": [venue_row(getattr(item, "venue", item), now, names) for item in due],
        "registered": registrations([row.venue.id for row in pending_rows]),  # type: ignore[attr-defined]
    }


@dataclass(frozen=True)
class Registration:
    who: str
    at: datetime


def registrations(venue_ids: list[int]) -> dict[int, Registration]:
    """Who registered each venue and when (from its history's "created" entry)."""
    from backend.venues.models import VenueChange

    if not venue_ids:
        return {}
    rows = db.session.execute(
        select(
            VenueChange.venue_id,
            VenueChange.actor_label,
            VenueChange.created_at,
            User.display_name,
            User.email,
        )
        .outerjoin(User, User.id == VenueChange.actor_id)
        .where(VenueChange.venue_id.in_(venue_ids), VenueChange.action == "created")
        .order_by(VenueChange.id)
    ).all()
    found: dict[int, Registration] = {}
    for venue_id, label, at, name, email in rows:
        who = name or email or label or "an import"
        found.setdefault(venue_id, Registration(who, at))
    return found


def _friday_of(day) -> datetime:  # type: ignore[no-untyped-def]
    """The Friday on or after ``day`` (a date)."""
    return day + timedelta(days=(4 - day.weekday()) % 7)


NIGHT_MOMENTS = (
    ("fri_2300", "Friday 23:00", 0, 23),
    ("sat_0200", "Saturday 02:00 (Friday night)", 1, 2),
    ("sat_2300", "Saturday 23:00", 1, 23),
    ("sun_0200", "Sunday 02:00 (Saturday night)", 2, 2),
)


@dataclass(frozen=True)
class WardCoverage:
    code: str
    name: str
    open_counts: dict[str, int]

    @property
    def gaps(self) -> list[str]:
        return [key for key, count in self.open_counts.items() if count == 0]


def night_coverage(actor: User, friday) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Admins: for each ward, how many verified, available safe places are open at 23:00 and
    02:00 on the Friday and Saturday nights of the weekend starting ``friday`` (a date; moved
    forward to a Friday). Raises Forbidden."""
    from backend.venues import hours
    from backend.venues.models import Venue

    policy.require_admin(actor)
    friday = _friday_of(friday)
    moments = {
        key: datetime(friday.year, friday.month, friday.day, hour, tzinfo=LONDON)
        + timedelta(days=offset)
        for key, _label, offset, hour in NIGHT_MOMENTS
    }
    wards = list(db.session.scalars(select(Ward).order_by(Ward.name)))
    counts = {w.code: dict.fromkeys(moments, 0) for w in wards}
    venues = db.session.scalars(select(Venue).where(Venue.status == "verified"))
    for venue in venues:
        if venue.ward_code not in counts:
            continue
        for key, at in moments.items():
            if venue.unavailable_until is not None and venue.unavailable_until > at:
                continue
            if hours.is_open_at(venue.opening_hours, at):
                counts[venue.ward_code][key] += 1
    rows = [WardCoverage(w.code, w.name, counts[w.code]) for w in wards]
    return {
        "friday": friday,
        "moments": [(key, label, moments[key]) for key, label, _o, _h in NIGHT_MOMENTS],
        "wards": rows,
        "gap_wards": [r for r in rows if r.gaps],
    }


@dataclass
class VenueForm:
    """What the venue form holds, as typed as the form allows, plus per-field problems."""

    values: dict[str, object]
    errors: dict[str, list[str]]


# The venue form's free-text fields, as posted and as filled in for editing.
VENUE_TEXT_FIELDS = (
    "name",
    "category",
    "address",
    "postcode",
    "phone",
    "opening_hours",
    "accessibility",
)


def read_venue_form(form, *, locate: bool = False) -> VenueForm:  # type: ignore[no-untyped-def]
    """Turn the posted venue form into service values; a postcode gives the location when no
    point is set (or when ``locate`` asks for it). Problems are collected per field."""

    from backend.areas.service import lookup_postcode
    from backend.errors import ValidationError as AppValidationError

    values: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for name in VENUE_TEXT_FIELDS:
        values[name] = (form.get(name) or "").strip()
    values["opening_hours"], shown, hours_errors = read_hours(form)
    values.update(shown)
    errors.update(hours_errors)
    values["schemes"] = form.getlist("schemes")
    for name in ("lat", "lon"):
        raw = (form.get(name) or "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            number = float(raw)
        except ValueError:
            errors[name] = ["must be a number"]
            values[name] = raw
            continue
        limit = 90 if name == "lat" else 180
        if not math.isfinite(number) or abs(number) > limit:
            errors[name] = [f"must be between -{limit} and {limit}"]
        values[name] = number
    trained = (form.get("staff_trained_until") or "").strip()
    values["staff_trained_until"] = None
    if trained:
        try:
            values["staff_trained_until"] = parse_uk_date(trained, "staff_trained_until")
        except AppValidationError as exc:
            errors.update(exc.errors)
            values["staff_trained_until"] = trained
    if values["postcode"] and (locate or values["lat"] is None or values["lon"] is None):
        try:
            row = lookup_postcode(str(values["postcode"]))
        except AppValidationError as exc:
            errors.update(exc.errors)
        else:
            values.update(postcode=row.postcode, lat=row.lat, lon=row.lon)
    if not locate:
        if not values["name"]:
            errors.setdefault("name", ["required"])
        if values["lat"] is None or values["lon"] is None:
            errors.setdefault("postcode", ["give a postcode (or a latitude and longitude)"])
        if values["opening_hours"] and not hours_errors:
            check = hours_preview(str(values["opening_hours"]), utcnow())
            if not check.valid:
                errors["opening_hours"] = [check.error or "not valid opening hours"]
    return VenueForm(values, errors)


def save_venue(actor: User, form: VenueForm, venue_id: int | None = None):  # type: ignore[no-untyped-def]
    """Register (``venue_id`` None) or update a venue through the venues service; raises
    ValidationError with the form's own problems first."""
    from backend.errors import ValidationError as AppValidationError
    from backend.venues import service as venues

    if form.errors:
        raise AppValidationError("Please correct the highlighted fields.", errors=form.errors)
    data = {k: (v if v != "" else None) for k, v in form.values.items()}
    if venue_id is None:
        return venues.create_venue(actor, data)
    return venues.update_venue(actor, venue_id, data)


def set_unavailable(  # type: ignore[no-untyped-def]
    actor: User, venue_id: int, until_date: str, until_time: str, reason: str, now: datetime
):
    """Mark a venue temporarily unavailable until a local (Europe/London) date (dd/mm/yyyy)
    and time (24-hour clock; blank is midnight at the start of that day). Raises
    ValidationError naming ``until_date`` or ``until_time``."""
    from backend.errors import ValidationError, field_error
    from backend.venues import service as venues

    until = parse_uk_date_time(
        until_date,
        until_time,
        ("until_date", "until_time"),
        blank=f"give the date it can take people again: {UK_DATE_HINT}",
    )
    try:
        return venues.set_unavailable(actor, venue_id, until=until, reason=reason, now=now)
    except ValidationError as exc:
        if exc.errors and "until" in exc.errors:  # the form asks for the day and the time
            raise field_error("until_date", exc.errors["until"][0]) from None
        raise


def clear_unavailable(actor: User, venue_id: int, now: datetime):  # type: ignore[no-untyped-def]
    """Available again now. Raises NotFound, Forbidden."""
    from backend.venues import service as venues

    return venues.set_unavailable(actor, venue_id, until=None, now=now)


# The verification form's visible labels: its fields and its error summary's links read them.
VERIFY_LABELS = {
    "note": "Note (shown in the venue's history)",
    "staff_trained_until": "Staff training valid until (optional, dd/mm/yyyy)",
    "action": "Decision",
}
VERIFY_CHECKLIST = (
    ("staff_trained", "Staff are trained (Safe Haven / Ask for Angela)"),
    ("phone_answered", "I rang the venue and the phone was answered"),
    ("hours_confirmed", "The opening hours were confirmed with the venue"),
)


def verify_venue(  # type: ignore[no-untyped-def]
    actor: User,
    venue_id: int,
    action: str,
    note: str,
    trained: str,
    now: datetime,
    checklist: dict[str, bool] | None = None,
):
    """Approve, reject or suspend with a note and the checklist (admins); raises
    ValidationError, Conflict."""

    from backend.errors import field_error
    from backend.venues import service as venues

    if len(note.strip()) < 3:
        raise field_error("note", "write a short note (at least 3 characters)")
    trained_date = parse_uk_date(trained, "staff_trained_until") if trained.strip() else None
    return venues.verify(
        actor,
        venue_id,
        action=action,
        note=note.strip(),
        staff_trained_until=trained_date,
        now=now,
        checklist=checklist,
    )


# --- reports and hotspots ---------------------------------------------------------------------


UK_DATE_HINT = "a date like 21/11/2026"


def parse_uk_date(text: str, field: str):  # type: ignore[no-untyped-def]
    """A date typed the UK way (dd/mm/yyyy, also d/m/yy) or as ISO yyyy-mm-dd; raises
    ValidationError naming ``field``."""

    from backend.errors import field_error

    value = str(text).strip()
    for fmt in ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise field_error(field, f"not a date: use {UK_DATE_HINT}")


UK_TIME_HINT = "a time on the 24-hour clock like 02:30 or 23:00"


def parse_uk_time(text: str, field: str) -> time:
    """A time typed on the 24-hour clock (``23:30``, ``2330``, ``23.30``, ``9:05``); raises
    ValidationError naming ``field`` (am/pm is refused: the portal uses the 24-hour clock)."""
    from backend.errors import field_error

    match = re.fullmatch(r"([01]?\d|2[0-3])[:.]?([0-5]\d)", str(text).strip())
    if not match:
        raise field_error(field, f"not a time: use {UK_TIME_HINT}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_uk_date_time(
    date_text: str, time_text: str, fields: tuple[str, str], blank: str | None = None
) -> datetime | None:
    """A moment typed as two fields, the date (dd/mm/yyyy) and the time (24-hour clock; blank
    is midnight at the start of that day), read as UK wall-clock time and returned as an
    aware UTC datetime (so 23:00 on a summer day is 22:00 UTC). Both blank gives None unless
    ``blank`` is the message for a missing date. Raises ValidationError naming the date and
    the time field (``fields``) at once."""
    from backend.errors import ValidationError

    date_field, time_field = fields
    errors: dict[str, list[str]] = {}
    day, at = None, time(0, 0)
    if not date_text.strip():
        if blank is None and not time_text.strip():
            return None
        errors[date_field] = [blank or f"give the date as well as the time: {UK_DATE_HINT}"]
    else:
        try:
            day = parse_uk_date(date_text, date_field)
        except ValidationError as exc:
            errors.update(exc.errors or {})
    if time_text.strip():
        try:
            at = parse_uk_time(time_text, time_field)
        except ValidationError as exc:
            errors.update(exc.errors or {})
    if errors or day is None:  # both fields are told what is wrong at once
        raise ValidationError("Check the date and time.", errors=errors)
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


def _day_start(day, field: str) -> datetime:  # type: ignore[no-untyped-def]
    from datetime import date

    parsed = day if isinstance(day, date) else parse_uk_date(day, field)
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=LONDON)


@dataclass(frozen=True)
class ReportFilters:
    category: str = ""
    ward: str = ""
    status: str = ""
    date_from: str = ""
    date_to: str = ""

    def query(self, **extra: object) -> dict[str, object]:
        """The filters as query arguments (for paging links), blanks left out."""
        found: dict[str, object] = {k: v for k, v in self.__dict__.items() if v}
        found.update(extra)
        return found


@dataclass(frozen=True)
class TriageRow:
    number: int  # the row's number on this page, also its label on the map
    report: object
    waiting_minutes: int | None
    overdue: bool
    x: float
    y: float


@dataclass(frozen=True)
class TriagePage:
    rows: list[TriageRow]
    total: int
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


TRIAGE_PER_PAGE = 25


def triage_reports(
    actor: User,
    filters: ReportFilters,
    page: int = 1,
    now: datetime | None = None,
    per_page: int = TRIAGE_PER_PAGE,
) -> TriagePage:
    """Admins: concern reports in priority order (see reports.service.priority_order),
    filtered by category, ward, status and the day they were observed (inclusive,
    Europe/London), a page at a time, each with its place on the ward map. Raises
    Forbidden, ValidationError."""
    from sqlalchemy import func

    from backend.errors import field_error
    from backend.reports import policy as report_policy
    from backend.reports import service as reports
    from backend.reports.categories import get_category
    from backend.reports.models import Report
    from shared_schemas.reports import REPORT_STATUSES

    report_policy.require_can_triage(actor)
    now = now or utcnow()
    conditions = []
    if filters.category:
        conditions.append(Report.category == get_category(filters.category).code)
    if filters.ward:
        conditions.append(Report.ward_code == filters.ward)
    if filters.status:
        if filters.status not in REPORT_STATUSES:
            raise field_error("status", f"one of {', '.join(REPORT_STATUSES)}")
        conditions.append(Report.status == filters.status)
    start = _day_start(filters.date_from, "date_from") if filters.date_from else None
    end = _day_start(filters.date_to, "date_to") + timedelta(days=1) if filters.date_to else None
    if start and end and end <= start:
        raise field_error("date_to", "must be on or after 'from'")
    if start:
        conditions.append(Report.observed_at >= start)
    if end:
        conditions.append(Report.observed_at < end)
    total = int(db.session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    found = db.session.scalars(
        select(Report)
        .where(*conditions)
        .order_by(*reports.priority_order())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    shapes = ward_map()
    rows = []
    for number, report in enumerate(found, start=(page - 1) * per_page + 1):
        x, y = shapes.project(report.lat, report.lon)
        rows.append(
            TriageRow(
                number,
                report,
                reports.waiting_minutes(report, now),
                reports.is_overdue(report, now),
                x,
                y,
            )
        )
    return TriagePage(rows, total, page, pages, per_page)


def report_for_admin(actor: User, report_id: int):  # type: ignore[no-untyped-def]
    """One report for triage; raises Forbidden, NotFound."""
    from backend.reports import policy as report_policy
    from backend.reports.service import get_report

    report_policy.require_can_triage(actor)
    return get_report(report_id)


def triage(actor: User, report_id: int, status: str, note: str, now: datetime):  # type: ignore[no-untyped-def]
    """Change a report's status (not to closed: closing has its own confirmed step) and/or
    add a public note (shown to the reporter). Raises Forbidden, NotFound, Conflict,
    ValidationError."""
    from backend.errors import field_error
    from backend.reports.service import change_status
    from shared_schemas.reports import REPORT_STATUSES, ReportStatus

    if status and status not in REPORT_STATUSES:
        raise field_error("status", f"one of {', '.join(REPORT_STATUSES)}")
    if status == ReportStatus.CLOSED.value:
        raise field_error("status", "use 'Close this report' below: closing asks you to confirm")
    if len(note) > 2000:
        raise field_error("public_note", "2,000 characters at most")
    return change_status(actor, report_id, status or None, note.strip() or None, now=now)


def check_close(actor: User, report_id: int, note: str):  # type: ignore[no-untyped-def]
    """The report about to be closed, once the closing note is there (the confirmation page
    shows both). Raises Forbidden, NotFound, ValidationError (no note), Conflict (closed)."""
    from backend.errors import Conflict, field_error
    from shared_schemas.reports import ReportStatus

    report = report_for_admin(actor, report_id)
    if report.status == ReportStatus.CLOSED.value:
        raise Conflict("this report is already closed", errors={"close_note": ["already closed"]})
    if not note.strip():
        raise field_error("close_note", "write what was done: the reporter sees this note")
    if len(note) > 2000:
        raise field_error("close_note", "2,000 characters at most")
    return report


def close_report(actor: User, report_id: int, note: str, now: datetime):  # type: ignore[no-untyped-def]
    """Close a report with its public note, after the officer confirmed. Raises as
    check_close."""
    from backend.reports.service import change_status

    check_close(actor, report_id, note)
    return change_status(actor, report_id, "closed", note.strip(), now=now)


def reopen_report(actor: User, report_id: int, reason: str, now: datetime):  # type: ignore[no-untyped-def]
    """Reopen a closed report with a reason. Raises Forbidden, NotFound, ValidationError,
    Conflict."""
    from backend.reports.service import reopen

    return reopen(actor, report_id, reason, now=now)


def report_photo(actor: User, photo_id: int):  # type: ignore[no-untyped-def]
    """Admins: a report photo to look at; raises Forbidden, NotFound."""
    from backend.reports.service import photo_for_admin

    return photo_for_admin(actor, photo_id)


def set_photo_public(actor: User, photo_id: int, public: bool):  # type: ignore[no-untyped-def]
    """Admins: make a report photo public or private again; raises Forbidden, NotFound."""
    from backend.reports.service import set_photo_public as set_public

    return set_public(actor, photo_id, public)


STEP_WORDS = {
    "received": "Received",
    "status": "Status changed",
    "note": "Public note",
    "closed": "Closed",
    "reopened": "Reopened",
}


def week_window(week_ending, now: datetime) -> tuple[datetime, datetime]:  # type: ignore[no-untyped-def]
    """The 7 days up to the end of ``week_ending`` (a date string, Europe/London), or the 7
    days to ``now`` when blank."""
    if not week_ending:
        return now - timedelta(days=7), now
    end = _day_start(week_ending, "week_ending") + timedelta(days=1)
    return end - timedelta(days=7), end


def hotspot_summary(
    actor: User, week_ending: str, category: str, now: datetime
) -> dict[str, object]:
    """Admins: this week against last week by ward and by category, the ranked cells and
    the ward shading classes for the map. Raises Forbidden, ValidationError."""
    from backend.insights import service as insights

    policy.require_admin(actor)
    start, end = week_window(week_ending, now)
    result = insights.hotspots(actor, start, end, category=category or None, now=now)
    by_ward: dict[str, dict[str, object]] = {}
    by_category: dict[str, dict[str, int]] = {}
    for cell in result.cells:
        ward = by_ward.setdefault(
            cell["ward_code"],
            {"code": cell["ward_code"], "name": cell["ward_name"], "count": 0, "previous": 0},
        )
        cat = by_category.setdefault(cell["category"], {"count": 0, "previous": 0})
        for key in ("count", "previous"):
            value = cell[key] or 0
            ward[key] = int(ward[key]) + value  # type: ignore[call-overload]
            cat[key] += value
    wards = sorted(
        by_ward.values(),
        key=lambda w: (-(int(w["count"]) - int(w["previous"])), str(w["name"])),  # type: ignore[call-overload]
    )
    top = max((int(w["count"]) for w in wards), default=0)  # type: ignore[call-overload]
    classes = {}
    for w in wards:
        count = int(w["count"])  # type: ignore[call-overload]
        classes[str(w["code"])] = (
            "c0" if count == 0 or top == 0 else f"c{min(4, 1 + (4 * count - 1) // top)}"
        )
    from backend.reports.categories import BY_CODE

    categories: list[dict[str, Any]] = sorted(
        (
            {
                "code": code,
                "name": BY_CODE[code].name if code in BY_CODE else code,
                **counts,
            }
            for code, counts in by_category.items()
        ),
        key=lambda c: (-c["count"], c["name"]),
    )
    return {
        "result": result,
        "wards": wards,
        "categories": categories,
        "classes": classes,
        "top": top,
        "csv": insights.to_csv(result),
    }


# --- surveys ------------------------------------------------------------------------------

MAX_QUICK_QUESTIONS = 5


def _slug(text: str, taken: set[str]) -> str:
    import re

    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "option"
    value, n = base, 2
    while value in taken:
        value, n = f"{base}_{n}", n + 1
    taken.add(value)
    return value


# The create form's closing moment: a dd/mm/yyyy date and a 24-hour time, UK local time.
SURVEY_CLOSES_FIELDS = ("closes_date", "closes_time")


def _survey_fields(form, now: datetime) -> tuple[dict[str, object], dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    """The survey-level fields of the create form, as the surveys service takes them, and
    the problems of those that cannot be read (left out of the fields)."""
    from backend.errors import ValidationError

    data: dict[str, object] = {
        "title": (form.get("title") or "").strip(),
        "description": (form.get("description") or "").strip(),
        "borough_wide": form.get("borough_wide") == "on",
        "target_wards": form.getlist("target_wards"),
    }
    errors: dict[str, list[str]] = {}
    size = (form.get("min_group_size") or "").strip()
    if size:
        try:
            data["min_group_size"] = int(size)
        except ValueError:
            errors["min_group_size"] = ["a whole number, like 10"]
    try:
        closes = parse_uk_date_time(
            form.get("closes_date") or "", form.get("closes_time") or "", SURVEY_CLOSES_FIELDS
        )
    except ValidationError as exc:
        errors.update(exc.errors or {})
    else:
        if closes is not None and closes <= now:
            errors["closes_date"] = ["that time has passed: give a later date"]
        elif closes is not None:
            data["closes_at"] = closes
    return data, errors


def quick_questions(form) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Questions from the form's numbered rows (label, type, comma-separated choices,
    required); blank rows are skipped."""
    questions: list[dict[str, object]] = []
    for i in range(1, MAX_QUICK_QUESTIONS + 1):
        label = (form.get(f"q{i}_label") or "").strip()
        if not label:
            continue
        kind = form.get(f"q{i}_type") or "single_choice"
        question: dict[str, object] = {
            "name": f"q{i}",
            "label": label,
            "type": kind,
            "required": form.get(f"q{i}_required") == "on",
        }
        if kind in ("single_choice", "multiple_choice", "rank"):
            taken: set[str] = set()
            question["choices"] = [
                {"value": _slug(part, taken), "label": part.strip()}
                for part in (form.get(f"q{i}_choices") or "").split(",")
                if part.strip()
            ]
        questions.append(question)
    return questions


# The API's wording where it names a JSON field, as the portal form says it.
SURVEY_FORM_WORDS = {
    "give at least one ward, or set borough_wide": (
        "tick \u201cThe whole borough\u201d or at least one ward"
    ),
}


def create_survey_from_form(actor: User, form, upload, now: datetime) -> object:  # type: ignore[no-untyped-def]
    """Admins: a draft survey from an XLSForm upload, or from the quick question rows.
    Raises ValidationError naming the field (or the XLSForm row) and the reason, in the
    form's words."""
    from backend.errors import ValidationError

    try:
        return _create_survey_from_form(actor, form, upload, now)
    except ValidationError as exc:
        if exc.errors:
            exc.errors = {
                key: [SURVEY_FORM_WORDS.get(m, m) for m in problems]
                if isinstance(problems, list)
                else problems
                for key, problems in exc.errors.items()
            }
        raise


def _create_survey_from_form(actor: User, form, upload, now: datetime) -> object:  # type: ignore[no-untyped-def]
    from marshmallow import ValidationError as SchemaError

    from backend.errors import ValidationError as AppValidationError
    from backend.surveys import service as surveys
    from shared_schemas.surveys import SurveyCreateSchema

    policy.require_admin(actor)
    data, field_errors = _survey_fields(form, now)
    if field_errors and upload is not None and upload.filename:
        raise AppValidationError("Please correct the highlighted fields.", errors=field_errors)
    if upload is not None and upload.filename:
        content = upload.read()
        fields = {k: v for k, v in data.items() if k != "target_wards"}
        fields["target_wards"] = ",".join(data["target_wards"])  # type: ignore[arg-type]
        closes_at = fields.get("closes_at")
        if isinstance(closes_at, datetime):
            fields["closes_at"] = closes_at.isoformat()
        fields["borough_wide"] = "true" if data["borough_wide"] else ""
        if "min_group_size" in fields:
            fields["min_group_size"] = str(fields["min_group_size"])
        if not fields.get("title"):
            fields.pop("title")
        return surveys.create_from_xlsform(actor, content, upload.filename, fields)
    data["questions"] = quick_questions(form)
    # Every problem is said at once: the fields that could not be read, then the survey's
    # own checks on the rest (no questions, no audience, a choice question with no choices).
    errors: dict[str, list[str]] = dict(field_errors)
    if not data["questions"]:
        errors["q1_label"] = ["add at least one question, or upload an XLSForm"]
    payload = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
    loaded = None
    try:
        loaded = SurveyCreateSchema().load(payload)
    except SchemaError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        for key, value in messages.items():
            if not (key == "questions" and "q1_label" in errors):  # "no questions" said once
                errors.setdefault(str(key), value if isinstance(value, list) else [str(value)])
    if errors or loaded is None:
        raise AppValidationError("Please correct the highlighted fields.", errors=errors)
    return surveys.create_survey(actor, loaded)


def list_surveys_for_admin(actor: User, now: datetime) -> list[dict[str, object]]:
    """Admins: every survey; raises Forbidden."""
    from backend.surveys import service as surveys

    policy.require_admin(actor)
    return surveys.list_surveys(actor, now)


def survey_page(actor: User, survey_id: int) -> dict[str, Any]:
    """Admins: one survey with its results by ward (small groups suppressed)."""
    from backend.surveys import service as surveys

    policy.require_admin(actor)
    survey = surveys.get_survey(actor, survey_id)
    results = surveys.results(actor, survey_id, by_ward=True)
    return {"survey": survey, "results": results}


def set_survey_status(actor: User, survey_id: int, status: str, now: datetime) -> object:
    """Admins: open a draft or close an open survey; raises Conflict, ValidationError."""
    from backend.errors import field_error
    from backend.surveys import service as surveys

    policy.require_admin(actor)
    if status not in ("open", "closed"):
        raise field_error("status", "open or closed")
    return surveys.set_status(actor, survey_id, status, now)


def survey_csv(actor: User, survey_id: int) -> str:
    """Admins: the anonymised results CSV (small groups suppressed)."""
    from backend.surveys import service as surveys

    policy.require_admin(actor)
    return surveys.results_csv(actor, survey_id)
