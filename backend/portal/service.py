"""Portal logic: server-side sessions, CSRF tokens, the dev sign-in list, the ward map and the
plain-English opening-hours preview. Services take the actor, own the commit, raise typed errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select

from backend.areas.models import Ward
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import Forbidden, Unauthorized
from backend.extensions import db
from backend.portal import policy
from backend.portal.models import PortalSession
from shared_schemas.enums import Role

LONDON = ZoneInfo("Europe/London")
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
    return local.strftime("%a %d %b %H:%M")


def hours_preview(value: str, at: datetime) -> HoursPreview:
    """Check an OSM ``opening_hours`` string and say in plain English whether the place is
    open at ``at`` (Europe/London, UK bank holidays): "Open now - closes 02:00"."""
    import opening_hours

    text = (value or "").strip()
    if not text:
        return HoursPreview(False, "Enter the opening hours.", "required")
    if len(text) > 255:
        return HoursPreview(False, "Too long (255 characters at most).", "too long")
    try:
        oh = opening_hours.OpeningHours(text, timezone=LONDON, country="GB")
    except (opening_hours.ParserError, SyntaxError, ValueError) as exc:
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
    return HoursPreview(True, summary, None, str(oh.normalize()))


def require_portal(user: User | None) -> User:
    """The signed-in portal user; raises Unauthorized (not signed in) or Forbidden."""
    if user is None:
        raise Unauthorized("Sign in to use the portal.")
    if user.disabled:
        raise Forbidden("This account is disabled.")
    policy.require_portal_user(user)
    return user
